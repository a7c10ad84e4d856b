/**
 * The REST API driven by the real `opentok` server SDK (docs/protocol.md section 14,
 * shared reference section 3), with real protocol-v1 clients watching the effects.
 */
import { createHmac } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { mintToken } from '../lib/mint';
import { TestClient, type Frame } from './helpers/client';
import { API_KEY, API_SECRET, OpenTok, call, startFixture, type Fixture, type OpenTokSdk } from './helpers/server';

const OTHER_KEY = '4799999';
const OTHER_SECRET = 'other-secret-abcdefabcdefabcdefabcdef';

let fx: Fixture;
let consoleError: MockInstance<typeof console.error>;
beforeEach(async () => {
  fx = await startFixture({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }, { apiKey: OTHER_KEY, apiSecret: OTHER_SECRET }] });
  consoleError = vi.spyOn(console, 'error');
});
afterEach(async () => {
  await fx.close();
  // No request in these tests is a server failure: nothing took the 500 path and logged it.
  const logged = consoleError.mock.calls.map((c) => String(c[0]));
  consoleError.mockRestore();
  expect(logged).toEqual([]);
});

/** The decoded fields of a session id: 1~KEY~LOCATION~MS~NONCE~MEDIA~ARCHIVE~MAC~ */
function sessionFields(sid: string): string[] {
  expect(sid.startsWith('2_')).toBe(true);
  return Buffer.from(sid.slice(2), 'base64url').toString('utf8').split('~');
}

/** The SDK's own project JWT (X-OPENTOK-AUTH) for an instance. */
function sdkJwt(ot: OpenTokSdk): string {
  return (ot as unknown as { generateJwt(): string }).generateJwt();
}

/** An HS256 JWT made with node:crypto (independent of the server's jose). */
function hs256(claims: Record<string, unknown>, secret: string): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** A project JWT as the SDK makes it (iss, ist, iat, exp), with overrides. */
function projectJwt(apiKey: string, secret: string, claims: Record<string, unknown> = {}, exp?: number): string {
  const now = Math.floor(Date.now() / 1000);
  return hs256({ iss: apiKey, ist: 'project', iat: now - 10, exp: exp ?? now + 300, ...claims }, secret);
}

interface RawAnswer { status: number; contentType: string; text: string; json: unknown }

async function raw(path: string, init: { method?: string; auth?: string | null; body?: string; contentType?: string } = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? sdkJwt(fx.ot) : init.auth;
  if (auth !== null) headers['X-OPENTOK-AUTH'] = auth;
  if (init.body !== undefined) headers['Content-Type'] = init.contentType ?? 'application/json';
  const res = await fetch(fx.server.apiUrl + path, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await res.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/** Sends one hand-written HTTP/1.1 request; resolves with the whole answer. */
function rawHttp(requestLine: string, headersAndBody = '\r\n'): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(fx.server.port, '127.0.0.1', () => {
      sock.write(`${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headersAndBody}`);
    });
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
    sock.setTimeout(2000, () => { sock.destroy(); reject(new Error('raw HTTP request timed out')); });
  });
}

const v2 = (sid: string, rest = '', key = API_KEY): string => `/v2/project/${key}/session/${sid}${rest}`;

/** Resolves with the error the SDK call reports (fails if it succeeded). */
async function sdkError(fn: (cb: (err: Error | null, v?: unknown) => void) => void): Promise<Error> {
  try {
    await call(fn);
  } catch (e) {
    return e as Error;
  }
  throw new Error('the SDK call succeeded but an error was expected');
}

/** Sends a marker signal through REST and waits until every client saw it: everything sent before arrived. */
async function flush(sid: string, ...clients: TestClient[]): Promise<void> {
  const marker = `m${Math.random().toString(36).slice(2)}`;
  await call((cb) => fx.ot.signal(sid, null, { type: 'marker', data: marker }, cb));
  for (const c of clients) await c.waitFor((f) => f.type === 'signal' && f['data'] === marker, 2000, true);
}

