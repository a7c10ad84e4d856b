/**
 * decodeClientFrame (lib/server/protocol.ts): every client frame type of protocol v1,
 * every field error, the signal limits at their byte boundaries, and properties over
 * random input (docs/protocol.md sections 3-5, 10, 11).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../lib/wire';
import { checkSignal, decodeClientFrame, type DecodeResult } from '../lib/server/protocol';

const dec = (v: unknown): DecodeResult => decodeClientFrame(typeof v === 'string' ? v : JSON.stringify(v));

/** Expects a well-formed frame and returns it. */
function frame(v: unknown): Record<string, unknown> {
  const r = dec(v);
  if (r.kind !== 'frame') throw new Error(`expected a frame, got ${JSON.stringify(r)}`);
  return r.frame as unknown as Record<string, unknown>;
}

/** Expects an error result with this code (and ref when given). */
function err(v: unknown, code: number, ref?: string): string {
  const r = dec(v);
  if (r.kind !== 'error') throw new Error(`expected an error for ${JSON.stringify(v).slice(0, 200)}, got ${JSON.stringify(r).slice(0, 300)}`);
  expect(r.error.code).toBe(code);
  expect(typeof r.error.name).toBe('string');
  if (ref !== undefined) expect(r.ref).toBe(ref);
  return r.error.message;
}

/** Expects a badRequest (an answerable request with bad fields) with this code. */
function bad(v: Record<string, unknown>, code: number): string {
  const r = dec(v);
  if (r.kind !== 'badRequest') throw new Error(`expected badRequest for ${JSON.stringify(v).slice(0, 200)}, got ${JSON.stringify(r).slice(0, 300)}`);
  expect(r.error.code).toBe(code);
  expect(r.id).toBe(v['id']);
  expect(r.ref).toBe(v['type']);
  return r.error.message;
}

const CONNECT = { type: 'connect', v: 1, apiKey: 'k1', sessionId: '2_abc', token: 'tok', sdk: { name: 'n', version: '1' } };
const RESUME = { type: 'resume', v: 1, apiKey: 'k1', sessionId: '2_abc', connectionId: 'c1', resumeToken: 'rt', lastSeq: 0 };

const REQUEST_TYPES = ['signal', 'publish', 'unpublish', 'updateStream', 'forceDisconnect', 'forceUnpublish',
  'forceMuteStream', 'forceMuteAll', 'disableForceMute', 'disconnect'] as const;
const ALL_TYPES = ['connect', 'resume', 'ack', 'ping', 'pong', ...REQUEST_TYPES] as const;

describe('malformed frames', () => {
  it('not JSON, not an object, or no string type: 4400 without ref', () => {
    for (const text of ['', ' ', '{', 'nope', '{"type":"ping"', "{'type':'ping'}", '{"type":"ping"}x', '\u0000']) {
      expect(dec(text)).toMatchObject({ kind: 'error', error: { code: 4400, name: 'CONVENE_MALFORMED_FRAME', message: 'frame is not valid JSON' } });
    }
    for (const text of ['null', '1', '"ping"', 'true', '[]', '[{"type":"ping"}]']) {
      expect(dec(text)).toMatchObject({ kind: 'error', error: { code: 4400, message: 'frame is not a JSON object' } });
    }
    for (const v of [{}, { type: 1 }, { type: null }, { type: ['ping'] }, { type: { x: 1 } }, { Type: 'ping' }]) {
      const r = dec(v);
      expect(r).toMatchObject({ kind: 'error', error: { code: 4400 } });
      expect((r as { ref?: string }).ref).toBeUndefined();
    }
  });

  it('unknown type: 4405 with the type as ref (cut to 64 characters)', () => {
    expect(dec({ type: 'hello' })).toMatchObject({ kind: 'error', ref: 'hello', error: { code: 4405, name: 'CONVENE_UNKNOWN_FRAME_TYPE' } });
    expect(dec({ type: '' })).toMatchObject({ kind: 'error', ref: '', error: { code: 4405 } });
    expect(dec({ type: 'Signal', id: 1 })).toMatchObject({ kind: 'error', error: { code: 4405 } });
    expect(dec({ type: 'result', id: 1 })).toMatchObject({ kind: 'error', error: { code: 4405 } });
    expect(dec({ type: '__proto__' })).toMatchObject({ kind: 'error', error: { code: 4405 } });
    const long = 'x'.repeat(5000);
    const r = dec({ type: long });
    expect(r).toMatchObject({ kind: 'error', ref: 'x'.repeat(64), error: { code: 4405 } });
    expect((r as { error: { message: string } }).error.message.length).toBeLessThan(200);
  });
});

