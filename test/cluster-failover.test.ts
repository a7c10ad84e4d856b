/**
 * Issue 8, resume on another node: three server nodes (processes) share their sessions
 * through a real Redis behind a round-robin TCP proxy. While 30 sessions exchange signals,
 * one node is killed with SIGKILL: its clients reconnect through the proxy, land on the
 * surviving nodes and resume their connections there, rebuilt from the session logs in Redis.
 * Every signal whose sender got its result (acknowledged) arrives exactly once, in order per
 * sender; peers never see anyone leave. A resume on another node while the old one is alive
 * moves the connection (the old node lets go without announcing anything).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/index';
import { freePort, haveRedis, NodeProcess, RedisProcess, RoundRobinProxy, until } from './helpers/cluster';

const PROJECT = { apiKey: 'failover', apiSecret: 'failover-secret-0123456789abcdef' };
const SESSIONS = 30;
const SIGNALS = 120; // per client
const WINDOW = 4; // signals in flight per client

describe.skipIf(!haveRedis)('cluster failover on Redis (skipped when redis-server is not installed: apt-get install redis-server)', () => {
  let redis: RedisProcess;
  let nodes: NodeProcess[] = [];
  let proxy: RoundRobinProxy | undefined;
  const open: Session[] = [];

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => { await redis.stop(); });
  afterEach(async () => {
    for (const s of open.splice(0)) s.disconnect();
    await proxy?.stop();
    await Promise.all(nodes.map((n) => n.kill()));
  });

  async function startNodes(graceMs: number): Promise<string> {
    const args = ['--api-key', PROJECT.apiKey, '--api-secret', PROJECT.apiSecret, '--redis', redis.url, '--grace-window', String(graceMs)];
    nodes = await Promise.all([0, 1, 2].map(() => new NodeProcess(args).start()));
    proxy = new RoundRobinProxy(nodes.map((n) => n.port));
    return (await proxy.start()).url;
  }

  async function join(url: string, sid: string, data: string): Promise<Session> {
    const s = initSession(PROJECT.apiKey, sid, { serverUrl: url, reconnectBackoff: { base: 50, factor: 2, cap: 400 } });
    open.push(s);
    await s.connect(await mintToken(PROJECT, sid, data));
    return s;
  }

  it('a node killed with SIGKILL while 30 sessions exchange signals: its clients resume on the others, 0 acknowledged signals lost, 0 duplicated', async () => {
    const url = await startNodes(20_000);
    type Peer = { name: string; s: Session; got: Map<string, number[]>; acked: number[]; failed: number; left: string[] };
    const pairs: Array<[Peer, Peer]> = [];
    for (let i = 0; i < SESSIONS; i++) {
      const sid = mintSessionId(PROJECT).sessionId;
      const mk = async (name: string): Promise<Peer> => ({ name, s: await join(url, sid, name), got: new Map(), acked: [], failed: 0, left: [] });
      pairs.push([await mk(`a${i}`), await mk(`b${i}`)]);
    }
    const peers = pairs.flat();
    let reconnected = 0;
    let disconnected = 0;
    for (const p of peers) {
      p.s.on('signal', (e) => {
        const from = e.from?.data ?? 'server';
        const list = p.got.get(from) ?? [];
        list.push(Number(e.data));
        p.got.set(from, list);
      });
      p.s.on('connectionDestroyed', (e) => p.left.push(e.connection.data));
      p.s.on('sessionReconnected', () => { reconnected++; });
      p.s.on('sessionDisconnected', () => { disconnected++; });
    }
    for (const [a, b] of pairs) await until('both to know each other', () => a.s.connection !== undefined && b.s.connection !== undefined);
    const ids = peers.map((p) => p.s.connection!.connectionId);

    // every client sends SIGNALS numbered signals to its peer, WINDOW at a time
    const send = async (from: Peer, to: Peer): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < SIGNALS) {
          const i = next++;
          try {
            await from.s.signal({ type: 'n', data: String(i), to: to.s.connection! });
            from.acked.push(i);
          } catch {
            from.failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, worker));
    };
    const traffic = Promise.all(pairs.flatMap(([a, b]) => [send(a, b), send(b, a)]));

    // kill a node once traffic is under way
    await until('traffic to be under way', () => peers.every((p) => p.acked.length >= 20), 30_000);
    const victim = nodes[1]!;
    await victim.kill('SIGKILL');
    const ackedAtKill = peers.reduce((n, p) => n + p.acked.length, 0);
    await Promise.race([traffic, new Promise((_, reject) => setTimeout(() => reject(new Error(
      `traffic did not finish: ${peers.reduce((n, p) => n + p.acked.length, 0)} of ${2 * SESSIONS * SIGNALS} signals acknowledged, ${reconnected} reconnected`)), 30_000))]);
    expect(ackedAtKill).toBeLessThan(2 * SESSIONS * SIGNALS); // the kill came in the middle of the traffic

    // every acknowledged signal arrives exactly once, in order per sender
    const peerOf = new Map(pairs.flatMap(([a, b]) => [[a, b], [b, a]] as const));
    for (const [from, to] of peerOf) {
      await until(`${to.name} to get ${from.name}'s acknowledged signals`, () => (to.got.get(from.name)?.length ?? 0) >= from.acked.length, 20_000);
    }
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const [from, to] of peerOf) {
      const got = to.got.get(from.name) ?? [];
      const seen = new Set<number>();
      for (const n of got) { if (seen.has(n)) duplicated++; seen.add(n); }
      for (const n of from.acked) if (!seen.has(n)) lost++;
      for (let i = 1; i < got.length; i++) if ((got[i] as number) < (got[i - 1] as number) - WINDOW) outOfOrder++;
    }
    const failed = peers.reduce((n, p) => n + p.failed, 0);
    const acked = peers.reduce((n, p) => n + p.acked.length, 0);
    expect({ lost, duplicated, failed, disconnected }).toEqual({ lost: 0, duplicated: 0, failed: 0, disconnected: 0 });
    expect(acked).toBe(2 * SESSIONS * SIGNALS);
    expect(outOfOrder).toBe(0);
    // a third of the clients were on the killed node (round robin): all came back, on the others,
    // as the same connections
    expect(reconnected).toBe(20);
    expect(peers.every((p) => p.s.connectionStatus === 'connected')).toBe(true);
    expect(peers.map((p) => p.s.connection!.connectionId)).toEqual(ids);
    // nobody saw anyone leave
    expect(peers.flatMap((p) => p.left)).toEqual([]);
  }, 120_000);

  it('a client that lands on another node while its node is alive moves there: the old node lets go silently, signals go on once', async () => {
    const url = await startNodes(1500);
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(url, sid, 'a'); // node 1
    const b = await join(url, sid, 'b'); // node 2
    const c = await join(url, sid, 'c'); // node 3
    const left: string[] = [];
    const got: string[] = [];
    for (const s of [a, b, c]) s.on('connectionDestroyed', (e) => left.push(e.connection.data));
    c.on('signal', (e) => got.push(`${e.from?.data}:${e.data}`));
    a.on('signal', (e) => got.push(`${e.from?.data}:${e.data}`));
    const reconnected = new Promise<void>((r) => a.once('sessionReconnected', () => r()));
    const before = a.connection!.connectionId;
    // a's socket to node 1 is cut; node 1 stays up but the proxy sends new connections elsewhere
    proxy!.avoid.add(nodes[0]!.port);
    expect(proxy!.cut(nodes[0]!.port)).toBe(1);
    await a.signal({ type: 'n', data: 'during', to: c.connection! }); // queued, sent after the resume
    await reconnected;
    expect(a.connection!.connectionId).toBe(before);
    await b.signal({ type: 'n', data: 'to-a', to: a.connection! });
    await a.signal({ type: 'n', data: 'after', to: c.connection! });
    await until('the signals to arrive', () => got.length === 3);
    // node 1's grace window (1.5 s) passes: it does not announce a as gone, a stays reachable
    await new Promise((r) => setTimeout(r, 3000));
    await c.signal({ type: 'n', data: 'later', to: a.connection! });
    await until('the last signal', () => got.length === 4);
    expect(got.sort()).toEqual(['a:after', 'a:during', 'b:to-a', 'c:later']);
    expect(left).toEqual([]);
    expect(a.connectionStatus).toBe('connected');
  }, 30_000);
});
