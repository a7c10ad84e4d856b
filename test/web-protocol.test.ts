/**
 * The browser client's protocol layer (lib/web/protocol.ts) under Node, with `ws` as its
 * WebSocket, against the real server: the handshake and its errors, requests and results,
 * events in order, and the exactly-once guarantees through cut links (fault proxy): every
 * signal sent is delivered once, in order, and every request settles once.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ProtocolClient, type EndReason, type ProtocolHandlers, type WebSocketLike } from '../lib/web/protocol';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { until } from './helpers/events';
import { API_KEY, startFixture, type Fixture } from './helpers/server';
import type { ServerOptions } from '../lib/server';

let fx: Fixture | undefined;
let proxy: FaultProxy | undefined;
const clients: ProtocolClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect();
  await proxy?.close();
  proxy = undefined;
  await fx?.close();
  fx = undefined;
});

const createSocket = (url: string, protocols: string[]): WebSocketLike => new WebSocket(url, protocols) as unknown as WebSocketLike;

class Recorder implements ProtocolHandlers {
  readonly events: Array<Record<string, unknown>> = [];
  readonly log: string[] = [];
  ended: EndReason | undefined;
  endError: unknown;
  event(f: Record<string, unknown>): void { this.events.push(f); }
  reconnecting(): void { this.log.push('reconnecting'); }
  reconnected(): void { this.log.push('reconnected'); }
  disconnected(reason: EndReason, error?: unknown): void { this.ended = reason; this.endError = error; this.log.push(`disconnected:${reason}`); }
  signals(): string[] { return this.events.filter((e) => e['type'] === 'signal').map((e) => String(e['data'])); }
}

async function client(sid: string, opts: { url?: string; token?: string; role?: string } = {}): Promise<{ c: ProtocolClient; r: Recorder }> {
  const r = new Recorder();
  const c = new ProtocolClient({
    url: opts.url ?? fx!.url, apiKey: API_KEY, sessionId: sid, token: opts.token ?? fx!.token(sid, { role: opts.role ?? 'moderator' }),
    createSocket, reconnect: { baseMs: 50, capMs: 300 },
  }, r);
  clients.push(c);
  await c.connect();
  return { c, r };
}

async function world(options: Partial<ServerOptions> = {}): Promise<string> {
  fx = await startFixture(options);
  return fx.newSession();
}

describe('web client protocol (lib/web/protocol.ts)', () => {
  it('connects, sends requests, gets results and events in order', async () => {
    const sid = await world();
    const a = await client(sid);
    const b = await client(sid);
    expect(a.c.connection?.id).toMatch(/./);
    expect(a.c.connected?.role).toBe('moderator');
    await until('a sees b', () => a.r.events.some((e) => e['type'] === 'connectionCreated'));
    for (let i = 0; i < 50; i++) await a.c.request({ type: 'signal', signalType: 'n', data: String(i), to: b.c.connection!.id });
    await until('50 signals', () => b.r.signals().length === 50);
    expect(b.r.signals()).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    const pub = await a.c.request({ type: 'publish', name: 'x', hasAudio: true, hasVideo: false });
    expect(pub).toMatchObject({ ok: true, stream: { name: 'x' }, tracks: { audio: expect.any(Number) } });
    await expect(a.c.request({ type: 'unpublish', streamId: 'nope' })).rejects.toMatchObject({ code: 1535 });
  });

  it('a bad token rejects connect with the server\'s code', async () => {
    const sid = await world();
    await expect(client(sid, { token: 'T1==garbage' })).rejects.toMatchObject({ code: 1004 });
  });

  it('through cut links: every signal is delivered exactly once and in order, every request settles once', async () => {
    const sid = await world({ signalsPerSecond: 0 });
    proxy = await new FaultProxy(fx!.server.port).start();
    const a = await client(sid, { url: proxy.url });
    const b = await client(sid, { url: proxy.url });
    const N = 600;
    const sends: Array<Promise<unknown>> = [];
    for (let i = 0; i < N; i++) {
      sends.push(a.c.request({ type: 'signal', signalType: 'n', data: String(i), to: b.c.connection!.id }));
      if (i === 150 || i === 400) {
        proxy.cut();
        await new Promise((r) => setTimeout(r, 30));
      }
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    const settled = await Promise.allSettled(sends);
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    await until(`${N} signals`, () => b.r.signals().length >= N, 15000);
    await new Promise((r) => setTimeout(r, 200));
    expect(b.r.signals()).toEqual(Array.from({ length: N }, (_, i) => String(i)));
    expect(a.r.log.filter((l) => l === 'reconnecting').length).toBeGreaterThanOrEqual(1);
    expect(a.r.log.filter((l) => l === 'reconnected').length).toBe(a.r.log.filter((l) => l === 'reconnecting').length);
    expect(a.r.ended).toBeUndefined();
  });

  it('while reconnecting, a request with retryAfterReconnect false fails at once; a default one waits and goes', async () => {
    const sid = await world();
    proxy = await new FaultProxy(fx!.server.port).start();
    const a = await client(sid, { url: proxy.url });
    const b = await client(sid);
    const refusing = proxy.refuse(400);
    await until('reconnecting', () => a.c.isReconnecting);
    await expect(a.c.request({ type: 'signal', signalType: 't', data: 'dropped', to: b.c.connection!.id }, false)).rejects.toMatchObject({ code: 1010 });
    const queued = a.c.request({ type: 'signal', signalType: 't', data: 'queued', to: b.c.connection!.id });
    await refusing;
    await queued;
    await until('the queued signal', () => b.r.signals().includes('queued'));
    expect(b.r.signals()).toEqual(['queued']);
  });

  it('forceDisconnect ends the target with forceDisconnected; a resume after the grace window ends with networkDisconnected', async () => {
    const sid = await world({ graceWindowMs: 300 });
    const mod = await client(sid);
    const target = await client(sid);
    await mod.c.request({ type: 'forceDisconnect', connectionId: target.c.connection!.id });
    await until('target ended', () => target.r.ended !== undefined);
    expect(target.r.ended).toBe('forceDisconnected');
    proxy = await new FaultProxy(fx!.server.port).start();
    const late = await client(sid, { url: proxy.url });
    await proxy.refuse(1200); // longer than the grace window: the connection is gone when it comes back
    await until('late ended', () => late.r.ended !== undefined, 10000);
    expect(late.r.ended).toBe('networkDisconnected');
    await expect(late.c.request({ type: 'signal', signalType: 'x', data: '' })).rejects.toMatchObject({ code: 1010 });
  });
});
