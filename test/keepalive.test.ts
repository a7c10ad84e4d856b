/**
 * The server notices a dead path within its keepalive timeout, ±1 s (docs/protocol.md
 * section 7), whatever the phase of its sweep: five clients go silent half a second apart
 * (they stop reading, so they answer no ping, and send nothing), and each is dropped no
 * sooner than the timeout after it was last heard and less than a second after.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, startFixture, type Fixture } from './helpers/server';
import type { TestClient } from './helpers/client';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('keepalive timeout', () => {
  it('each silent client is dropped between timeout and timeout + 1 s after it was last heard; a live one stays', async () => {
    const timeout = 3000;
    fx = await startFixture({ keepaliveIntervalMs: 20_000, keepaliveTimeoutMs: timeout, graceWindowMs: 60_000 });
    const sid = await fx.newSession();
    const live = await fx.join(sid);
    const silent: Array<{ c: TestClient; at: number; droppedAt?: number }> = [];
    for (let i = 0; i < 5; i++) {
      const c = await fx.join(sid);
      c.autoAck = false;
      silent.push({ c, at: 0 });
    }
    const keepLive = setInterval(() => live.sendRaw({ type: 'ping' }), 500);
    try {
      for (const s of silent) {
        // its last frame: a ping answered by a pong (then nothing more either way)
        s.c.sendRaw({ type: 'ping' });
        await s.c.waitType('pong');
        s.at = Date.now();
        (s.c.ws as unknown as { _socket: Socket })._socket.pause();
        await sleep(500);
      }
      const until = Date.now() + timeout + 5000;
      while (silent.some((s) => s.droppedAt === undefined) && Date.now() < until) {
        for (const s of silent) {
          const conn = fx.server.registry.findConnection(sid, s.c.connectionId);
          if (s.droppedAt === undefined && conn && conn.currentTransport === undefined) s.droppedAt = Date.now();
        }
        await sleep(10);
      }
    } finally {
      clearInterval(keepLive);
    }
    const lags = silent.map((s) => (s.droppedAt === undefined ? Infinity : s.droppedAt - s.at - timeout));
    for (const lag of lags) {
      expect(lag, `dropped ${lags.join(', ')} ms after the timeout`).toBeGreaterThanOrEqual(0);
      expect(lag, `dropped ${lags.join(', ')} ms after the timeout`).toBeLessThan(1000);
    }
    // in their grace window: nobody saw them leave; the live client was never dropped
    expect(live.eventsOf('connectionDestroyed')).toEqual([]);
    expect(fx.server.registry.findConnection(sid, live.connectionId)?.currentTransport).toBeDefined();
  }, 20_000);

  it('pings only the peers it has not heard from within the interval', async () => {
    fx = await startFixture({ keepaliveIntervalMs: 200, keepaliveTimeoutMs: 5000 });
    const sid = await fx.newSession();
    const chatty = await fx.join(sid);
    const quiet = await fx.join(sid);
    let chattyPings = 0;
    let quietPings = 0;
    chatty.ws.on('ping', () => { chattyPings++; });
    quiet.ws.on('ping', () => { quietPings++; });
    const talk = setInterval(() => chatty.sendRaw({ type: 'ping' }), 50);
    try {
      await sleep(1500);
    } finally {
      clearInterval(talk);
    }
    expect(quietPings).toBeGreaterThanOrEqual(2);
    expect(chattyPings).toBe(0);
  });
});