const nonMarker = (c: TestClient, type: string): Frame[] =>
  c.eventsOf(type).filter((f) => !(f.type === 'signal' && f['signalType'] === 'marker'));

describe('createSession', () => {
  it('defaults to a relayed, manual-archive session of this api key that clients can join', async () => {
    const session = await call<{ sessionId: string }>((cb) => fx.ot.createSession({}, cb));
    const f = sessionFields(session.sessionId);
    expect(f).toHaveLength(9);
    expect(f[0]).toBe('1');
    expect(f[1]).toBe(API_KEY);
    expect(f[2]).toBe('');
    expect(Math.abs(Number(f[3]) - Date.now())).toBeLessThan(10_000);
    expect(f[5]).toBe('relayed');
    expect(f[6]).toBe('manual');
    const c = await fx.join(session.sessionId);
    expect(c.hello!['sessionId']).toBe(session.sessionId);
  });

  it('routed, routed with archiveMode always, and a location', async () => {
    const routed = sessionFields(await fx.newSession({ mediaMode: 'routed' }));
    expect([routed[5], routed[6]]).toEqual(['routed', 'manual']);
    const always = sessionFields(await fx.newSession({ mediaMode: 'routed', archiveMode: 'always' }));
    expect([always[5], always[6]]).toEqual(['routed', 'always']);
    const located = await fx.newSession({ location: '10.20.30.40' });
    expect(sessionFields(located)[2]).toBe('10.20.30.40');
    await fx.join(located);
  });

  it('answers the JSON array the SDK reads, and refuses bad options with 400', async () => {
    const ok = await raw('/session/create', { method: 'POST', body: 'p2p.preference=disabled&archiveMode=always', contentType: 'application/x-www-form-urlencoded' });
    expect(ok.status).toBe(200);
    expect(ok.contentType.split(';')[0]).toBe('application/json');
    const arr = ok.json as Array<Record<string, unknown>>;
    expect(Array.isArray(arr)).toBe(true);
    expect(arr).toHaveLength(1);
    expect(arr[0]).toMatchObject({ project_id: API_KEY, partner_id: API_KEY, media_server_url: fx.url });
    expect(typeof arr[0]!['create_dt']).toBe('string');
    expect(sessionFields(arr[0]!['session_id'] as string).slice(5, 7)).toEqual(['routed', 'always']);

    const form = { method: 'POST', contentType: 'application/x-www-form-urlencoded' };
    expect((await raw('/session/create', { ...form, body: 'p2p.preference=enabled&archiveMode=always' })).status).toBe(400);
    expect((await raw('/session/create', { ...form, body: 'p2p.preference=maybe' })).status).toBe(400);
    expect((await raw('/session/create', { ...form, body: 'archiveMode=sometimes' })).status).toBe(400);
    const badLoc = await raw('/session/create', { ...form, body: 'location=not-an-ip' });
    expect(badLoc.status).toBe(400);
    expect(badLoc.json).toMatchObject({ code: 400 });
  });
});

describe('generateToken', () => {
  it('JWT (default) and legacy T1 tokens of every role connect with their role and data', async () => {
    const sid = await fx.newSession();
    const jwt = fx.ot.generateToken(sid, { role: 'moderator', data: 'kind=jwt' });
    expect(jwt.split('.')).toHaveLength(3);
    const t1 = fx.ot.generateToken(sid, { role: 'subscriber', data: 'kind=t1' }, true);
    expect(t1.startsWith('T1==')).toBe(true);
    for (const [token, role, data] of [[jwt, 'moderator', 'kind=jwt'], [t1, 'subscriber', 'kind=t1']] as const) {
      const c = new TestClient(fx.url, { apiKey: API_KEY, sessionId: sid, token });
      try {
        const hello = await c.connect();
        expect(hello.type).toBe('connected');
        expect(hello['role']).toBe(role);
        expect(hello['connection']).toMatchObject({ data });
      } finally {
        c.close();
      }
    }
    for (const role of ['publisher', 'publisheronly'] as const) {
      const c = await fx.join(sid, { role });
      expect(c.hello!['role']).toBe(role);
    }
  });
});

