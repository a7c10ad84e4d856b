import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client';
import { sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
afterEach(async () => { await fx?.close(); fx = undefined; });

const signalsFrom = (c: TestClient, from: string): string[] =>
  c.eventsOf('signal').filter((s) => s['from'] === from).map((s) => s['data'] as string);

describe('resume after a drop', () => {
  it('replays what the client missed, tells the last request processed, and peers see nothing', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    await a.request('publish', { hasAudio: true, hasVideo: true });
    await a.request('signal', { data: 'before' });
    await b.waitFor((f) => f['data'] === 'before', 2000, true);
    const aSeq = a.lastSeq;

    a.drop();
    await sleep(50);
    for (let i = 0; i < 20; i++) await b.request('signal', { data: `missed-${i}` });
    const r = await a.resume();
    expect(r.type).toBe('resumed');
    expect(r['lastRequestId']).toBe(2);
    expect(r['connection']).toEqual(a.hello!['connection']);
    expect(r['lastSeq']).toBe(aSeq + 20);
    await a.waitFor((f) => f['data'] === 'missed-19', 2000, true);
    expect(signalsFrom(a, b.connectionId)).toEqual(Array.from({ length: 20 }, (_, i) => `missed-${i}`));

    const after = await a.request('signal', { data: 'after' });
    expect(after['ok']).toBe(true);
    expect(after['id']).toBe(3);
    await b.waitFor((f) => f['data'] === 'after', 2000, true);
    expect(b.eventsOf('connectionDestroyed')).toEqual([]);
    expect(b.eventsOf('streamDestroyed')).toEqual([]);
  });

  it('processes a request resent after a drop exactly once', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    // Send and cut at once: the server may or may not have processed it.
    void a.request('signal', { data: 'maybe-lost' }).catch(() => undefined);
    a.drop();
    await sleep(30);
    const r = await a.resume();
    expect(r.type).toBe('resumed');
    await a.request('signal', { data: 'marker' });
    await b.waitFor((f) => f['data'] === 'marker', 2000, true);
    expect(signalsFrom(b, a.connectionId)).toEqual(['maybe-lost', 'marker']);
    expect(a.eventsOf('result').map((f) => f['id'])).toEqual([1, 2]);
  });

  it('keeps every signal exactly once and in order through many drops on both sides', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const N = 600;
    let dropping = true;
    const chaos = (async () => {
      let k = 0;
      while (dropping) {
        await sleep(15 + (k % 4) * 7);
        const victim = k++ % 2 === 0 ? a : b;
        victim.drop();
        await sleep(5);
        const r = await victim.resume();
        expect(r.type).toBe('resumed');
      }
      return k;
    })();
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      sent.push(a.request('signal', { signalType: 'seq', data: String(i) }, 20000));
      sent.push(b.request('signal', { signalType: 'seq', data: String(i) }, 20000));
      if (i % 20 === 0) await sleep(5);
    }
    // Requests sent on a dead socket are resent by resume(); keep resuming until all are answered.
    await Promise.all(sent);
    dropping = false;
    const drops = await chaos;
    expect(drops).toBeGreaterThan(3);
    await a.request('signal', { data: 'end' });
    await b.request('signal', { data: 'end' });
    await a.waitFor((f) => f['data'] === 'end' && f['from'] === b.connectionId, 5000, true);
    await b.waitFor((f) => f['data'] === 'end' && f['from'] === a.connectionId, 5000, true);
    const expected = [...Array.from({ length: N }, (_, i) => String(i)), 'end'];
    for (const x of [a, b]) {
      expect(signalsFrom(x, a.connectionId)).toEqual(expected);
      expect(signalsFrom(x, b.connectionId)).toEqual(expected);
      expect(x.eventsOf('connectionDestroyed')).toEqual([]);
    }
  });

  it('supersedes a socket the server still thinks is open', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const oldWs = a.ws;
    const oldClosed = new Promise<number>((resolve) => oldWs.once('close', (code) => resolve(code)));
    const r = await a.resume();
    expect(r.type).toBe('resumed');
    expect(await oldClosed).toBe(4001);
    expect((await a.request('signal', { data: 'x' }))['ok']).toBe(true);
  });
});

