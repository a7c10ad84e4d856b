/**
 * Bad input against a real server (docs/protocol.md sections 1, 3, 4, 8, 10, 11): broken
 * frames, protocol violations, limits, bad credentials and role rules. After each one the
 * server keeps working: a "bystander" client in another session never notices anything.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../lib/server';
import { TestClient, type Frame } from './helpers/client';
import { API_KEY, API_SECRET, OpenTok, sleep, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
let extra: TestClient[] = [];
afterEach(async () => {
  for (const c of extra) c.close();
  extra = [];
  await fx?.close();
  fx = undefined;
});

interface World { fx: Fixture; sid: string; bystander: TestClient; bystanderPeer: TestClient }

/** A fixture, a fresh session for the test, and a bystander pair in another session. */
async function world(options: Partial<ServerOptions> = {}): Promise<World> {
  fx = await startFixture(options);
  const other = await fx.newSession();
  const bystander = await fx.join(other);
  const bystanderPeer = await fx.join(other);
  return { fx, sid: await fx.newSession(), bystander, bystanderPeer };
}

/** The bystanders still talk to each other and never saw anything but their own traffic. */
async function bystanderUnaffected(w: World): Promise<void> {
  const data = `still here ${Math.random()}`;
  const r = await w.bystander.request('signal', { data });
  expect(r['ok']).toBe(true);
  await w.bystanderPeer.waitFor((f) => f.type === 'signal' && f['data'] === data, 2000, true);
  for (const c of [w.bystander, w.bystanderPeer]) {
    expect(c.closeCode).toBeUndefined();
    expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
    const foreign = c.events.filter((f) => !(f.type === 'signal' || f.type === 'result' || (f.type === 'connectionCreated' && c === w.bystander)));
    expect(foreign).toEqual([]);
  }
}

/** An HS256 JWT made with node:crypto (independent of the server's jose). */
function hs256(claims: Record<string, unknown>, secret: string): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** A client with an open socket and no handshake. */
async function rawClient(sid: string, tokenOpts: Record<string, unknown> = {}): Promise<TestClient> {
  const c = fx!.client(sid, tokenOpts);
  await c.open();
  return c;
}

const errorFrame = (c: TestClient, timeoutMs = 2000): Promise<Frame> => c.waitFor((f) => f.type === 'error', timeoutMs);

/** Sends raw text and returns the error frame it caused. */
async function sendForError(c: TestClient, data: string | Buffer): Promise<Frame> {
  const e = errorFrame(c);
  c.ws.send(data);
  return e;
}