describe('signal', () => {
  it('to the whole session reaches every client with from: null', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid, { role: 'subscriber' });
    const c = await fx.join(sid, { role: 'moderator' });
    await call((cb) => fx.ot.signal(sid, null, { type: 'news', data: 'hello all' }, cb));
    for (const x of [a, b, c]) {
      const s = await x.waitFor((f) => f.type === 'signal', 2000, true);
      expect(s).toMatchObject({ signalType: 'news', data: 'hello all', from: null });
      expect(x.eventsOf('signal')).toHaveLength(1);
    }
  });

  it('type and data default to empty strings, and a session nobody joined accepts signals', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    await call((cb) => fx.ot.signal(sid, null, {}, cb));
    expect(await a.waitFor((f) => f.type === 'signal', 2000, true)).toMatchObject({ signalType: '', data: '', from: null });
    const empty = await fx.newSession();
    await call((cb) => fx.ot.signal(empty, null, { type: 't', data: 'nobody' }, cb));
  });

  it('to one connection reaches only that connection', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid);
    await call((cb) => fx.ot.signal(sid, b.connectionId, { type: 'dm', data: 'just you' }, cb));
    expect(await b.waitFor((f) => f.type === 'signal', 2000, true)).toMatchObject({ signalType: 'dm', data: 'just you', from: null });
    await flush(sid, a, b, c);
    expect(nonMarker(a, 'signal')).toEqual([]);
    expect(nonMarker(c, 'signal')).toEqual([]);
    expect(nonMarker(b, 'signal')).toHaveLength(1);
  });

  it('to an unknown connection fails (404) and nobody gets anything', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const err = await sdkError((cb) => fx.ot.signal(sid, 'no-such-connection', { type: 'dm', data: 'x' }, cb));
    expect(err.message).toMatch(/not found/i);
    // a connection of another session is unknown in this one
    const other = await fx.newSession();
    const o = await fx.join(other);
    expect((await sdkError((cb) => fx.ot.signal(sid, o.connectionId, { data: 'x' }, cb))).message).toMatch(/not found/i);
    expect((await raw(v2(sid, '/connection/nobody/signal'), { method: 'POST', body: '{"type":"a","data":"b"}' })).status).toBe(404);
    await flush(sid, a);
    expect(nonMarker(a, 'signal')).toEqual([]);
    expect(o.eventsOf('signal')).toEqual([]);
  });

  it('an invalid type, a type over 128 bytes or data over 8192 bytes fail (400/413) and deliver nothing', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const badType = await sdkError((cb) => fx.ot.signal(sid, null, { type: 'has space', data: 'x' }, cb));
    expect(badType.message).toMatch(/signal type may only contain/);
    const longType = await sdkError((cb) => fx.ot.signal(sid, null, { type: 'a'.repeat(129), data: 'x' }, cb));
    expect(longType.message).toMatch(/longer than 128 bytes/);
    const longData = await sdkError((cb) => fx.ot.signal(sid, a.connectionId, { type: 't', data: 'é'.repeat(4097) }, cb));
    expect(longData.message).toMatch(/longer than 8192 bytes/);

    const post = (body: unknown) => raw(v2(sid, '/signal'), { method: 'POST', body: JSON.stringify(body) });
    expect((await post({ type: 'has space' })).status).toBe(400);
    expect((await post({ type: 'a'.repeat(129) })).status).toBe(400);
    expect((await post({ type: 't', data: 'x'.repeat(8193) })).status).toBe(413);
    expect((await post({ type: 7, data: 'x' })).status).toBe(400);
    expect((await post({ type: 't', data: { nested: true } })).status).toBe(400);
    expect((await raw(v2(sid, '/signal'), { method: 'POST', body: '{not json' })).status).toBe(400);
    expect((await raw(v2(sid, '/signal'), { method: 'POST', body: '[1,2]' })).status).toBe(400);

    // exactly at the limits is fine
    await call((cb) => fx.ot.signal(sid, null, { type: 'b'.repeat(128), data: 'é'.repeat(4096) }, cb));
    await flush(sid, a);
    const got = nonMarker(a, 'signal');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ signalType: 'b'.repeat(128), data: 'é'.repeat(4096) });
  });
});