describe('resume refused', () => {
  it('after the grace window: peers got streamDestroyed then connectionDestroyed (networkDisconnected); resume gets 1022', async () => {
    fx = await startFixture({ graceWindowMs: 200 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const pub = await a.request('publish', { hasAudio: true, hasVideo: false });
    await b.waitFor((f) => f.type === 'streamCreated', 2000, true);
    a.drop();
    await sleep(100);
    expect(b.eventsOf('connectionDestroyed')).toEqual([]);
    const destroyed = await b.waitFor((f) => f.type === 'connectionDestroyed', 2000, true);
    expect(destroyed).toMatchObject({ reason: 'networkDisconnected', connection: { id: a.connectionId } });
    const sd = b.eventsOf('streamDestroyed');
    expect(sd).toHaveLength(1);
    expect(sd[0]).toMatchObject({ reason: 'networkDisconnected', stream: { id: (pub['stream'] as { id: string }).id } });
    expect(sd[0]!['seq'] as number).toBeLessThan(destroyed['seq'] as number);
    const r = await a.resume();
    expect(r).toMatchObject({ type: 'error', code: 1022, name: 'OT_CONNECTION_DROPPED', fatal: true });
    expect(await a.waitClose()).toBe(4022);
  });

  it('with a wrong resume token (1004), a lastSeq beyond the server (1011), or an acknowledged lastSeq (1011)', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    for (let i = 0; i < 40; i++) await b.request('signal', { data: String(i) });
    await a.waitFor((f) => f['data'] === '39', 2000, true);
    a.sendRaw({ type: 'ack', seq: a.lastSeq });
    await sleep(30);
    const good = a.resumeToken;
    a.resumeToken = 'x'.repeat(good.length);
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1004 });
    a.resumeToken = good;
    const realSeq = a.lastSeq;
    a.lastSeq = realSeq + 5;
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1011 });
    a.lastSeq = 3;
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1011 });
    a.lastSeq = realSeq;
    expect((await a.resume()).type).toBe('resumed');
  });

  it('when the replay buffer overflows: connection destroyed for peers, resume gets 1022', async () => {
    fx = await startFixture({ maxReplayEvents: 50 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    a.drop();
    await sleep(30);
    for (let i = 0; i < 60; i++) await b.request('signal', { data: String(i) });
    const d = await b.waitFor((f) => f.type === 'connectionDestroyed', 2000, true);
    expect(d).toMatchObject({ reason: 'networkDisconnected', connection: { id: a.connectionId } });
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1022 });
  });
});

describe('keepalive', () => {
  it('drops a socket that answers no pings, then the connection can be resumed', async () => {
    fx = await startFixture({ keepaliveIntervalMs: 100, keepaliveTimeoutMs: 300 });
    const sid = await fx.newSession();
    const creds = { apiKey: '4700123', sessionId: sid, token: fx.token(sid) };
    const ws = new WebSocket(fx.url, { autoPong: false });
    await new Promise((r) => ws.once('open', r));
    const hello = await new Promise<Record<string, unknown>>((resolve) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.send(JSON.stringify({ type: 'connect', v: 1, ...creds }));
    });
    expect(hello['keepalive']).toEqual({ interval: 100, timeout: 300 });
    let pings = 0;
    ws.on('ping', () => pings++);
    const started = Date.now();
    await new Promise((r) => ws.once('close', r));
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(pings).toBeGreaterThanOrEqual(1);
    const c = new TestClient(fx.url, creds);
    c.connectionId = (hello['connection'] as { id: string }).id;
    c.resumeToken = hello['resumeToken'] as string;
    expect((await c.resume()).type).toBe('resumed');
    c.close();
  });

  it('keeps a quiet socket that answers pings', async () => {
    fx = await startFixture({ keepaliveIntervalMs: 50, keepaliveTimeoutMs: 150 });
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    await sleep(500);
    expect(a.closeCode).toBeUndefined();
    expect((await a.request('signal', { data: 'alive' }))['ok']).toBe(true);
  });

  it('answers JSON ping with pong, before and after the handshake', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = fx.client(sid);
    await a.open();
    const p = a.waitType('pong');
    a.sendRaw({ type: 'ping' });
    await p;
    const hello = a.waitType('connected');
    a.sendRaw({ type: 'connect', v: 1, ...a.creds });
    await hello;
    const p2 = a.waitType('pong');
    a.sendRaw({ type: 'ping' });
    await p2;
    expect(a.events).toEqual([]); // pong is a control frame: no seq
  });
});
