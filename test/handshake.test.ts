import { afterEach, describe, expect, it } from 'vitest';
import { mintProjectJwt } from '../lib/mint';
import { TestClient } from './helpers/client';
import { API_KEY, API_SECRET, call, startFixture, type Fixture } from './helpers/server';

let fx: Fixture;
afterEach(async () => { await fx?.close(); });

describe('before the handshake', () => {
  for (const [label, frame] of [
    ['an unknown frame type', '{"type":"hello"}'],
    ['malformed JSON', '{not json'],
    ['a pong', '{"type":"pong"}'],
    ['a request without id', '{"type":"signal"}'],
    ['an ack', '{"type":"ack","seq":1}'],
  ] as const) {
    it(`${label} gets 1010 and close 4010`, async () => {
      fx = await startFixture();
      const sid = await fx.newSession();
      const c = fx.client(sid);
      await c.open();
      const err = c.waitType('error');
      c.sendRaw(frame);
      expect(await err).toMatchObject({ code: 1010, name: 'OT_NOT_CONNECTED', fatal: true });
      expect(await c.waitClose()).toBe(4010);
    });
  }
});

describe('a project JWT is not a client token', () => {
  it('connect with the REST credential (the SDK\'s or the CLI\'s) is refused with 1004 and says why', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const sdkJwt = (fx.ot as unknown as { generateJwt(): string }).generateJwt();
    for (const token of [sdkJwt, await mintProjectJwt({ apiKey: API_KEY, apiSecret: API_SECRET })]) {
      const c = new TestClient(fx.url, { apiKey: API_KEY, sessionId: sid, token });
      const f = await c.connect();
      expect(f).toMatchObject({ type: 'error', code: 1004, fatal: true });
      expect(String(f['message'])).toMatch(/project JWT/);
      c.close();
    }
    expect(fx.server.registry.connectionCount(sid)).toBe(0);
  });
});

describe('resume checks the api key and session id', () => {
  it('refuses an unknown api key (1004) and a session id of another project (1005)', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const wrongKey = new TestClient(fx.url, { apiKey: 'nope', sessionId: sid, token: 'x' });
    wrongKey.connectionId = a.connectionId;
    wrongKey.resumeToken = a.resumeToken;
    expect(await wrongKey.resume()).toMatchObject({ type: 'error', code: 1004 });
    const forged = new TestClient(fx.url, { apiKey: API_KEY, sessionId: `${sid.slice(0, -4)}AAAA`, token: 'x' });
    forged.connectionId = a.connectionId;
    forged.resumeToken = a.resumeToken;
    expect(await forged.resume()).toMatchObject({ type: 'error', code: 1005 });
    wrongKey.close();
    forged.close();
  });
});

describe('REST details', () => {
  it('reports the layout classes of the publisher token in getStream and listStreams', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid, { initialLayoutClassList: ['focus', 'big'] });
    const pub = await a.request('publish', { name: 'cam', hasAudio: true, hasVideo: true });
    const id = (pub['stream'] as { id: string }).id;
    expect(pub['stream']).not.toHaveProperty('layoutClassList');
    const s = await call<Record<string, unknown>>((cb) => fx.ot.getStream(sid, id, cb));
    expect(s['layoutClassList']).toEqual(['focus', 'big']);
    const list = await call<Array<Record<string, unknown>>>((cb) => fx.ot.listStreams(sid, cb));
    expect(list.map((x) => x['layoutClassList'])).toEqual([['focus', 'big']]);
  });

  it('forceMuteAll before anyone joined applies to those who join', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    await call((cb) => fx.ot.forceMuteAll(sid, {}, cb));
    const a = await fx.join(sid);
    expect(a.hello!['forceMute']).toEqual({ active: true });
    const pub = await a.request('publish', { hasAudio: true, hasVideo: true });
    expect((pub['stream'] as { hasAudio: boolean }).hasAudio).toBe(false);
    await call((cb) => fx.ot.disableForceMute(sid, cb));
    await a.waitFor((f) => f.type === 'muteForced' && f['active'] === false, 2000, true);
  });

  it('accepts a REST auth JWT whose iss is a number', async () => {
    fx = await startFixture();
    const jose = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new jose.SignJWT({ iss: Number(API_KEY), ist: 'project' } as unknown as Record<string, unknown>)
      .setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(API_SECRET));
    const res = await fetch(`${fx.server.apiUrl}/session/create`, { method: 'POST', headers: { 'X-OPENTOK-AUTH': jwt } });
    expect(res.status).toBe(200);
  });
});
