/**
 * Long stalls (a proxy that stops forwarding, sockets left open) between the native core and
 * the real server: the drop is noticed within the keepalive timeout, and what was sent into
 * the stall is resent after the resume at a pace the server's flood guard accepts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { until } from './helpers/events';
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

function join(url: string, sid: string, opts = {}): Session {
  const s = initSession(API_KEY, sid, { serverUrl: url, ...opts });
  open.push(s);
  return s;
}

describe('keepalive settings', () => {
  it('a black hole is noticed within the keepalive timeout of the session, not the next ping of the server\'s 25 s', async () => {
    fx = await startFixture(); // server keepalive: 25 s ping, 40 s timeout (the defaults)
    proxy = await new FaultProxy(fx.server.port).start();
    const sid = await fx.newSession();
    const timeout = 2500;
    const a = join(proxy.url, sid, { keepalive: { interval: 1000, timeout }, connectTimeout: 1000 });
    await a.connect(fx.token(sid));
    let noticedAt = 0;
    a.once('sessionReconnecting', () => { noticedAt = Date.now(); });
    const reconnected = new Promise((r) => a.once('sessionReconnected', r));
    const start = Date.now();
    const hole = proxy.blackhole(3 * timeout);
    await until('sessionReconnecting', () => noticedAt > 0, 4 * timeout);
    expect(noticedAt - start).toBeLessThan(2 * timeout);
    await hole;
    await reconnected;
    await a.signal({ data: 'after' });
  }, 30_000);

  it('rejects bad keepalive and maxQueued settings', () => {
    expect(() => initSession(API_KEY, '2_x', { keepalive: { interval: 10, timeout: 20 } })).toThrow(/keepalive/);
    expect(() => initSession(API_KEY, '2_x', { keepalive: { interval: 3000, timeout: 2000 } })).toThrow(/keepalive/);
    expect(() => initSession(API_KEY, '2_x', { maxQueued: -1 })).toThrow(/maxQueued/);
  });
});

describe('a 20 s stall while two clients signal at 400/s', () => {
  it('every acknowledged signal is delivered exactly once; no flood close (4429) after the resume', async () => {
    // keepalive 10 s / 15 s: the proxy keeps both TCP connections alive while it drops their
    // bytes (a hung middlebox), which only the application's pings can find; the defaults
    // (25 s / 40 s) would not notice this 20 s stall at all. 1000 signals/s (the default).
    fx = await startFixture({ graceWindowMs: 90_000, keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 15_000 });
    proxy = await new FaultProxy(fx.server.port).start();
    const sid = await fx.newSession();
    const opts = { connectTimeout: 2000, maxQueued: 50_000 };
    interface Peer { name: string; s: Session; acked: Set<string>; got: Map<string, number> }
    const peers: Peer[] = ['a', 'b'].map((name) => ({ name, s: join(proxy!.url, sid, opts), acked: new Set<string>(), got: new Map<string, number>() }));
    for (const p of peers) await p.s.connect(fx.token(sid));
    const failed: number[] = [];
    const errors: number[] = [];
    let disconnected = 0;
    const otherOf = (p: Peer): Peer => peers.find((q) => q !== p)!;
    for (const p of peers) {
      const prefix = `${otherOf(p).name}-`;
      p.s.on('signal', (e) => { if (e.data.startsWith(prefix)) p.got.set(e.data, (p.got.get(e.data) ?? 0) + 1); });
      p.s.on('exception', (e) => errors.push(e.code));
      p.s.on('sessionDisconnected', () => { disconnected++; });
    }
    const sends: Promise<void>[] = [];
    let n = 0;
    const timer = setInterval(() => { // 400 signals/s per client
      for (let k = 0; k < 4; k++, n++) {
        for (const p of peers) {
          const data = `${p.name}-${n}`;
          sends.push(p.s.signal({ type: 'n', data }).then(() => { p.acked.add(data); }, (e: { code: number }) => { failed.push(e.code); }));
        }
      }
    }, 10);
    try {
      await sleep(2000);
      await proxy.blackhole(20_000);
      await sleep(2000);
    } finally {
      clearInterval(timer);
    }
    await Promise.all(sends);
    // what was acknowledged reaches the other peer (it may still be on its way)
    const delivered = (p: Peer): boolean => [...p.acked].every((d) => otherOf(p).got.has(d));
    await until('acknowledged signals delivered', () => peers.every(delivered), 30_000).catch(() => undefined);
    await sleep(200);
    const acked = peers.map((p) => p.acked.size);
    console.log(`stall: ${n} signals per client, acknowledged ${acked.join(' + ')}, failed ${failed.length} (${[...new Set(failed)].join(',')}), errors ${errors.join(',') || 'none'}`);
    for (const p of peers) {
      const missing = [...p.acked].filter((d) => !otherOf(p).got.has(d));
      const twice = [...otherOf(p).got].filter(([, c]) => c > 1);
      expect({ from: p.name, missing: missing.length, duplicated: twice.length }).toEqual({ from: p.name, missing: 0, duplicated: 0 });
    }
    expect(errors).not.toContain(4429);
    expect(disconnected).toBe(0);
    expect(peers.map((p) => p.s.connectionStatus)).toEqual(['connected', 'connected']);
    expect(failed).toEqual([]);
  }, 120_000);
});
