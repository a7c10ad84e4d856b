import { describe, it, expect } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify } from 'node:querystring';
import fc from 'fast-check';
import type { Project } from '../lib/server/projects';
import { mintSessionId } from '../lib/server/session-id';
import { ROLES, verifyProjectJwt, verifyToken, type TokenCheck } from '../lib/server/tokens';

/** The official server SDK (untyped): just what these tests use. */
interface OpenTokSdk {
  generateToken(sessionId: string, opts?: Record<string, unknown>, legacyT1?: boolean): string;
  generateJwt(): string;
  createSession(opts: Record<string, unknown>, cb: (err: Error | null, session?: unknown) => void): void;
}
const OpenTok = require('opentok') as new (apiKey: string, apiSecret: string, opts?: { apiUrl: string }) => OpenTokSdk;

const A: Project = { apiKey: '46000001', apiSecret: 'secret-of-project-a' };
const B: Project = { apiKey: '46000002', apiSecret: 'secret-of-project-b' };
const sdkA = new OpenTok(A.apiKey, A.apiSecret);
const session = mintSessionId(A).sessionId;
const otherSession = mintSessionId(A).sessionId;
const expectA = { apiKey: A.apiKey, apiSecret: A.apiSecret, sessionId: session };
const nowS = (): number => Math.floor(Date.now() / 1000);
const FORMS = [['jwt', false], ['t1', true]] as const;

const fail = (message: string): TokenCheck => ({ ok: false, message });

/** A JWT signed with jose, for claims the SDK refuses to produce. */
async function signJwt(claims: Record<string, unknown>, secret = A.apiSecret, alg = 'HS256'): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}
/** Client-token claims as the SDK writes them, with overrides (undefined removes a claim). */
function clientClaims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowS();
  const c: Record<string, unknown> = {
    iss: A.apiKey, ist: 'project', iat, exp: iat + 3600, session_id: session, create_time: iat, nonce: 0.5,
    role: 'publisher', expire_time: iat + 3600, initial_layout_class_list: '', scope: 'session.connect', ...over,
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
}
/** A legacy T1 token built like opentok-token does. */
function makeT1(over: Record<string, string | number> = {}, key = A.apiKey, secret = A.apiSecret): string {
  const t = nowS();
  const data = stringify({
    session_id: session, create_time: t, nonce: 12345, role: 'publisher', expire_time: t + 3600,
    initial_layout_class_list: '', scope: 'session.connect', ...over,
  });
  const sig = createHmac('sha1', secret).update(data).digest('hex');
  return 'T1==' + Buffer.from(`partner_id=${key}&sig=${sig}:${data}`, 'utf8').toString('base64');
}

