/** Automatic reconnection of the native core: drops inside the grace window are invisible to peers and lose nothing. */
import { afterEach, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { startServer } from '../lib/server';
import { countEvents, until } from './helpers/events';
import { API_KEY, API_SECRET, sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
const open: Session[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await fx?.close();
  fx = undefined;
});

function session(f: Fixture, sid: string): Session {
  const s = initSession(API_KEY, sid, { serverUrl: f.url });
  open.push(s);
  return s;
}

describe('automatic reconnection', () => {
  it('a cut socket: reconnecting then reconnected, peers see nothing, queued signals arrive once', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = session(fx, sid);
    const b = session(fx, sid);
    await a.connect(fx.token(sid));
    await b.connect(fx.token(sid));
    await a.publish({ name: 'a' });
    const ca = countEvents(a);
    const cb = countEvents(b);
    const got: string[] = [];
    b.on('signal', (e) => { if (e.from?.connectionId === a.connection?.connectionId) got.push(e.data); });

    const reconnecting = new Promise((r) => a.once('sessionReconnecting', r));
    fx.server.dropAllSockets();
    await reconnecting;
    expect(a.connectionStatus).toBe('reconnecting');
    const queued = [a.signal({ data: 'q1' }), a.signal({ data: 'q2' })];
    await expect(a.signal({ data: 'never', retryAfterReconnect: false })).rejects.toMatchObject({ code: 1010, name: 'OT_NOT_CONNECTED' });
    await new Promise((r) => a.once('sessionReconnected', r));
    await Promise.all(queued);
    await a.signal({ data: 'after' });
    for (let i = 0; i < 100 && got.length < 3; i++) await sleep(20);
    expect(got).toEqual(['q1', 'q2', 'after']);
    expect(a.connectionStatus).toBe('connected');
    expect(ca).toEqual({ sessionReconnecting: 1, sessionReconnected: 1 });
    expect(cb['connectionDestroyed'] ?? 0).toBe(0);
    expect(cb['streamDestroyed'] ?? 0).toBe(0);
    expect(cb['sessionDisconnected'] ?? 0).toBe(0);
  });

  it('signals through repeated cuts: 0 lost, 0 duplicated, order per sender kept', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const senders = [session(fx, sid), session(fx, sid)];
    const rx = session(fx, sid);
    for (const s of [...senders, rx]) await s.connect(fx.token(sid));
    const got = new Map<string, string[]>();
    rx.on('signal', (e) => {
      const k = e.from?.connectionId ?? '?';
      got.set(k, [...(got.get(k) ?? []), e.data]);
    });
    const N = 300;
    let cutting = true;
    let cuts = 0;
    const cutter = (async () => { while (cutting) { await sleep(150); fx!.server.dropAllSockets(); cuts++; } })();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      for (const s of senders) sends.push(s.signal({ data: String(i) }));
      if (i % 10 === 0) await sleep(10);
    }
    await Promise.all(sends);
    cutting = false;
    await cutter;
    expect(cuts).toBeGreaterThanOrEqual(3);
    const expected = Array.from({ length: N }, (_, i) => String(i));
    for (let k = 0; k < 300; k++) {
      if (senders.every((s) => (got.get(s.connection!.connectionId) ?? []).length >= N)) break;
      await sleep(20);
    }
    for (const s of senders) expect(got.get(s.connection!.connectionId)).toEqual(expected);
  }, 60_000);

  it('when the server forgot the connection: error 1022, then sessionDisconnected (networkDisconnected); queued signals fail', async () => {
    const first = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0 });
    const port = first.port;
    fx = await startFixture({ port: 0 });
    const sid = await fx.newSession();
    const a = initSession(API_KEY, sid, { serverUrl: first.url });
    open.push(a);
    await a.connect(fx.token(sid));
    const errors: number[] = [];
    a.on('exception', (e) => errors.push(e.code));
    const reconnecting = new Promise((r) => a.once('sessionReconnecting', r));
    await first.kill();
    await reconnecting;
    const queued = a.signal({ data: 'lost' }).then(() => 'sent', (e: unknown) => e);
    const restarted = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port });
    try {
      const ended = await new Promise<{ reason: string }>((r) => a.once('sessionDisconnected', r));
      expect(ended.reason).toBe('networkDisconnected');
      expect(errors).toContain(1022);
      expect(await queued).toMatchObject({ code: 1010 });
    } finally {
      await restarted.close();
    }
  }, 30_000);
});