/** A signal frame of exactly `bytes` bytes of UTF-8. */
function signalOfSize(id: number, bytes: number, fill = 'x'): string {
  const base = JSON.stringify({ type: 'signal', id, data: '' });
  const pad = bytes - Buffer.byteLength(base);
  const per = Buffer.byteLength(fill);
  const text = JSON.stringify({ type: 'signal', id, data: fill.repeat(Math.floor(pad / per)) + 'x'.repeat(pad % per) });
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

describe('broken frames after the handshake', () => {
  it('malformed JSON, non-objects, no type and unknown types get 4400/4405 and the socket stays', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    const cases: Array<[string, number]> = [
      ['{', 4400], ['not json at all', 4400], ['', 4400], ['[1,2,3]', 4400], ['42', 4400], ['null', 4400], ['"signal"', 4400],
      ['{}', 4400], ['{"type":5,"id":1}', 4400], ['{"id":1,"data":"x"}', 4400],
      ['{"type":"hello"}', 4405], ['{"type":"result","id":1,"ok":true}', 4405], ['{"type":"SIGNAL","id":1}', 4405],
    ];
    for (const [text, code] of cases) {
      const e = await sendForError(a, text);
      expect(e, text).toMatchObject({ code, fatal: false });
      expect(e['name']).toBe(code === 4400 ? 'CONVENE_MALFORMED_FRAME' : 'CONVENE_UNKNOWN_FRAME_TYPE');
      expect(e['seq']).toBeUndefined();
    }
    // none of them consumed a request id, and the socket still works
    const r = await a.request('signal', { data: 'after the garbage' });
    expect(r).toMatchObject({ ok: true, id: 1 });
    await b.waitFor((f) => f['data'] === 'after the garbage', 2000, true);
    expect(a.closeCode).toBeUndefined();
    expect(b.events.filter((f) => f.type !== 'signal')).toEqual([]);
    await bystanderUnaffected(w);
  });

  it('a request with bad fields gets a failed result, consumes its id and changes nothing; a bad ack is a 1011 error', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    const pub = await a.request('publish', { hasAudio: 'yes', hasVideo: true });
    expect(pub).toMatchObject({ ok: false, id: 1, error: { code: 1011, name: 'OT_INVALID_PARAMETER' } });
    const sig = await a.request('signal', { data: 5 });
    expect(sig).toMatchObject({ ok: false, id: 2, error: { code: 1011 } });
    const e = await sendForError(a, JSON.stringify({ type: 'ack', seq: 999 }));
    expect(e).toMatchObject({ code: 1011, fatal: false, ref: 'ack' });
    expect(await a.request('signal', { data: 'ok now' })).toMatchObject({ ok: true, id: 3 });
    await b.waitFor((f) => f['data'] === 'ok now', 2000, true);
    expect(b.events.map((f) => f.type)).toEqual(['signal']);
    await bystanderUnaffected(w);
  });

  it('a binary frame gets 4415 before the handshake, and after it (v1.1: media) a malformed one gets 4416; the socket stays', async () => {
    const w = await world();
    const c = await rawClient(w.sid);
    expect(await sendForError(c, Buffer.from([0, 1, 2, 3]))).toMatchObject({ code: 4415, name: 'CONVENE_BINARY_NOT_SUPPORTED', fatal: false });
    const hello = c.waitType('connected');
    c.sendRaw({ type: 'connect', v: 1, ...c.creds });
    await hello;
    expect(await sendForError(c, Buffer.from('{"type":"signal","id":1}'))).toMatchObject({ code: 4416, name: 'CONVENE_MALFORMED_MEDIA', fatal: false, ref: 'media' });
    expect(await c.request('signal', { data: 'text still works' })).toMatchObject({ ok: true, id: 1 });
    await bystanderUnaffected(w);
  });

  it('a frame over maxFrameBytes closes the socket with 1009 (a drop: it resumes); a frame of exactly the limit goes through', async () => {
    const w = await world({ maxFrameBytes: 1024 });
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    expect((a.hello!['limits'] as Record<string, number>)['maxFrameBytes']).toBe(1024);
    // bytes count, not characters
    const exact = signalOfSize(1, 1024, 'é');
    const result = a.waitFor((f) => f.type === 'result' && f['id'] === 1);
    a.ws.send(exact);
    expect(await result).toMatchObject({ ok: true });
    a.nextId = 2;
    const got = await b.waitFor((f) => f.type === 'signal', 2000, true);
    expect(got['data']).toBe((JSON.parse(exact) as { data: string }).data);
    const overMultibyte = signalOfSize(2, 1025, 'é');
    expect(overMultibyte.length).toBeLessThan(1024);
    a.ws.send(overMultibyte);
    expect(await a.waitClose()).toBe(1009);
    await sleep(50);
    expect(b.eventsOf('signal')).toHaveLength(1);
    expect(b.events.filter((f) => f.type !== 'signal')).toEqual([]);
    // it was a drop: the connection resumes, id 2 was not consumed
    expect((await a.resume()).type).toBe('resumed');
    expect(await a.request('signal', { data: 'small' })).toMatchObject({ ok: true, id: 2 });
    await bystanderUnaffected(w);
  });

  it('a frame over 1 MiB closes the socket with 1009; peers see nothing (grace window)', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    a.ws.send('x'.repeat(1024 * 1024 + 1));
    expect(await a.waitClose()).toBe(1009);
    await sleep(50);
    expect(b.events).toEqual([]);
    // it was a drop: the connection resumes
    expect((await a.resume()).type).toBe('resumed');
    expect(await a.request('signal', { data: 'back' })).toMatchObject({ ok: true, id: 1 });
    await bystanderUnaffected(w);
  });
});

