/**
 * The WebRTC edge (protocol revision 1.2, docs/protocol.md section 16) through a real server:
 * a node-datachannel peer connection in the test process plays the browser (it offers, the
 * server answers over the raw `ws` protocol-v1 test client), raw `ws` bots on the other side.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMediaFrame, MediaFlag } from '../lib/wire';
import type { TestClient } from './helpers/client';
import { until } from './helpers/events';
import { Tap, audio } from './helpers/media';
import { AUDIO_LEVEL_ID, BrowserPeer, OPUS_PT, VP8_PT } from './helpers/rtc-peer';
import { startFixture, sleep, type Fixture } from './helpers/server';
import { LossyRelay } from './helpers/udp-loss';
import type { ServerOptions } from '../lib/server';
import { WebRtcEdge, type EdgeStats } from '../lib/server/webrtc/edge';
import { buildRtp } from '../lib/server/webrtc/rtp';
import { buildNack, buildPli } from '../lib/server/webrtc/rtcp';

let fx: Fixture | undefined;
const peers: BrowserPeer[] = [];
const relays: LossyRelay[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close();
  for (const r of relays.splice(0)) r.close();
  await fx?.close();
  fx = undefined;
});

function browser(direction: 'SendOnly' | 'RecvOnly', kinds: { audio?: boolean; video?: boolean } = {}): BrowserPeer {
  const p = new BrowserPeer(direction, kinds);
  peers.push(p);
  return p;
}

const edge = (): WebRtcEdge => {
  const e = fx!.server.webrtc;
  if (!(e instanceof WebRtcEdge)) throw new Error(`no edge: ${e.disabled}`);
  return e;
};
const edgeStats = (): EdgeStats => edge().stats();

interface Tracks { audio: number; video: number }

async function publisher(sid: string, hasVideo: boolean): Promise<{ c: TestClient; streamId: string; tracks: Tracks }> {
  const c = await fx!.join(sid);
  const r = await c.request('publish', { hasAudio: true, hasVideo, name: 'bot' });
  expect(r['ok']).toBe(true);
  return { c, streamId: (r['stream'] as { id: string }).id, tracks: r['tracks'] as Tracks };
}

/** An RTP packet with an index in its payload's first 4 bytes. */
function opusRtp(i: number, ssrc: number): Uint8Array {
  const payload = new Uint8Array(60);
  new DataView(payload.buffer).setUint32(0, i);
  payload[4] = 0xfc; // an Opus TOC byte (made up content after the index)
  return buildRtp({
    marker: i === 0, payloadType: OPUS_PT, sequence: (1000 + i) & 0xffff, timestamp: (5000 + i * 960) >>> 0, ssrc,
    extensions: [{ id: AUDIO_LEVEL_ID, data: Uint8Array.of(0x80 | 30) }], payload,
  });
}

/** A VP8 RTP packet: descriptor (S on a frame's first), then `body` (its first byte a frame tag when it starts a frame). */
function vp8Rtp(seq: number, ts: number, start: boolean, last: boolean, body: Uint8Array, ssrc: number): Uint8Array {
  const payload = new Uint8Array(4 + body.byteLength);
  payload.set([0x80 | (start ? 0x10 : 0), 0x80, 0x80 | 0x01, 0x23]); // X, S; I; 15-bit picture id 0x0123
  payload.set(body, 4);
  return buildRtp({ marker: last, payloadType: VP8_PT, sequence: seq, timestamp: ts, ssrc, payload });
}

function bytes(n: number, first: number, fill: number): Uint8Array {
  const b = new Uint8Array(n).fill(fill);
  b[0] = first;
  return b;
}

