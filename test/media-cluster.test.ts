/**
 * Media across the nodes of a cluster (docs/cluster.md, "Media across nodes"), nodes in this
 * process with a real Redis: without a cluster secret a subscribe to a stream of another node
 * fails with 4501; with one, subscribers on other nodes get the publisher's frames in order,
 * each frame crossing to a node once however many subscribers it has there; tracks stay unique
 * in the session whichever node publishes; a link is refused without the secret.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mintToken } from '../lib/mint';
import { mintSessionId, startServer, type ConveneServer, type ServerOptions } from '../lib/server/index';
import { LINK_PROTOCOL } from '../lib/server/cluster/media-link';
import type { MediaRelay } from '../lib/server/cluster/media-relay';

/** A node's relay itself (its links' internals), behind the public view. */
const relayOf = (s: ConveneServer): MediaRelay => (s as unknown as { relay: MediaRelay }).relay;
import { freePort, haveRedis, RedisProcess, until } from './helpers/cluster';
import { TestClient } from './helpers/client';
import { audio, indexOf, Tap, video } from './helpers/media';

const PROJECT = { apiKey: 'cluster', apiSecret: 'cluster-secret-0123456789abcdef' };
const SECRET = 'media-links-secret-0123456789';

describe.skipIf(!haveRedis)('media in a cluster (skipped without redis-server)', () => {
  let redis: RedisProcess;
  let nodes: ConveneServer[] = [];
  const clients: TestClient[] = [];

  async function client(node: number, sid: string, data: string): Promise<TestClient> {
    const c = new TestClient(`ws://127.0.0.1:${nodes[node]!.port}`, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, data) });
    clients.push(c);
    expect((await c.connect()).type).toBe('connected');
    return c;
  }

  async function startNodes(n: number, extra: Partial<ServerOptions> | ((i: number) => Partial<ServerOptions>) = {}): Promise<void> {
    for (let i = 0; i < n; i++) {
      const more = typeof extra === 'function' ? extra(i) : extra;
      nodes.push(await startServer({ projects: [PROJECT], port: 0, redis: redis.url, ...more }));
    }
  }

  async function publish(c: TestClient, hasVideo = false): Promise<{ streamId: string; tracks: { audio: number; video: number } }> {
    const r = await c.request('publish', { hasAudio: true, hasVideo });
    expect(r['ok']).toBe(true);
    return { streamId: (r['stream'] as { id: string }).id, tracks: r['tracks'] as { audio: number; video: number } };
  }

  async function subscriber(node: number, sid: string, streamId: string, name: string): Promise<{ c: TestClient; tap: Tap }> {
    const c = await client(node, sid, name);
    await c.waitFor((f) => f.type === 'connected', 2000, true);
    const tap = new Tap(c);
    const r = await c.request('subscribe', { streamId });
    expect(r).toMatchObject({ ok: true, subscription: { streamId } });
    return { c, tap };
  }

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => { await redis.stop(); });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.map((n) => n.close()));
    nodes = [];
  });

  it('without a cluster secret, subscribe to a publisher on another node fails with 4501; on the same node it works', async () => {
    await startNodes(2);
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub);
    const track = tracks.audio;

    const far = await client(1, sid, 'far');
    await far.waitFor((f) => f.type === 'connected', 2000, true);
    const refused = await far.request('subscribe', { streamId });
    expect(refused).toMatchObject({ ok: false, error: { code: 4501, name: 'CONVENE_MEDIA_NOT_ON_THIS_NODE' } });
    expect((refused['error'] as { message: string }).message).toMatch(/cluster secret/);

    const near = await client(0, sid, 'near');
    const got: Buffer[] = [];
    near.ws.on('message', (d: Buffer, bin: boolean) => { if (bin) got.push(d); });
    expect(await near.request('subscribe', { streamId })).toMatchObject({ ok: true, subscription: { streamId, audio: { track } } });
    pub.ws.send(audio(track, 0));
    await until('the frame on the same node', () => got.length === 1);
    expect(nodes[0]!.registry.mediaStats(sid)!.consumers.map((c) => c.forwarded)).toEqual([1, 0]);
  });

  it('three nodes: subscribers on two other nodes get the frames in order; each frame crosses each link once with 3 subscribers on one node', async () => {
    await startNodes(3, { clusterSecret: SECRET });
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub);
    const subs = [
      await subscriber(1, sid, streamId, 'b1'), await subscriber(1, sid, streamId, 'b2'), await subscriber(1, sid, streamId, 'b3'),
      await subscriber(2, sid, streamId, 'c1'),
    ];
    await until('both nodes to receive the stream', () => nodes[1]!.mediaRelay!.stats().flowing === 1 && nodes[2]!.mediaRelay!.stats().flowing === 1);
    const N = 200;
    const sent = Array.from({ length: N }, (_, i) => audio(tracks.audio, i));
    for (const f of sent) pub.ws.send(f);
    for (const s of subs) await until('every frame at every subscriber', () => s.tap.frames.length === N);
    for (const s of subs) {
      expect(s.tap.decoded().map(indexOf)).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(Buffer.from(s.tap.frames[7]!).equals(Buffer.from(sent[7]!))).toBe(true); // byte for byte: same track, same header
    }
    // node 1 (the publisher's) sent each frame once to node 2 and once to node 3
    const out = nodes[0]!.mediaRelay!.stats().links;
    const toNode = (i: number): number => out.filter((l) => l.peer === nodes[i]!.cluster!.nodeId).reduce((n, l) => n + l.framesOut, 0);
    expect([toNode(1), toNode(2)]).toEqual([N, N]);
    const inOf = (i: number): number => nodes[i]!.mediaRelay!.stats().links.reduce((n, l) => n + l.framesIn, 0);
    expect([inOf(1), inOf(2)]).toEqual([N, N]);
    // on node 2 one producer fans out to its 3 subscribers
    const b = nodes[1]!.registry.mediaStats(sid)!;
    expect(b.producers.find((p) => p.track === tracks.audio)).toMatchObject({ received: N, consumers: 3 });
    expect(b.consumers.filter((c) => c.kind === 'audio').map((c) => c.forwarded)).toEqual([N, N, N]);
    // the publisher's node: one link consumer per node, nothing dropped
    const a = nodes[0]!.registry.mediaStats(sid)!;
    expect(a.consumers.filter((c) => c.kind === 'audio').map((c) => [c.subscriberId.startsWith('link:'), c.forwarded, c.dropped])).toEqual([[true, N, 0], [true, N, 0]]);

    // the last subscriber of a node unsubscribes: that node's forward stops
    expect(await subs[3]!.c.request('unsubscribe', { streamId })).toMatchObject({ ok: true });
    await until('node 3 to stop receiving', () => nodes[2]!.mediaRelay!.stats().inbound === 0 && nodes[0]!.registry.mediaStats(sid)!.consumers.length === 2);
    pub.ws.send(audio(tracks.audio, N));
    await until('node 2 subscribers to get one more', () => subs.slice(0, 3).every((s) => s.tap.frames.length === N + 1));
    expect(toNode(2)).toBe(N);
  });

  it('video across nodes: a new subscriber on another node starts at a keyframe it asked for through the link', async () => {
    await startNodes(2, { clusterSecret: SECRET });
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub, true);
    const s = await subscriber(1, sid, streamId, 'far');
    await pub.waitFor((f) => f.type === 'keyframeRequested' && f['streamId'] === streamId, 5000, true);
    // a delta frame first (dropped: the subscriber waits for a keyframe), then a keyframe and a delta
    await until('the forward', () => nodes[1]!.mediaRelay!.stats().flowing === 1);
    pub.ws.send(video(tracks.video, 0));
    pub.ws.send(video(tracks.video, 1, { keyframe: true }));
    pub.ws.send(video(tracks.video, 2));
    await until('two video frames', () => s.tap.frames.length === 2);
    expect(s.tap.decoded().map(indexOf)).toEqual([1, 2]);
  });

  it('Redis down: media between nodes already linked keeps flowing; a new link waits for Redis', async () => {
    await startNodes(3, { clusterSecret: SECRET });
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub);
    const s = await subscriber(1, sid, streamId, 'far');
    await until('the forward', () => nodes[1]!.mediaRelay!.stats().flowing === 1);
    await redis.stop();
    try {
      await until('the nodes to notice', () => nodes.every((n) => !n.cluster!.connected));
      for (let i = 0; i < 50; i++) pub.ws.send(audio(tracks.audio, i));
      await until('50 frames while Redis is down', () => s.tap.frames.length === 50);
      expect(s.tap.decoded().map(indexOf)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      // node 3 has no link to node 1 yet: it cannot find node 1's address while Redis is away
      const far = relayOf(nodes[2]!);
      expect(far.links.linkTo(nodes[0]!.cluster!.nodeId)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 600));
      expect(far.links.linkTo(nodes[0]!.cluster!.nodeId)).toBeUndefined();
    } finally {
      await redis.start();
    }
    await until('node 3 to link to node 1 once Redis is back', () => relayOf(nodes[2]!).links.linkTo(nodes[0]!.cluster!.nodeId) !== undefined, 10_000);
  });

  it('a slow node: its link consumer drops old audio (bounded queue), other nodes get every frame', async () => {
    await startNodes(3, { clusterSecret: SECRET, mediaQueueFrames: 25, mediaSendBufferBytes: 65_536 });
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub);
    const slow = await subscriber(1, sid, streamId, 'slow');
    const fast = await subscriber(2, sid, streamId, 'fast');
    await until('both forwards', () => nodes[1]!.mediaRelay!.stats().flowing === 1 && nodes[2]!.mediaRelay!.stats().flowing === 1);
    // node 2 stops reading its link from node 1 (a node stalled): node 1's socket buffers fill
    const slowId = nodes[1]!.cluster!.nodeId;
    const link = relayOf(nodes[0]!).links.all().find((l) => l.peer === slowId)!;
    const peerLink = relayOf(nodes[1]!).links.all().find((l) => l.peer === nodes[0]!.cluster!.nodeId)!;
    (peerLink as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket.pause();
    const N = 1500;
    for (let i = 0; i < N; i += 100) {
      for (let j = i; j < i + 100; j++) pub.ws.send(audio(tracks.audio, j, 8000));
      await until(`the fast node's subscriber to get ${i + 100}`, () => fast.tap.frames.length === i + 100, 10_000);
    }
    expect(fast.tap.decoded().map(indexOf)).toEqual(Array.from({ length: N }, (_, i) => i));
    const c = nodes[0]!.registry.mediaStats(sid)!.consumers.find((x) => x.kind === 'audio' && x.subscriberId === `link:${link.id}`)!;
    expect(c.dropped).toBeGreaterThan(0);
    expect(c.queued).toBeLessThanOrEqual(25);
    (peerLink as unknown as { ws: { _socket: { resume(): void } } }).ws._socket.resume();
    await until('the slow node to get what was not dropped', () => slow.tap.frames.length > 0, 10_000);
    const got = slow.tap.decoded().map(indexOf);
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1] as number);
    expect(got.length).toBeLessThan(N);
  });

  it('tracks are unique in the session whichever node publishes', async () => {
    await startNodes(3, { clusterSecret: SECRET });
    const sid = mintSessionId(PROJECT).sessionId;
    const seen = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const { tracks } = await publish(await client(i % 3, sid, `p${i}`));
      for (const t of [tracks.audio, tracks.video]) {
        expect(seen.has(t)).toBe(false);
        seen.add(t);
      }
    }
    expect(seen.size).toBe(12);
  });

  it('a media link is refused without the cluster secret (close 4401), and between nodes with different secrets no media flows', async () => {
    await startNodes(2, (i) => ({ clusterSecret: i === 0 ? SECRET : 'another-secret-0123456789' }));
    const address = nodes[0]!.mediaRelay!.links.address;
    // a peer that does not know the secret
    const ws = new WebSocket(`ws://${address}/`, LINK_PROTOCOL);
    const hello = await new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Record<string, unknown>)));
    expect(hello).toMatchObject({ t: 'hello', node: nodes[0]!.cluster!.nodeId });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ t: 'auth', node: 'intruder', nonce: 'x', mac: '00'.repeat(32) }));
    expect(await closed).toBe(4401);
    // binary before authenticating: refused too
    const ws2 = new WebSocket(`ws://${address}/`, LINK_PROTOCOL);
    await new Promise((r) => ws2.once('message', r));
    const closed2 = new Promise<number>((resolve) => ws2.once('close', (code) => resolve(code)));
    ws2.send(Buffer.alloc(20));
    expect(await closed2).toBe(4401);
    expect(nodes[0]!.mediaRelay!.stats().refused).toBe(2);

    // a node with another secret: its subscriber gets nothing, the link is refused both ways
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const { streamId, tracks } = await publish(pub);
    const s = await subscriber(1, sid, streamId, 'far');
    await until('the link to be refused', () => nodes[0]!.mediaRelay!.stats().refused >= 3);
    pub.ws.send(audio(tracks.audio, 0));
    await new Promise((r) => setTimeout(r, 300));
    expect(s.tap.frames.length).toBe(0);
    expect(nodes[0]!.mediaRelay!.stats().links).toEqual([]);
  });
});