describe('request ids', () => {
  it('a gap gets 4409 and close 4409; the client resumes and continues from the right id', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    expect(await a.request('signal', { data: 'one' })).toMatchObject({ ok: true, id: 1 });
    const e = errorFrame(a);
    a.sendRaw({ type: 'signal', id: 3, data: 'skipped two' });
    expect(await e).toMatchObject({ code: 4409, name: 'CONVENE_REQUEST_OUT_OF_ORDER', fatal: true });
    expect(await a.waitClose()).toBe(4409);
    const resumed = await a.resume();
    expect(resumed).toMatchObject({ type: 'resumed', lastRequestId: 1 });
    a.nextId = 2;
    expect(await a.request('signal', { data: 'two' })).toMatchObject({ ok: true, id: 2 });
    await b.waitFor((f) => f['data'] === 'two', 2000, true);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(['one', 'two']);
    expect(b.eventsOf('connectionDestroyed')).toEqual([]);
    await bystanderUnaffected(w);
  });

  it('a request without a usable id (missing, 0, a string) is fatal 4409 too', async () => {
    const w = await world();
    for (const id of [undefined, 0, '1', 1.5]) {
      const a = await fx!.join(w.sid);
      const e = errorFrame(a);
      a.sendRaw({ type: 'signal', id, data: 'x' });
      expect(await e, String(id)).toMatchObject({ code: 4409, fatal: true, ref: 'signal' });
      expect(await a.waitClose()).toBe(4409);
    }
    await bystanderUnaffected(w);
  });

  it('a duplicate id is ignored: no second result, no second effect', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    expect(await a.request('signal', { data: 'once' })).toMatchObject({ ok: true, id: 1 });
    expect(await a.request('publish', { hasAudio: true, hasVideo: true })).toMatchObject({ ok: true, id: 2 });
    a.sendRaw({ type: 'signal', id: 1, data: 'once' });
    a.sendRaw({ type: 'publish', id: 2, hasAudio: true, hasVideo: true });
    a.sendRaw({ type: 'signal', id: 1, data: 'different body, same id' });
    expect(await a.request('signal', { data: 'marker' })).toMatchObject({ ok: true, id: 3 });
    await b.waitFor((f) => f['data'] === 'marker', 2000, true);
    expect(a.eventsOf('result').map((f) => f['id'])).toEqual([1, 2, 3]);
    expect(b.eventsOf('signal').map((f) => f['data'])).toEqual(['once', 'marker']);
    expect(b.eventsOf('streamCreated')).toHaveLength(1);
    expect(a.frames.filter((f) => f.type === 'error')).toEqual([]);
    await bystanderUnaffected(w);
  });
});

