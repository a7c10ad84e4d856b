/** Fault injection between the native core and the real server (issue 6). */
import { afterEach, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { countEvents, until } from './helpers/events';
import { API_KEY, sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
let proxy: FaultProxy | undefined;
const open: Session[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await proxy?.close();
  await fx?.close();
  fx = undefined;
  proxy = undefined;
});

async function setup(serverOpts = {}): Promise<{ fx: Fixture; proxy: FaultProxy; sid: string }> {
  fx = await startFixture(serverOpts);
  proxy = await new FaultProxy(fx.server.port).start();
  return { fx, proxy, sid: await fx.newSession() };
}

function join(f: Fixture, url: string, sid: string, opts = {}): Session {
  const s = initSession(API_KEY, sid, { serverUrl: url, connectTimeout: 1000, ...opts });
  open.push(s);
  return s;
}


describe('faults through a TCP proxy', () => {
  for (const [label, fault, ms] of [
    ['a cut (RST) of 1 s', 'cut', 1000],
    ['a refusal of 5 s', 'refuse', 5000],
    ['a black hole of 10 s', 'blackhole', 10000],
  ] as const) {
    it(`${label}: sessionReconnected, peers saw nothing, counts match`, async () => {
      const { fx: f, proxy: p, sid } = await setup({ keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 });
      const a = join(f, p.url, sid);
      const b = join(f, f.url, sid); // the peer is not behind the proxy
      await a.connect(f.token(sid));
      await b.connect(f.token(sid));
      await a.publish({ name: 'a' });
      const ca = countEvents(a);
      const cb = countEvents(b);
      const atB: string[] = [];
      b.on('signal', (e) => { if (e.from?.connectionId === a.connection?.connectionId) atB.push(e.data); });
      const atA: string[] = [];
      a.on('signal', (e) => { if (e.from?.connectionId === b.connection?.connectionId) atA.push(e.data); });
      const sends: Promise<void>[] = [];
      if (fault === 'cut') {
        p.cut();
        await p.refuse(ms); // the network stays down for ms
      } else if (fault === 'refuse') {
        await p.refuse(ms);
      } else {
        const hole = p.blackhole(ms);
        await sleep(ms / 2);
        for (let i = 0; i < 5; i++) sends.push(a.signal({ data: `during-${i}` }));
        for (let i = 0; i < 5; i++) await b.signal({ data: `to-a-${i}` });
        await hole;
      }
      await until('a to reconnect', () => (ca['sessionReconnected'] ?? 0) === 1, 20000);
      await Promise.all(sends);
      await a.signal({ data: 'after' });
      await until("b to get 'after'", () => atB.includes('after'), 5000);
      expect(ca['sessionReconnecting']).toBe(1);
      expect(ca['sessionReconnected']).toBe(1);
      expect(ca['sessionDisconnected'] ?? 0).toBe(0);
      expect(cb['connectionDestroyed'] ?? 0).toBe(0);
      expect(cb['streamDestroyed'] ?? 0).toBe(0);
      const expectedAtB = fault === 'blackhole' ? [...Array.from({ length: 5 }, (_, i) => `during-${i}`), 'after'] : ['after'];
      expect(atB).toEqual(expectedAtB);
      if (fault === 'blackhole') {
        await until('a to get 5 signals', () => atA.length === 5, 5000);
        expect(atA).toEqual(Array.from({ length: 5 }, (_, i) => `to-a-${i}`));
      }
    }, 40_000);
  }

  it('50 sessions exchange 20,000 signals while the proxy cuts every 500 ms: 0 lost, 0 duplicated, order kept', async () => {
    const { fx: f, proxy: p, sid } = await setup({ signalsPerSecond: 0 });
    const N_SESSIONS = 50;
    const PER = 400; // 50 × 400 = 20,000 signals, each sent to one partner
    const sessions = Array.from({ length: N_SESSIONS }, () => join(f, p.url, sid, { connectionEventsSuppressed: true }));
    await Promise.all(sessions.map((s) => s.connect(f.token(sid))));
    const got = sessions.map(() => [] as string[]);
    sessions.forEach((s, i) => s.on('signal', (e) => got[i]!.push(e.data)));
    let cutting = true;
    let cuts = 0;
    const cutter = (async () => { while (cutting) { await sleep(500); p.cut(); cuts++; } })();
    const sends: Promise<void>[] = [];
    for (let k = 0; k < PER; k++) {
      for (let i = 0; i < N_SESSIONS; i++) {
        const to = sessions[(i + 1) % N_SESSIONS]!.connection!;
        sends.push(sessions[i]!.signal({ data: `${i}:${k}`, to }));
      }
      if (k % 20 === 0) await sleep(20);
    }
    await Promise.all(sends);
    await until('every session to get its signals', () => got.every((g) => g.length >= PER), 30000);
    cutting = false;
    await cutter;
    expect(cuts).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < N_SESSIONS; i++) {
      const from = (i + N_SESSIONS - 1) % N_SESSIONS;
      expect(got[i]).toEqual(Array.from({ length: PER }, (_, k) => `${from}:${k}`));
    }
  }, 90_000);
});

describe('drops the connection cannot survive', () => {
  it('a drop longer than the grace window: error then disconnected, peers see networkDisconnected, queued signals fail one by one', async () => {
    const { fx: f, proxy: p, sid } = await setup({ graceWindowMs: 800 });
    const a = join(f, p.url, sid);
    const b = join(f, f.url, sid);
    await a.connect(f.token(sid));
    await b.connect(f.token(sid));
    const errors: number[] = [];
    a.on('exception', (e) => errors.push(e.code));
    const gone = new Promise<{ reason: string }>((r) => b.once('connectionDestroyed', r));
    const ended = new Promise<{ reason: string }>((r) => a.once('sessionDisconnected', r));
    const refusing = p.refuse(3000);
    await new Promise((r) => a.once('sessionReconnecting', r));
    const queued = [a.signal({ data: 'q1' }), a.signal({ data: 'q2' }), a.signal({ data: 'q3' })];
    const results = await Promise.allSettled(queued);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect((await ended).reason).toBe('networkDisconnected');
    expect(errors).toContain(1022);
    expect((await gone).reason).toBe('networkDisconnected');
    await refusing;
  }, 20_000);
});
