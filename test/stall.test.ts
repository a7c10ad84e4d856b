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
  it('a black hole is noticed within the keepalive timeout of the session, not the next ping of the server\'s 10 s', async () => {
    fx = await startFixture(); // server keepalive: 10 s ping, 15 s timeout
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
