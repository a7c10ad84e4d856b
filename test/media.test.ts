/**
 * Media forwarding (protocol v1.1, docs/protocol.md section 15) through a real server, with raw
 * `ws` clients: order and headers, a slow subscriber, roles, ownership, mute, unsubscribe,
 * stream destroyed, a publisher's resume, malformed frames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TestClient } from './helpers/client';
import { until } from './helpers/events';
import { Tap, audio, indexOf } from './helpers/media';
import { sleep, startFixture, type Fixture } from './helpers/server';
import type { ServerOptions } from '../lib/server';

let fx: Fixture | undefined;
afterEach(async () => { await fx?.close(); fx = undefined; });

interface Tracks { audio: number; video: number }

async function world(options: Partial<ServerOptions> = {}): Promise<{ sid: string; pub: TestClient; streamId: string; tracks: Tracks }> {
  fx = await startFixture(options);
  const sid = await fx.newSession();
  const pub = await fx.join(sid);
  const r = await pub.request('publish', { hasAudio: true, hasVideo: false, name: 'bot' });
  expect(r['ok']).toBe(true);
  const tracks = r['tracks'] as Tracks;
  expect(tracks.audio).toBeGreaterThan(0);
  expect(tracks.video).toBeGreaterThan(0);
  expect(tracks.audio).not.toBe(tracks.video);
  return { sid, pub, streamId: (r['stream'] as { id: string }).id, tracks };
}

async function subscriber(sid: string, streamId: string, role = 'publisher', fields: Record<string, unknown> = {}): Promise<{ c: TestClient; tap: Tap; result: Record<string, unknown> }> {
  const c = await fx!.join(sid, { role });
  const tap = new Tap(c);
  const result = await c.request('subscribe', { streamId, ...fields });
  return { c, tap, result };
}

const stats = (sid: string) => fx!.server.registry.mediaStats(sid)!;
const producer = (sid: string, track: number) => stats(sid).producers.find((p) => p.track === track)!;

/** Sends frames on the publisher's socket, at once. */
async function sendAll(pub: TestClient, frames: Uint8Array[]): Promise<void> {
  for (const f of frames) pub.ws.send(f);
}