describe('verifyToken with tokens of the official SDK', () => {
  for (const [kind, legacy] of FORMS) {
    it(`${kind}: accepts every role with its data, expiry and layout classes`, async () => {
      const expireTime = nowS() + 600;
      for (const role of ROLES) {
        const token = sdkA.generateToken(session, { role, expireTime, data: 'name=Ana&x=é +%', initialLayoutClassList: ['focus', 'big'] }, legacy);
        expect(token.startsWith('T1==')).toBe(legacy);
        const r = await verifyToken(token, expectA);
        expect(r).toMatchObject({ ok: true, claims: { kind, role, connectionData: 'name=Ana&x=é +%', expireTime, initialLayoutClassList: ['focus', 'big'] } });
        if (r.ok) {
          expect(Math.abs(r.claims.createTime - nowS())).toBeLessThan(5);
          expect(r.claims.nonce).not.toBe('');
        }
      }
    });

    it(`${kind}: defaults to publisher, no data, one day`, async () => {
      const r = await verifyToken(sdkA.generateToken(session, {}, legacy), expectA);
      expect(r).toMatchObject({ ok: true, claims: { role: 'publisher', connectionData: '', initialLayoutClassList: [] } });
      if (r.ok) expect(Math.abs(r.claims.expireTime - (nowS() + 86400))).toBeLessThan(5);
    });

    it(`${kind}: reports expiry (the SDK refuses past times, so verify later)`, async () => {
      const token = sdkA.generateToken(session, { expireTime: nowS() + 60 }, legacy);
      expect((await verifyToken(token, { ...expectA, now: Date.now() + 30_000 })).ok).toBe(true);
      expect(await verifyToken(token, { ...expectA, now: Date.now() + 61_000 })).toEqual(fail('token has expired'));
      expect(await verifyToken(token, { ...expectA, now: Date.now() + 3_600_000 })).toEqual(fail('token has expired'));
    });

    it(`${kind}: reports a wrong secret as an invalid signature`, async () => {
      const token = new OpenTok(A.apiKey, 'not-the-secret').generateToken(session, {}, legacy);
      expect(await verifyToken(token, expectA)).toEqual(fail('token signature is invalid'));
    });

    it(`${kind}: reports a token for another session`, async () => {
      const token = sdkA.generateToken(otherSession, { role: 'moderator' }, legacy);
      expect(await verifyToken(token, expectA)).toEqual(fail('token is for another session'));
    });

    it(`${kind}: reports a token for another api key`, async () => {
      const token = new OpenTok(B.apiKey, B.apiSecret).generateToken(mintSessionId(B).sessionId, {}, legacy);
      expect(await verifyToken(token, expectA)).toEqual(fail('token is for another api key'));
      // Even signed with our secret (two projects sharing one), the api key must match.
      const shared = new OpenTok(B.apiKey, A.apiSecret).generateToken(mintSessionId(B).sessionId, {}, legacy);
      expect(await verifyToken(shared, { ...expectA, sessionId: session })).toEqual(fail('token is for another api key'));
    });

    it(`${kind}: reports another scope (the SDK passes a snake_case scope option through)`, async () => {
      const token = sdkA.generateToken(session, { scope: 'archive.read' }, legacy);
      expect(await verifyToken(token, expectA)).toEqual(fail('token scope is not session.connect'));
    });

    it(`${kind}: caps connection data at 1000 characters (the SDK allows 1024)`, async () => {
      const ok = await verifyToken(sdkA.generateToken(session, { data: 'd'.repeat(1000) }, legacy), expectA);
      expect(ok.ok).toBe(true);
      const long = sdkA.generateToken(session, { data: 'd'.repeat(1001) }, legacy);
      expect(await verifyToken(long, expectA)).toEqual(fail('token connection data is longer than 1000 characters'));
    });
  }
});