describe('connect', () => {
  it('decodes a well-formed connect; sdk and connectionEventsSuppressed are optional; unknown fields ignored', () => {
    expect(frame({ ...CONNECT, extra: [1, 2] })).toEqual({ ...CONNECT, connectionEventsSuppressed: false });
    const { sdk: _sdk, ...noSdk } = CONNECT;
    expect(frame(noSdk)).toEqual({ ...noSdk, sdk: { name: 'unknown', version: 'unknown' }, connectionEventsSuppressed: false });
    expect(frame({ ...CONNECT, connectionEventsSuppressed: true })['connectionEventsSuppressed']).toBe(true);
    expect(frame({ ...CONNECT, token: 't'.repeat(8192), sessionId: 's'.repeat(512), apiKey: 'k'.repeat(256) })['type']).toBe('connect');
  });

  it('each field error is a 1011 error with ref connect', () => {
    const cases: Array<Record<string, unknown>> = [
      { v: undefined }, { v: 2 }, { v: 0 }, { v: '1' }, { v: 1.5 }, { v: null },
      { apiKey: undefined }, { apiKey: '' }, { apiKey: 7 }, { apiKey: 'k'.repeat(257) },
      { sessionId: undefined }, { sessionId: '' }, { sessionId: ['2_abc'] }, { sessionId: 's'.repeat(513) },
      { token: undefined }, { token: '' }, { token: 12 }, { token: 't'.repeat(8193) },
      { sdk: 'convene' }, { sdk: null }, { sdk: [] }, { sdk: {} }, { sdk: { name: 'n' } }, { sdk: { name: '', version: '1' } },
      { sdk: { name: 'n', version: 1 } }, { sdk: { name: 'n'.repeat(65), version: '1' } },
      { connectionEventsSuppressed: 'yes' }, { connectionEventsSuppressed: 1 }, { connectionEventsSuppressed: null },
    ];
    for (const c of cases) {
      const v: Record<string, unknown> = { ...CONNECT, ...c };
      for (const [k, x] of Object.entries(c)) if (x === undefined) delete v[k];
      expect(() => err(v, ErrorCode.INVALID_PARAMETER, 'connect'), JSON.stringify(c).slice(0, 80)).not.toThrow();
    }
    expect(err({ ...CONNECT, v: 2 }, 1011)).toMatch(/protocol version 2/);
    expect(err({ ...CONNECT, token: 5 }, 1011)).toMatch(/'token'/);
  });
});

describe('resume', () => {
  it('decodes a well-formed resume', () => {
    expect(frame(RESUME)).toEqual(RESUME);
    expect(frame({ ...RESUME, lastSeq: 123456 })['lastSeq']).toBe(123456);
  });

  it('each field error is a 1011 error with ref resume', () => {
    const cases: Array<Record<string, unknown>> = [
      { v: undefined }, { v: 3 }, { apiKey: '' }, { sessionId: 5 }, { connectionId: undefined }, { connectionId: '' },
      { connectionId: 'c'.repeat(257) }, { resumeToken: undefined }, { resumeToken: false }, { lastSeq: undefined },
      { lastSeq: -1 }, { lastSeq: 1.5 }, { lastSeq: '3' }, { lastSeq: 2 ** 53 }, { lastSeq: null },
    ];
    for (const c of cases) {
      const v: Record<string, unknown> = { ...RESUME, ...c };
      for (const [k, x] of Object.entries(c)) if (x === undefined) delete v[k];
      expect(() => err(v, ErrorCode.INVALID_PARAMETER, 'resume'), JSON.stringify(c)).not.toThrow();
    }
  });
});