describe('media forwarding (v1.1)', () => {
  it('a subscriber gets the publisher\'s 100 frames in order, byte for byte, with the track of its subscribe result', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const { tap, result } = await subscriber(sid, streamId, 'subscriber');
    expect(result).toMatchObject({ ok: true, subscription: { streamId, audio: { track: tracks.audio }, video: { track: tracks.video } } });
    const sent = Array.from({ length: 100 }, (_, i) => audio(tracks.audio, i));
    await sendAll(pub, sent);
    await until('100 frames', () => tap.frames.length === 100);
    expect(tap.frames.map((f) => Buffer.from(f).toString('hex'))).toEqual(sent.map((f) => Buffer.from(f).toString('hex')));
    const got = tap.decoded();
    expect(got.map(indexOf)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got[5]).toMatchObject({ kind: 'audio', track: tracks.audio, sequence: 5, timestamp: 4800, audioLevel: 40, flags: 0 });
    expect(got[0]!.flags).toBe(1);
    expect(producer(sid, tracks.audio)).toMatchObject({ received: 100, droppedMuted: 0, droppedNotOwner: 0, consumers: 1 });
    expect(stats(sid).consumers).toEqual([
      expect.objectContaining({ kind: 'audio', forwarded: 100, dropped: 0, queued: 0 }),
      expect.objectContaining({ kind: 'video', forwarded: 0, dropped: 0, queued: 0 }),
    ]);
    // media is not an event: nothing numbered, nothing in the replay buffer
    expect(pub.events.map((e) => e.type).filter((t) => t !== 'connectionCreated')).toEqual(['result']);
  });

  it('a blind subscriber (socket paused) loses the oldest frames, counted, alone: the other gets every frame, memory stays bounded', async () => {
    const { sid, pub, streamId, tracks } = await world({ signalsPerSecond: 0, mediaSendBufferBytes: 65_536, mediaQueueFrames: 25 });
    const fast = await subscriber(sid, streamId);
    const slow = await subscriber(sid, streamId);
    slow.c.ws.pause(); // reads nothing from now on: the kernel buffers fill, then the server's
    const N = 3000;
    const size = 8000;
    // paced by the reader (real time is slower still): batches of 100, each once the reader has the last
    for (let i = 0; i < N; i += 100) {
      await sendAll(pub, Array.from({ length: 100 }, (_, j) => audio(tracks.audio, i + j, size)));
      await until(`the reading subscriber to get ${i + 100} frames`, () => fast.tap.frames.length === i + 100, 10_000);
    }
    expect(fast.tap.decoded().map(indexOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    // the publisher was never held back: its own requests still answer at once
    expect(await pub.request('signal', { data: 'still here' })).toMatchObject({ ok: true });
    const s = stats(sid).consumers.find((c) => c.subscriberId === slow.c.connectionId)!;
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.queued).toBeLessThanOrEqual(25);
    expect(s.forwarded + s.dropped + s.queued).toBe(N);
    // bounded: what waits for it in the server is its queue and at most one frame past the socket bound
    expect(s.socketBytes).toBeLessThanOrEqual(65_536 + size + 12 + 14);
    const f = stats(sid).consumers.find((c) => c.subscriberId === fast.c.connectionId)!;
    expect(f).toMatchObject({ forwarded: N, dropped: 0 });
    // once it reads again, it gets what was kept and then the live frames, in order, with a gap
    slow.c.ws.resume();
    await sendAll(pub, [audio(tracks.audio, N)]);
    await until('the slow subscriber to get the live frame', () => slow.tap.decoded().some((x) => indexOf(x) === N), 10_000);
    const idx = slow.tap.decoded().map(indexOf);
    expect(idx.length).toBeLessThan(N + 1);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
  });

  it('refuses media from a subscriber-role client (error frame, counted), and forwards nothing', async () => {
    const { sid, streamId, tracks } = await world();
    const watcher = await subscriber(sid, streamId);
    const rogue = await fx!.join(sid, { role: 'subscriber' });
    const err = rogue.waitType('error');
    rogue.ws.send(audio(tracks.audio, 1));
    expect(await err).toMatchObject({ code: 4417, name: 'CONVENE_MEDIA_REFUSED', fatal: false, ref: 'media' });
    expect(stats(sid).refusedRole).toBe(1);
    expect(producer(sid, tracks.audio).droppedNotOwner).toBe(1);
    expect(await rogue.request('subscribe', { streamId })).toMatchObject({ ok: true }); // it may still subscribe
    await sleep(50);
    expect(watcher.tap.frames).toEqual([]);
  });

  it('refuses subscribe to a publisheronly client (1510), an unknown stream (1535) and a bad request (1011)', async () => {
    const { sid, streamId } = await world();
    const po = await fx!.join(sid, { role: 'publisheronly' });
    expect(await po.request('subscribe', { streamId })).toMatchObject({ ok: false, error: { code: 1510, name: 'OT_PERMISSION_DENIED' } });
    expect(await po.request('subscribe', { streamId: 'nope' })).toMatchObject({ ok: false, error: { code: 1510 } });
    const s = await fx!.join(sid);
    expect(await s.request('subscribe', { streamId: 'nope' })).toMatchObject({ ok: false, error: { code: 1535 } });
    expect(await s.request('subscribe', { streamId, audio: 'yes' })).toMatchObject({ ok: false, error: { code: 1011 } });
    expect(stats(sid).consumers).toEqual([]);
  });

  it('refuses media on another connection\'s track (error frame, counted on that producer)', async () => {
    const { sid, streamId, tracks } = await world();
    const watcher = await subscriber(sid, streamId);
    const other = await fx!.join(sid);
    const mine = await other.request('publish', { hasAudio: true, hasVideo: false });
    const err = other.waitType('error');
    other.ws.send(audio(tracks.audio, 1));
    expect(await err).toMatchObject({ code: 4417, fatal: false });
    expect(producer(sid, tracks.audio)).toMatchObject({ droppedNotOwner: 1, received: 0 });
    // a track nobody has
    await sleep(1100); // past the error rate bound
    const err2 = other.waitType('error');
    other.ws.send(audio(60000, 1));
    expect(await err2).toMatchObject({ code: 4417 });
    expect(stats(sid).unknownTrack).toBe(1);
    // its own track is fine
    other.ws.send(audio((mine['tracks'] as Tracks).audio, 7));
    await until('its own frame to count', () => producer(sid, (mine['tracks'] as Tracks).audio).received === 1);
    expect(watcher.tap.frames).toEqual([]);
  });

  it('drops what arrives for a muted stream (publishAudio(false), force mute), counted; unmuted it flows again', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const { tap } = await subscriber(sid, streamId);
    expect(await pub.request('updateStream', { streamId, hasAudio: false })).toMatchObject({ ok: true });
    await sendAll(pub, [audio(tracks.audio, 1), audio(tracks.audio, 2)]);
    await until('2 muted drops', () => producer(sid, tracks.audio).droppedMuted === 2);
    expect(await pub.request('updateStream', { streamId, hasAudio: true })).toMatchObject({ ok: true });
    await sendAll(pub, [audio(tracks.audio, 3)]);
    await until('the unmuted frame', () => tap.frames.length === 1);
    const mod = await fx!.join(sid, { role: 'moderator' });
    expect(await mod.request('forceMuteStream', { streamId })).toMatchObject({ ok: true });
    await pub.waitFor((f) => f.type === 'muteForced', 2000, true);
    await sendAll(pub, [audio(tracks.audio, 4)]);
    await until('3 muted drops', () => producer(sid, tracks.audio).droppedMuted === 3);
    expect(tap.decoded().map(indexOf)).toEqual([3]);
    expect(pub.frames.filter((f) => f.type === 'error')).toEqual([]); // silent: frames in flight at mute are normal
  });

  it('after unsubscribe no more frames; a second subscribe replaces the kinds', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const a = await subscriber(sid, streamId);
    const b = await subscriber(sid, streamId);
    await sendAll(pub, [audio(tracks.audio, 1)]);
    await until('both get frame 1', () => a.tap.frames.length === 1 && b.tap.frames.length === 1);
    expect(await a.c.request('unsubscribe', { streamId })).toMatchObject({ ok: true });
    expect(await a.c.request('unsubscribe', { streamId })).toMatchObject({ ok: true }); // idempotent
    await sendAll(pub, [audio(tracks.audio, 2)]);
    await until('b gets frame 2', () => b.tap.frames.length === 2);
    expect(await b.c.request('subscribe', { streamId, audio: false, video: true })).toMatchObject({ ok: true, subscription: { streamId, video: { track: tracks.video } } });
    await sendAll(pub, [audio(tracks.audio, 3)]);
    await until('the frame to be received', () => producer(sid, tracks.audio).received === 3);
    await sleep(50);
    expect(a.tap.frames.length).toBe(1);
    expect(b.tap.frames.length).toBe(2);
    expect(stats(sid).consumers.map((c) => [c.subscriberId, c.kind])).toEqual([[b.c.connectionId, 'video']]);
  });

  it('a stream destroyed (unpublish, or its publisher leaving) removes its producers and consumers; subscribers get streamDestroyed', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const a = await subscriber(sid, streamId);
    expect(await pub.request('unpublish', { streamId })).toMatchObject({ ok: true });
    await a.c.waitFor((f) => f.type === 'streamDestroyed', 2000, true);
    expect(stats(sid)).toMatchObject({ producers: [], consumers: [] });
    // frames still in flight from its owner: dropped silently (no error frame), counted
    pub.ws.send(audio(tracks.audio, 1));
    await until('the in-flight frame to count', () => stats(sid).droppedAfterEnd === 1);
    expect(pub.frames.filter((f) => f.type === 'error')).toEqual([]);
    // anyone else on that track: an unknown track, told
    const err = a.c.waitType('error');
    a.c.ws.send(audio(tracks.audio, 2));
    expect(await err).toMatchObject({ code: 4417 });
    expect(stats(sid).unknownTrack).toBe(1);
    // the publisher's connection going takes its streams' media with it
    const r = await pub.request('publish', { hasAudio: true, hasVideo: true });
    await a.c.request('subscribe', { streamId: (r['stream'] as { id: string }).id });
    expect(stats(sid).consumers.length).toBe(2);
    await pub.request('disconnect');
    await a.c.waitFor((f) => f.type === 'streamDestroyed' && (f['stream'] as { id: string }).id !== streamId, 2000, true);
    expect(stats(sid)).toMatchObject({ producers: [], consumers: [] });
    // a subscriber leaving takes its consumers
    const p2 = await fx!.join(sid);
    const r2 = await p2.request('publish', { hasAudio: true, hasVideo: false });
    await a.c.request('subscribe', { streamId: (r2['stream'] as { id: string }).id });
    expect(stats(sid).consumers.length).toBe(2);
    await a.c.request('disconnect');
    await until('the subscriber\'s consumers to go', () => stats(sid).consumers.length === 0);
  });

  it('a publisher that resumes inside the grace window: subscribers get streamInterrupted then streamRestored, and frames flow with no new subscribe', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const a = await subscriber(sid, streamId);
    await sendAll(pub, [audio(tracks.audio, 1)]);
    await until('frame 1', () => a.tap.frames.length === 1);
    pub.drop();
    const interrupted = await a.c.waitFor((f) => f.type === 'streamInterrupted', 3000, true);
    expect(interrupted).toMatchObject({ streamId });
    expect(typeof interrupted['seq']).toBe('number'); // an event: numbered, replayed if a's socket drops too
    expect((await pub.resume()).type).toBe('resumed');
    expect(await a.c.waitFor((f) => f.type === 'streamRestored', 3000, true)).toMatchObject({ streamId });
    await sendAll(pub, [audio(tracks.audio, 2), audio(tracks.audio, 3)]);
    await until('frames 2 and 3', () => a.tap.frames.length === 3);
    expect(a.tap.decoded().map(indexOf)).toEqual([1, 2, 3]);
    expect(a.c.eventsOf('streamDestroyed')).toEqual([]);
    expect(a.c.events.filter((e) => e.type.startsWith('stream')).map((e) => e.type)).toEqual(['streamInterrupted', 'streamRestored']);
  });

  it('a subscriber that subscribes while the publisher is in its grace window is told so in its result, then gets streamRestored', async () => {
    const { sid, pub, streamId, tracks } = await world();
    pub.drop();
    await sleep(100);
    const late = await subscriber(sid, streamId);
    expect(late.result['subscription']).toMatchObject({ streamId, interrupted: true, audio: { track: tracks.audio } });
    expect((await pub.resume()).type).toBe('resumed');
    expect(await late.c.waitFor((f) => f.type === 'streamRestored', 3000, true)).toMatchObject({ streamId });
    await sendAll(pub, [audio(tracks.audio, 1)]);
    await until('frame 1', () => late.tap.frames.length === 1);
    // a subscription made while the publisher is live carries no flag
    const live = await subscriber(sid, streamId);
    expect(live.result['subscription']).not.toHaveProperty('interrupted');
  });

  it('a subscriber that resumes gets media again from the live edge (frames sent meanwhile are dropped, counted)', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const a = await subscriber(sid, streamId);
    a.c.drop();
    await sleep(50);
    await sendAll(pub, [audio(tracks.audio, 1), audio(tracks.audio, 2)]);
    await until('2 drops', () => stats(sid).consumers[0]!.dropped === 2);
    expect((await a.c.resume()).type).toBe('resumed');
    a.tap.attach(a.c);
    await sendAll(pub, [audio(tracks.audio, 3)]);
    await until('frame 3', () => a.tap.frames.length === 1);
    expect(a.tap.decoded().map(indexOf)).toEqual([3]);
  });

  it('malformed binary frames: an error frame (not fatal), the connection goes on; a burst gets one error per second, counted', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const a = await subscriber(sid, streamId);
    const err = pub.waitType('error');
    pub.ws.send(Buffer.from([0x10, 0, 0]));
    expect(await err).toMatchObject({ code: 4416, name: 'CONVENE_MALFORMED_MEDIA', fatal: false, ref: 'media' });
    for (let i = 0; i < 200; i++) pub.ws.send(Buffer.from([0x30 + (i % 4), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    await until('200 more malformed counted', () => stats(sid).malformed === 201);
    expect(pub.frames.filter((f) => f.type === 'error').length).toBe(1); // all within the second of the first
    await sleep(1050);
    const next = pub.waitType('error');
    pub.ws.send(Buffer.from([0x10]));
    const e = await next;
    expect(e).toMatchObject({ code: 4416, suppressed: 200 });
    expect(pub.closeCode).toBeUndefined();
    expect(await pub.request('signal', { data: 'alive' })).toMatchObject({ ok: true });
    await sendAll(pub, [audio(tracks.audio, 9)]);
    await until('a good frame after the garbage', () => a.tap.frames.length === 1);
  });
});