describe('forceDisconnect', () => {
  it('tells the target forceDisconnected and closes it; peers see its stream and connection destroyed', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const stream = (await a.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    await b.waitFor((f) => f.type === 'streamCreated', 2000, true);

    await call((cb) => fx.ot.forceDisconnect(sid, a.connectionId, cb));
    expect(await a.waitFor((f) => f.type === 'sessionDisconnected', 2000, true)).toMatchObject({ reason: 'forceDisconnected' });
    expect(await a.waitClose()).toBe(1000);
    const cd = await b.waitFor((f) => f.type === 'connectionDestroyed', 2000, true);
    expect(cd).toMatchObject({ reason: 'forceDisconnected', connection: { id: a.connectionId } });
    expect(b.eventsOf('streamDestroyed')).toEqual([expect.objectContaining({ reason: 'forceDisconnected', stream: expect.objectContaining({ id: stream.id }) })]);
    // stream destroyed comes before connection destroyed
    expect(b.events.indexOf(b.eventsOf('streamDestroyed')[0]!)).toBeLessThan(b.events.indexOf(cd));
    expect(await call<unknown[]>((cb) => fx.ot.listStreams(sid, cb))).toEqual([]);

    // gone for good: a second forceDisconnect and a resume both fail
    const again = await sdkError((cb) => fx.ot.forceDisconnect(sid, a.connectionId, cb));
    expect(again.message).toMatch(/not found/i);
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1022 });
  });

  it('an unknown connection fails with a not-found error and changes nothing', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const err = await sdkError((cb) => fx.ot.forceDisconnect(sid, 'no-such-connection', cb));
    expect(err.message).toMatch(/not found/i);
    expect((await raw(v2(sid, '/connection/nobody'), { method: 'DELETE' })).status).toBe(404);
    await flush(sid, a);
    expect(a.eventsOf('connectionDestroyed')).toEqual([]);
    expect(a.closeCode).toBeUndefined();
  });
});

describe('getStream and listStreams', () => {
  it('report id, videoType, name and layoutClassList of published streams', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid, { role: 'publisheronly' });
    expect(await call<unknown[]>((cb) => fx.ot.listStreams(sid, cb))).toEqual([]);
    const s1 = (await a.request('publish', { name: 'cam', hasAudio: true, hasVideo: true, videoType: 'camera' }))['stream'] as { id: string };
    const s2 = (await b.request('publish', { name: 'deck', hasAudio: false, hasVideo: true, videoType: 'screen' }))['stream'] as { id: string };

    const got = await call<Record<string, unknown>>((cb) => fx.ot.getStream(sid, s2.id, cb));
    expect({ ...got }).toEqual({ id: s2.id, videoType: 'screen', name: 'deck', layoutClassList: [] });

    const list = await call<Array<Record<string, unknown>>>((cb) => fx.ot.listStreams(sid, cb));
    expect(list.map((s) => ({ ...s }))).toEqual([
      { id: s1.id, videoType: 'camera', name: 'cam', layoutClassList: [] },
      { id: s2.id, videoType: 'screen', name: 'deck', layoutClassList: [] },
    ]);

    const rawList = await raw(v2(sid, '/stream'));
    expect(rawList.status).toBe(200);
    expect(rawList.contentType.split(';')[0]).toBe('application/json');
    expect(rawList.json).toMatchObject({ count: 2 });

    await a.request('unpublish', { streamId: s1.id });
    expect((await call<Array<Record<string, unknown>>>((cb) => fx.ot.listStreams(sid, cb))).map((s) => s['id'])).toEqual([s2.id]);
    expect((await sdkError((cb) => fx.ot.getStream(sid, s1.id, cb))).message).toMatch(/not found/i);
  });

  it('an unknown stream is not found (404)', async () => {
    const sid = await fx.newSession();
    await fx.join(sid);
    expect((await sdkError((cb) => fx.ot.getStream(sid, 'no-such-stream', cb))).message).toMatch(/not found/i);
    const r = await raw(v2(sid, '/stream/no-such-stream'));
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ code: 404 });
  });
});