describe('rejoin option', () => {
  it('server killed and restarted on the same port: with rejoin, the client comes back as a new connection', async () => {
    const first = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0 });
    const port = first.port;
    fx = await startFixture({ port: 0 });
    const sid = await fx.newSession();
    const a = initSession(API_KEY, sid, { serverUrl: first.url, rejoin: true, reconnectBackoff: { base: 50, factor: 2, cap: 400 } });
    open.push(a);
    await a.connect(fx.token(sid));
    const oldId = a.connection!.connectionId;
    const errors: number[] = [];
    a.on('exception', (e) => errors.push(e.code));
    let disconnected = 0;
    a.on('sessionDisconnected', () => { disconnected++; });
    const reconnecting = new Promise((r) => a.once('sessionReconnecting', r));
    await first.kill();
    await reconnecting;
    const queued = a.signal({ data: 'lost with the old connection' }).then(() => 'sent', (e: unknown) => e);
    const rejoined = new Promise((r) => a.once('sessionConnected', r));
    const restarted = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port });
    try {
      await rejoined;
      expect(a.connectionStatus).toBe('connected');
      expect(a.connection!.connectionId).not.toBe(oldId);
      expect(errors).toContain(1022);
      expect(disconnected).toBe(0);
      expect(await queued).toMatchObject({ code: 1010 });
      await a.signal({ data: 'works again' });
    } finally {
      a.disconnect();
      await new Promise((r) => a.once('sessionDisconnected', r));
      await restarted.close();
    }
  }, 30_000);

  it('server down longer than the grace window: rejoin keeps trying, then reconciles peers (destroyed for the gone, created for the new)', async () => {
    const opts = { projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0, graceWindowMs: 1500 };
    const first = await startServer(opts);
    const port = first.port;
    fx = await startFixture({ port: 0 });
    const sid = await fx.newSession();
    const backoff = { base: 50, factor: 2, cap: 400 };
    const a = initSession(API_KEY, sid, { serverUrl: first.url, rejoin: true, reconnectBackoff: backoff, connectTimeout: 1000 });
    const gone = initSession(API_KEY, sid, { serverUrl: first.url, reconnectBackoff: backoff, connectTimeout: 1000 });
    const back = initSession(API_KEY, sid, { serverUrl: first.url, rejoin: true, reconnectBackoff: backoff, connectTimeout: 1000 });
    open.push(a, gone, back);
    await a.connect(fx.token(sid));
    let peers = 0;
    let streams = 0;
    a.on('connectionCreated', () => { peers++; });
    a.on('streamCreated', () => { streams++; });
    await gone.connect(fx.token(sid));
    await back.connect(fx.token(sid));
    await gone.publish({ name: 'gone' });
    await until('a sees both peers and the stream', () => peers === 2 && streams === 1);
    const goneId = gone.connection!.connectionId;
    const oldBackId = back.connection!.connectionId;
    const destroyed: string[] = [];
    const created: string[] = [];
    const streamsDestroyed: string[] = [];
    a.on('connectionDestroyed', (e) => destroyed.push(e.connection.connectionId));
    a.on('connectionCreated', (e) => created.push(e.connection.connectionId));
    a.on('streamDestroyed', (e) => streamsDestroyed.push(e.stream.name));
    let disconnected = 0;
    a.on('sessionDisconnected', () => { disconnected++; });
    const goneEnded = new Promise((r) => gone.once('sessionDisconnected', r));
    const rejoined = Promise.all([a, back].map((s) => new Promise((r) => s.once('sessionConnected', r))));
    await first.kill();
    await sleep(4000); // > the grace window, and rejoin attempts fail meanwhile (connection refused)
    expect(disconnected).toBe(0);
    expect(a.connectionStatus).not.toBe('disconnected');
    const restarted = await startServer({ ...opts, port });
    try {
      await rejoined;
      await goneEnded;
      const newBackId = back.connection!.connectionId;
      expect(newBackId).not.toBe(oldBackId);
      await until('a reconciled its peers', () => destroyed.includes(goneId) && destroyed.includes(oldBackId) && created.includes(newBackId), 5000);
      expect(streamsDestroyed).toEqual(['gone']);
      expect(destroyed.filter((id) => id === goneId)).toHaveLength(1);
      expect(disconnected).toBe(0);
      // the new peer hears a
      const heard = new Promise<string>((r) => back.once('signal', (e) => r(e.data)));
      await a.signal({ data: 'after the rejoin' });
      expect(await heard).toBe('after the rejoin');
    } finally {
      for (const s of [a, back]) {
        s.disconnect();
        if (s.connectionStatus !== 'disconnected') await new Promise((r) => s.once('sessionDisconnected', r));
      }
      await restarted.close();
    }
  }, 40_000);

  it('rejects a bad backoff setting', () => {
    expect(() => initSession(API_KEY, '2_x', { reconnectBackoff: { base: 0 } })).toThrow(/reconnectBackoff/);
  });
});

describe('disconnect while reconnecting', () => {
  it('ends the session cleanly: one sessionDisconnected (clientDisconnected), queued signals fail', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = initSession(API_KEY, sid, { serverUrl: fx.url, reconnectBackoff: { base: 2000, factor: 2, cap: 4000 } });
    await a.connect(fx.token(sid));
    const reasons: string[] = [];
    a.on('sessionDisconnected', (e) => reasons.push(e.reason));
    const reconnecting = new Promise((r) => a.once('sessionReconnecting', r));
    fx.server.dropAllSockets();
    await reconnecting;
    const queued = a.signal({ data: 'never' }).then(() => 'sent', (e: unknown) => e);
    a.disconnect();
    await new Promise((r) => a.once('sessionDisconnected', r));
    await sleep(100);
    expect(reasons).toEqual(['clientDisconnected']);
    expect(await queued).toMatchObject({ code: 1010 });
    expect(a.connectionStatus).toBe('disconnected');
  });
});
