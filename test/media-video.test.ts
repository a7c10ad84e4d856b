/**
 * Video forwarding policy (protocol v1.1, docs/protocol.md §15.4): a new video path starts at a
 * keyframe; a subscriber whose socket is congested loses its queued video and waits for the
 * next keyframe (never its audio first, never another subscriber's frames); keyframe requests
 * reach the publisher rate-bounded. Real server, raw `ws` clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../lib/server';
import type { TestClient } from './helpers/client';
import { until } from './helpers/events';
import { Tap, audio, indexOf, video } from './helpers/media';
import { sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
afterEach(async () => { await fx?.close(); fx = undefined; });

interface Tracks { audio: number; video: number }

async function world(options: Partial<ServerOptions> = {}): Promise<{ sid: string; pub: TestClient; streamId: string; tracks: Tracks }> {
  fx = await startFixture({ signalsPerSecond: 0, ...options });
  const sid = await fx.newSession();
  const pub = await fx.join(sid);
  const r = await pub.request('publish', { hasAudio: true, hasVideo: true, name: 'cam' });
  return { sid, pub, streamId: (r['stream'] as { id: string }).id, tracks: r['tracks'] as Tracks };
}

async function subscriber(sid: string, streamId: string): Promise<{ c: TestClient; tap: Tap }> {
  const c = await fx!.join(sid);
  const tap = new Tap(c);
  expect(await c.request('subscribe', { streamId })).toMatchObject({ ok: true });
  return { c, tap };
}

const stats = (sid: string) => fx!.server.registry.mediaStats(sid)!;
const keyframeRequests = (c: TestClient): number => c.eventsOf('keyframeRequested').length;

describe('video forwarding (v1.1)', () => {
  it('a new video subscriber starts at a keyframe: the publisher is asked for one, packets before it are dropped and counted', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const sub = await subscriber(sid, streamId);
    expect(await pub.waitFor((f) => f.type === 'keyframeRequested', 3000, true)).toMatchObject({ streamId });
    // a delta frame, then a keyframe of two packets (the first packet starts it), then a delta frame
    for (const f of [
      video(tracks.video, 1, { frame: 1 }),
      video(tracks.video, 2, { frame: 2, keyframe: true, last: false }),
      video(tracks.video, 3, { frame: 2, keyframe: true, last: true }),
      video(tracks.video, 4, { frame: 3 }),
    ]) pub.ws.send(f);
    await until('3 packets', () => sub.tap.frames.length === 3);
    expect(sub.tap.decoded().map(indexOf)).toEqual([2, 3, 4]);
    const c = stats(sid).consumers.find((x) => x.kind === 'video')!;
    expect(c).toMatchObject({ forwarded: 3, dropped: 1, droppedWaitingKeyframe: 1, waitingKeyframe: false });
  });

  it('a keyframe packet in the middle of a frame does not start the path (only the first packet of a keyframe does)', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const sub = await subscriber(sid, streamId);
    pub.ws.send(video(tracks.video, 1, { frame: 1, keyframe: true, last: false }));
    await until('the first keyframe packet', () => sub.tap.frames.length === 1);
    const late = await subscriber(sid, streamId);
    pub.ws.send(video(tracks.video, 2, { frame: 1, keyframe: true, last: true })); // the rest of that keyframe: not a start
    pub.ws.send(video(tracks.video, 3, { frame: 2, keyframe: true, last: true })); // a whole keyframe
    await until('the late subscriber\'s keyframe', () => late.tap.frames.length === 1);
    expect(late.tap.decoded().map(indexOf)).toEqual([3]);
    await until('the first subscriber gets 2 and 3', () => sub.tap.frames.length === 3);
    expect(sub.tap.decoded().map(indexOf)).toEqual([1, 2, 3]); // its own path started earlier and continues
  });

  it('requestKeyframe: only with a video subscription to the stream; requests to the publisher are rate-bounded and coalesced', async () => {
    const { sid, pub, streamId, tracks } = await world();
    const sub = await subscriber(sid, streamId);
    await until('the subscribe\'s request', () => keyframeRequests(pub) === 1);
    pub.ws.send(video(tracks.video, 1, { keyframe: true }));
    await until('the keyframe', () => sub.tap.frames.length === 1);
    // three requests at once: inside the interval they become ONE more request to the publisher
    for (let i = 0; i < 3; i++) expect(await sub.c.request('requestKeyframe', { streamId })).toMatchObject({ ok: true });
    await until('the coalesced request', () => keyframeRequests(pub) === 2, 3000);
    await sleep(700); // longer than the interval: nothing else was owed
    expect(keyframeRequests(pub)).toBe(2);
    const p = stats(sid).producers.find((x) => x.kind === 'video')!;
    expect(p.keyframeRequests).toBe(2);
    expect(p.keyframeRequestsCoalesced).toBeGreaterThanOrEqual(2);
    // not subscribed to that stream's video: refused, nothing asked
    const other = await fx!.join(sid);
    expect(await other.request('requestKeyframe', { streamId })).toMatchObject({ ok: false, error: { code: 1535 } });
    expect(await sub.c.request('requestKeyframe', {})).toMatchObject({ ok: false });
    const audioOnly = await fx!.join(sid);
    expect(await audioOnly.request('subscribe', { streamId, video: false })).toMatchObject({ ok: true });
    expect(await audioOnly.request('requestKeyframe', { streamId })).toMatchObject({ ok: false, error: { code: 1535 } });
    expect(keyframeRequests(pub)).toBe(2);
  });

  it('a congested subscriber loses its queued video and waits for a keyframe (the publisher is asked); its audio and the other subscriber are untouched', async () => {
    const { sid, pub, streamId, tracks } = await world({ mediaSendBufferBytes: 65_536, mediaQueueFrames: 1000, mediaVideoQueueBytes: 256 * 1024 });
    const fast = await subscriber(sid, streamId);
    const slow = await subscriber(sid, streamId);
    await until('the subscribers\' request', () => keyframeRequests(pub) >= 1);
    slow.c.ws.pause();
    const N = 600;
    let v = 0;
    let a = 0;
    for (let i = 0; i < N; i += 50) {
      const batch: Uint8Array[] = [];
      for (let j = 0; j < 50; j++) {
        batch.push(video(tracks.video, v, { keyframe: v === 0, frame: v, payloadBytes: 8000 }));
        v++;
        batch.push(audio(tracks.audio, a++, 100));
      }
      for (const f of batch) pub.ws.send(f);
      await until(`the reading subscriber to get ${2 * (i + 50)} frames`, () => fast.tap.frames.length === 2 * (i + 50), 10_000);
    }
    const mine = (kind: string, id: string) => stats(sid).consumers.find((c) => c.subscriberId === id && c.kind === kind)!;
    const sv = mine('video', slow.c.connectionId);
    expect(sv.videoResets).toBeGreaterThan(0);
    expect(sv.waitingKeyframe).toBe(true);
    expect(sv.dropped).toBeGreaterThan(0);
    const sa = mine('audio', slow.c.connectionId);
    expect(sa.dropped).toBe(0); // audio kept (its queue holds 1000): video went first
    expect(sa.forwarded + sa.queued).toBe(N);
    expect(mine('video', fast.c.connectionId)).toMatchObject({ forwarded: N, dropped: 0 });
    expect(mine('audio', fast.c.connectionId)).toMatchObject({ forwarded: N, dropped: 0 });
    await until('a keyframe request for the overflow', () => keyframeRequests(pub) >= 2, 3000);
    // the reader comes back: every audio frame, in order; video resumes at the next keyframe only
    slow.c.ws.resume();
    pub.ws.send(video(tracks.video, v++, { frame: v, payloadBytes: 100 })); // a delta frame: still dropped
    pub.ws.send(video(tracks.video, v++, { frame: v, keyframe: true, payloadBytes: 100 }));
    await until('the slow subscriber\'s keyframe', () => slow.tap.decoded().some((f) => f.kind === 'video' && indexOf(f) === v - 1), 10_000);
    const got = slow.tap.decoded();
    expect(got.filter((f) => f.kind === 'audio').map(indexOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    const vids = got.filter((f) => f.kind === 'video').map(indexOf);
    expect(vids).not.toContain(v - 2); // the delta frame after the reset
    expect(vids[0]).toBe(0); // the path started at the first keyframe
  });
});
