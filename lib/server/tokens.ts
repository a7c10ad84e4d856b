/**
 * Verification of the tokens the official `opentok` server SDK makes:
 * client tokens from `generateToken` (HS256 JWT by default, legacy `T1==` with its third argument)
 * and the `X-OPENTOK-AUTH` project JWT it sends with REST calls.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Project } from './projects';

export type Role = 'subscriber' | 'publisher' | 'publisheronly' | 'moderator';

/** The roles a client token may carry. */
export const ROLES: readonly Role[] = Object.freeze(['subscriber', 'publisher', 'publisheronly', 'moderator'] as const);

/** What a verified client token grants. Times are unix seconds. */
export interface TokenClaims {
  kind: 'jwt' | 't1';
  role: Role;
  connectionData: string;
  expireTime: number;
  createTime: number;
  nonce: string;
  initialLayoutClassList: string[];
}

/** Result of {@link verifyToken}. */
export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; message: string };

/** Longest token accepted; longer ones are reported as malformed. */
export const MAX_TOKEN_LENGTH = 8192;
/** Longest connection data, in UTF-16 code units (String#length, as the SDK measures it). */
export const MAX_CONNECTION_DATA_LENGTH = 1000;
/**
 * Clock skew tolerated, in seconds, for `nbf` / `iat` only (a token minted on a host whose clock is
 * slightly ahead of ours). Expiry (`exp`, `expire_time`) is checked strictly, with no tolerance.
 */
export const CLOCK_TOLERANCE_SECONDS = 60;

const T1_PREFIX = 'T1==';
const SCOPE = 'session.connect';

/**
 * Claims only a client token carries (what `generateToken` adds to the project claims
 * iss/ist/iat/exp, plus `acl` of Vonage-style tokens). A REST credential carrying any of them is
 * a client token presented as the project's: refused, or any client could call the REST API.
 */
export const CLIENT_TOKEN_CLAIMS: readonly string[] = Object.freeze([
  'scope', 'session_id', 'role', 'connection_data', 'initial_layout_class_list', 'create_time', 'expire_time', 'nonce', 'acl',
]);

/** A verification failure carrying its user-facing message. */
class Reject extends Error {}
function reject(message: string): never {
  throw new Reject(message);
}
/** A short, quoted rendering of an untrusted value for messages. */
const show = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
};

type Claims = Record<string, unknown>;

/** Api keys are strings, but some SDKs send a numeric `iss`. */
function issuer(iss: unknown): unknown {
  return typeof iss === 'number' ? String(iss) : iss;
}

/** The JSON object a base64url JWT part encodes, or undefined. */
function jsonObject(part: string): Claims | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies an HS256 JWT (RFC 7515/7519): signature, nbf/iat (with tolerance), strict exp;
 * `label` prefixes messages. The `iss` is compared with `apiKey` before the signature: it
 * selects the key, and a token of another project cannot be checked with this project's
 * secret at all. Synchronous, with node:crypto's HMAC: a WebCrypto check (jose's) cost a
 * key import and an asynchronous round through the thread pool per token, about 20 times
 * more CPU, which bounded how fast a server takes connections.
 */