describe('rates', () => {
  it('signals over the rate get 1429 results; the socket stays and the bucket refills', async () => {
    const w = await world({ signalsPerSecond: 10, signalBurst: 10 });
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    const results = await Promise.all(Array.from({ length: 15 }, (_, i) => a.request('signal', { data: String(i) })));
    const ok = results.filter((r) => r['ok'] === true);
    const limited = results.filter((r) => r['ok'] === false);
    expect(ok.length).toBeGreaterThanOrEqual(10);
    expect(ok.length).toBeLessThanOrEqual(12); // the burst, plus what refilled while the frames arrived
    expect(limited.length).toBe(15 - ok.length);
    for (const r of limited) expect(r['error']).toMatchObject({ code: 1429, name: 'OT_RATE_LIMIT_EXCEEDED' });
    // the first ones went through, in order
    expect(results.slice(0, 10).every((r) => r['ok'] === true)).toBe(true);
    await sleep(250); // 2.5 tokens
    expect(await a.request('signal', { data: 'refilled' })).toMatchObject({ ok: true });
    await b.waitFor((f) => f['data'] === 'refilled', 2000, true);
    expect(b.eventsOf('signal')).toHaveLength(ok.length + 1);
    // other requests are not rate limited
    expect(await a.request('publish', { hasAudio: true, hasVideo: true })).toMatchObject({ ok: true });
    expect(a.closeCode).toBeUndefined();
    await bystanderUnaffected(w);
  });

  it('a flood of frames gets 4429 and close 1008; what came before was answered', async () => {
    const w = await world({ signalsPerSecond: 10, signalBurst: 10 });
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    const maxFrames = 5 * 10 + 100;
    expect((a.hello!['limits'] as Record<string, number>)['signalsPerSecond']).toBe(10);
    const e = errorFrame(a);
    for (let i = 1; i <= maxFrames + 50; i++) a.sendRaw({ type: 'signal', id: i, data: String(i) });
    expect(await e).toMatchObject({ code: 4429, name: 'CONVENE_FLOOD', fatal: true });
    expect(await a.waitClose()).toBe(1008);
    const results = a.eventsOf('result');
    expect(results.length).toBeLessThanOrEqual(maxFrames);
    expect(results.length).toBeGreaterThan(maxFrames - 5); // the socket saw at most maxFrames frames this second
    expect(results.map((r) => r['id'])).toEqual(results.map((_, i) => i + 1));
    const ok = results.filter((r) => r['ok'] === true).length;
    expect(ok).toBeGreaterThanOrEqual(10);
    expect(ok).toBeLessThanOrEqual(12);
    expect(results.filter((r) => r['ok'] === false).every((r) => (r['error'] as { code: number }).code === 1429)).toBe(true);
    // the error frame came after the last result
    const idx = a.frames.findIndex((f) => f.type === 'error');
    expect(a.frames.slice(idx + 1).filter((f) => f.type === 'result')).toEqual([]);
    await sleep(50);
    expect(b.eventsOf('signal')).toHaveLength(ok);
    expect(b.eventsOf('connectionDestroyed')).toEqual([]); // a drop: grace window
    await bystanderUnaffected(w);
  });
});

describe('handshake', () => {
  it('a request (or ack) before the handshake gets 1010 and close 4010', async () => {
    const w = await world();
    const peer = await fx!.join(w.sid);
    for (const frame of [
      { type: 'signal', id: 1, data: 'too early' },
      { type: 'publish', id: 1, hasAudio: true, hasVideo: true },
      { type: 'publish', id: 1 }, // bad fields too
      { type: 'disconnect', id: 1 },
      { type: 'ack', seq: 0 },
    ]) {
      const c = await rawClient(w.sid);
      const e = errorFrame(c);
      c.sendRaw(frame);
      expect(await e, JSON.stringify(frame)).toMatchObject({ code: 1010, name: 'OT_NOT_CONNECTED', fatal: true, ref: frame.type });
      expect(await c.waitClose()).toBe(4010);
    }
    await sleep(30);
    expect(peer.events).toEqual([]);
    await bystanderUnaffected(w);
  });

  it('a second connect or a resume on a connected socket gets 1015, not fatal', async () => {
    const w = await world();
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    expect(await sendForError(a, JSON.stringify({ type: 'connect', v: 1, ...a.creds }))).toMatchObject({ code: 1015, name: 'OT_ILLEGAL_STATE', fatal: false, ref: 'connect' });
    expect(await sendForError(a, JSON.stringify({
      type: 'resume', v: 1, apiKey: API_KEY, sessionId: w.sid, connectionId: a.connectionId, resumeToken: a.resumeToken, lastSeq: 0,
    }))).toMatchObject({ code: 1015, fatal: false, ref: 'resume' });
    expect(await a.request('signal', { data: 'same connection' })).toMatchObject({ ok: true, id: 1 });
    const s = await b.waitFor((f) => f.type === 'signal', 2000, true);
    expect(s['from']).toBe(a.connectionId);
    expect(b.eventsOf('connectionCreated')).toEqual([]); // no second connection was made
    expect(fx!.server.registry.connectionCount(w.sid)).toBe(2);
    await bystanderUnaffected(w);
  });

  it('a connect with bad fields is fatal 1011 (close 4011)', async () => {
    const w = await world();
    const c = await rawClient(w.sid);
    const e = errorFrame(c);
    c.sendRaw({ type: 'connect', v: 2, ...c.creds });
    expect(await e).toMatchObject({ code: 1011, fatal: true, ref: 'connect' });
    expect(await c.waitClose()).toBe(4011);
    await bystanderUnaffected(w);
  });

  it('no handshake within handshakeTimeout: 1021 and close 4021, JSON pings do not count', async () => {
    const w = await world({ handshakeTimeoutMs: 200 });
    const c = await rawClient(w.sid);
    const started = Date.now();
    const pong = c.waitType('pong');
    c.sendRaw({ type: 'ping' });
    await pong;
    const e = await errorFrame(c, 2000);
    expect(e).toMatchObject({ code: 1021, name: 'OT_CONNECTION_TIMED_OUT', fatal: true });
    expect(await c.waitClose()).toBe(4021);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    // connected clients are not affected by the short handshake timeout
    await sleep(250);
    await bystanderUnaffected(w);
  });

  it('a full session refuses the next connection with 1027 (close 4027); others are not told', async () => {
    const w = await world({ maxConnectionsPerSession: 2 });
    const a = await fx!.join(w.sid);
    const b = await fx!.join(w.sid);
    const c = fx!.client(w.sid);
    const refused = await c.connect();
    expect(refused).toMatchObject({ type: 'error', code: 1027, name: 'OT_CONNECTION_LIMIT_EXCEEDED', fatal: true });
    expect(await c.waitClose()).toBe(4027);
    expect(await a.request('signal', { data: 'two of us' })).toMatchObject({ ok: true });
    await b.waitFor((f) => f['data'] === 'two of us', 2000, true);
    expect(a.eventsOf('connectionCreated')).toHaveLength(1); // only b
    expect(b.eventsOf('connectionCreated')).toEqual([]);
    // room again after one leaves
    await b.request('disconnect');
    await b.waitClose();
    const d = await fx!.join(w.sid);
    expect(d.hello!['connections']).toEqual([a.hello!['connection']]);
    await bystanderUnaffected(w);
  });
});