describe('verifyToken with hand-made tokens', () => {
  it('JWT: reports claims the SDK cannot produce', async () => {
    expect(await verifyToken(await signJwt(clientClaims({ role: 'admin' })), expectA)).toEqual(fail("token role 'admin' is not valid"));
    expect(await verifyToken(await signJwt(clientClaims({ scope: undefined })), expectA)).toEqual(fail('token scope is not session.connect'));
    expect(await verifyToken(await signJwt(clientClaims({ ist: 'account' })), expectA)).toEqual(fail("token issuer type (ist) is not 'project'"));
    expect((await verifyToken(await signJwt(clientClaims({ role: undefined })), expectA))).toMatchObject({ ok: true, claims: { role: 'publisher' } });
  });

  it('JWT: expiry is strict, nbf/iat get 60 s of tolerance', async () => {
    const t = nowS();
    expect(await verifyToken(await signJwt(clientClaims({ exp: t - 5, expire_time: t - 5 })), expectA)).toEqual(fail('token has expired'));
    expect(await verifyToken(await signJwt(clientClaims({ expire_time: t - 1 })), expectA)).toEqual(fail('token has expired'));
    expect(await verifyToken(await signJwt(clientClaims({ exp: t - 1 })), expectA)).toEqual(fail('token has expired'));
    expect(await verifyToken(await signJwt(clientClaims({ exp: undefined, expire_time: undefined })), expectA))
      .toEqual(fail('token is malformed: it has no expire_time'));
    expect((await verifyToken(await signJwt(clientClaims({ iat: t + 30, nbf: t + 30 })), expectA)).ok).toBe(true);
    expect(await verifyToken(await signJwt(clientClaims({ nbf: t + 120 })), expectA)).toEqual(fail('token is not valid yet'));
    expect(await verifyToken(await signJwt(clientClaims({ iat: t + 120 })), expectA)).toEqual(fail('token is not valid yet'));
  });

  it('JWT: accepts HS256 only, and reports a forged payload as a bad signature', async () => {
    expect(await verifyToken(await signJwt(clientClaims(), A.apiSecret, 'HS512'), expectA)).toEqual(fail('token algorithm is not HS256'));
    const good = sdkA.generateToken(session, { role: 'subscriber' });
    const [h, , s] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify(clientClaims({ role: 'moderator' }))).toString('base64url');
    expect(await verifyToken(`${h}.${forgedPayload}.${s}`, expectA)).toEqual(fail('token signature is invalid'));
    // A forged token naming another session is a bad signature, not "another session".
    const forged = new OpenTok(A.apiKey, 'guess').generateToken(otherSession);
    expect(await verifyToken(forged, expectA)).toEqual(fail('token signature is invalid'));
  });

  it('JWT: a header that is not a JSON object, or with crit/b64 extensions, or a time claim that is not a number, is malformed', async () => {
    const sign = (header: unknown, claims: Record<string, unknown>): string => {
      const h = Buffer.from(JSON.stringify(header)).toString('base64url');
      const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${h}.${p}.${createHmac('sha256', A.apiSecret).update(`${h}.${p}`).digest('base64url')}`;
    };
    expect(await verifyToken(sign({ alg: 'HS256', typ: 'JWT' }, clientClaims()), expectA)).toMatchObject({ ok: true });
    expect(await verifyToken(sign(['HS256'], clientClaims()), expectA)).toEqual(fail('token is malformed: the JWT header is not a JSON object'));
    expect((await verifyToken(sign({ alg: 'HS256', crit: ['exp'] }, clientClaims()), expectA) as { message: string }).message).toMatch(/^token is malformed: /);
    expect((await verifyToken(sign({ alg: 'HS256', b64: false, crit: ['b64'] }, clientClaims()), expectA) as { message: string }).message).toMatch(/^token is malformed: /);
    expect(await verifyToken(sign({ alg: 'HS256' }, clientClaims({ exp: 'tomorrow' })), expectA)).toEqual(fail('token is malformed: claim exp is not valid'));
    expect(await verifyToken(sign({ alg: 'none' }, clientClaims()), expectA)).toEqual(fail('token algorithm is not HS256'));
  });

  it('T1: accepts a hand-built token and reports role, scope, expiry, tampering', async () => {
    expect(await verifyToken(makeT1({ role: 'moderator', connection_data: 'a:b' }), expectA)).toMatchObject({ ok: true, claims: { kind: 't1', role: 'moderator', connectionData: 'a:b', nonce: '12345' } });
    expect(await verifyToken(makeT1({ role: 'root' }), expectA)).toEqual(fail("token role 'root' is not valid"));
    expect(await verifyToken(makeT1({ scope: 'other' }), expectA)).toEqual(fail('token scope is not session.connect'));
    expect(await verifyToken(makeT1({ expire_time: nowS() - 10 }), expectA)).toEqual(fail('token has expired'));
    // Change the role inside the signed data, keep the signature.
    const text = Buffer.from(sdkA.generateToken(session, { role: 'subscriber' }, true).slice(4), 'base64').toString('utf8');
    const tampered = 'T1==' + Buffer.from(text.replace('role=subscriber', 'role=moderator')).toString('base64');
    expect(await verifyToken(tampered, expectA)).toEqual(fail('token signature is invalid'));
    // Uppercase hex signatures are the same signature.
    const upper = 'T1==' + Buffer.from(text.replace(/sig=([0-9a-f]+)/, (_m, h: string) => `sig=${h.toUpperCase()}`)).toString('base64');
    expect((await verifyToken(upper, expectA)).ok).toBe(true);
  });

  it('reports malformed tokens', async () => {
    const jwt = sdkA.generateToken(session);
    const t1 = sdkA.generateToken(session, {}, true);
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const cases: Array<[string, RegExp]> = [
      ['', /^token is malformed: /], ['hello', /^token is malformed: /], ['a.b.c', /^token is malformed: /],
      ['a.b', /^token is malformed: /], ['x'.repeat(8193), /^token is malformed: longer than 8192/],
      [jwt.slice(0, 30), /^token is malformed: /], [jwt.split('.').slice(0, 2).join('.') + '.', /^token is malformed: /],
      [`${jwt.split('.')[0]}.${Buffer.from('[1,2]').toString('base64url')}.abc`, /^token is malformed: /],
      ['T1==', /^token is malformed: /], ['T1==junk!', /^token is malformed: /], ['T1==' + b64('no colon here'), /^token is malformed: /],
      ['T1==' + b64('partner_id=46000001:session_id=x'), /^token is malformed: /],
      ['T1==' + b64('partner_id=46000001&sig=zz:session_id=x'), /^token is malformed: /],
      ['T1==' + b64('partner_id=46000001&partner_id=1&sig=' + '0'.repeat(40) + ':a=1'), /^token is malformed: duplicate/],
      [t1.slice(0, 40), /^token is malformed: /],
    ];
    for (const [token, message] of cases) {
      const r = await verifyToken(token, expectA);
      expect(r.ok, token.slice(0, 60)).toBe(false);
      if (!r.ok) expect(r.message, token.slice(0, 60)).toMatch(message);
    }
    expect(await verifyToken(jwt.slice(0, -4), expectA)).toEqual(fail('token signature is invalid'));
    expect(await verifyToken(42 as unknown as string, expectA)).toEqual(fail('token is malformed: not a string'));
  });

  it('never reveals the secret or the expected signature', async () => {
    const text = Buffer.from(sdkA.generateToken(session, {}, true).slice(4), 'base64').toString('utf8');
    const goodSig = /sig=([0-9a-f]+)/.exec(text)?.[1] ?? '';
    const badSig = 'T1==' + Buffer.from(text.replace(goodSig, 'a'.repeat(40))).toString('base64');
    const results = await Promise.all([badSig, sdkA.generateToken(otherSession), new OpenTok(A.apiKey, 'x').generateToken(session)].map((t) => verifyToken(t, expectA)));
    for (const r of results) {
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.message).not.toContain(A.apiSecret);
        expect(r.message).not.toContain(goodSig);
      }
    }
  });

  it('property: never throws and never accepts random strings', async () => {
    const tokens = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string().map((s) => 'T1==' + s),
      fc.uint8Array({ maxLength: 300 }).map((b) => 'T1==' + Buffer.from(b).toString('base64')),
      fc.string().map((s) => 'T1==' + Buffer.from(`partner_id=${A.apiKey}&sig=${'0'.repeat(40)}:${s}`).toString('base64')),
      fc.tuple(fc.uint8Array(), fc.uint8Array(), fc.uint8Array()).map((p) => p.map((b) => Buffer.from(b).toString('base64url')).join('.')),
      fc.jsonValue().map((v) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify(v) ?? '').toString('base64url')}.AAAA`),
    );
    await fc.assert(
      fc.asyncProperty(tokens, async (token) => {
        const r = await verifyToken(token, expectA);
        return r.ok === false && r.message.startsWith('token ');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('verifyProjectJwt', () => {
  const rest = async (claims: Record<string, unknown>, secret = A.apiSecret): Promise<string> => signJwt(claims, secret);

  it('accepts the JWT the SDK sends as X-OPENTOK-AUTH', async () => {
    expect(await verifyProjectJwt(sdkA.generateJwt(), A)).toEqual({ ok: true });
    // The header of a real REST call, captured from the SDK.
    let headers: IncomingHttpHeaders = {};
    const server = createServer((req, res) => {
      headers = req.headers;
      res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"message":"test"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await new Promise<void>((resolve) => new OpenTok(A.apiKey, A.apiSecret, { apiUrl }).createSession({}, () => resolve()));
    } finally {
      server.close();
    }
    const auth = headers['x-opentok-auth'];
    expect(typeof auth).toBe('string');
    expect(await verifyProjectJwt(auth as string, A)).toEqual({ ok: true });
    expect(await verifyProjectJwt(auth as string, B)).toEqual({ ok: false, message: 'auth token is for another api key' });
  });

  it('reports a wrong secret, expiry, a wrong iss or ist, a missing exp, garbage', async () => {
    const iat = nowS();
    const base = { iss: A.apiKey, ist: 'project', iat, exp: iat + 300 };
    expect(await verifyProjectJwt(await rest(base), A)).toEqual({ ok: true });
    expect(await verifyProjectJwt(await rest(base, 'wrong'), A)).toEqual({ ok: false, message: 'auth token signature is invalid' });
    expect(await verifyProjectJwt(await rest({ ...base, iat: iat - 400, exp: iat - 100 }), A)).toEqual({ ok: false, message: 'auth token has expired' });
    expect(await verifyProjectJwt(await rest(base), A, Date.now() + 301_000)).toEqual({ ok: false, message: 'auth token has expired' });
    expect(await verifyProjectJwt(await rest({ ...base, iss: B.apiKey }), A)).toEqual({ ok: false, message: 'auth token is for another api key' });
    expect(await verifyProjectJwt(await rest({ ...base, iss: undefined }), A)).toEqual({ ok: false, message: 'auth token is for another api key' });
    expect(await verifyProjectJwt(await rest({ ...base, ist: 'account' }), A)).toEqual({ ok: false, message: "auth token issuer type (ist) is not 'project'" });
    expect(await verifyProjectJwt(await rest({ ...base, exp: undefined }), A)).toEqual({ ok: false, message: 'auth token has no expiry (exp)' });
    expect(await verifyProjectJwt('garbage', A)).toEqual({ ok: false, message: 'auth token is malformed: not a JWT' });
  });
});