describe('control frames', () => {
  it('ack, ping and pong', () => {
    expect(frame({ type: 'ack', seq: 0 })).toEqual({ type: 'ack', seq: 0 });
    expect(frame({ type: 'ack', seq: 42, extra: 1 })).toEqual({ type: 'ack', seq: 42 });
    expect(frame({ type: 'ping' })).toEqual({ type: 'ping' });
    expect(frame({ type: 'pong', id: 'whatever' })).toEqual({ type: 'pong' });
    for (const seq of [undefined, -1, 1.5, '3', null, 2 ** 53, Infinity]) {
      err({ type: 'ack', seq }, ErrorCode.INVALID_PARAMETER, 'ack');
    }
  });
});

describe('requests', () => {
  it('decodes every request type with its fields and an optional ack', () => {
    expect(frame({ type: 'signal', id: 1 })).toEqual({ type: 'signal', id: 1, signalType: '', data: '' });
    expect(frame({ type: 'signal', id: 2, signalType: 'a-Z_0~', data: 'd', to: 'c1', ack: 3 }))
      .toEqual({ type: 'signal', id: 2, signalType: 'a-Z_0~', data: 'd', to: 'c1', ack: 3 });
    expect(frame({ type: 'publish', id: 1, hasAudio: true, hasVideo: false }))
      .toEqual({ type: 'publish', id: 1, props: { hasAudio: true, hasVideo: false } });
    expect(frame({ type: 'publish', id: 1, name: 'n', hasAudio: true, hasVideo: true, videoType: 'screen', videoDimensions: { width: 0, height: 65535 } }))
      .toEqual({ type: 'publish', id: 1, props: { name: 'n', hasAudio: true, hasVideo: true, videoType: 'screen', videoDimensions: { width: 0, height: 65535 } } });
    expect(frame({ type: 'updateStream', id: 4, streamId: 's', videoType: 'custom' }))
      .toEqual({ type: 'updateStream', id: 4, streamId: 's', props: { videoType: 'custom' } });
    expect(frame({ type: 'updateStream', id: 4, streamId: 's', name: '' }))
      .toEqual({ type: 'updateStream', id: 4, streamId: 's', props: { name: '' } });
    for (const type of ['unpublish', 'forceUnpublish', 'forceMuteStream'] as const) {
      expect(frame({ type, id: 9, streamId: 's9' })).toEqual({ type, id: 9, streamId: 's9' });
    }
    expect(frame({ type: 'forceDisconnect', id: 1, connectionId: 'c' })).toEqual({ type: 'forceDisconnect', id: 1, connectionId: 'c' });
    expect(frame({ type: 'forceMuteAll', id: 1 })).toEqual({ type: 'forceMuteAll', id: 1, excludedStreamIds: [] });
    expect(frame({ type: 'forceMuteAll', id: 1, excludedStreamIds: ['a', 'b'] })).toEqual({ type: 'forceMuteAll', id: 1, excludedStreamIds: ['a', 'b'] });
    expect(frame({ type: 'disableForceMute', id: 1, ack: 0 })).toEqual({ type: 'disableForceMute', id: 1, ack: 0 });
    expect(frame({ type: 'disconnect', id: Number.MAX_SAFE_INTEGER })).toEqual({ type: 'disconnect', id: Number.MAX_SAFE_INTEGER });
  });

  it('a missing or unusable id is a 4409 error (the socket layer makes it fatal)', () => {
    for (const type of REQUEST_TYPES) {
      for (const id of [undefined, 0, -1, 1.5, '1', null, 2 ** 53, true, [1]]) {
        const r = dec({ type, id, streamId: 's', connectionId: 'c', hasAudio: true, hasVideo: true });
        expect(r, `${type} id=${JSON.stringify(id)}`).toMatchObject({ kind: 'error', ref: type, error: { code: 4409, name: 'CONVENE_REQUEST_OUT_OF_ORDER' } });
      }
    }
  });

  it('field errors are badRequest results that keep the id (and a valid ack)', () => {
    expect(dec({ type: 'unpublish', id: 7, ack: 5 })).toMatchObject({ kind: 'badRequest', id: 7, ack: 5, ref: 'unpublish', error: { code: 1011, name: 'OT_INVALID_PARAMETER' } });
    // an invalid ack is itself a field error, and is then not reported as an ack
    const r = dec({ type: 'disconnect', id: 3, ack: -1 });
    expect(r).toMatchObject({ kind: 'badRequest', id: 3, error: { code: 1011 } });
    expect((r as { ack?: number }).ack).toBeUndefined();
    bad({ type: 'disconnect', id: 3, ack: '1' }, 1011);

    const cases: Array<[Record<string, unknown>, number]> = [
      [{ type: 'signal', signalType: 5 }, 1011],
      [{ type: 'signal', data: { x: 1 } }, 1011],
      [{ type: 'signal', data: null }, 1011],
      [{ type: 'signal', to: 5 }, 1011],
      [{ type: 'signal', to: 'c'.repeat(257) }, 1011],
      [{ type: 'signal', signalType: 'with space' }, 1461],
      [{ type: 'signal', signalType: 'é' }, 1461],
      [{ type: 'signal', signalType: 'a'.repeat(129) }, 1414],
      [{ type: 'signal', data: 'x'.repeat(8193) }, 1413],
      [{ type: 'publish' }, 1011],
      [{ type: 'publish', hasAudio: true }, 1011],
      [{ type: 'publish', hasVideo: true }, 1011],
      [{ type: 'publish', hasAudio: 'true', hasVideo: true }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: 1 }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, name: 5 }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, name: 'n'.repeat(1001) }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoType: 'webcam' }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoType: null }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: [640, 480] }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: null }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: { width: 640 } }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: { width: -1, height: 1 } }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: { width: 1.5, height: 1 } }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: { width: 65536, height: 1 } }, 1011],
      [{ type: 'publish', hasAudio: true, hasVideo: true, videoDimensions: { width: '640', height: '480' } }, 1011],
      [{ type: 'updateStream', hasAudio: true }, 1011],
      [{ type: 'updateStream', streamId: '', hasAudio: true }, 1011],
      [{ type: 'updateStream', streamId: 's' }, 1011],
      [{ type: 'updateStream', streamId: 's', unknown: 1 }, 1011],
      [{ type: 'updateStream', streamId: 's', hasVideo: 'no' }, 1011],
      [{ type: 'unpublish' }, 1011],
      [{ type: 'unpublish', streamId: 5 }, 1011],
      [{ type: 'unpublish', streamId: 's'.repeat(257) }, 1011],
      [{ type: 'forceUnpublish', streamId: '' }, 1011],
      [{ type: 'forceMuteStream', streamId: null }, 1011],
      [{ type: 'forceDisconnect' }, 1011],
      [{ type: 'forceDisconnect', connectionId: '' }, 1011],
      [{ type: 'forceDisconnect', streamId: 's' }, 1011],
      [{ type: 'forceMuteAll', excludedStreamIds: 's' }, 1011],
      [{ type: 'forceMuteAll', excludedStreamIds: null }, 1011],
      [{ type: 'forceMuteAll', excludedStreamIds: [1] }, 1011],
      [{ type: 'forceMuteAll', excludedStreamIds: ['s'.repeat(257)] }, 1011],
      [{ type: 'forceMuteAll', excludedStreamIds: Array.from({ length: 1001 }, (_, i) => `s${i}`) }, 1011],
    ];
    let id = 1;
    for (const [fields, code] of cases) {
      expect(() => bad({ ...fields, id: id++ }, code), JSON.stringify(fields).slice(0, 100)).not.toThrow();
    }
    // the limits themselves are accepted
    expect(frame({ type: 'publish', id: 1, hasAudio: true, hasVideo: true, name: 'n'.repeat(1000) })['type']).toBe('publish');
    expect(frame({ type: 'forceMuteAll', id: 1, excludedStreamIds: Array.from({ length: 1000 }, (_, i) => `s${i}`) })['type']).toBe('forceMuteAll');
  });
});

