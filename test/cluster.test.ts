/**
 * Server nodes sharing their sessions through a real Redis (issue 8, first part): 3 nodes
 * behind a round-robin TCP proxy; clients on different nodes see each other, signal each
 * other and see each other's streams; the connection limit holds across nodes; REST works on
 * a node without clients in the session; a node killed with SIGKILL is swept after the grace
 * window; without Redis, new connections are refused with a clear error while connected
 * clients keep going, and the cluster recovers when Redis returns.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as join_ } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { mintProjectJwt, mintToken } from '../lib/mint';
import { mintSessionId, startServer, type ConveneServer } from '../lib/server/index';
import { Redis } from 'ioredis';
import { freePort, haveRedis, RedisProcess, RoundRobinProxy, until } from './helpers/cluster';
import { TestClient, type Frame } from './helpers/client';
import { FaultProxy } from '../lib/tools/fault-proxy';

const PROJECT = { apiKey: 'cluster', apiSecret: 'cluster-secret-0123456789abcdef' };

describe.skipIf(!haveRedis)('cluster on Redis (skipped when redis-server is not installed: apt-get install redis-server)', () => {
  let redis: RedisProcess;
  let nodes: ConveneServer[] = [];
  let proxy: RoundRobinProxy;
  let proxyUrl = '';
  const open: Session[] = [];

  async function startCluster(maxConnectionsPerSession = 1000, graceWindowMs = 30_000): Promise<void> {
    nodes = [];
    for (let i = 0; i < 3; i++) nodes.push(await startServer({ projects: [PROJECT], port: 0, redis: redis.url, maxConnectionsPerSession, graceWindowMs }));
    proxy = new RoundRobinProxy(nodes.map((n) => n.port));
    proxyUrl = (await proxy.start()).url;
  }

  async function stopCluster(): Promise<void> {
    for (const s of open.splice(0)) s.disconnect();
    await proxy?.stop();
    await Promise.all(nodes.map((n) => n.kill()));
  }

  async function join(sid: string, data: string, url = proxyUrl): Promise<Session> {
    const s = initSession(PROJECT.apiKey, sid, { serverUrl: url });
    open.push(s);
    await s.connect(await mintToken(PROJECT, sid, data));
    return s;
  }

  /** A raw protocol client connected to node `node` in session `sid`. */
  async function rawClient(node: number, sid: string, data: string, role: 'publisher' | 'moderator' = 'publisher'): Promise<TestClient> {
    const c = new TestClient(`ws://127.0.0.1:${nodes[node]!.port}`, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, data, role) });
    expect((await c.connect()).type).toBe('connected');
    return c;
  }

  /** A new session with raw client `a` on node 1 and `b` on node `bNode`; `a` has seen `b` arrive. */
  async function rawPair(bNode: number, bName = 'b'): Promise<{ sid: string; a: TestClient; b: TestClient }> {
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await rawClient(0, sid, 'a');
    const b = await rawClient(bNode, sid, bName);
    await a.waitFor((f) => f.type === 'connectionCreated', 2000, true);
    return { sid, a, b };
  }

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => { await redis.stop(); });
  afterEach(async () => { await stopCluster(); });

  it('clients on three nodes see each other, signal each other and see each other\'s streams', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(sid, 'a');
    const b = await join(sid, 'b');
    const c = await join(sid, 'c');
    // round robin: one client per node
    expect(nodes.map((n) => n.registry.connectionCount(sid))).toEqual([1, 1, 1]);
    // those who were there first see the others arrive; the last knows them from its snapshot
    await until('a to see b and c', () => (a as unknown as { connections: Map<string, unknown> }).connections.size === 3);
    await until('c to know a and b', () => (c as unknown as { connections: Map<string, unknown> }).connections.size === 3);

    // signals: direct across nodes, and broadcast
    const got = new Map<string, string[]>([['a', []], ['b', []], ['c', []]]);
    for (const [name, s] of [['a', a], ['b', b], ['c', c]] as const) s.on('signal', (e) => got.get(name)!.push(`${e.type}:${e.data}:${e.from?.data}`));
    for (let i = 0; i < 50; i++) await a.signal({ type: 'direct', data: String(i), to: c.connection! });
    await b.signal({ type: 'all', data: 'hello' });
    await until('c to get 50 direct signals and the broadcast', () => got.get('c')!.length === 51);
    await until('a and b to get the broadcast', () => got.get('a')!.length === 1 && got.get('b')!.length === 1);
    expect(got.get('c')!.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `direct:${i}:a`));
    expect(got.get('c')![50]).toBe('all:hello:b');
    expect(got.get('a')).toEqual(['all:hello:b']);
    expect(got.get('b')).toEqual(['all:hello:b']); // the sender gets its broadcast too, once

    // a stream published on one node is seen on the others, and goes with its publisher
    const created = new Promise<string>((r) => a.once('streamCreated', (e) => r(e.stream.name)));
    const pub = await c.publish({ name: 'cam-c' });
    expect(await created).toBe('cam-c');
    const streamGone = new Promise<void>((r) => b.once('streamDestroyed', () => r()));
    c.unpublish(pub);
    await streamGone;

    // leaving is seen everywhere
    const goneAtA = new Promise<string>((r) => a.once('connectionDestroyed', (e) => r(e.connection.data)));
    const goneAtB = new Promise<string>((r) => b.once('connectionDestroyed', (e) => r(e.connection.data)));
    c.disconnect();
    expect(await goneAtA).toBe('c');
    expect(await goneAtB).toBe('c');
  });

  it('holds the connection limit across nodes and answers REST on a node without clients', async () => {
    await startCluster(2);
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(sid, 'a'); // node 1
    await join(sid, 'b'); // node 2
    await expect(join(sid, 'c')).rejects.toMatchObject({ code: 1027 }); // node 3: the session is full
    expect(nodes[2]!.registry.connectionCount(sid)).toBe(0);

    // REST signal through node 3, which has no client in the session
    const jwt = await mintProjectJwt(PROJECT);
    const got = new Promise<string>((r) => a.once('signal', (e) => r(`${e.type}:${e.data}:${e.from === null ? 'server' : 'client'}`)));
    const res = await fetch(`${nodes[2]!.apiUrl}/v2/project/${PROJECT.apiKey}/session/${encodeURIComponent(sid)}/signal`, {
      method: 'POST', headers: { 'X-OPENTOK-AUTH': jwt, 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'rest', data: 'via-node-3' }),
    });
    expect(res.status).toBe(204);
    expect(await got).toBe('rest:via-node-3:server');
    // and a stream published on node 1 is listed by node 3
    await a.publish({ name: 'cam-a' });
    const list = await fetch(`${nodes[2]!.apiUrl}/v2/project/${PROJECT.apiKey}/session/${encodeURIComponent(sid)}/stream`, { headers: { 'X-OPENTOK-AUTH': jwt } });
    expect(((await list.json()) as { items: Array<{ name: string }> }).items.map((s) => s.name)).toEqual(['cam-a']);
  });

  it('force-mutes the whole session from a node without clients in it, for everyone and for later publishers', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(sid, 'a', `ws://127.0.0.1:${nodes[0]!.port}`);
    const b = await join(sid, 'b', `ws://127.0.0.1:${nodes[1]!.port}`);
    const seenByB = new Promise<void>((r) => b.once('streamCreated', () => r()));
    await a.publish({ name: 'cam-a', hasAudio: true });
    await seenByB;
    const forced = new Promise<boolean>((r) => a.once('muteForced', (e) => r(e.active)));
    const audioOff = new Promise<unknown>((r) => b.once('streamPropertyChanged', (e) => r([e.changedProperty, e.newValue])));
    const res = await fetch(`${nodes[2]!.apiUrl}/v2/project/${PROJECT.apiKey}/session/${encodeURIComponent(sid)}/mute`, {
      method: 'POST', headers: { 'X-OPENTOK-AUTH': await mintProjectJwt(PROJECT), 'Content-Type': 'application/json' }, body: JSON.stringify({ active: true }),
    });
    expect(res.status).toBe(200);
    expect(await forced).toBe(true);
    expect(await audioOff).toEqual(['hasAudio', false]);
    // a client joining later on the third node publishes muted
    const c = await join(sid, 'c', `ws://127.0.0.1:${nodes[2]!.port}`);
    const created = new Promise<boolean>((r) => b.once('streamCreated', (e) => r(e.stream.hasAudio)));
    await c.publish({ name: 'cam-c', hasAudio: true });
    expect(await created).toBe(false);
  });

  it('a node killed with SIGKILL is noticed: after the grace window its clients and streams are announced gone, its places freed', async () => {
    await startCluster(3, 1000);
    // the third node is a process of its own, killed for real
    const child = spawn(process.execPath, [join_(__dirname, '..', 'dist', 'cli.js'), 'server', '--port', '0', '--api-key', PROJECT.apiKey,
      '--api-secret', PROJECT.apiSecret, '--redis', redis.url, '--grace-window', '1000', '--max-connections', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => { out += d; const m = /listening on (ws:\/\/\S+)/.exec(out); if (m) resolve(m[1] as string); });
      child.once('exit', (code) => reject(new Error(`node exited (${code}): ${out}`)));
    });
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(sid, 'a', `ws://127.0.0.1:${nodes[0]!.port}`);
    const b = await join(sid, 'b', `ws://127.0.0.1:${nodes[1]!.port}`);
    const c = await join(sid, 'c', childUrl);
    await until('a to know b and c', () => (a as unknown as { connections: Map<string, unknown> }).connections.size === 3);
    const streamSeen = new Promise<void>((r) => a.once('streamCreated', () => r()));
    await c.publish({ name: 'cam-c' });
    await streamSeen;
    await expect(join(sid, 'd', `ws://127.0.0.1:${nodes[0]!.port}`)).rejects.toMatchObject({ code: 1027 }); // full: 3
    const events: string[] = [];
    for (const [name, s] of [['a', a], ['b', b]] as const) {
      s.on('streamDestroyed', (e) => events.push(`${name} stream ${e.stream.name} ${e.reason}`));
      s.on('connectionDestroyed', (e) => events.push(`${name} connection ${e.connection.data} ${e.reason}`));
    }
    const killedAt = Date.now();
    await new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGKILL'); });
    await until('a and b to see c gone', () => events.length === 4, 15_000);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(1000); // not before the grace window
    expect(events.sort()).toEqual([
      'a connection c networkDisconnected', 'a stream cam-c networkDisconnected',
      'b connection c networkDisconnected', 'b stream cam-c networkDisconnected',
    ]);
    // its place in the session's count is free again, and REST lists no stream of it
    const d = await join(sid, 'd', `ws://127.0.0.1:${nodes[1]!.port}`);
    expect(d.connectionStatus).toBe('connected');
    const jwt = await mintProjectJwt(PROJECT);
    const list = await fetch(`${nodes[0]!.apiUrl}/v2/project/${PROJECT.apiKey}/session/${encodeURIComponent(sid)}/stream`, { headers: { 'X-OPENTOK-AUTH': jwt } });
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('without Redis: refuses new connections with a clear error, keeps connected ones, holds their requests until Redis returns', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const node1 = `ws://127.0.0.1:${nodes[0]!.port}`;
    const a = await join(sid, 'a', node1);
    const b = await join(sid, 'b', node1);
    const e = await join(sid, 'e', node1);
    await until('a to know b and e', () => (a as unknown as { connections: Map<string, unknown> }).connections.size === 3);
    await redis.stop();
    await expect(join(mintSessionId(PROJECT).sessionId, 'c', node1)).rejects.toMatchObject({ code: 1023, message: expect.stringMatching(/Redis/) });
    // REST answers 503 rather than accept what it cannot put in the log
    const rest = await fetch(`${nodes[0]!.apiUrl}/v2/project/${PROJECT.apiKey}/session/${encodeURIComponent(sid)}/signal`, {
      method: 'POST', headers: { 'X-OPENTOK-AUTH': await mintProjectJwt(PROJECT), 'Content-Type': 'application/json' }, body: JSON.stringify({ type: 'rest', data: 'x' }),
    });
    expect(rest.status).toBe(503);
    // a signal waits for Redis (it is acknowledged once it is in the log); e leaves meanwhile
    let gotAt = 0;
    const got = new Promise<string>((r) => b.once('signal', (ev) => { gotAt = Date.now(); r(ev.data); }));
    const left: string[] = [];
    a.on('connectionDestroyed', (ev) => left.push(ev.connection.data));
    const sent = a.signal({ type: 'x', data: 'still here', to: b.connection! });
    e.disconnect();
    await new Promise((r) => setTimeout(r, 300));
    expect(gotAt).toBe(0);
    expect(left).toEqual([]);
    expect(a.connectionStatus).toBe('connected');
    const backAt = Date.now();
    await redis.start();
    await sent;
    expect(await got).toBe('still here');
    expect(gotAt).toBeGreaterThanOrEqual(backAt);
    await until('a to see e leave', () => left.length === 1);
    b.disconnect();
    await until('a to see b leave', () => left.length === 2);
    expect(left).toEqual(['e', 'b']);
    await until('the node to reach Redis again', () => nodes[0]!.cluster!.available, 10_000);
    const c = await join(mintSessionId(PROJECT).sessionId, 'c', node1);
    expect(c.connectionStatus).toBe('connected');
    // the node wrote back what it holds: a client joining a's session on another node sees a, not b
    const node2 = `ws://127.0.0.1:${nodes[1]!.port}`;
    let d: Session | undefined;
    for (let i = 0; i < 50 && !d; i++) {
      try {
        d = await join(sid, 'd', node2);
      } catch {
        await new Promise((r) => setTimeout(r, 100)); // node 2 may still be reconnecting to Redis
      }
    }
    const known = [...(d as unknown as { connections: Map<string, { data: string }> }).connections.values()].map((x) => x.data).sort();
    expect(known).toEqual(['a', 'd']);
    // and the session's log starts again (a new epoch): a and d signal each other across nodes
    const atA = new Promise<string>((r) => a.once('signal', (e) => r(`${e.from?.data}:${e.data}`)));
    const atD = new Promise<string>((r) => d!.once('signal', (e) => r(`${e.from?.data}:${e.data}`)));
    await d!.signal({ type: 'x', data: 'from d', to: a.connection! });
    await a.signal({ type: 'x', data: 'from a', to: d!.connection! });
    expect(await atA).toBe('d:from d');
    expect(await atD).toBe('a:from a');
  });

  it('a resume on another node checks the token and the acknowledged position, and replays the unacknowledged events with their seqs', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const url = (i: number): string => `ws://127.0.0.1:${nodes[i]!.port}`;
    const a = new TestClient(url(0), { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, 'a') });
    const b = new TestClient(url(1), { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, 'b') });
    expect((await a.connect()).type).toBe('connected');
    expect((await b.connect()).type).toBe('connected');
    a.autoAck = false;
    await a.waitFor((f) => f.type === 'connectionCreated', 2000, true);
    for (let i = 0; i < 40; i++) await b.request('signal', { signalType: 't', data: String(i), to: a.connectionId });
    await a.waitFor((f) => f['data'] === '39', 2000, true);
    const sent = a.frames.filter((f) => f.type === 'signal');
    const acked = (sent[19] as Frame)['seq'] as number;
    a.sendRaw({ type: 'ack', seq: acked });
    await new Promise((r) => setTimeout(r, 100)); // the checkpoint reaches Redis
    const lastSeq = a.lastSeq;
    a.drop();
    Object.assign(a, { url: url(2) });
    const good = a.resumeToken;
    a.resumeToken = 'x'.repeat(good.length);
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1004 });
    a.resumeToken = good;
    a.lastSeq = acked - 1;
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1011 });
    // resumes on node 3 from the acknowledged position: the 20 signals after it come again, the same frames
    a.lastSeq = acked;
    const before = a.frames.length;
    const r = await a.resume();
    expect(r).toMatchObject({ type: 'resumed', lastSeq, connection: { id: a.connectionId } });
    await a.waitFor((f) => f['data'] === '39', 2000);
    expect(a.frames.slice(before).filter((f) => f.type === 'signal')).toEqual(sent.slice(20));
    expect(nodes.map((n) => n.registry.connectionCount(sid))).toEqual([0, 1, 1]);
    // and it goes on from there: b's next signal is the next seq
    await b.request('signal', { signalType: 't', data: 'next', to: a.connectionId });
    expect(await a.waitFor((f) => f['data'] === 'next', 2000, true)).toMatchObject({ seq: lastSeq + 1 });
    a.close();
    b.close();
  });

  it('trims each session log to what is older than the keep time and what the clients\' checkpoints still need', async () => {
    await startCluster(1000, 1000); // keep time: grace window 1 s + heartbeat expiry 3 s + 2 s
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await join(sid, 'a');
    const b = await join(sid, 'b');
    let got = 0;
    b.on('signal', () => { got++; });
    const burst = async (from: number): Promise<void> => {
      for (let i = from; i < from + 600; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => a.signal({ type: 't', data: String(i + k), to: b.connection! })));
    };
    const r = new Redis(redis.url);
    await burst(0);
    await until('b to get 600 signals', () => got === 600);
    expect(await r.xlen(`cv:s:${sid}:log`)).toBeGreaterThanOrEqual(600); // younger than the keep time: all kept
    await new Promise((res) => setTimeout(res, 6500));
    await burst(600);
    await until('b to get 1,200 signals', () => got === 1200);
    const entries = Number(await r.get(`cv:s:${sid}:seq`));
    const kept = await r.xlen(`cv:s:${sid}:log`);
    r.disconnect();
    expect(entries).toBeGreaterThanOrEqual(1202);
    expect(kept).toBeLessThan(800);
  }, 30_000);

  it('a resume on another node after an acknowledgement inside one entry (a signal and its result): same seqs', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const a = new TestClient(`ws://127.0.0.1:${nodes[0]!.port}`, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, 'a') });
    expect((await a.connect()).type).toBe('connected');
    a.autoAck = false;
    await a.request('signal', { signalType: 't', data: 'hello' }); // to everyone: the signal and the result are one entry
    const signal = a.frames.find((f) => f.type === 'signal') as Frame;
    const result = a.frames.find((f) => f.type === 'result') as Frame;
    expect(result['seq']).toBe((signal['seq'] as number) + 1);
    a.sendRaw({ type: 'ack', seq: signal['seq'] }); // the signal, not the result
    await new Promise((r) => setTimeout(r, 100));
    a.drop();
    Object.assign(a, { url: `ws://127.0.0.1:${nodes[1]!.port}` });
    a.lastSeq = signal['seq'] as number;
    const before = a.frames.length;
    expect(await a.resume()).toMatchObject({ type: 'resumed', lastSeq: result['seq'], lastRequestId: 1 });
    await a.waitFor((f) => f.type === 'result', 2000, true);
    expect(a.frames.slice(before + 1)).toEqual([result]);
    a.close();
  });

  it('a stream changed on one node while a moderator on another removes it: removed everywhere, no change after its removal', async () => {
    await startCluster();
    for (let k = 0; k < 10; k++) {
      const sid = mintSessionId(PROJECT).sessionId;
      const o = await rawClient(0, sid, 'o');
      const m = await rawClient(1, sid, 'm', 'moderator');
      const pub = await o.request('publish', { hasAudio: true, hasVideo: true });
      const streamId = (pub['stream'] as { id: string }).id;
      await m.waitFor((f) => f.type === 'streamCreated', 2000, true);
      const [removed] = await Promise.all([m.request('forceUnpublish', { streamId }), o.request('updateStream', { streamId, name: 'renamed' })]);
      expect(removed['ok']).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      for (const node of nodes.slice(0, 2)) expect(await node.registry.listStreams(sid)).toEqual([]);
      const seen = m.frames.filter((f) => f.type === 'streamDestroyed' || f.type === 'streamPropertyChanged').map((f) => f.type);
      expect(seen[seen.length - 1]).toBe('streamDestroyed');
      o.close();
      m.close();
    }
  });

  it('Redis restarted from an older snapshot: a new log epoch, signals flow again across nodes', async () => {
    const dir = mkdtempSync(join_(tmpdir(), 'convene-redis-'));
    const old = redis;
    redis = new RedisProcess(await freePort(), dir);
    try {
      await redis.start();
      await startCluster();
      const sid = mintSessionId(PROJECT).sessionId;
      const a = await join(sid, 'a', `ws://127.0.0.1:${nodes[0]!.port}`);
      const b = await join(sid, 'b', `ws://127.0.0.1:${nodes[1]!.port}`);
      const got: string[] = [];
      for (const s of [a, b]) s.on('signal', (e) => got.push(`${e.from?.data}:${e.data}`));
      await a.signal({ type: 'x', data: '1', to: b.connection! });
      const r = new Redis(redis.url);
      await r.save(); // the snapshot: the log as it was here
      r.disconnect();
      for (let i = 2; i <= 20; i++) await a.signal({ type: 'x', data: String(i), to: b.connection! });
      await until('b to get 20 signals', () => got.length === 20);
      await redis.stop();
      await redis.start(); // back 19 entries in time
      await until('the nodes to reach Redis again', () => nodes.every((n) => n.cluster!.available), 10_000);
      await new Promise((res) => setTimeout(res, 300)); // their catching up
      await b.signal({ type: 'x', data: 'back', to: a.connection! });
      await a.signal({ type: 'x', data: 'again', to: b.connection! });
      await until('both signals after the restart', () => got.length === 22);
      expect(got.slice(20).sort()).toEqual(['a:again', 'b:back']);
    } finally {
      await stopCluster();
      nodes = [];
      await redis.stop();
      redis = old;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const outage of ['Redis restarted empty', 'the node\'s Redis subscription cut'] as const) {
    it(`${outage} while a client sends signals on: every one acknowledged, delivered once, in order, on its node and across nodes`, async () => {
      await startCluster();
      const sid = mintSessionId(PROJECT).sessionId;
      const a = await rawClient(0, sid, 'a');
      const b = await rawClient(0, sid, 'b'); // on a's node
      const c = await rawClient(1, sid, 'c'); // on another node
      await a.waitFor((f) => f.type === 'connectionCreated' && (f['connection'] as { data: string }).data === 'c', 2000, true);
      const results: Array<Promise<Frame>> = [];
      for (let i = 0; i < 80; i++) {
        results.push(a.request('signal', { signalType: 't', data: String(i), to: i % 2 ? b.connectionId : c.connectionId }, 20_000));
        if (i === 20) {
          if (outage === 'Redis restarted empty') {
            await redis.stop();
            setTimeout(() => void redis.start(), 300);
          } else {
            const admin = new Redis(redis.url);
            await admin.client('KILL', 'TYPE', 'pubsub');
            admin.disconnect();
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const answered = await Promise.all(results);
      expect(answered.filter((f) => f['ok'] !== true)).toEqual([]);
      await until('b and c to get their signals', () => b.eventsOf('signal').length >= 40 && c.eventsOf('signal').length >= 40, 10_000);
      await new Promise((r) => setTimeout(r, 200));
      const expected = (odd: number): string[] => Array.from({ length: 40 }, (_, k) => String(2 * k + odd));
      expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(expected(1));
      expect(c.eventsOf('signal').map((f) => f['data'])).toEqual(expected(0));
      for (const x of [a, b, c]) x.close();
    });
  }

  it('Redis refusing writes (an error reply, connection up): requests wait, then go out in order once it accepts again', async () => {
    await startCluster();
    const { a, b } = await rawPair(1);
    const admin = new Redis(redis.url);
    await admin.config('SET', 'min-replicas-to-write', '1'); // every write is refused: NOREPLICAS
    const during = [1, 2, 3].map((i) => a.request('signal', { signalType: 't', data: `during-${i}`, to: b.connectionId }, 10_000));
    await new Promise((r) => setTimeout(r, 500));
    expect(b.eventsOf('signal')).toEqual([]);
    await admin.config('SET', 'min-replicas-to-write', '0');
    admin.disconnect();
    expect((await Promise.all(during)).map((f) => f['ok'])).toEqual([true, true, true]);
    const after = await a.request('signal', { signalType: 't', data: 'after', to: b.connectionId }, 5000);
    expect(after['ok']).toBe(true);
    await until('b to get the 4 signals', () => b.eventsOf('signal').length === 4);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(['during-1', 'during-2', 'during-3', 'after']);
    a.close();
    b.close();
  });

  it('a connection moved twice in a row (node 1 → 2 → 3): the last node has it, signals reach it, peers see nothing', async () => {
    await startCluster();
    const sid = mintSessionId(PROJECT).sessionId;
    const url = (i: number): string => `ws://127.0.0.1:${nodes[i]!.port}`;
    const peers = [await rawClient(1, sid, 'p1'), await rawClient(2, sid, 'p2')]; // nodes 2 and 3 follow the session's log
    for (let round = 0; round < 5; round++) {
      const x = await rawClient(0, sid, `x${round}`);
      for (const node of [1, 2]) {
        x.drop();
        Object.assign(x, { url: url(node) });
        expect(await x.resume()).toMatchObject({ type: 'resumed' });
      }
      await new Promise((r) => setTimeout(r, 100));
      expect(x.closeCode).toBeUndefined(); // not dropped by a late move
      const sent = await peers[0]!.request('signal', { signalType: 't', data: `to-x${round}`, to: x.connectionId });
      expect(sent['ok']).toBe(true);
      await x.waitFor((f) => f['data'] === `to-x${round}`, 2000, true);
      expect(nodes.map((n) => n.registry.findConnection(sid, x.connectionId) !== undefined)).toEqual([false, false, true]);
      x.close();
    }
    for (const p of peers) expect(p.eventsOf('connectionDestroyed')).toEqual([]); // nobody saw anyone leave
    for (const p of peers) p.close();
  });

  /** Two nodes, the first one reaching Redis through a fault proxy; a client on each. */
  async function nodesBehindFaultProxy(whichThroughProxy: 0 | 1): Promise<{ fp: FaultProxy; a: TestClient; c: TestClient; sid: string }> {
    const fp = await new FaultProxy(redis.port).start();
    const urls = [redis.url, redis.url];
    urls[whichThroughProxy] = `redis://127.0.0.1:${fp.port}`;
    nodes = [];
    for (const url of urls) nodes.push(await startServer({ projects: [PROJECT], port: 0, redis: url, graceWindowMs: 30_000 }));
    proxy = new RoundRobinProxy(nodes.map((n) => n.port));
    await proxy.start();
    const { sid, a, b: c } = await rawPair(1, 'c');
    return { fp, a, c, sid };
  }

  it('a node\'s Redis connection reset with an append in flight, back at once: the request gets its result, once, in order', async () => {
    const { fp, a, c } = await nodesBehindFaultProxy(0);
    try {
      const hole = fp.blackhole(300); // the append goes out and is never answered...
      const first = a.request('signal', { signalType: 't', data: 'one', to: c.connectionId }, 10_000);
      await new Promise((r) => setTimeout(r, 100));
      fp.cut(); // ...then the connection is reset, and comes back at once
      await hole;
      await until('node 1 to be available again', () => nodes[0]!.cluster!.available, 10_000);
      const second = a.request('signal', { signalType: 't', data: 'two', to: c.connectionId }, 10_000);
      expect((await Promise.all([first, second])).map((f) => f['ok'])).toEqual([true, true]);
      expect(a.eventsOf('result').map((f) => f['id'])).toEqual([1, 2]);
      await until('c to get both', () => c.eventsOf('signal').length >= 2);
      await new Promise((r) => setTimeout(r, 200));
      expect(c.eventsOf('signal').map((f) => f['data'])).toEqual(['one', 'two']);
    } finally {
      a.close();
      c.close();
      await fp.close();
    }
  });

  it('Redis restarted empty and a recipient\'s node back seconds after the sender\'s: every acknowledged signal reaches it', async () => {
    const { fp, a, c } = await nodesBehindFaultProxy(1);
    try {
      await redis.stop();
      const away = fp.refuse(5000); // node 2 cannot reach Redis for 5 s more
      await redis.start();
      await until('node 1 back', () => nodes[0]!.cluster!.available, 10_000);
      let ok = 0;
      for (let i = 0; i < 300; i += 20) {
        const rs = await Promise.all(Array.from({ length: 20 }, (_, k) => a.request('signal', { signalType: 't', data: String(i + k), to: c.connectionId }, 15_000)));
        ok += rs.filter((f) => f['ok'] === true).length;
      }
      expect(ok).toBe(300);
      await away;
      await until('node 2 back', () => nodes[1]!.cluster!.available, 15_000);
      await until('c to get the 300 signals', () => c.eventsOf('signal').length >= 300, 10_000);
      expect(c.eventsOf('signal').map((f) => f['data'])).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    } finally {
      a.close();
      c.close();
      await fp.close();
    }
  }, 40_000);

  it('back-pressure: while a node reports it applies far behind, requests wait (pings do not), then go on in order', async () => {
    await startCluster();
    const { a, b } = await rawPair(1);
    const admin = new Redis(redis.url);
    await admin.hset('cv:lag', 'a-node-far-behind', `5000:${Date.now()}`); // fresh for 2 s
    await until('the nodes to hold requests', () => nodes.every((n) => n.throttled), 2000);
    const results = [1, 2, 3].map((i) => a.request('signal', { signalType: 't', data: String(i), to: b.connectionId }, 10_000));
    a.sendRaw({ type: 'ping' });
    await a.waitFor((f) => f.type === 'pong', 1000); // not held
    await new Promise((r) => setTimeout(r, 300));
    expect(a.eventsOf('result')).toEqual([]); // held
    expect(b.eventsOf('signal')).toEqual([]);
    await until('the report to go stale and the requests to go on', () => nodes.every((n) => !n.throttled), 5000);
    expect((await Promise.all(results)).map((f) => f['ok'])).toEqual([true, true, true]);
    await until('b to get the 3 signals', () => b.eventsOf('signal').length === 3);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(['1', '2', '3']);
    admin.disconnect();
    a.close();
    b.close();
  });

  it('back-pressure during an outage: past 1,000 entries waiting for Redis, requests wait in the sockets; all go out once, in order', async () => {
    await startCluster();
    const { a, b } = await rawPair(0);
    await redis.stop();
    await until('node 1 to see Redis gone', () => !nodes[0]!.cluster!.available);
    const results: Array<Promise<Frame>> = [];
    for (let i = 0; i < 1500; i++) results.push(a.request('signal', { signalType: 't', data: String(i), to: b.connectionId }, 20_000));
    await until('node 1 to hold requests', () => nodes[0]!.throttled, 5000);
    await redis.start();
    const answered = await Promise.all(results);
    expect(answered.filter((f) => f['ok'] !== true)).toEqual([]);
    await until('b to get 1,500 signals', () => b.eventsOf('signal').length >= 1500, 10_000);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(Array.from({ length: 1500 }, (_, i) => String(i)));
    await until('node 1 to let requests go on', () => !nodes[0]!.throttled, 5000);
    a.close();
    b.close();
  }, 40_000);
});
