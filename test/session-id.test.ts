import { describe, it, expect } from 'vitest';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { ProjectStore, type Project } from '../lib/server/projects';
import { checkSessionId, mintSessionId } from '../lib/server/session-id';

/** The official server SDK (untyped): just what these tests use. */
interface OpenTokSdk {
  generateToken(sessionId: string, opts?: Record<string, unknown>, legacyT1?: boolean): string;
}
const OpenTok = require('opentok') as new (apiKey: string, apiSecret: string) => OpenTokSdk;

const A: Project = { apiKey: '46000001', apiSecret: 'secret-of-project-a' };
const B: Project = { apiKey: '46000002', apiSecret: 'secret-of-project-b' };
const store = new ProjectStore([A, B]);

const decode = (id: string): string => Buffer.from(id.slice(2), 'base64url').toString('utf8');
const encode = (text: string): string => '2_' + Buffer.from(text, 'utf8').toString('base64url');

describe('ProjectStore', () => {
  it('looks projects up and lists them in order', () => {
    expect(store.get(A.apiKey)).toEqual(A);
    expect(store.get('nope')).toBeUndefined();
    expect(store.get('__proto__')).toBeUndefined();
    expect(store.list()).toEqual([A, B]);
  });

  it('rejects empty keys and secrets, duplicates and keys a session id cannot carry', () => {
    expect(() => new ProjectStore([{ apiKey: '', apiSecret: 's' }])).toThrow(Error);
    expect(() => new ProjectStore([{ apiKey: 'k', apiSecret: '' }])).toThrow(Error);
    expect(() => new ProjectStore([A, { ...A, apiSecret: 'other' }])).toThrow(/duplicate/);
    expect(() => new ProjectStore([{ apiKey: 'a~b', apiSecret: 's' }])).toThrow(Error);
    expect(() => new ProjectStore([{ apiKey: 'a b', apiSecret: 's' }])).toThrow(Error);
    expect(() => new ProjectStore([{ apiKey: 'k'.repeat(129), apiSecret: 's' }])).toThrow(Error);
    expect(new ProjectStore([]).list()).toEqual([]);
  });
});

describe('mintSessionId', () => {
  it('round-trips every info field through checkSessionId', () => {
    const info = mintSessionId(A, { location: '192.168.1.20', mediaMode: 'routed', archiveMode: 'always', now: 1700000000123 });
    expect(info).toMatchObject({
      apiKey: A.apiKey, location: '192.168.1.20', createTime: 1700000000123, mediaMode: 'routed', archiveMode: 'always',
    });
    expect(checkSessionId(info.sessionId, A.apiKey, store)).toEqual({ ok: true, info });
  });

  it('uses defaults: no location, relayed, manual, now', () => {
    const before = Date.now();
    const info = mintSessionId(A);
    expect(info).toMatchObject({ location: '', mediaMode: 'relayed', archiveMode: 'manual' });
    expect(info.createTime).toBeGreaterThanOrEqual(before);
    expect(info.createTime).toBeLessThanOrEqual(Date.now());
  });

  it('has the documented layout: "2_" + unpadded base64url of 1~KEY~LOC~MS~NONCE~MEDIA~ARCHIVE~MAC~', () => {
    const info = mintSessionId(A, { location: '10.0.0.1', now: 42 });
    expect(info.sessionId).toMatch(/^2_[A-Za-z0-9_-]+$/);
    const text = decode(info.sessionId);
    expect(text).toMatch(/^1~46000001~10\.0\.0\.1~42~[0-9a-f]{16}~relayed~manual~[A-Za-z0-9_-]{22}~$/);
    const fields = text.split('~');
    const mac = createHmac('sha256', A.apiSecret).update(fields.slice(0, 7).join('~')).digest().subarray(0, 16);
    expect(fields[7]).toBe(mac.toString('base64url'));
  });

  it('mints distinct ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => mintSessionId(A, { now: 1 }).sessionId));
    expect(ids.size).toBe(1000);
  });

  it('throws a RangeError for a location that is not empty or IPv4', () => {
    for (const location of ['example.com', '1.2.3', '256.1.1.1', '01.2.3.4', ' 1.2.3.4', '::1', '1.2.3.4~']) {
      expect(() => mintSessionId(A, { location }), location).toThrow(RangeError);
    }
    expect(mintSessionId(A, { location: '0.0.0.0' }).location).toBe('0.0.0.0');
    expect(mintSessionId(A, { location: '255.255.255.255' }).location).toBe('255.255.255.255');
  });

  it('throws a RangeError for bad modes or times', () => {
    expect(() => mintSessionId(A, { mediaMode: 'p2p' as never })).toThrow(RangeError);
    expect(() => mintSessionId(A, { archiveMode: 'never' as never })).toThrow(RangeError);
    expect(() => mintSessionId(A, { now: -1 })).toThrow(RangeError);
    expect(() => mintSessionId(A, { now: 1.5 })).toThrow(RangeError);
    expect(() => mintSessionId(A, { now: Number.NaN })).toThrow(RangeError);
  });

  it('is accepted by the official SDK generateToken (JWT and T1), and only for its own api key', () => {
    const { sessionId } = mintSessionId(A, { location: '10.1.2.3', mediaMode: 'routed' });
    const sdk = new OpenTok(A.apiKey, A.apiSecret);
    expect(typeof sdk.generateToken(sessionId)).toBe('string');
    expect(sdk.generateToken(sessionId, { role: 'moderator' }, true)).toMatch(/^T1==/);
    expect(() => new OpenTok(B.apiKey, B.apiSecret).generateToken(sessionId)).toThrow(/belongs to the API Key/);
  });
});