describe('WebRTC edge: rtcSubscribe (bot -> browser)', () => {
  it('a raw-ws bot\'s audio reaches a WebRTC subscriber as RTP: Opus payloads in order, consecutive sequence numbers, the audio level extension', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const bot = await publisher(sid, false);
    const viewer = await fx.join(sid, { role: 'subscriber' });
    const b = browser('RecvOnly', { video: false });
    const r = await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: await b.makeOffer(), video: false }, 10_000);
    expect(r).toMatchObject({ ok: true, subscription: { streamId: bot.streamId, audio: { track: bot.tracks.audio } } });
    expect(r['subscription']).not.toHaveProperty('video');
    const answer = r['sdp'] as string;
    expect(answer).toMatch(/a=rtpmap:111 opus\/48000\/2/);
    expect(answer).toMatch(/a=sendonly/);
    expect(answer).toMatch(/a=candidate:.* typ host/);
    expect(answer).toMatch(/a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level/);
    await b.applyAnswer(answer);
    await until('the server side to be connected', () => edgeStats().peers.some((p) => p.side === 'subscribe' && p.state === 'connected'), 10_000);

    const N = 60;
    for (let i = 0; i < N; i += 10) {
      for (let j = i; j < i + 10; j++) bot.c.ws.send(audio(bot.tracks.audio, j));
      await until(`${i + 10} RTP packets`, () => b.rtp.audio.length >= i + 10, 5000);
    }
    const got = b.rtp.audio;
    expect(got.map((p) => new DataView(p.payload.buffer, p.payload.byteOffset).getUint32(0))).toEqual(Array.from({ length: N }, (_, i) => i));
    for (let i = 1; i < N; i++) expect(got[i]!.sequence).toBe((got[0]!.sequence + i) & 0xffff);
    expect(new Set(got.map((p) => p.ssrc)).size).toBe(1);
    expect(got.every((p) => p.payloadType === OPUS_PT && p.payload.byteLength === 40)).toBe(true);
    expect(got[5]!.timestamp).toBe(5 * 960); // as the bot sent it
    expect(got[0]!.marker).toBe(true); // the bot's talk-spurt flag on frame 0
    expect(got[1]!.marker).toBe(false);
    expect(got[7]!.extensions).toEqual([{ id: AUDIO_LEVEL_ID, data: Uint8Array.of(40) }]);
    const s = edgeStats().peers.find((p) => p.side === 'subscribe')!;
    expect(s.sent.audio).toMatchObject({ packets: N, dropped: 0 });
    expect(fx.server.registry.mediaStats(sid)!.consumers).toEqual([
      expect.objectContaining({ subscriberId: viewer.connectionId, kind: 'audio', forwarded: N, dropped: 0 }),
    ]);
    // a bot frame arrives at the bot's own ws subscribers too: the WebRTC path is one more consumer
  }, 30_000);

  it('a PLI from the WebRTC subscriber reaches the bot as keyframeRequested; a lost packet is NACKed and answered from the retransmission ring', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const bot = await publisher(sid, true);
    const viewer = await fx.join(sid);
    const b = browser('RecvOnly');
    const offer = LossyRelay.offerThroughRelay(await b.makeOffer());
    const r = await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offer }, 10_000);
    expect(r).toMatchObject({ ok: true, subscription: { audio: { track: bot.tracks.audio }, video: { track: bot.tracks.video } } });
    const answer = r['sdp'] as string;
    const videoSsrc = Number(/m=video[\s\S]*?a=ssrc:(\d+)/.exec(answer)![1]);
    const relay = new LossyRelay();
    relays.push(relay);
    relay.loseRtp(videoSsrc, [1]); // the keyframe's second packet never reaches the browser
    await b.applyAnswer(await relay.install(answer));
    await until('the server side to be connected', () => edgeStats().peers.some((p) => p.state === 'connected'), 10_000);
    // the new video path asked for a keyframe already
    await until('the subscribe\'s keyframe request', () => bot.c.eventsOf('keyframeRequested').length === 1);

    // the bot sends a keyframe of 3000 bytes (3 RTP packets) in one media frame, then two delta frames
    const key = bytes(3000, 0x10, 7); // frame tag: bit 0 clear = keyframe
    const send = (seq: number, frame: number, payload: Uint8Array, keyframe: boolean): void => {
      bot.c.ws.send(encodeMediaFrame({
        kind: 'video', flags: MediaFlag.marker | (keyframe ? MediaFlag.keyframe : 0), track: bot.tracks.video, sequence: seq,
        timestamp: frame * 3000, audioLevel: 0,
      }, payload));
    };
    send(0, 1, key, true);
    send(1, 2, bytes(500, 0x11, 8), false);
    send(2, 3, bytes(500, 0x11, 9), false);
    await until('4 video RTP packets (one lost)', () => b.rtp.video.length >= 4);
    expect(relay.lost).toBe(1);
    const first = b.rtp.video[0]!;
    const missing = (first.sequence + 1) & 0xffff;
    expect(b.rtp.video.map((p) => p.sequence)).not.toContain(missing);

    // the browser NACKs the lost packet (and one never sent): it comes again, and the frame is whole
    b.send('video', buildNack(0xabcdef, videoSsrc, [missing, (first.sequence + 100) & 0xffff]));
    await until('the retransmission', () => b.rtp.video.length === 5);
    const v = [...b.rtp.video].sort((x, y) => ((x.sequence - first.sequence) & 0xffff) - ((y.sequence - first.sequence) & 0xffff));
    expect(v.map((p) => (p.sequence - first.sequence) & 0xffff)).toEqual([0, 1, 2, 3, 4]);
    expect(v.map((p) => p.timestamp)).toEqual([3000, 3000, 3000, 6000, 9000]);
    expect(v.map((p) => p.marker)).toEqual([false, false, true, true, true]);
    // descriptors: S only on a frame's first packet, one picture id per frame
    expect(v.map((p) => (p.payload[0]! & 0x10) !== 0)).toEqual([true, false, false, true, true]);
    const pid = (i: number): number => ((v[i]!.payload[2]! & 0x7f) << 8) | v[i]!.payload[3]!;
    expect(pid(1)).toBe(pid(0));
    expect(pid(3)).toBe((pid(0) + 1) & 0x7fff);
    const keyBody = Buffer.concat(v.slice(0, 3).map((p) => Buffer.from(p.payload.subarray(4))));
    expect(keyBody.equals(Buffer.from(key))).toBe(true);
    expect(edgeStats().peers[0]!.sent.video).toMatchObject({ packets: 5, retransmitted: 1, nackMissed: 1 });
    expect(edgeStats().peers[0]!.nackIn).toBe(1);

    // PLI → keyframeRequested (rate-bounded to one per 500 ms: it may come at the end of the interval)
    const before = bot.c.eventsOf('keyframeRequested').length;
    b.send('video', buildPli(0xabcdef, videoSsrc));
    await until('the PLI to reach the bot', () => bot.c.eventsOf('keyframeRequested').length === before + 1);
    expect(bot.c.eventsOf('keyframeRequested').at(-1)).toMatchObject({ streamId: bot.streamId });
    expect(edgeStats().peers[0]!.pliIn).toBe(1);
  }, 30_000);
});

