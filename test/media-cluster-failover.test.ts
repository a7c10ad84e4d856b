/**
 * Media across nodes when nodes die (issue 20): three `convene server` processes with a cluster
 * secret share a real Redis behind the round-robin proxy. A publisher (raw ws client sending
 * audio frames every 20 ms) is on node 1, three subscribers on node 2 and one on node 3.
 *  - every frame crosses each link once (node 1's /health counters);
 *  - SIGKILL node 1: the publisher resumes on node 2; every subscriber gets streamInterrupted,
 *    then streamRestored, then frames again, without resubscribing (time to media printed);
 *  - SIGKILL node 3: its subscriber resumes on node 2 and gets frames again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/index';
import { freePort, haveRedis, NodeProcess, RedisProcess, RoundRobinProxy, until } from './helpers/cluster';
import { TestClient } from './helpers/client';
import { audio, indexOf, Tap } from './helpers/media';
import { decodeMediaFrame } from '../lib/wire';

const PROJECT = { apiKey: 'mediafail', apiSecret: 'mediafail-secret-0123456789abcdef' };
const SECRET = 'cluster-media-secret-0123456789';

interface Sub { name: string; c: TestClient; tap: Tap; at: number[] }

async function untilAsync(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!haveRedis)('media across nodes when nodes die (skipped without redis-server)', () => {
  let redis: RedisProcess;
  let nodes: NodeProcess[] = [];
  let proxy: RoundRobinProxy | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => { await redis.stop(); });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.stop();
    await Promise.all(nodes.map((n) => n.kill()));
  });

  /** New connections through the proxy go to node i only. */
  const steer = (i: number): void => {
    proxy!.avoid.clear();
    nodes.forEach((n, j) => { if (j !== i) proxy!.avoid.add(n.port); });
  };

  async function join(node: number, sid: string, name: string): Promise<TestClient> {
    steer(node);
    const c = new TestClient(proxy!.url, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, name) });
    clients.push(c);
    expect((await c.connect()).type).toBe('connected');
    return c;
  }

  async function health(node: number): Promise<{ links: Array<{ peer: string; framesOut: number; framesIn: number; bytesOut: number; channelsOut: number }> }> {
    const r = await fetch(`http://127.0.0.1:${nodes[node]!.port}/health`);
    const body = (await r.json()) as { cluster: { node: string; media: { links: Array<{ peer: string; framesOut: number; framesIn: number; bytesOut: number; channelsOut: number }> } } };
    return body.cluster.media;
  }

  async function nodeId(node: number): Promise<string> {
    const r = await fetch(`http://127.0.0.1:${nodes[node]!.port}/health`);
    return ((await r.json()) as { cluster: { node: string } }).cluster.node;
  }

  /** Resumes a client whose node died on node `to` (through the proxy); its tap follows it. */
  async function resumeOn(c: TestClient, tap: Tap | undefined, to: number): Promise<void> {
    await c.waitClose(10_000);
    steer(to);
    const r = await c.resume();
    expect(r.type).toBe('resumed');
    tap?.attach(c);
  }

  it('publisher on node 1, subscribers on nodes 2 and 3: one crossing per link; SIGKILL of the publisher\'s node, then of a subscriber\'s node: media comes back without resubscribing', async () => {
    const args = ['--api-key', PROJECT.apiKey, '--api-secret', PROJECT.apiSecret, '--redis', redis.url, '--grace-window', '20000', '--cluster-secret', SECRET];
    nodes = await Promise.all([0, 1, 2].map(() => new NodeProcess(args).start()));
    proxy = await new RoundRobinProxy(nodes.map((n) => n.port)).start();
    const ids = await Promise.all([0, 1, 2].map(nodeId));
    const sid = mintSessionId(PROJECT).sessionId;

    const pub = await join(0, sid, 'pub');
    const r = await pub.request('publish', { hasAudio: true, hasVideo: false });
    const streamId = (r['stream'] as { id: string }).id;
    const track = (r['tracks'] as { audio: number }).audio;
    const subs: Sub[] = [];
    for (const [node, name] of [[1, 'b1'], [1, 'b2'], [1, 'b3'], [2, 'c1']] as const) {
      const c = await join(node, sid, name);
      const tap = new Tap(c);
      const s: Sub = { name, c, tap, at: [] };
      c.ws.on('message', (_d: Buffer, bin: boolean) => { if (bin) s.at.push(Date.now()); });
      expect(await c.request('subscribe', { streamId })).toMatchObject({ ok: true, subscription: { streamId, audio: { track } } });
      subs.push(s);
    }

    // a burst: every frame at every subscriber, in order; node 1 sent each once per node
    const N = 100;
    await untilAsync('node 1 to forward to both nodes', async () => (await health(0)).links.filter((l) => l.channelsOut === 1).length === 2);
    for (let i = 0; i < N; i++) pub.ws.send(audio(track, i));
    for (const s of subs) await until(`${s.name} to get the burst`, () => s.tap.frames.length === N);
    const out = (await health(0)).links;
    const sentTo = (node: number): number => out.filter((l) => l.peer === ids[node]).reduce((n, l) => n + l.framesOut, 0);
    expect([sentTo(1), sentTo(2)]).toEqual([N, N]);
    expect((await health(1)).links.reduce((n, l) => n + l.framesIn, 0)).toBe(N);
    for (const s of subs) expect(s.tap.decoded().map(indexOf)).toEqual(Array.from({ length: N }, (_, i) => i));

    // then live audio, a frame every 20 ms, on whatever socket the publisher has
    let next = N;
    const pump = setInterval(() => {
      if (pub.ws.readyState === pub.ws.OPEN) pub.ws.send(audio(track, next++));
    }, 20);
    try {
      await until('live frames everywhere', () => subs.every((s) => s.tap.frames.length >= N + 10));

      // SIGKILL the publisher's node: the publisher resumes on node 2
      const killedAt = Date.now();
      await nodes[0]!.kill('SIGKILL');
      const before = subs.map((s) => s.tap.frames.length);
      await resumeOn(pub, undefined, 1);
      const resumedAt = Date.now();
      for (const s of subs) {
        await until(`${s.name}: frames again`, () => s.tap.frames.length >= (before[subs.indexOf(s)] as number) + 10, 15_000);
        await until(`${s.name}: streamRestored`, () => s.c.eventsOf('streamRestored').length === 1, 5000);
        const kinds = s.c.events.filter((e) => e.type === 'streamInterrupted' || e.type === 'streamRestored').map((e) => `${e.type}:${String(e['streamId'])}`);
        expect(kinds).toEqual([`streamInterrupted:${streamId}`, `streamRestored:${streamId}`]);
      }
      const timeToMedia = subs.map((s) => (s.at[before[subs.indexOf(s)] as number] as number) - killedAt);
      console.log(`media across nodes: SIGKILL of the publisher's node -> publisher resumed in ${resumedAt - killedAt} ms; media again at the subscribers after ${timeToMedia.join(', ')} ms`);
      // in order throughout (frames lost while the publisher was away, none out of order or twice)
      for (const s of subs) {
        const idx = s.tap.decoded().map(indexOf);
        for (let i = 1; i < idx.length; i++) expect(idx[i]).toBeGreaterThan(idx[i - 1] as number);
      }
      // the publisher is on node 2 now: node 3 gets the stream from it, once
      await untilAsync('node 2 to forward to node 3', async () => (await health(1)).links.some((l) => l.peer === ids[2] && l.framesOut > 0));

      // SIGKILL the node of subscriber c1 (node 3): it resumes on node 2 and gets frames again
      const c1 = subs[3]!;
      const killed3 = Date.now();
      await nodes[2]!.kill('SIGKILL');
      await resumeOn(c1.c, c1.tap, 1);
      c1.c.ws.on('message', (_d: Buffer, bin: boolean) => { if (bin) c1.at.push(Date.now()); });
      const had = c1.tap.frames.length;
      await until('c1: frames again on node 2', () => c1.tap.frames.length >= had + 10, 15_000);
      console.log(`media across nodes: SIGKILL of a subscriber's node -> media again after ${(c1.at[had] as number) - killed3} ms`);
      const last = c1.tap.frames.slice(-5).map((f) => { const d = decodeMediaFrame(f); return d.ok ? d.frame.track : 0; });
      expect(last).toEqual([track, track, track, track, track]);
    } finally {
      clearInterval(pump);
    }
  }, 90_000);
});