describe('signal limits at the byte boundaries', () => {
  const sig = (signalType: string, data = ''): DecodeResult => dec({ type: 'signal', id: 1, signalType, data });
  const code = (r: DecodeResult): number | 'ok' => (r.kind === 'frame' ? 'ok' : r.error.code);

  it('type: 128 bytes pass, 129 fail with 1414, and bytes (not characters) are counted', () => {
    expect(code(sig('a'.repeat(128)))).toBe('ok');
    expect(code(sig('~'.repeat(128)))).toBe('ok');
    expect(code(sig('a'.repeat(129)))).toBe(1414);
    // multibyte characters are not allowed in a type at all (1461), but length is checked first:
    expect(code(sig('€'.repeat(42)))).toBe(1461); // 126 bytes
    expect(code(sig('€'.repeat(43)))).toBe(1414); // 129 bytes, 43 characters
    expect(code(sig('a'.repeat(127) + 'é'))).toBe(1414); // 129 bytes, 128 characters
    expect(code(sig('a'.repeat(126) + 'é'))).toBe(1461); // 128 bytes
  });

  it('data: 8192 bytes pass, 8193 fail with 1413, in 1-, 2-, 3- and 4-byte characters', () => {
    for (const [ch, bytes] of [['x', 1], ['é', 2], ['€', 3], ['😀', 4]] as const) {
      const n = Math.floor(8192 / bytes);
      const at = ch.repeat(n) + 'x'.repeat(8192 % bytes);
      expect(Buffer.byteLength(at)).toBe(8192);
      const ok = sig('t', at);
      expect(ok.kind, `${n} x ${ch}`).toBe('frame');
      expect((ok as { frame: { data: string } }).frame.data).toBe(at);
      expect(code(sig('t', at + 'x')), `${n} x ${ch} + 1 byte`).toBe(1413);
      // one more multibyte character instead of the ASCII filler goes over
      if (bytes > 1) expect(code(sig('t', ch.repeat(n + 1)))).toBe(1413);
    }
    // a lone surrogate is encoded as 3 bytes (U+FFFD) when sent
    expect(code(sig('t', '\ud800'.repeat(2730) + 'xx'))).toBe('ok'); // 8192 bytes
    expect(code(sig('t', '\ud800'.repeat(2731)))).toBe(1413); // 8193 bytes
  });

  it('checkSignal agrees with the decoder and reports type errors before data errors', () => {
    expect(checkSignal('a'.repeat(128), 'x'.repeat(8192))).toBeUndefined();
    expect(checkSignal('a'.repeat(129), 'x'.repeat(9000))?.code).toBe(1414);
    expect(checkSignal('b a', 'x'.repeat(9000))?.code).toBe(1461);
    expect(checkSignal('', 'x'.repeat(8193))?.code).toBe(1413);
    expect(checkSignal('', '')).toBeUndefined();
  });
});