describe('WebRTC edge: rtcPublish (browser -> bot)', () => {
  it('a browser\'s Opus and VP8 RTP reach a raw-ws subscriber as media frames on the stream\'s tracks, keyframe and marker flags right; the subscriber\'s keyframe request reaches the browser as a PLI', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const owner = await fx.join(sid);
    const pub = await owner.request('publish', { hasAudio: true, hasVideo: true, name: 'browser' });
    const streamId = (pub['stream'] as { id: string }).id;
    const tracks = pub['tracks'] as Tracks;
    const b = browser('SendOnly');
    const r = await owner.request('rtcPublish', { streamId, sdp: await b.makeOffer() }, 10_000);
    expect(r).toMatchObject({ ok: true });
    expect(r['sdp']).toMatch(/a=recvonly/);
    await b.applyAnswer(r['sdp'] as string);
    await until('the server side to be connected', () => edgeStats().peers.some((p) => p.side === 'publish' && p.state === 'connected'), 10_000);

    const sub = await fx.join(sid, { role: 'subscriber' });
    const tap = new Tap(sub);
    expect(await sub.request('subscribe', { streamId })).toMatchObject({ ok: true });
    // the new subscriber's video path asks for a keyframe: the browser publisher gets a PLI, not an event
    await until('a PLI at the browser', () => b.rtcp.some((m) => m.type === 'pli' && m.media === b.ssrc.video));
    expect(owner.eventsOf('keyframeRequested')).toEqual([]);

    const A = 20;
    for (let i = 0; i < A; i++) b.send('audio', opusRtp(i, b.ssrc.audio));
    // a keyframe in 3 packets, then a delta frame in 2
    const v = b.ssrc.video;
    b.send('video', vp8Rtp(500, 90000, true, false, bytes(800, 0x10, 1), v));
    b.send('video', vp8Rtp(501, 90000, false, false, bytes(800, 0x55, 2), v));
    b.send('video', vp8Rtp(502, 90000, false, true, bytes(300, 0x55, 3), v));
    b.send('video', vp8Rtp(503, 93000, true, false, bytes(700, 0x11, 4), v));
    b.send('video', vp8Rtp(504, 93000, false, true, bytes(100, 0x55, 5), v));
    await until('the media frames', () => tap.frames.length === A + 5, 5000);
    const frames = tap.decoded();
    const au = frames.filter((f) => f.kind === 'audio');
    const vi = frames.filter((f) => f.kind === 'video');
    expect(au.map((f) => new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0))).toEqual(Array.from({ length: A }, (_, i) => i));
    expect(au.every((f) => f.track === tracks.audio && f.payload.byteLength === 60)).toBe(true);
    expect(au[3]).toMatchObject({ sequence: 1003, timestamp: 5000 + 3 * 960, audioLevel: 0x80 | 30, flags: 0 });
    expect(au[0]!.flags).toBe(MediaFlag.marker);
    expect(vi.map((f) => f.track)).toEqual(Array(5).fill(tracks.video));
    expect(vi.map((f) => f.sequence)).toEqual([500, 501, 502, 503, 504]);
    expect(vi.map((f) => f.flags)).toEqual([
      MediaFlag.keyframe, MediaFlag.keyframe, MediaFlag.keyframe | MediaFlag.marker, 0, MediaFlag.marker,
    ]);
    // descriptors stripped: the payload is the VP8 frame's bytes
    expect(vi.map((f) => f.payload.byteLength)).toEqual([800, 800, 300, 700, 100]);
    expect(vi[0]!.payload[0]).toBe(0x10);
    expect(vi[3]!.payload[1]).toBe(4);
    const p = edgeStats().peers.find((x) => x.side === 'publish')!;
    expect(p.received).toEqual({ audio: { packets: A, malformed: 0 }, video: { packets: 5, malformed: 0 } });
    expect(p.pliOut).toBeGreaterThanOrEqual(1);
    const prod = fx.server.registry.mediaStats(sid)!.producers;
    expect(prod.find((x) => x.track === tracks.audio)).toMatchObject({ received: A, droppedNotOwner: 0 });
    expect(prod.find((x) => x.track === tracks.video)).toMatchObject({ received: 5 });

    // the browser mutes its audio (updateStream hasAudio false): its RTP is dropped by the router like a bot's frames
    expect(await owner.request('updateStream', { streamId, hasAudio: false })).toMatchObject({ ok: true });
    b.send('audio', opusRtp(A, b.ssrc.audio));
    await until('the muted frame to be counted', () => fx!.server.registry.mediaStats(sid)!.producers.find((x) => x.track === tracks.audio)!.droppedMuted === 1);
    expect(tap.frames.length).toBe(A + 5);
  }, 30_000);
});

