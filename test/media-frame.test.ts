/** The v1.1 media-frame header codec (lib/wire/media.ts): bytes in, struct out, table-driven. */
import { describe, expect, it } from 'vitest';
import {
  decodeMediaFrame, encodeMediaFrame, MAX_MEDIA_PAYLOAD_BYTES, MEDIA_HEADER_BYTES, MediaFlag, mediaTrackOf, sequenceDelta,
  type MediaHeader,
} from '../lib/wire';

const hex = (s: string): Uint8Array => new Uint8Array((s.replace(/\s+/g, '').match(/../g) ?? []).map((b) => parseInt(b, 16)));

describe('media frame: decoding known bytes', () => {
  const cases: Array<{ name: string; bytes: string; header: MediaHeader; payload: string }> = [
    {
      name: 'audio, Opus TOC byte 0x78 (SILK WB 20 ms, mono) and two payload bytes',
      bytes: '10 00 0007 0001 000003c0 ff 00 78 ab cd',
      header: { kind: 'audio', flags: 0, track: 7, sequence: 1, timestamp: 960, audioLevel: 0xff },
      payload: '78abcd',
    },
    {
      name: 'audio DTX with marker, sequence and timestamp at their maxima',
      bytes: '10 05 ffff ffff ffffffff 7f 00 f8',
      header: { kind: 'audio', flags: MediaFlag.marker | MediaFlag.dtx, track: 65535, sequence: 65535, timestamp: 0xffffffff, audioLevel: 127 },
      payload: 'f8',
    },
    {
      name: 'video keyframe, last packet of its frame, empty payload',
      bytes: '11 03 0002 1234 00015f90 00 00',
      header: { kind: 'video', flags: MediaFlag.marker | MediaFlag.keyframe, track: 2, sequence: 0x1234, timestamp: 90000, audioLevel: 0 },
      payload: '',
    },
    {
      name: 'unknown flag bits and a non-zero reserved byte are carried, not refused',
      bytes: '10 f0 0001 0000 00000000 00 ee 01',
      header: { kind: 'audio', flags: 0xf0, track: 1, sequence: 0, timestamp: 0, audioLevel: 0 },
      payload: '01',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const bytes = hex(c.bytes);
      const r = decodeMediaFrame(bytes);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const { payload, ...header } = r.frame;
      expect(header).toEqual(c.header);
      expect(Buffer.from(payload).toString('hex')).toBe(c.payload);
      expect(payload.buffer).toBe(bytes.buffer); // a view, not a copy
      expect(mediaTrackOf(bytes)).toBe(c.header.track);
      if (bytes[11] === 0) expect(encodeMediaFrame(c.header, payload)).toEqual(bytes);
    });
  }
});

describe('media frame: malformed input is refused with its reason, never thrown', () => {
  const cases: Array<{ name: string; bytes: Uint8Array; problem: string }> = [
    { name: 'empty', bytes: new Uint8Array(0), problem: 'short' },
    { name: 'one byte', bytes: hex('10'), problem: 'short' },
    { name: 'header less one byte', bytes: hex('10 00 0001 0000 00000000 00'), problem: 'short' },
    { name: 'version 0', bytes: hex('00 00 0001 0000 00000000 00 00'), problem: 'version' },
    { name: 'version 2', bytes: hex('20 00 0001 0000 00000000 00 00'), problem: 'version' },
    { name: 'JSON text sent as binary', bytes: new TextEncoder().encode('{"type":"signal","id":1}'), problem: 'version' },
    { name: 'kind 2', bytes: hex('12 00 0001 0000 00000000 00 00'), problem: 'kind' },
    { name: 'kind 15', bytes: hex('1f 00 0001 0000 00000000 00 00'), problem: 'kind' },
    { name: 'track 0', bytes: hex('10 00 0000 0000 00000000 00 00'), problem: 'track' },
    { name: 'payload one byte over the limit', bytes: frameOf(MAX_MEDIA_PAYLOAD_BYTES + 1), problem: 'oversize' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = decodeMediaFrame(c.bytes);
      expect(r).toMatchObject({ ok: false, problem: c.problem });
      if (!r.ok) expect(r.message.length).toBeGreaterThan(0);
    });
  }

  it('a payload of exactly the limit decodes', () => {
    expect(decodeMediaFrame(frameOf(MAX_MEDIA_PAYLOAD_BYTES)).ok).toBe(true);
  });

  it('decodes a view at an offset inside a larger buffer (as ws hands a Buffer out of its pool)', () => {
    const big = new Uint8Array(64);
    big.set(hex('10 00 0009 0002 00000780 30 00 aa'), 20);
    const r = decodeMediaFrame(big.subarray(20, 33));
    expect(r).toMatchObject({ ok: true, frame: { track: 9, sequence: 2, timestamp: 1920, audioLevel: 0x30 } });
  });

  it('never throws on random bytes', () => {
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(rnd() % 40);
      for (let j = 0; j < b.length; j++) b[j] = rnd();
      expect(() => decodeMediaFrame(b)).not.toThrow();
    }
  });
});

describe('media frame: encoding', () => {
  const h: MediaHeader = { kind: 'audio', flags: 0, track: 1, sequence: 0, timestamp: 0, audioLevel: 127 };
  const bad: Array<[string, Partial<MediaHeader>]> = [
    ['track 0', { track: 0 }], ['track 65536', { track: 65536 }], ['sequence -1', { sequence: -1 }],
    ['sequence 65536', { sequence: 65536 }], ['timestamp 2^32', { timestamp: 2 ** 32 }], ['flags 256', { flags: 256 }],
    ['fractional timestamp', { timestamp: 1.5 }], ['unknown kind', { kind: 'data' as 'audio' }],
  ];
  for (const [name, over] of bad) {
    it(`refuses ${name}`, () => expect(() => encodeMediaFrame({ ...h, ...over }, new Uint8Array(1))).toThrow(RangeError));
  }
  it('refuses an oversize payload', () => {
    expect(() => encodeMediaFrame(h, new Uint8Array(MAX_MEDIA_PAYLOAD_BYTES + 1))).toThrow(RangeError);
  });
  it('round-trips', () => {
    const payload = new Uint8Array([1, 2, 3]);
    const f = encodeMediaFrame({ ...h, track: 300, sequence: 40000, timestamp: 123456789, flags: MediaFlag.marker }, payload);
    expect(f.byteLength).toBe(MEDIA_HEADER_BYTES + 3);
    expect(decodeMediaFrame(f)).toMatchObject({ ok: true, frame: { track: 300, sequence: 40000, timestamp: 123456789, flags: 1, kind: 'audio' } });
  });
});

describe('sequence arithmetic (16-bit wrapping)', () => {
  it.each([[1, 0, 1], [0, 65535, 1], [65535, 0, -1], [100, 100, 0], [32767, 0, 32767], [32768, 0, -32768]])('%i - %i = %i', (a, b, d) => {
    expect(sequenceDelta(a, b)).toBe(d);
  });
});

function frameOf(payloadBytes: number): Uint8Array {
  const f = new Uint8Array(MEDIA_HEADER_BYTES + payloadBytes);
  f.set(hex('10 00 0001 0000 00000000 00 00'));
  return f;
}