function verifyHs256(jwt: string, apiKey: string, secret: string, nowMs: number, label: string): Claims {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)) reject(`${label} is malformed: not a JWT`);
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const payload = jsonObject(p);
  if (!payload) return reject(`${label} is malformed: the JWT payload is not a JSON object`);
  if (payload.iss !== undefined && issuer(payload.iss) !== apiKey) reject(`${label} is for another api key`);
  const header = jsonObject(h);
  if (!header) return reject(`${label} is malformed: the JWT header is not a JSON object`);
  if (header.alg !== 'HS256') reject(`${label} algorithm is not HS256`);
  // no extension is understood: crit (RFC 7515 4.1.11) and an unencoded payload (RFC 7797)
  if (header.crit !== undefined || header.b64 !== undefined) reject(`${label} is malformed: unsupported header parameter (crit or b64)`);
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, 'base64url');
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) reject(`${label} signature is invalid`);
  for (const claim of ['exp', 'nbf', 'iat']) {
    if (payload[claim] !== undefined && (typeof payload[claim] !== 'number' || !Number.isFinite(payload[claim]))) {
      reject(`${label} is malformed: claim ${claim} is not valid`);
    }
  }
  const nowS = Math.floor(nowMs / 1000);
  const { exp, nbf, iat } = payload as { exp?: number; nbf?: number; iat?: number };
  if (exp !== undefined && exp <= nowS) reject(`${label} has expired`); // strict: no tolerance
  if (nbf !== undefined && nbf > nowS + CLOCK_TOLERANCE_SECONDS) reject(`${label} is not valid yet`);
  if (iat !== undefined && iat > nowS + CLOCK_TOLERANCE_SECONDS) reject(`${label} is not valid yet`);
  if (issuer(payload.iss) !== apiKey) reject(`${label} is for another api key`);
  if (payload.ist !== 'project') reject(`${label} issuer type (ist) is not 'project'`);
  return payload;
}

/** A number, a numeric string, or undefined when absent; rejects anything else. */
function numeric(c: Claims, name: string): number | undefined {
  const v = c[name];
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,15}(\.\d{1,20})?$/.test(v)) return Number(v);
  return reject(`token is malformed: ${name} is not a number`);
}

/** The checks common to JWT and T1 tokens, run after the signature. */
function checkClaims(c: Claims, kind: 'jwt' | 't1', expectedSession: string, nowMs: number): TokenClaims {
  const expiries = [numeric(c, 'expire_time'), kind === 'jwt' ? numeric(c, 'exp') : undefined].filter(
    (x): x is number => x !== undefined,
  );
  if (expiries.length === 0) reject('token is malformed: it has no expire_time');
  const expireTime = Math.min(...expiries);
  if (expireTime <= Math.floor(nowMs / 1000)) reject('token has expired');
  if (c.scope !== SCOPE) reject(`token scope is not ${SCOPE}`);
  if (typeof c.session_id !== 'string') reject('token is malformed: it has no session_id');
  if (c.session_id !== expectedSession) reject('token is for another session');
  const role = c.role ?? 'publisher';
  if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) reject(`token role '${show(role)}' is not valid`);
  const data = c.connection_data ?? '';
  if (typeof data !== 'string') reject('token is malformed: connection_data is not a string');
  if (data.length > MAX_CONNECTION_DATA_LENGTH) {
    reject(`token connection data is longer than ${MAX_CONNECTION_DATA_LENGTH} characters`);
  }
  const layout = c.initial_layout_class_list ?? '';
  let classes: string[];
  if (typeof layout === 'string') classes = layout.split(/\s+/).filter(Boolean);
  else if (Array.isArray(layout) && layout.every((x) => typeof x === 'string')) classes = layout;
  else return reject('token is malformed: initial_layout_class_list is not a string');
  const nonce = c.nonce ?? '';
  if (typeof nonce !== 'string' && typeof nonce !== 'number') reject('token is malformed: nonce is not a string');
  return {
    kind,
    role: role as Role,
    connectionData: data,
    expireTime,
    createTime: numeric(c, 'create_time') ?? numeric(c, 'iat') ?? 0,
    nonce: String(nonce),
    initialLayoutClassList: classes,
  };
}

/** Parses `k=v&k=v` (as querystring.stringify writes it); duplicate keys are malformed. */
function parseQuery(s: string): Map<string, string> {
  const out = new Map<string, string>();
  const dec = (x: string): string => decodeURIComponent(x.replace(/\+/g, ' '));
  for (const part of s.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let k: string, v: string;
    try {
      k = dec(eq < 0 ? part : part.slice(0, eq));
      v = eq < 0 ? '' : dec(part.slice(eq + 1));
    } catch {
      return reject('token is malformed: bad percent-encoding');
    }
    if (out.has(k)) reject(`token is malformed: duplicate field ${show(k)}`);
    out.set(k, v);
  }
  return out;
}