describe('WebRTC edge: hostile and cleanup', () => {
  it('refuses rtcPublish of another connection\'s stream (1535), from a subscriber role (1500), garbage SDP (4418, the connection goes on), rtcSubscribe to an unknown stream (1535)', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const bot = await publisher(sid, true);
    const other = await fx.join(sid);
    const offer = await browser('SendOnly').makeOffer();
    expect(await other.request('rtcPublish', { streamId: bot.streamId, sdp: offer })).toMatchObject({ ok: false, error: { code: 1535 } });
    const watcher = await fx.join(sid, { role: 'subscriber' });
    expect(await watcher.request('rtcPublish', { streamId: bot.streamId, sdp: offer })).toMatchObject({ ok: false, error: { code: 1500, name: 'OT_PERMISSION_DENIED' } });
    const po = await fx.join(sid, { role: 'publisheronly' });
    const recv = await browser('RecvOnly').makeOffer();
    expect(await po.request('rtcSubscribe', { streamId: bot.streamId, sdp: recv })).toMatchObject({ ok: false, error: { code: 1510 } });
    expect(await other.request('rtcSubscribe', { streamId: 'nope', sdp: recv })).toMatchObject({ ok: false, error: { code: 1535 } });

    // garbage and unanswerable offers: 4418, each with its reason
    const bad: Array<[string, RegExp]> = [
      ['hello', /v=0/],
      ['v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', /no m-line/],
      [offer.replace(/opus\/48000\/2/g, 'PCMU/8000'), /Opus/],
      [offer.replace(/VP8\/90000/g, 'H264/90000'), /VP8/],
      [offer.replace(/a=sendonly/g, 'a=recvonly'), /recvonly: this request needs sendonly/],
      [offer.replace(/a=ice-ufrag:.*\r?\n/g, '').replace(/a=fingerprint:.*\r?\n/g, ''), /refused/],
      [offer + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n', /m-lines|application/],
    ];
    for (const [sdp, why] of bad) {
      const res = await bot.c.request('rtcPublish', { streamId: bot.streamId, sdp });
      expect(res, sdp.slice(0, 40)).toMatchObject({ ok: false, error: { code: 4418, name: 'CONVENE_RTC_FAILED' } });
      expect((res['error'] as { message: string }).message).toMatch(why);
    }
    expect(await other.request('rtcSubscribe', { streamId: bot.streamId, sdp: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n' })).toMatchObject({ ok: false, error: { code: 4418 } });
    // over-long SDP: refused by the decoder (1011) before the edge sees it
    expect(await other.request('rtcSubscribe', { streamId: bot.streamId, sdp: 'v=0\r\n' + 'a=x\r\n'.repeat(7000) })).toMatchObject({ ok: false, error: { code: 1011 } });
    // the connections go on
    expect(await bot.c.request('signal', { data: 'still here' })).toMatchObject({ ok: true });
    expect(await other.request('rtcSubscribe', { streamId: bot.streamId, sdp: recv }, 10_000)).toMatchObject({ ok: true });
    expect(edgeStats().peerConnections).toBe(1);
  }, 30_000);

  it('the answer carries the configured public address and ports of the configured range; the connection negotiates through them', async () => {
    fx = await startFixture({ webrtc: { publicIp: '203.0.113.7', portRange: [42100, 42119] } });
    const sid = await fx.newSession();
    const bot = await publisher(sid, false);
    const viewer = await fx.join(sid);
    const b = browser('RecvOnly', { video: false });
    const r = await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: await b.makeOffer() }, 10_000);
    const cands = (r['sdp'] as string).split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
    expect(cands.some((l) => / 203\.0\.113\.7 \d+ typ host/.test(l))).toBe(true);
    for (const l of cands) {
      const port = Number(l.split(' ')[5]);
      expect(port).toBeGreaterThanOrEqual(42100);
      expect(port).toBeLessThanOrEqual(42119);
    }
    await b.applyAnswer(r['sdp'] as string); // the host candidates still work beside the unreachable public one
    expect(() => WebRtcEdge.create({ portRange: [5000, 4000] })).toThrow(RangeError);
  }, 20_000);

  it('a server without WebRTC answers 4419', async () => {
    fx = await startFixture({ webrtc: { enabled: false } } as Partial<ServerOptions>);
    const sid = await fx.newSession();
    const bot = await publisher(sid, true);
    const offer = await browser('SendOnly').makeOffer();
    expect(await bot.c.request('rtcPublish', { streamId: bot.streamId, sdp: offer })).toMatchObject({ ok: false, error: { code: 4419, name: 'CONVENE_RTC_DISABLED' } });
    expect(await bot.c.request('rtcClose', { streamId: bot.streamId })).toMatchObject({ ok: true });
  });

  it('requests after a negotiation wait for its result: results come in id order', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const bot = await publisher(sid, true);
    const viewer = await fx.join(sid);
    const offer = await browser('RecvOnly').makeOffer();
    const results = Promise.all([
      viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offer }, 10_000),
      viewer.request('signal', { data: 'after' }),
      viewer.request('unsubscribe', { streamId: bot.streamId }),
    ]);
    const [a, b, c] = await results;
    expect([a['ok'], b['ok'], c['ok']]).toEqual([true, true, true]);
    expect((a['seq'] as number) < (b['seq'] as number) && (b['seq'] as number) < (c['seq'] as number)).toBe(true);
    // the unsubscribe closed the peer connection the rtcSubscribe made
    expect(edgeStats().peerConnections).toBe(0);
  }, 20_000);

  it('leaks no peer connection: rtcClose, unsubscribe, unpublish, disconnect, a dropped connection past its grace window, replaced offers', async () => {
    fx = await startFixture({ graceWindowMs: 300 });
    const sid = await fx.newSession();
    const bot = await publisher(sid, true);
    const offers = { recv: await browser('RecvOnly').makeOffer(), send: await browser('SendOnly').makeOffer() };
    const viewer = await fx.join(sid);
    // rtcClose, many times, and twice in a row (idempotent)
    for (let i = 0; i < 5; i++) {
      expect(await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offers.recv }, 10_000)).toMatchObject({ ok: true });
      expect(edgeStats().peerConnections).toBe(1);
      expect(await viewer.request('rtcClose', { streamId: bot.streamId })).toMatchObject({ ok: true });
      expect(await viewer.request('rtcClose', { streamId: bot.streamId })).toMatchObject({ ok: true });
      expect(edgeStats().peerConnections).toBe(0);
      expect(fx.server.registry.mediaStats(sid)!.consumers).toEqual([]);
    }
    // a second offer for the same stream replaces the first
    await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offers.recv }, 10_000);
    await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offers.recv }, 10_000);
    expect(edgeStats().peerConnections).toBe(1);
    // a ws subscribe takes the subscription over: the peer connection goes
    await viewer.request('subscribe', { streamId: bot.streamId });
    expect(edgeStats().peerConnections).toBe(0);
    // unpublish: the publish side and every subscription of the stream
    await bot.c.request('rtcPublish', { streamId: bot.streamId, sdp: offers.send }, 10_000);
    await bot.c.request('rtcPublish', { streamId: bot.streamId, sdp: offers.send }, 10_000);
    await viewer.request('rtcSubscribe', { streamId: bot.streamId, sdp: offers.recv }, 10_000);
    const third = await fx.join(sid);
    await third.request('rtcSubscribe', { streamId: bot.streamId, sdp: offers.recv }, 10_000);
    expect(edgeStats().peerConnections).toBe(3);
    await bot.c.request('unpublish', { streamId: bot.streamId });
    expect(edgeStats().peerConnections).toBe(0);
    // a connection's end: disconnect, and a drop past the grace window
    const again = await publisher(sid, true);
    await again.c.request('rtcPublish', { streamId: again.streamId, sdp: offers.send }, 10_000);
    await viewer.request('rtcSubscribe', { streamId: again.streamId, sdp: offers.recv }, 10_000);
    await third.request('rtcSubscribe', { streamId: again.streamId, sdp: offers.recv }, 10_000);
    expect(edgeStats().peerConnections).toBe(3);
    viewer.sendRaw({ type: 'disconnect', id: viewer.nextId++ });
    await until('the viewer\'s peer connection to go', () => edgeStats().peerConnections === 2);
    third.drop();
    await sleep(100);
    expect(edgeStats().peerConnections).toBe(2); // in its grace window, the subscription stays
    await until('the grace window to end', () => edgeStats().peerConnections === 1, 3000);
    again.c.drop();
    bot.c.drop();
    await until('the session to empty', () => edgeStats().peerConnections === 0 && fx!.server.registry.sessionCount === 0, 3000);
    // and libdatachannel closed every native peer connection it made
    await until('native peer connections closed', () => edgeStats().nativeClosed === edgeStats().created, 5000);
    expect(edgeStats().created).toBeGreaterThanOrEqual(14);
  }, 60_000);
});
