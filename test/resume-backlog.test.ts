/**
 * After a stall, a client that kept to the limits sends what it queued at once: the resume's
 * backlog is neither a flood (4429) nor over the signal rate (1429). The server credits the
 * flood guard and the rate limiter for the time it heard nothing from the client
 * (docs/protocol.md section 10).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('a resume after a stall', () => {
  it('signals queued at a fifth of the rate during a 3 s stall are all accepted (no 1429), though more than the burst', async () => {
    fx = await startFixture({ signalsPerSecond: 100, signalBurst: 20 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    expect(await a.request('signal', { data: 'before' })).toMatchObject({ ok: true });
    a.drop(); // the server hears nothing more from a
    await sleep(3000); // a queues 20 signals a second meanwhile: 60 in all
    expect((await a.resume()).type).toBe('resumed');
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => a.request('signal', { data: `q${i}` })));
    expect(results.filter((r) => r['ok'] !== true).map((r) => r['error'])).toEqual([]);
    await b.waitFor((f) => f.type === 'signal' && f['data'] === 'q59', 5000, true);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(['before', ...Array.from({ length: 60 }, (_, i) => `q${i}`)]);
    // the credit is for the stall only: a client that then goes over the rate is limited again
    const over = await Promise.all(Array.from({ length: 300 }, (_, i) => a.request('signal', { data: `o${i}` })));
    expect(over.some((r) => (r['error'] as { code?: number } | undefined)?.code === 1429)).toBe(true);
  });

  it('the backlog of a 6 s stall at the full signal rate is not a flood (no 4429) and is all accepted', async () => {
    // 200 signals/s: the flood guard allows 5 x 200 + 100 = 1100 frames a second, the burst is 400
    fx = await startFixture({ signalsPerSecond: 200, signalBurst: 400 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    a.sendRaw({ type: 'ping' });
    await a.waitType('pong');
    a.drop();
    await sleep(6000); // a queues 190 signals a second meanwhile: 1150 in all
    expect((await a.resume()).type).toBe('resumed');
    const n = 1150;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => a.request('signal', { data: `q${i}` }, 20_000)));
    expect(a.frames.filter((f) => f.type === 'error')).toEqual([]);
    expect(a.closeCode).toBeUndefined();
    expect(results.filter((r) => r['ok'] !== true)).toEqual([]);
    await b.waitFor((f) => f.type === 'signal' && f['data'] === `q${n - 1}`, 10_000, true);
    expect(b.eventsOf('signal')).toHaveLength(n);
  }, 30_000);
});