// ---- properties ----

const KNOWN_CODES = new Set<number>(Object.values(ErrorCode));
const FIELD_NAMES = ['id', 'ack', 'v', 'apiKey', 'sessionId', 'token', 'sdk', 'connectionEventsSuppressed', 'connectionId',
  'resumeToken', 'lastSeq', 'seq', 'signalType', 'data', 'to', 'name', 'hasAudio', 'hasVideo', 'videoType',
  'videoDimensions', 'streamId', 'excludedStreamIds', 'type', '__proto__', 'constructor'];

/** Checks the decoder's contract for one input; returns the result. */
function checkContract(text: string): DecodeResult {
  let r: DecodeResult;
  try {
    r = decodeClientFrame(text);
  } catch (e) {
    throw new Error(`decodeClientFrame threw on ${JSON.stringify(text).slice(0, 200)}: ${String(e)}`);
  }
  expect(['frame', 'badRequest', 'error']).toContain(r.kind);
  if (r.kind === 'frame') {
    expect(ALL_TYPES as readonly string[]).toContain(r.frame.type);
  } else {
    expect(KNOWN_CODES.has(r.error.code)).toBe(true);
    expect(r.error.code).not.toBe(ErrorCode.INTERNAL);
    expect(typeof r.error.name).toBe('string');
    expect(typeof r.error.message).toBe('string');
  }
  if (r.kind === 'badRequest') {
    expect(Number.isSafeInteger(r.id) && r.id >= 1).toBe(true);
    expect(REQUEST_TYPES as readonly string[]).toContain(r.ref);
  }
  // what the socket layer sends back must serialize
  expect(() => JSON.stringify(r)).not.toThrow();
  return r;
}

const plausibleValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.integer({ min: -3, max: 5 }),
  fc.constantFrom(0, 1, 2, -1, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, '', 'camera', 'screen', 'custom', true, false, null),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z0-9_~-]{0,130}$/),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  fc.record({ width: fc.integer({ min: -2, max: 70000 }), height: fc.oneof(fc.integer({ min: -2, max: 70000 }), fc.string()) }, { requiredKeys: [] }),
  fc.record({ name: fc.string({ maxLength: 70 }), version: fc.oneof(fc.string({ maxLength: 3 }), fc.nat()) }, { requiredKeys: [] }),
);

const randomFrameObject = fc.tuple(
  fc.constantFrom(...ALL_TYPES),
  fc.dictionary(fc.constantFrom(...FIELD_NAMES), plausibleValue, { maxKeys: 10 }),
).map(([type, fields]) => ({ ...fields, type }));

describe('properties', () => {
  it('never throws on random strings', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 50 })), (s) => {
      const r = checkContract(s);
      // random text is almost never a frame; when it is, it is really JSON of that type
      if (r.kind === 'frame') expect(JSON.parse(s).type).toBe(r.frame.type);
    }), { numRuns: 2000 });
  });

  it('never throws on random JSON values, and non-objects are always 4400', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      const r = checkContract(JSON.stringify(v));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) expect(r).toMatchObject({ kind: 'error', error: { code: 4400 } });
    }), { numRuns: 1000 });
  });

  it('never throws on objects with a real frame type and random field values; the outcome is consistent', () => {
    fc.assert(fc.property(randomFrameObject, (o: Record<string, unknown> & { type: string }) => {
      const text = JSON.stringify(o);
      const r = checkContract(text);
      expect(decodeClientFrame(text)).toEqual(r); // pure
      const type = o.type;
      const isRequest = (REQUEST_TYPES as readonly string[]).includes(type);
      const id = o['id'];
      const usableId = typeof id === 'number' && Number.isSafeInteger(id) && id >= 1;
      if (r.kind === 'frame') {
        expect(r.frame.type).toBe(type);
        if (isRequest) expect((r.frame as { id: number }).id).toBe(id);
        if (r.frame.type === 'signal') expect(checkSignal(r.frame.signalType, r.frame.data)).toBeUndefined();
      } else if (isRequest) {
        if (usableId) expect(r.kind).toBe('badRequest');
        else expect(r).toMatchObject({ kind: 'error', ref: type, error: { code: 4409 } });
      } else {
        expect(r.kind).toBe('error');
        expect((r as { ref?: string }).ref).toBe(type);
        expect(r.error.code).toBe(1011);
      }
    }), { numRuns: 3000 });
  });

  it('well-formed signals and publishes round-trip', () => {
    const utf8Within = (max: number) => fc.string({ unit: 'grapheme', maxLength: 300 }).filter((s) => Buffer.byteLength(s) <= max);
    fc.assert(fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.stringMatching(/^[A-Za-z0-9_~-]{0,128}$/),
      utf8Within(8192),
      fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: undefined }),
      (id, signalType, data, to) => {
        const f = to === undefined ? { type: 'signal', id, signalType, data } : { type: 'signal', id, signalType, data, to };
        expect(dec(f)).toEqual({ kind: 'frame', frame: f });
      },
    ), { numRuns: 500 });
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 1e9 }), fc.boolean(), fc.boolean(), fc.constantFrom('camera', 'screen', 'custom'),
      fc.string({ maxLength: 1000 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }),
      (id, hasAudio, hasVideo, videoType, name, width, height) => {
        const props = { name, hasAudio, hasVideo, videoType, videoDimensions: { width, height } };
        expect(dec({ type: 'publish', id, ...props })).toEqual({ kind: 'frame', frame: { type: 'publish', id, props } });
      },
    ), { numRuns: 300 });
  });
});