describe('credentials', () => {
  /** Connects with these credentials and expects a fatal error with code; returns its message. */
  async function refused(creds: { apiKey: string; sessionId: string; token: string }, code: number, close: number): Promise<string> {
    const c = new TestClient(fx!.url, creds);
    extra.push(c);
    const r = await c.connect();
    expect(r, JSON.stringify(creds).slice(0, 120)).toMatchObject({ type: 'error', code, fatal: true, ref: 'connect' });
    expect(await c.waitClose()).toBe(close);
    const message = r['message'] as string;
    expect(message).not.toContain(API_SECRET);
    return message;
  }

  function t1(sessionId: string, fields: Record<string, string | number>, secret = API_SECRET, apiKey = API_KEY): string {
    const data = new URLSearchParams(Object.entries({ session_id: sessionId, ...fields }).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const sig = createHmac('sha1', secret).update(data).digest('hex');
    return 'T1==' + Buffer.from(`partner_id=${apiKey}&sig=${sig}:${data}`).toString('base64');
  }

  it('bad tokens get 1004 with a message naming the problem, and close 4004', async () => {
    const w = await world({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }, { apiKey: '4711111', apiSecret: 'secret-of-the-other-project' }] });
    const peer = await fx!.join(w.sid);
    const now = Math.floor(Date.now() / 1000);
    // the SDK refuses to make an expired token...
    expect(() => fx!.ot.generateToken(w.sid, { expireTime: now - 60 })).toThrow(/past/);
    // ...so they are made by hand, as the SDK would have
    const expiredJwt = hs256({
      iss: API_KEY, ist: 'project', iat: now - 100, exp: now - 10, session_id: w.sid, create_time: now - 100, nonce: 0.5,
      role: 'publisher', expire_time: now - 10, initial_layout_class_list: '', scope: 'session.connect',
    }, API_SECRET);
    const expiredT1 = t1(w.sid, { create_time: now - 100, nonce: 1, role: 'publisher', expire_time: now - 10, scope: 'session.connect' });
    const validT1 = t1(w.sid, { create_time: now, nonce: 1, role: 'publisher', expire_time: now + 600, scope: 'session.connect' });
    const wrongSecret = new OpenTok(API_KEY, 'not-the-secret', { apiUrl: fx!.server.apiUrl }).generateToken(w.sid);
    const otherSession = fx!.token(await fx!.newSession());
    const otherProject = new OpenTok('4711111', 'secret-of-the-other-project', { apiUrl: fx!.server.apiUrl });
    const otherSid = await new Promise<string>((resolve, reject) => otherProject.createSession({}, (err, s) => (err || !s ? reject(err) : resolve(s.sessionId))));
    // a token of the other project (its own secret), presented for our session
    const otherKeyJwt = hs256({
      iss: '4711111', ist: 'project', iat: now, exp: now + 600, session_id: w.sid, create_time: now, nonce: 0.5,
      role: 'publisher', expire_time: now + 600, scope: 'session.connect',
    }, 'secret-of-the-other-project');
    const badRole = t1(w.sid, { create_time: now, nonce: 1, role: 'admin', expire_time: now + 600, scope: 'session.connect' });
    const badScope = t1(w.sid, { create_time: now, nonce: 1, role: 'publisher', expire_time: now + 600, scope: 'session.admin' });

    const creds = (token: string) => ({ apiKey: API_KEY, sessionId: w.sid, token });
    const cases: Array<[string, string, RegExp]> = [
      ['expired JWT', expiredJwt, /token has expired/],
      ['expired T1', expiredT1, /token has expired/],
      ['wrong secret', wrongSecret, /token signature is invalid/],
      ['another session', otherSession, /token is for another session/],
      ['another api key', otherKeyJwt, /token is for another api key/],
      ['garbage', 'garbage', /token is malformed/],
      ['bad role', badRole, /token role 'admin' is not valid/],
      ['bad scope', badScope, /token scope is not session\.connect/],
    ];
    const messages = new Set<string>();
    for (const [what, token, re] of cases) {
      const m = await refused(creds(token), 1004, 4004);
      expect(m, what).toMatch(re);
      messages.add(m);
    }
    expect(messages.size).toBe(cases.length - 1); // the two expired tokens share their message
    // the hand-made T1 is accepted when valid: the failures above are about what they say
    const ok = new TestClient(fx!.url, creds(validT1));
    extra.push(ok);
    expect((await ok.connect()).type).toBe('connected');
    // the other project's own token works in its own session
    const o = new TestClient(fx!.url, { apiKey: '4711111', sessionId: otherSid, token: otherProject.generateToken(otherSid) });
    extra.push(o);
    expect((await o.connect()).type).toBe('connected');

    expect(peer.eventsOf('connectionCreated')).toHaveLength(1); // only the valid T1 client
    await bystanderUnaffected(w);
  });

  it('an unknown api key is 1004; a garbage, forged or foreign session id is 1005 (close 4005)', async () => {
    const w = await world({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }, { apiKey: '4711111', apiSecret: 'secret-of-the-other-project' }] });
    const peer = await fx!.join(w.sid);
    const token = fx!.token(w.sid);
    expect(await refused({ apiKey: 'no-such-key', sessionId: w.sid, token }, 1004, 4004)).toMatch(/unknown api key/);

    const fields = Buffer.from(w.sid.slice(2), 'base64url').toString('utf8').split('~');
    fields[4] = 'ffffffffffffffff';
    const forged = '2_' + Buffer.from(fields.join('~')).toString('base64url');
    const otherProject = new OpenTok('4711111', 'secret-of-the-other-project', { apiUrl: fx!.server.apiUrl });
    const foreign = await new Promise<string>((resolve, reject) => otherProject.createSession({}, (err, s) => (err || !s ? reject(err) : resolve(s.sessionId))));
    const messages = [
      await refused({ apiKey: API_KEY, sessionId: 'garbage', token }, 1005, 4005),
      await refused({ apiKey: API_KEY, sessionId: '2_' + 'A'.repeat(40), token }, 1005, 4005),
      await refused({ apiKey: API_KEY, sessionId: forged, token }, 1005, 4005),
      await refused({ apiKey: API_KEY, sessionId: foreign, token }, 1005, 4005),
    ];
    expect(messages[0]).toMatch(/malformed/);
    expect(messages[2]).toMatch(/not issued by this server/);
    expect(messages[3]).toMatch(/another api key/);
    await sleep(30);
    expect(peer.events).toEqual([]);
    await bystanderUnaffected(w);
  });
});