/** Legacy `T1==` token: partner_id and hex HMAC-SHA1 of the bytes after the first ':'. */
function verifyT1(token: string, apiKey: string, secret: string): Claims {
  const b64 = token.slice(T1_PREFIX.length);
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    reject('token is malformed: T1 body is not base64');
  }
  const bytes = Buffer.from(b64, 'base64');
  const colon = bytes.indexOf(0x3a);
  if (colon < 0) reject("token is malformed: T1 body has no ':'");
  const head = bytes.subarray(0, colon).toString('latin1');
  if (!/^[\x21-\x7e]*$/.test(head)) reject('token is malformed: T1 header is not ASCII');
  const h = parseQuery(head);
  const partner = h.get('partner_id');
  const sig = h.get('sig');
  if (partner === undefined || sig === undefined) reject('token is malformed: T1 header lacks partner_id or sig');
  if (partner !== apiKey) reject('token is for another api key');
  if (!/^[0-9a-fA-F]{40}$/.test(sig)) reject('token is malformed: T1 sig is not 40 hex digits');
  const signed = bytes.subarray(colon + 1);
  const expected = createHmac('sha1', secret).update(signed).digest();
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) reject('token signature is invalid');
  let data: string;
  try {
    data = new TextDecoder('utf-8', { fatal: true }).decode(signed);
  } catch {
    return reject('token is malformed: T1 data is not UTF-8');
  }
  return Object.fromEntries(parseQuery(data));
}

/**
 * Verifies a client token made by the SDK's `generateToken` for `expect.sessionId`.
 * Never throws. Checks, in order: shape, api key, signature, expiry, ist (JWT), scope, session id,
 * role, connection data length. `expect.now` (ms) defaults to Date.now().
 */
export async function verifyToken(
  token: string,
  expect: { apiKey: string; apiSecret: string; sessionId: string; now?: number },
): Promise<TokenCheck> {
  try {
    if (typeof token !== 'string') reject('token is malformed: not a string');
    if (token.length > MAX_TOKEN_LENGTH) reject(`token is malformed: longer than ${MAX_TOKEN_LENGTH} characters`);
    const now = expect.now ?? Date.now();
    if (token.startsWith(T1_PREFIX)) {
      const c = verifyT1(token, expect.apiKey, expect.apiSecret);
      return { ok: true, claims: checkClaims(c, 't1', expect.sessionId, now) };
    }
    if (!token.includes('.')) reject('token is malformed: neither a JWT nor a T1 token');
    const c = verifyHs256(token, expect.apiKey, expect.apiSecret, now, 'token');
    if (!CLIENT_TOKEN_CLAIMS.some((k) => k in c)) reject('token is a project JWT (the REST API credential), not a client token');
    return { ok: true, claims: checkClaims(c, 'jwt', expect.sessionId, now) };
  } catch (e) {
    return { ok: false, message: e instanceof Reject ? e.message : 'token could not be verified' };
  }
}

/**
 * Verifies the `X-OPENTOK-AUTH` JWT of REST calls: HS256 with the project secret, iss = apiKey,
 * ist = 'project', an `exp` in the future, and none of the claims of a client token
 * ({@link CLIENT_TOKEN_CLAIMS}): a client token is signed with the same secret and has all the
 * others. `now` is in ms. Never throws.
 */
export async function verifyProjectJwt(
  jwt: string,
  project: Project,
  now?: number,
): Promise<{ ok: true } | { ok: false; message: string; clientToken?: true }> {
  try {
    if (typeof jwt !== 'string' || jwt.length > MAX_TOKEN_LENGTH) reject('auth token is malformed: not a JWT');
    const c = verifyHs256(jwt, project.apiKey, project.apiSecret, now ?? Date.now(), 'auth token');
    if (typeof c.exp !== 'number') reject('auth token has no expiry (exp)');
    const clientClaim = CLIENT_TOKEN_CLAIMS.find((k) => k in c);
    if (clientClaim !== undefined) {
      return { ok: false, message: `auth token is a client token (it has '${clientClaim}'), not a project JWT`, clientToken: true };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, message: e instanceof Reject ? e.message : 'auth token could not be verified' };
  }
}
