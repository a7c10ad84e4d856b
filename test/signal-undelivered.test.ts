/**
 * A signal acknowledged to its sender is either processed by its addressee or reported back:
 * when an addressee's connection ends for good (grace window over, force disconnect, leave)
 * without acknowledging the event, the sender gets `signalUndelivered` with the request id of
 * its signal (docs/protocol.md section 5.3). Alone and, through the session log, in a cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mintToken } from '../lib/mint';
import { mintSessionId, startServer, type ConveneServer } from '../lib/server/index';
import { haveRedis, RedisProcess } from './helpers/cluster';
import { TestClient, type Frame } from './helpers/client';
import { sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const undelivered = (c: TestClient): Frame[] => c.eventsOf('signalUndelivered');

describe('signalUndelivered, one node', () => {
  it('directed and broadcast signals to a connection whose grace window expires are reported once each, with their request ids', async () => {
    fx = await startFixture({ graceWindowMs: 400 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid);
    // acknowledged by b: never reported
    const r1 = await a.request('signal', { signalType: 'seen', data: '1', to: b.connectionId });
    await b.waitFor((f) => f.type === 'signal' && f['data'] === '1', 2000, true);
    b.sendRaw({ type: 'ack', seq: b.lastSeq });
    await sleep(50);
    // b's network goes: its socket is cut, the server keeps it for its grace window
    b.autoAck = false;
    b.drop();
    await sleep(50);
    const r2 = await a.request('signal', { signalType: 'lost', data: '2', to: b.connectionId });
    const r3 = await a.request('signal', { signalType: 'everyone', data: '3' });
    expect([r1['ok'], r2['ok'], r3['ok']]).toEqual([true, true, true]);
    await a.waitFor((f) => f.type === 'connectionDestroyed', 5000, true);
    await a.waitFor((f) => f.type === 'signalUndelivered' && f['requestId'] === 3, 2000, true);
    expect(undelivered(a).map(({ seq: _s, ...f }) => f)).toEqual([
      { type: 'signalUndelivered', requestId: 2, to: b.connectionId, signalType: 'lost', error: { code: 1560, name: 'CONVENE_SIGNAL_UNDELIVERED', message: expect.stringContaining(b.connectionId) } },
      { type: 'signalUndelivered', requestId: 3, to: b.connectionId, signalType: 'everyone', error: expect.objectContaining({ code: 1560 }) },
    ]);
    // c read and acknowledged everything it got: nothing reported about c, and c is not told about a's signals
    expect(undelivered(c)).toEqual([]);
    expect(c.eventsOf('signal').map((f) => f['data'])).toEqual(['3']);
  });

  it('a signal the addressee acknowledged before it left produces nothing; one it had not, does (force disconnect)', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const mod = await fx.join(sid, { role: 'moderator' });
    b.autoAck = false;
    await a.request('signal', { signalType: 'acked', data: 'x', to: b.connectionId });
    await b.waitFor((f) => f.type === 'signal', 2000, true);
    b.sendRaw({ type: 'ack', seq: b.lastSeq });
    await sleep(50);
    await a.request('signal', { signalType: 'unacked', data: 'y', to: b.connectionId });
    await b.waitFor((f) => f.type === 'signal' && f['data'] === 'y', 2000, true);
    expect(await mod.request('forceDisconnect', { connectionId: b.connectionId })).toMatchObject({ ok: true });
    const u = await a.waitFor((f) => f.type === 'signalUndelivered', 2000, true);
    expect(u).toMatchObject({ requestId: 2, to: b.connectionId, signalType: 'unacked' });
    await sleep(100);
    expect(undelivered(a)).toHaveLength(1);
    // a REST signal has no sender to tell, and a leaving sender is not told about itself
    expect(undelivered(mod)).toEqual([]);
  });

  it('an addressee whose replay buffer overflows: its sender is told of every signal, and the burst does not overflow the sender', async () => {
    fx = await startFixture({ maxReplayEvents: 50 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    a.drop();
    let sent = 0;
    while (!b.eventsOf('connectionDestroyed').length) {
      expect(await b.request('signal', { data: String(sent++), to: a.connectionId })).toMatchObject({ ok: true });
    }
    await b.waitFor((f) => f.type === 'signalUndelivered' && f['requestId'] === 50, 2000, true);
    // the signals numbered for a before it overflowed: every one reported, in order
    expect(undelivered(b).map((f) => f['requestId'])).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(b.closeCode).toBeUndefined();
    expect(b.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(await b.request('signal', { data: 'still here' })).toMatchObject({ ok: true });
  });

  it('a sender that left is not told; resumed addressees produce nothing', async () => {
    fx = await startFixture({ graceWindowMs: 300 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid);
    b.autoAck = false;
    b.drop();
    await a.request('signal', { data: 'to b', to: b.connectionId });
    await c.request('signal', { data: 'from c', to: b.connectionId });
    a.sendRaw({ type: 'disconnect', id: a.nextId++ });
    await a.waitClose();
    // c's signal reaches b after a resume: nothing reported
    const d = await fx.join(sid);
    d.autoAck = false;
    d.drop();
    await c.request('signal', { data: 'to d', to: d.connectionId });
    expect((await d.resume()).type).toBe('resumed');
    d.sendRaw({ type: 'ack', seq: d.lastSeq });
    await c.waitFor((f) => f.type === 'connectionDestroyed' && (f['connection'] as { id: string }).id === b.connectionId, 5000, true);
    await c.waitFor((f) => f.type === 'signalUndelivered', 2000, true);
    await sleep(400);
    expect(undelivered(c).map((f) => f['to'])).toEqual([b.connectionId]);
    expect(d.closeCode).toBeUndefined();
  });
});

describe.skipIf(!haveRedis)('signalUndelivered in a cluster (through the session log)', () => {
  const PROJECT = { apiKey: 'undelivered', apiSecret: 'undelivered-secret-0123456789' };
  let redis: RedisProcess | undefined;
  let nodes: ConveneServer[] = [];
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    nodes = [];
    await redis?.stop();
    redis = undefined;
  });

  it('the addressee on another node expires: the sender is told with its request id', async () => {
    redis = await new RedisProcess().start();
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ projects: [PROJECT], port: 0, redis: redis.url, graceWindowMs: 500 }));
    const sid = mintSessionId(PROJECT).sessionId;
    const client = async (node: number, data: string): Promise<TestClient> => {
      const c = new TestClient(`ws://127.0.0.1:${nodes[node]!.port}`, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, data) });
      expect((await c.connect()).type).toBe('connected');
      return c;
    };
    const a = await client(0, 'a');
    const b = await client(1, 'b');
    await a.waitFor((f) => f.type === 'connectionCreated', 5000, true);
    await a.request('signal', { signalType: 'read', data: '1', to: b.connectionId });
    await b.waitFor((f) => f.type === 'signal', 5000, true);
    b.sendRaw({ type: 'ack', seq: b.lastSeq });
    await sleep(100);
    b.autoAck = false;
    b.drop();
    await sleep(100);
    expect(await a.request('signal', { signalType: 'lost', data: '2', to: b.connectionId })).toMatchObject({ ok: true });
    expect(await a.request('signal', { signalType: 'all', data: '3' })).toMatchObject({ ok: true });
    await a.waitFor((f) => f.type === 'connectionDestroyed', 10_000, true);
    await a.waitFor((f) => f.type === 'signalUndelivered' && f['requestId'] === 3, 5000, true);
    expect(undelivered(a).map((f) => [f['requestId'], f['to'], f['signalType'], (f['error'] as { code: number }).code])).toEqual([
      [2, b.connectionId, 'lost', 1560],
      [3, b.connectionId, 'all', 1560],
    ]);
    a.close();
  }, 30_000);
});