describe('force mute', () => {
  async function room() {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid, { role: 'subscriber' });
    const s1 = (await a.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    const s2 = (await b.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    await c.waitFor((f) => f.type === 'streamCreated' && (f['stream'] as { id: string }).id === s2.id, 2000, true);
    return { sid, a, b, c, s1, s2 };
  }

  it('forceMuteStream: the owner gets muteForced, the others streamPropertyChanged hasAudio false', async () => {
    const { sid, a, b, c, s1 } = await room();
    await call((cb) => fx.ot.forceMuteStream(sid, s1.id, cb));
    expect(await a.waitFor((f) => f.type === 'muteForced', 2000, true)).toMatchObject({ active: true, streamId: s1.id });
    for (const x of [b, c]) {
      const ch = await x.waitFor((f) => f.type === 'streamPropertyChanged', 2000, true);
      expect(ch).toMatchObject({ streamId: s1.id, changedProperty: 'hasAudio', oldValue: true, newValue: false });
    }
    await flush(sid, a, b, c);
    expect(a.eventsOf('streamPropertyChanged')).toEqual([]);
    expect(b.eventsOf('muteForced')).toEqual([]);
    expect(c.eventsOf('muteForced')).toEqual([]);
    const streams = await call<Array<Record<string, unknown>>>((cb) => fx.ot.listStreams(sid, cb));
    expect(streams).toHaveLength(2);

    expect((await sdkError((cb) => fx.ot.forceMuteStream(sid, 'no-such-stream', cb))).message).toMatch(/not found/i);
  });

  it('forceMuteAll with excludedStreamIds mutes all other streams, later streams start muted; disableForceMute ends it', async () => {
    const { sid, a, b, c, s1, s2 } = await room();
    await call((cb) => fx.ot.forceMuteAll(sid, { excludedStreamIds: [s2.id] }, cb));
    for (const x of [a, b, c]) {
      expect(await x.waitFor((f) => f.type === 'muteForced', 2000, true)).toMatchObject({ active: true });
    }
    expect(a.eventsOf('muteForced')[0]!['streamId']).toBeUndefined();
    for (const x of [b, c]) {
      const ch = await x.waitFor((f) => f.type === 'streamPropertyChanged', 2000, true);
      expect(ch).toMatchObject({ streamId: s1.id, changedProperty: 'hasAudio', newValue: false });
    }
    await flush(sid, a, b, c);
    // the excluded stream kept its audio
    expect(c.eventsOf('streamPropertyChanged').map((f) => f['streamId'])).toEqual([s1.id]);

    // a newcomer learns the state, and its stream starts muted
    const d = await fx.join(sid);
    expect(d.hello!['forceMute']).toEqual({ active: true });
    const pub = await d.request('publish', { hasAudio: true, hasVideo: true });
    expect(pub['stream']).toMatchObject({ hasAudio: false });
    expect(await d.waitFor((f) => f.type === 'muteForced', 2000, true)).toMatchObject({ active: true, streamId: (pub['stream'] as { id: string }).id });

    await call((cb) => fx.ot.disableForceMute(sid, cb));
    for (const x of [a, b, c, d]) {
      expect(await x.waitFor((f) => f.type === 'muteForced' && f['active'] === false, 2000, true)).toMatchObject({ active: false });
    }
    const e = await fx.join(sid);
    expect(e.hello!['forceMute']).toEqual({ active: false });
    expect((await e.request('publish', { hasAudio: true, hasVideo: true }))['stream']).toMatchObject({ hasAudio: true });
    // muted streams stay muted
    const s1Now = (e.hello!['streams'] as Array<{ id: string; hasAudio: boolean }>).find((s) => s.id === s1.id);
    expect(s1Now?.hasAudio).toBe(false);
  });

  it('the mute route checks its body', async () => {
    const sid = await fx.newSession();
    expect((await raw(v2(sid, '/mute'), { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await raw(v2(sid, '/mute'), { method: 'POST', body: '{"active":"yes"}' })).status).toBe(400);
    expect((await raw(v2(sid, '/mute'), { method: 'POST', body: '{"active":true,"excludedStreamIds":"s"}' })).status).toBe(400);
    expect((await raw(v2(sid, '/mute'), { method: 'POST', body: '{"active":true,"excludedStreamIds":[1]}' })).status).toBe(400);
  });
});

describe('authentication and routing', () => {
  it('a wrong secret gets the SDK\'s "Invalid API key or secret" (403)', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const bad = new OpenTok(API_KEY, 'not-the-secret', { apiUrl: fx.server.apiUrl });
    const created = await sdkError((cb) => bad.createSession({}, cb));
    expect(created.message).toMatch(/Invalid API key or secret/);
    expect((await sdkError((cb) => bad.signal(sid, null, { data: 'x' }, cb))).message).toMatch(/Invalid API key or secret/);
    expect((await sdkError((cb) => bad.forceDisconnect(sid, a.connectionId, cb))).message).toMatch(/Invalid API key or secret/);
    expect((await sdkError((cb) => bad.listStreams(sid, cb))).message).toMatch(/Invalid API key or secret/);
    expect((await sdkError((cb) => bad.forceMuteAll(sid, {}, cb))).message).toMatch(/Invalid API key or secret/);
    expect((await raw('/session/create', { method: 'POST', auth: sdkJwt(bad), body: '' })).status).toBe(403);
    expect((await raw(v2(sid, '/stream'), { auth: projectJwt(API_KEY, 'not-the-secret') })).status).toBe(403);
    await flush(sid, a);
    expect(nonMarker(a, 'signal')).toEqual([]);
    expect(a.closeCode).toBeUndefined();
    expect(a.eventsOf('muteForced')).toEqual([]);
  });

  it('an unknown api key gets the same 403', async () => {
    const sid = await fx.newSession();
    const stranger = new OpenTok('1234567', API_SECRET, { apiUrl: fx.server.apiUrl });
    expect((await sdkError((cb) => stranger.createSession({}, cb))).message).toMatch(/Invalid API key or secret/);
    const r = await raw('/session/create', { method: 'POST', auth: sdkJwt(stranger), body: '' });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 403 });
    expect((await raw(v2(sid, '/stream', '1234567'), { auth: sdkJwt(stranger) })).status).toBe(403);
  });

  it('a missing, garbage, expired or wrongly typed X-OPENTOK-AUTH gets 403', async () => {
    const sid = await fx.newSession();
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string | null]> = [
      ['missing', null],
      ['garbage', 'garbage'],
      ['not json payload', 'a.b.c'],
      ['expired', projectJwt(API_KEY, API_SECRET, {}, now - 5)],
      ['ist not project', projectJwt(API_KEY, API_SECRET, { ist: 'account' })],
      ['no exp', projectJwt(API_KEY, API_SECRET, { exp: undefined })],
      ['alg none', `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: API_KEY, ist: 'project', iat: now, exp: now + 300 })).toString('base64url')}.`],
    ];
    for (const [what, auth] of cases) {
      const create = await raw('/session/create', { method: 'POST', auth, body: '' });
      expect(create.status, `createSession, ${what}`).toBe(403);
      const list = await raw(v2(sid, '/stream'), { auth });
      expect(list.status, `listStreams, ${what}`).toBe(403);
      expect(list.json).toMatchObject({ code: 403 });
      const sig = await raw(v2(sid, '/signal'), { method: 'POST', auth, body: '{"data":"x"}' });
      expect(sig.status, `signal, ${what}`).toBe(403);
    }
    // the hand-made JWT itself is fine when valid
    expect((await raw(v2(sid, '/stream'), { auth: projectJwt(API_KEY, API_SECRET) })).status).toBe(200);
  });

  it('no client token is a REST credential: JWT and T1 of every role, the CLI\'s, for this or another session: 403 on every route', async () => {
    const sid = await fx.newSession();
    const otherSid = await fx.newSession();
    const a = await fx.join(sid, { role: 'moderator' });
    const pub = await a.request('publish', { name: 'cam', hasAudio: true, hasVideo: true });
    const streamId = (pub['stream'] as { id: string }).id;
    const tokens: Array<[string, string]> = [];
    for (const role of ['subscriber', 'publisher', 'publisheronly', 'moderator']) {
      for (const s of [sid, otherSid]) {
        const which = s === sid ? 'this session' : 'another session';
        tokens.push([`JWT ${role}, ${which}`, fx.ot.generateToken(s, { role, data: 'x' })]);
        tokens.push([`T1 ${role}, ${which}`, fx.ot.generateToken(s, { role }, true)]);
      }
      tokens.push([`convene token ${role}`, await mintToken({ apiKey: API_KEY, apiSecret: API_SECRET }, sid, '', role as 'publisher')]);
    }
    // a project JWT with a single client claim added is a client token too
    for (const claim of ['scope', 'session_id', 'role', 'connection_data', 'nonce', 'expire_time']) {
      tokens.push([`project JWT + ${claim}`, projectJwt(API_KEY, API_SECRET, { [claim]: claim === 'expire_time' ? Math.floor(Date.now() / 1000) + 300 : 'x' })]);
    }
    const routes: Array<[string, string, string | undefined]> = [
      ['POST', '/session/create', ''],
      ['POST', v2(sid, '/signal'), '{"type":"t","data":"intrude"}'],
      ['POST', v2(sid, `/connection/${a.connectionId}/signal`), '{"type":"t","data":"intrude"}'],
      ['DELETE', v2(sid, `/connection/${a.connectionId}`), undefined],
      ['GET', v2(sid, '/stream'), undefined],
      ['GET', v2(sid, `/stream/${streamId}`), undefined],
      ['POST', v2(sid, `/stream/${streamId}/mute`), '{}'],
      ['POST', v2(sid, '/mute'), '{"active":true}'],
    ];
    for (const [what, token] of tokens) {
      for (const [method, path, body] of routes) {
        const r = await raw(path, { method, auth: token, body, contentType: path === '/session/create' ? 'application/x-www-form-urlencoded' : undefined });
        expect(r.status, `${what}: ${method} ${path}`).toBe(403);
        expect(r.json, `${what}: ${method} ${path}`).toMatchObject({ code: 403 });
      }
    }
    // the error says why when the token is a JWT client token
    const told = await raw(v2(sid, '/stream'), { auth: fx.ot.generateToken(sid, { role: 'subscriber' }) });
    expect((told.json as { message: string }).message).toMatch(/project JWT/);
    // nothing happened: no signal, no mute, still connected; the SDK's own calls still work
    await flush(sid, a);
    expect(nonMarker(a, 'signal')).toEqual([]);
    expect(a.eventsOf('muteForced')).toEqual([]);
    expect(a.closeCode).toBeUndefined();
    expect(await call<Array<Record<string, unknown>>>((cb) => fx.ot.listStreams(sid, cb))).toHaveLength(1);
  });

  it('a session id of another api key or a forged one is not found; a path api key other than the caller is 403', async () => {
    const other = new OpenTok(OTHER_KEY, OTHER_SECRET, { apiUrl: fx.server.apiUrl });
    const otherSid = (await call<{ sessionId: string }>((cb) => other.createSession({}, cb))).sessionId;
    expect(sessionFields(otherSid)[1]).toBe(OTHER_KEY);
    const o = new TestClient(fx.url, { apiKey: OTHER_KEY, sessionId: otherSid, token: other.generateToken(otherSid) });
    try {
      expect((await o.connect()).type).toBe('connected');
      // the other project's own calls work
      await call((cb) => other.signal(otherSid, null, { data: 'mine' }, cb));
      await o.waitFor((f) => f.type === 'signal' && f['data'] === 'mine', 2000, true);

      // this project addressing the other project's session
      expect((await sdkError((cb) => fx.ot.signal(otherSid, null, { data: 'intrude' }, cb))).message).toMatch(/not found/i);
      expect((await sdkError((cb) => fx.ot.forceDisconnect(otherSid, o.connectionId, cb))).message).toMatch(/not found/i);
      expect((await sdkError((cb) => fx.ot.listStreams(otherSid, cb))).message).toMatch(/not found/i);
      expect((await raw(v2(otherSid, '/signal'), { method: 'POST', body: '{"data":"x"}' })).status).toBe(404);
      // the other api key in the path, authenticated as this project
      expect((await raw(v2(otherSid, '/signal', OTHER_KEY), { method: 'POST', body: '{"data":"x"}' })).status).toBe(403);
      expect((await raw(v2(otherSid, `/connection/${o.connectionId}`, OTHER_KEY), { method: 'DELETE' })).status).toBe(403);

      // forged: a session id whose MAC does not check, and garbage
      const f = sessionFields(await fx.newSession());
      f[4] = '0123456789abcdef';
      const forged = '2_' + Buffer.from(f.join('~')).toString('base64url');
      expect((await raw(v2(forged, '/stream'))).status).toBe(404);
      expect((await raw(v2('2_garbage', '/stream'))).status).toBe(404);
      expect((await sdkError((cb) => fx.ot.signal('nonsense', null, { data: 'x' }, cb))).message).toMatch(/not found/i);

      await call((cb) => other.signal(otherSid, null, { data: 'last' }, cb));
      await o.waitFor((f2) => f2.type === 'signal' && f2['data'] === 'last', 2000, true);
      expect(o.eventsOf('signal').map((s) => s['data'])).toEqual(['mine', 'last']);
      expect(o.closeCode).toBeUndefined();
    } finally {
      o.close();
    }
  });

  it('unknown routes and methods are 404 JSON; /health needs no auth', async () => {
    const sid = await fx.newSession();
    for (const [method, path] of [
      ['GET', '/nope'], ['GET', '/session/create'], ['POST', '/v2/project'],
      ['GET', v2(sid, '/nope')], ['PUT', v2(sid, '/stream')], ['GET', v2(sid, '/signal')], ['POST', v2(sid, '/connection/x/y/z')],
    ] as const) {
      const r = await raw(path, { method, body: method === 'GET' ? undefined : '{}' });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json, `${method} ${path}`).toMatchObject({ code: 404 });
    }
    await fx.join(sid);
    const h = await raw('/health', { auth: null });
    expect(h.status).toBe(200);
    expect(h.json).toEqual({ status: 'ok', sessions: 1, connections: 1 });
  });

  it('a body over 64 KiB gets 413 and a bad path encoding 400, and the server keeps answering', async () => {
    const sid = await fx.newSession();
    const big = await raw(v2(sid, '/signal'), { method: 'POST', body: JSON.stringify({ data: 'x'.repeat(70 * 1024) }) });
    expect(big.status).toBe(413);
    const bad = await raw(`/v2/project/${API_KEY}/session/${sid}/stream/%E0%A4%A`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: 400 });
    const badKey = await raw(`/v2/project/%ZZ/session/${sid}/stream`);
    expect(badKey.status).toBe(400);
    // request targets fetch() would normalise away, written by hand
    expect(await rawHttp('GET // HTTP/1.1')).toMatch(/^HTTP\/1\.1 404 /);
    expect(await rawHttp('GET //health HTTP/1.1')).toMatch(/^HTTP\/1\.1 404 /);
    expect(await rawHttp(`GET ${fx.server.apiUrl}/health HTTP/1.1`)).toMatch(/^HTTP\/1\.1 200 /);
    expect((await raw(v2(sid, '/stream'))).status).toBe(200);
  });

  it('a client that goes away in the middle of its body is not a server failure', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    await new Promise<void>((resolve, reject) => {
      const sock = tcpConnect(fx.server.port, '127.0.0.1', () => {
        sock.write(`POST ${v2(sid, '/signal')} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-OPENTOK-AUTH: ${sdkJwt(fx.ot)}\r\n`
          + 'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":"cut","data":"');
        setTimeout(() => { sock.destroy(); resolve(); }, 50);
      });
      sock.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    await flush(sid, a);
    expect(nonMarker(a, 'signal')).toEqual([]);
  });
});