describe('role rules', () => {
  it('subscriber, publisheronly and publisher are refused what their role does not allow, and nothing changes', async () => {
    const w = await world();
    const mod = await fx!.join(w.sid, { role: 'moderator' });
    const sub = await fx!.join(w.sid, { role: 'subscriber' });
    const ponly = await fx!.join(w.sid, { role: 'publisheronly' });
    const pub = await fx!.join(w.sid, { role: 'publisher' });
    const watcher = await fx!.join(w.sid);
    const modStream = (await mod.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    await watcher.waitFor((f) => f.type === 'streamCreated', 2000, true);
    const before = watcher.events.length;

    expect(sub.hello!['capabilities']).toEqual({ publish: 0, subscribe: 1, signal: 0, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 });
    expect(ponly.hello!['capabilities']).toEqual({ publish: 1, subscribe: 0, signal: 0, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 });
    const denied = (code: number) => ({ ok: false, error: { code, name: 'OT_PERMISSION_DENIED' } });

    expect(await sub.request('publish', { hasAudio: true, hasVideo: true })).toMatchObject(denied(1500));
    expect(await sub.request('signal', { data: 'sub says' })).toMatchObject(denied(1550));
    expect(await sub.request('signal', { data: 'sub whispers', to: watcher.connectionId })).toMatchObject(denied(1550));
    expect(await ponly.request('signal', { data: 'ponly says' })).toMatchObject(denied(1550));
    expect(await pub.request('forceDisconnect', { connectionId: watcher.connectionId })).toMatchObject(denied(1520));
    expect(await pub.request('forceUnpublish', { streamId: modStream.id })).toMatchObject(denied(1530));
    expect(await pub.request('forceMuteStream', { streamId: modStream.id })).toMatchObject(denied(1540));
    expect(await pub.request('forceMuteAll')).toMatchObject(denied(1540));
    expect(await pub.request('disableForceMute')).toMatchObject(denied(1540));
    expect(await sub.request('forceDisconnect', { connectionId: pub.connectionId })).toMatchObject(denied(1520));
    // a publisher cannot unpublish or change someone else's stream either
    expect(await pub.request('unpublish', { streamId: modStream.id })).toMatchObject({ ok: false, error: { code: 1535 } });

    // nothing changed: a marker from the moderator is the next thing everyone sees
    expect(await mod.request('signal', { data: 'marker' })).toMatchObject({ ok: true });
    for (const x of [watcher, sub, ponly, pub]) {
      await x.waitFor((f) => f['data'] === 'marker', 2000, true);
      expect(x.closeCode).toBeUndefined();
      expect(x.eventsOf('signal').map((f) => f['data'])).toEqual(['marker']);
      expect(x.eventsOf('streamDestroyed')).toEqual([]);
      expect(x.eventsOf('streamPropertyChanged')).toEqual([]);
      expect(x.eventsOf('muteForced')).toEqual([]);
      expect(x.eventsOf('connectionDestroyed')).toEqual([]);
    }
    expect(watcher.events.slice(before).map((f) => f.type)).toEqual(['signal']);
    const streams = await new Promise<Array<{ id: string }>>((resolve, reject) => fx!.ot.listStreams(w.sid, (err, s) => (err ? reject(err) : resolve(s as Array<{ id: string }>))));
    expect(streams.map((s) => s.id)).toEqual([modStream.id]);

    // what the roles do allow still works, and the failed requests consumed their ids
    const p = await ponly.request('publish', { hasAudio: true, hasVideo: true });
    expect(p).toMatchObject({ ok: true, id: 2 });
    const created = await watcher.waitFor((f) => f.type === 'streamCreated' && (f['stream'] as { connectionId: string }).connectionId === ponly.connectionId, 2000, true);
    expect(created['stream']).toEqual(p['stream']);
    expect(await pub.request('signal', { data: 'pub says' })).toMatchObject({ ok: true, id: 7 });
    expect(await mod.request('forceDisconnect', { connectionId: sub.connectionId })).toMatchObject({ ok: true });
    expect(await sub.waitClose()).toBe(1000);
    await bystanderUnaffected(w);
  });
});
