/**
 * The WebRTC edge's packet codecs (lib/server/webrtc): RTP with header extensions, the VP8
 * payload descriptor (RFC 7741) and RTCP feedback. Round trips as properties, known packets
 * field by field, and arbitrary bytes that must never throw or read outside the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFir, buildNack, buildPli, buildRemb, nextRembBitrate, parseRtcp } from '../lib/server/webrtc/rtcp';
import { audioLevelExtension, buildRtp, isRtcp, parseRtp } from '../lib/server/webrtc/rtp';
import { isVp8KeyframeStart, packetizeVp8, parseVp8Descriptor } from '../lib/server/webrtc/vp8';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('RTP', () => {
  it('builds and parses back any packet (one-byte extensions)', () => {
    fc.assert(fc.property(
      fc.record({
        marker: fc.boolean(), payloadType: fc.integer({ min: 0, max: 127 }), sequence: fc.integer({ min: 0, max: 0xffff }),
        timestamp: fc.integer({ min: 0, max: 0xffffffff }), ssrc: fc.integer({ min: 0, max: 0xffffffff }),
        extensions: fc.array(fc.record({ id: fc.integer({ min: 1, max: 14 }), data: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), { maxLength: 4 }),
        payload: fc.uint8Array({ maxLength: 300 }),
      }),
      (p) => {
        const r = parseRtp(buildRtp(p));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.packet).toMatchObject({ marker: p.marker, payloadType: p.payloadType, sequence: p.sequence, timestamp: p.timestamp, ssrc: p.ssrc, csrcs: [] });
        expect(r.packet.extensions.map((e) => [e.id, [...e.data]])).toEqual(p.extensions.map((e) => [e.id, [...e.data]]));
        expect([...r.packet.payload]).toEqual([...p.payload]);
      },
    ));
  });

  it('parses a packet with CSRCs, a two-byte extension block and padding', () => {
    // V=2 P=1 X=1 CC=1, M=1 PT=111, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304, csrc 0x0a0b0c0d,
    // ext 0x1000 len 1 word: id 3 len 2 [aa bb], payload [01 02 03], padding 3 (00 00 03)
    const b = hex('b1 ef 1234 deadbeef 01020304 0a0b0c0d 1000 0001 03 02 aabb 010203 000003');
    const r = parseRtp(b);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.packet).toMatchObject({ marker: true, payloadType: 111, sequence: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304, csrcs: [0x0a0b0c0d] });
    expect(r.packet.extensions.map((e) => [e.id, [...e.data]])).toEqual([[3, [0xaa, 0xbb]]]);
    expect([...r.packet.payload]).toEqual([1, 2, 3]);
    expect(parseRtp(buildRtp({ marker: false, payloadType: 111, sequence: 1, timestamp: 2, ssrc: 3, extensions: [audioLevelExtension(1, 0x80 | 30)], payload: new Uint8Array(3) })))
      .toMatchObject({ ok: true, packet: { extensions: [{ id: 1, data: Uint8Array.of(0x9e) }] } });
  });

  it('refuses what does not fit, with a reason, and never throws on arbitrary bytes', () => {
    expect(parseRtp(hex('80'))).toMatchObject({ ok: false });
    expect(parseRtp(hex('40 00 0000 00000000 00000000'))).toMatchObject({ ok: false, reason: expect.stringContaining('version') });
    expect(parseRtp(hex('8f 00 0000 00000000 00000000'))).toMatchObject({ ok: false, reason: expect.stringContaining('CSRC') });
    expect(parseRtp(hex('90 00 0000 00000000 00000000 bede 0005'))).toMatchObject({ ok: false, reason: expect.stringContaining('extension') });
    expect(parseRtp(hex('a0 00 0000 00000000 00000000 05'))).toMatchObject({ ok: false, reason: expect.stringContaining('padding') });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      const r = parseRtp(b);
      if (r.ok) {
        expect(r.packet.payload.byteOffset + r.packet.payload.byteLength).toBeLessThanOrEqual(b.byteOffset + b.byteLength);
        for (const e of r.packet.extensions) expect(e.data.byteOffset + e.data.byteLength).toBeLessThanOrEqual(b.byteLength);
      }
    }), { numRuns: 5000 });
    expect(() => buildRtp({ marker: false, payloadType: 128, sequence: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array() })).toThrow(RangeError);
  });

  it('tells RTCP from RTP on a muxed port', () => {
    expect(isRtcp(buildPli(1, 2))).toBe(true);
    expect(isRtcp(buildRtp({ marker: true, payloadType: 96, sequence: 0, timestamp: 0, ssrc: 0, payload: new Uint8Array(1) }))).toBe(false);
  });
});

describe('VP8 payload (RFC 7741)', () => {
  it('cuts a frame into balanced payloads that parse back to the frame, the first one starting it', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 50, max: 1400 }), (frame, pid, max) => {
      const pkts = packetizeVp8(frame, pid, max);
      const parts: number[] = [];
      pkts.forEach((p, i) => {
        expect(p.byteLength).toBeLessThanOrEqual(max);
        const d = parseVp8Descriptor(p);
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        expect(d.descriptor.frameStart).toBe(i === 0);
        expect(d.descriptor.pictureId).toBe(pid);
        parts.push(...p.subarray(d.descriptor.size));
      });
      expect(parts).toEqual([...frame]);
      const sizes = pkts.map((p) => p.byteLength);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }));
  });

  it('parses descriptors of every shape browsers send, and refuses cut ones', () => {
    expect(parseVp8Descriptor(hex('10 9d'))).toMatchObject({ ok: true, descriptor: { frameStart: true, partitionId: 0, size: 1 } });
    expect(parseVp8Descriptor(hex('90 80 05 aa'))).toMatchObject({ ok: true, descriptor: { frameStart: true, pictureId: 5, size: 3 } });
    // X with I (15-bit), L and T: 1 + 1 + 2 + 1 + 1
    expect(parseVp8Descriptor(hex('b0 e0 81 02 07 40 aa'))).toMatchObject({ ok: true, descriptor: { frameStart: true, nonReference: true, pictureId: 0x102, size: 6 } });
    expect(parseVp8Descriptor(hex('01 00'))).toMatchObject({ ok: true, descriptor: { frameStart: false, partitionId: 1 } });
    expect(parseVp8Descriptor(hex('90 80 81'))).toMatchObject({ ok: false });
    expect(parseVp8Descriptor(hex('80'))).toMatchObject({ ok: false });
    expect(parseVp8Descriptor(new Uint8Array())).toMatchObject({ ok: false });
    expect(parseVp8Descriptor(hex('1f'))).toMatchObject({ ok: false, reason: expect.stringContaining('partition') });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), (b) => {
      const r = parseVp8Descriptor(b);
      if (r.ok) expect(r.descriptor.size).toBeLessThanOrEqual(b.byteLength);
    }), { numRuns: 5000 });
  });

  it('knows a keyframe by its frame tag', () => {
    expect(isVp8KeyframeStart(hex('50 42 00 9d 01 2a'))).toBe(true); // P bit 0
    expect(isVp8KeyframeStart(hex('31 08 00'))).toBe(false);
    expect(isVp8KeyframeStart(hex('50'))).toBe(false);
  });
});

describe('RTCP', () => {
  it('PLI, FIR and NACK parse back as built; NACK packs runs into bitmasks', () => {
    expect(parseRtcp(buildPli(11, 22))).toEqual({ messages: [{ type: 'pli', sender: 11, media: 22 }], malformed: 0 });
    expect(parseRtcp(buildFir(11, 22, 7))).toEqual({ messages: [{ type: 'fir', sender: 11, entries: [{ ssrc: 22, seq: 7 }] }], malformed: 0 });
    const lost = [100, 101, 116, 117, 200, 65535, 3];
    const nack = buildNack(1, 2, lost);
    expect(nack.byteLength).toBe(12 + 4 * 5); // pairs [3] [100 + 101, 116] [117] [200] [65535]
    const m = parseRtcp(nack).messages[0];
    expect(m?.type).toBe('nack');
    if (m?.type === 'nack') expect([...m.lost].sort((a, b) => a - b)).toEqual([...lost].sort((a, b) => a - b));
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 60 }), (l) => {
      const got = parseRtcp(buildNack(1, 2, l)).messages[0];
      expect(got?.type === 'nack' ? [...got.lost].sort((a, b) => a - b) : []).toEqual([...l].sort((a, b) => a - b));
    }));
  });

  it('REMB parses back as built (18-bit mantissa: within 1 / 2^17), and the loss rule moves it within its bounds', () => {
    for (const bitrate of [0, 1000, 262_143, 262_144, 300_000, 2_500_000, 1e9]) {
      const m = parseRtcp(buildRemb(5, bitrate, [77, 88])).messages[0];
      expect(m?.type).toBe('remb');
      if (m?.type === 'remb') {
        expect(m.sender).toBe(5);
        expect(m.ssrcs).toEqual([77, 88]);
        expect(m.bitrate).toBeLessThanOrEqual(bitrate);
        expect(m.bitrate).toBeGreaterThanOrEqual(bitrate * (1 - 2 ** -17) - 1);
      }
    }
    expect(nextRembBitrate(1_000_000, 0, 100_000, 2_500_000)).toBe(1_080_000); // clean: up 8 %
    expect(nextRembBitrate(1_000_000, 0.05, 100_000, 2_500_000)).toBe(1_000_000); // 2-10 %: held
    expect(nextRembBitrate(1_000_000, 0.3, 100_000, 2_500_000)).toBe(850_000); // down by half the loss
    expect(nextRembBitrate(2_400_000, 0, 100_000, 2_500_000)).toBe(2_500_000);
    expect(nextRembBitrate(110_000, 1, 100_000, 2_500_000)).toBe(100_000);
  });

  it('parses a compound of SR, RR with report blocks, SDES (skipped) and REMB', () => {
    const sr = hex('81 c8 000c 00000001 e1e2e3e4e5e6e7e8 00001000 00000064 00002710  00000002 0a000005 00010010 00000020 11223344 00000100');
    const rr = hex('81 c9 0007 00000003 00000004 ff800000 00000200 00000001 00000000 00000000');
    const sdes = hex('81 ca 0002 00000003 01 00 0000');
    const remb = hex('8f ce 0005 00000003 00000000 52454d42 01 07a120 00000009');
    const r = parseRtcp(new Uint8Array([...sr, ...rr, ...sdes, ...remb]));
    expect(r.malformed).toBe(0);
    expect(r.messages.map((m) => m.type)).toEqual(['sr', 'rr', 'remb']);
    expect(r.messages[0]).toMatchObject({ ssrc: 1, rtpTime: 0x1000, packets: 100, octets: 10000, reports: [{ ssrc: 2, fractionLost: 10, cumulativeLost: 5, highestSequence: 0x10010 }] });
    expect(r.messages[1]).toMatchObject({ reports: [{ ssrc: 4, fractionLost: 255, cumulativeLost: -0x800000 }] });
    expect(r.messages[2]).toMatchObject({ type: 'remb', ssrcs: [9], bitrate: (0x3a120) * 2 ** 1 });
  });

  it('counts what does not parse and never throws on arbitrary bytes', () => {
    const pli = buildPli(1, 2);
    expect(parseRtcp(new Uint8Array([...pli, ...pli.subarray(0, 6)]))).toMatchObject({ messages: [{ type: 'pli' }], malformed: 1 });
    expect(parseRtcp(hex('81 c9 0001 00000003'))).toMatchObject({ messages: [], malformed: 1 }); // RR claiming a block it lacks
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => { parseRtcp(b); }), { numRuns: 5000 });
  });
});