describe('checkSessionId', () => {
  const minted = mintSessionId(A, { location: '10.0.0.7', mediaMode: 'routed', now: 1700000000000 });

  it('accepts an id minted earlier, on a restarted server or another node (no stored state)', () => {
    const elsewhere = new ProjectStore([{ ...A }]);
    expect(checkSessionId(minted.sessionId, A.apiKey, elsewhere)).toEqual({ ok: true, info: minted });
  });

  it('reports an id of another api key', () => {
    const ofB = mintSessionId(B).sessionId;
    expect(checkSessionId(ofB, A.apiKey, store)).toEqual({ ok: false, message: 'session id belongs to another api key' });
  });

  it('reports an api key the server does not know', () => {
    const stranger = mintSessionId({ apiKey: '999', apiSecret: 'x' }).sessionId;
    expect(checkSessionId(stranger, '999', store)).toEqual({ ok: false, message: 'api key is not known to this server' });
  });

  it('reports forged MACs and tampered fields as not issued by this server', () => {
    const notIssued = { ok: false, message: 'session id was not issued by this server' };
    // Same project key, minted with another secret (another deployment, or a forger).
    const forged = mintSessionId({ apiKey: A.apiKey, apiSecret: 'guessed' }).sessionId;
    expect(checkSessionId(forged, A.apiKey, store)).toEqual(notIssued);
    const text = decode(minted.sessionId);
    // Flip one MAC character.
    const fields = text.split('~');
    const mac = fields[7] ?? '';
    fields[7] = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    expect(checkSessionId(encode(fields.join('~')), A.apiKey, store)).toEqual(notIssued);
    // Change a signed field, keep the MAC.
    expect(checkSessionId(encode(text.replace('~routed~', '~relayed~')), A.apiKey, store)).toEqual(notIssued);
    expect(checkSessionId(encode(text.replace('~1700000000000~', '~1700000000001~')), A.apiKey, store)).toEqual(notIssued);
    // The SDK-style "safe form" without a MAC is not one of ours.
    const plain = encode(`1~${A.apiKey}~~1700000000000~abc~~`);
    expect(checkSessionId(plain, A.apiKey, store)).toEqual({ ok: false, message: 'session id is malformed' });
  });

  it('reports garbage as malformed', () => {
    const malformed = { ok: false, message: 'session id is malformed' };
    const text = decode(minted.sessionId);
    const cases = [
      '', '2_', 'x', '1_' + minted.sessionId.slice(2), minted.sessionId + '=', minted.sessionId + '!', minted.sessionId.slice(0, -3),
      minted.sessionId.slice(0, 30), '2_' + 'A'.repeat(600), encode('hello'), encode(text + 'extra~'), encode(text.replace(/^1~/, '2~')),
      encode(text.replace('~manual~', '~sometimes~')), encode(text.replace('10.0.0.7', '10.0.0.700')),
      encode(text.replace(/~[0-9a-f]{16}~/, '~XYZ~')), encode(text.replace('~1700000000000~', '~-5~')),
      '2_' + Buffer.from([0xff, 0xfe, 0x7e]).toString('base64url'),
    ];
    for (const id of cases) expect(checkSessionId(id, A.apiKey, store), id).toEqual(malformed);
    expect(checkSessionId(undefined as unknown as string, A.apiKey, store)).toEqual(malformed);
  });

  it('caps the length at 512 characters', () => {
    const longKey: Project = { apiKey: 'k'.repeat(128), apiSecret: 's' };
    const longStore = new ProjectStore([longKey]);
    const id = mintSessionId(longKey, { location: '255.255.255.255' }).sessionId;
    expect(id.length).toBeLessThanOrEqual(512);
    expect(checkSessionId(id, longKey.apiKey, longStore).ok).toBe(true);
    expect(checkSessionId(id + 'A'.repeat(513 - id.length), longKey.apiKey, longStore)).toEqual({ ok: false, message: 'session id is malformed' });
  });

  it('property: never throws and never accepts random strings', () => {
    const randomIds = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.string({ unit: 'binary', maxLength: 600 }),
      fc.string().map((s) => '2_' + s),
      fc.uint8Array({ maxLength: 400 }).map((b) => '2_' + Buffer.from(b).toString('base64url')),
      fc.array(fc.string({ maxLength: 30 }), { maxLength: 10 }).map((f) => encode(['1', A.apiKey, ...f].join('~'))),
    );
    fc.assert(
      fc.property(randomIds, (id) => {
        const r = checkSessionId(id, A.apiKey, store);
        return r.ok === false && typeof r.message === 'string';
      }),
      { numRuns: 2000 },
    );
  });
});
