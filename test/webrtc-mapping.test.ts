/**
 * The WebRTC edge's pure parts: SDP offer checks and the public-address candidates (sdp.ts),
 * RTP <-> media frame mapping and the retransmission ring (mapping.ts), the Sender Report.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMediaFrame, encodeMediaFrame, MediaFlag, type MediaFrame } from '../lib/wire';
import { MediaToRtp, RETRANSMIT_MAX_AGE_MS, RETRANSMIT_PACKETS, RtpToMedia } from '../lib/server/webrtc/mapping';
import { buildRtp, parseRtp } from '../lib/server/webrtc/rtp';
import { buildSr, ntpFromUnixMs, parseRtcp } from '../lib/server/webrtc/rtcp';
import { parseVp8Descriptor } from '../lib/server/webrtc/vp8';
import { addPublicCandidates, parseOffer } from '../lib/server/webrtc/sdp';

const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly',
  'a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000', 'a=ssrc:1234 cname:x',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98', 'c=IN IP4 0.0.0.0', 'a=mid:1', 'a=sendonly', 'a=rtpmap:96 H264/90000', 'a=rtpmap:98 VP8/90000',
  'a=rtpmap:97 rtx/90000', 'a=ssrc-group:FID 5555 6666', 'a=ssrc:5555 cname:x', 'a=ssrc:6666 cname:x', '',
].join('\r\n');

describe('parseOffer', () => {
  it('reads each m-line\'s mid, direction, the Opus / VP8 payload type, the audio level id and the media SSRC', () => {
    const r = parseOffer(OFFER, 'send');
    expect(r).toEqual({
      ok: true,
      offer: {
        audio: { kind: 'audio', mid: '0', direction: 'sendonly', payloadType: 111, audioLevelId: 3, ssrc: 1234 },
        video: { kind: 'video', mid: '1', direction: 'sendonly', payloadType: 98, ssrc: 5555 },
      },
    });
  });

  it('refuses what cannot be answered, with a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /v=0/],
      ['v=0\r\n', /no m-line/],
      ['v=0\r\nbogus line\r\n', /letter/],
      [OFFER.replace('opus/48000/2', 'opus/16000'), /Opus/],
      [OFFER.replace('a=rtpmap:98 VP8/90000', 'a=rtpmap:98 VP9/90000'), /VP8/],
      [OFFER.replace('a=mid:0', 'a=mid:'), /mid/],
      [OFFER.replace(/a=sendonly/g, 'a=recvonly'), /needs sendonly/],
      [OFFER + 'm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\na=rtpmap:111 opus/48000/2\r\n', /m-lines/],
      [OFFER.replace('m=video 9 UDP/TLS/RTP/SAVPF 96 97 98', 'm=audio 9 UDP/TLS/RTP/SAVPF 98'), /more than one audio/],
      ['v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n', /application/],
      ['v=0\r\n' + 'a=x\r\n'.repeat(3000), /lines/],
    ];
    for (const [sdp, why] of cases) {
      const r = parseOffer(sdp, 'send');
      expect(r.ok, sdp.slice(0, 50)).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    }
    expect(parseOffer(OFFER.replace(/a=sendonly/g, 'a=sendrecv'), 'recv').ok).toBe(true);
    expect(parseOffer(OFFER.replace(/a=sendonly/g, 'a=recvonly'), 'recv').ok).toBe(true);
  });

  it('never throws on random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => {
      const r = parseOffer(`v=0\r\n${s}`, 'recv');
      expect(typeof r.ok).toBe('boolean');
    }), { numRuns: 500 });
  });
});

describe('addPublicCandidates', () => {
  it('announces each host port once more at the public address, just below the original\'s priority', () => {
    const sdp = [
      'm=audio 5000 UDP/TLS/RTP/SAVPF 111', 'a=candidate:1 1 UDP 2114977791 10.0.0.5 5000 typ host', 'a=candidate:2 1 UDP 2116026111 fd00::2 5000 typ host',
      'a=end-of-candidates', 'm=video 5000 UDP/TLS/RTP/SAVPF 96', 'a=candidate:1 1 UDP 2114977791 10.0.0.5 5000 typ host', '',
    ].join('\r\n');
    const out = addPublicCandidates(sdp, '203.0.113.7').split('\r\n');
    expect(out.filter((l) => l.includes('203.0.113.7'))).toEqual([
      'a=candidate:p11 1 UDP 2114977790 203.0.113.7 5000 typ host',
      'a=candidate:p21 1 UDP 2114977790 203.0.113.7 5000 typ host',
    ]);
    expect(out.indexOf('a=candidate:p11 1 UDP 2114977790 203.0.113.7 5000 typ host')).toBeLessThan(out.indexOf('a=end-of-candidates'));
  });
});

const frame = (f: Partial<MediaFrame> & { payload: Uint8Array }): Uint8Array =>
  encodeMediaFrame({ kind: 'audio', flags: 0, track: 7, sequence: 0, timestamp: 0, audioLevel: 0, ...f }, f.payload);

describe('MediaToRtp', () => {
  it('audio: one packet per frame, own SSRC and consecutive sequence numbers, timestamp and marker as they came, level extension', () => {
    const tx = new MediaToRtp('audio', 0xdeadbeef, 111, 5, () => 0, () => 0.5);
    const out = [0, 1, 2].map((i) => tx.fromMediaFrame(frame({ sequence: 900 + i, timestamp: i * 960, flags: i === 0 ? MediaFlag.marker : 0, audioLevel: 0x80 | i, payload: Uint8Array.of(i, 1, 2) })));
    const pkts = out.map((o) => {
      expect(o).toHaveLength(1);
      const r = parseRtp(o[0]!);
      if (!r.ok) throw new Error(r.reason);
      return r.packet;
    });
    expect(pkts.map((p) => p.sequence)).toEqual([0x8000, 0x8001, 0x8002]);
    expect(pkts.map((p) => [p.ssrc, p.payloadType, p.timestamp, p.marker])).toEqual([[0xdeadbeef, 111, 0, true], [0xdeadbeef, 111, 960, false], [0xdeadbeef, 111, 1920, false]]);
    expect(pkts[2]!.extensions).toEqual([{ id: 5, data: Uint8Array.of(0x82) }]);
    expect([...pkts[1]!.payload]).toEqual([1, 1, 2]);
    // a video frame on an audio track, or garbage: dropped, counted
    expect(tx.fromMediaFrame(frame({ kind: 'video', payload: Uint8Array.of(1) }))).toEqual([]);
    expect(tx.fromMediaFrame(Uint8Array.of(1, 2))).toEqual([]);
    expect(tx.stats()).toMatchObject({ packets: 3, dropped: 2 });
  });

  it('video: a frame split over media frames keeps S on its first RTP packet only and one picture id; the next frame gets the next id', () => {
    const tx = new MediaToRtp('video', 1, 96, undefined, () => 0, () => 0);
    const big = new Uint8Array(2500).fill(3);
    const a = tx.fromMediaFrame(frame({ kind: 'video', timestamp: 3000, flags: MediaFlag.keyframe, payload: big }));
    const b = tx.fromMediaFrame(frame({ kind: 'video', timestamp: 3000, flags: MediaFlag.keyframe | MediaFlag.marker, payload: new Uint8Array(100) }));
    const c = tx.fromMediaFrame(frame({ kind: 'video', timestamp: 6000, flags: MediaFlag.marker, payload: new Uint8Array(10) }));
    const all = [...a, ...b, ...c].map((x) => {
      const r = parseRtp(x);
      if (!r.ok) throw new Error(r.reason);
      const d = parseVp8Descriptor(r.packet.payload);
      if (!d.ok) throw new Error(d.reason);
      return { marker: r.packet.marker, start: d.descriptor.frameStart, pid: d.descriptor.pictureId, size: r.packet.payload.byteLength, seq: r.packet.sequence };
    });
    expect(all.map((p) => p.start)).toEqual([true, false, false, false, true]);
    expect(all.map((p) => p.marker)).toEqual([false, false, false, true, true]);
    expect(all.map((p) => p.pid)).toEqual([1, 1, 1, 1, 2]);
    expect(all.map((p) => p.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(all.every((p) => p.size <= 1100)).toBe(true);
  });

  it('retransmits from a ring of the last packets, under a second old, each at most once per NACK', () => {
    let now = 0;
    const tx = new MediaToRtp('audio', 1, 111, undefined, () => now, () => 0);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < RETRANSMIT_PACKETS + 10; i++) sent.push(...tx.fromMediaFrame(frame({ sequence: i, payload: Uint8Array.of(i & 0xff) })));
    // the first 10 were overwritten; a duplicate in the NACK is sent once
    const again = tx.retransmit([0, 9, 10, 10, RETRANSMIT_PACKETS + 9, RETRANSMIT_PACKETS + 10]);
    expect(again).toEqual([sent[10], sent[RETRANSMIT_PACKETS + 9]]);
    expect(tx.stats()).toMatchObject({ retransmitted: 2, nackMissed: 3 });
    now = RETRANSMIT_MAX_AGE_MS + 1;
    expect(tx.retransmit([20])).toEqual([]);
  });

  it('a Sender Report carries the clock of the last packet advanced to now, and the counts', () => {
    let now = 1_000;
    const tx = new MediaToRtp('audio', 42, 111, undefined, () => now, () => 0);
    expect(tx.senderInfo(now)).toBeUndefined();
    tx.fromMediaFrame(frame({ timestamp: 48_000, payload: new Uint8Array(50) }));
    now = 1_500;
    const info = tx.senderInfo(now)!;
    expect(info).toEqual({ rtpTime: 48_000 + 24_000, packets: 1, octets: 50 });
    const sr = parseRtcp(buildSr(42, ntpFromUnixMs(now), info.rtpTime, info.packets, info.octets));
    expect(sr).toEqual({ messages: [{ type: 'sr', ssrc: 42, ntpTime: ntpFromUnixMs(1500), rtpTime: 72_000, packets: 1, octets: 50, reports: [] }], malformed: 0 });
    expect(ntpFromUnixMs(0) >> 32n).toBe(2_208_988_800n);
  });
});

describe('RtpToMedia', () => {
  const vp8 = (seq: number, ts: number, start: boolean, marker: boolean, body: number[], pt = 96): Uint8Array =>
    buildRtp({ marker, payloadType: pt, sequence: seq, timestamp: ts, ssrc: 9, payload: Uint8Array.from([0x80 | (start ? 0x10 : 0), 0x80, 0x81, 0x02, ...body]) });
  const decode = (b: Uint8Array | undefined): MediaFrame => {
    const r = decodeMediaFrame(b!);
    if (!r.ok) throw new Error(r.message);
    return r.frame;
  };

  it('video: descriptor stripped, keyframe on every packet of a keyframe\'s timestamp, marker from M, sequence and timestamp as they came', () => {
    const rx = new RtpToMedia('video', 12, 96);
    const out = [
      vp8(10, 100, true, false, [0x10, 1, 2]), vp8(11, 100, false, true, [5, 6]),
      vp8(12, 200, true, true, [0x11, 1, 2]), vp8(13, 300, false, true, [7, 7]), // a frame whose first packet was lost: not a keyframe
    ].map((p) => decode(rx.toMediaFrame(p)));
    expect(out.map((f) => [f.kind, f.track, f.sequence, f.timestamp, f.flags])).toEqual([
      ['video', 12, 10, 100, MediaFlag.keyframe], ['video', 12, 11, 100, MediaFlag.keyframe | MediaFlag.marker],
      ['video', 12, 12, 200, MediaFlag.marker], ['video', 12, 13, 300, MediaFlag.marker],
    ]);
    expect([...out[1]!.payload]).toEqual([5, 6]);
    expect(rx.ssrc).toBe(9);
  });

  it('loss per window from the sequence numbers: gaps counted, across the 16-bit wrap, late packets not double-counted, none without packets', () => {
    const rx = new RtpToMedia('video', 12, 96);
    expect(rx.takeLoss()).toBe(0);
    for (const seq of [65530, 65531, 65533, 65534, 0, 1, 3]) rx.toMediaFrame(vp8(seq, 100, true, true, [1]));
    // 65530..3 is 10 expected, 7 received
    expect(rx.takeLoss()).toBeCloseTo(3 / 10, 5);
    expect(rx.takeLoss()).toBe(0); // nothing came: no estimate
    for (const seq of [4, 5, 6, 2]) rx.toMediaFrame(vp8(seq, 100, true, true, [1])); // 2: late, from the last window
    expect(rx.takeLoss()).toBe(0);
    for (let seq = 7; seq < 107; seq++) if (seq % 10 !== 0) rx.toMediaFrame(vp8(seq, 100, true, true, [1]));
    expect(rx.takeLoss()).toBeCloseTo(0.1, 2);
  });

  it('audio: level from the negotiated extension (silent without it), DTX flag on 1-2 byte packets', () => {
    const rx = new RtpToMedia('audio', 3, 111, 4);
    const p = (ext: boolean, size: number): Uint8Array => buildRtp({
      marker: false, payloadType: 111, sequence: 1, timestamp: 960, ssrc: 1, payload: new Uint8Array(size).fill(0xf8),
      extensions: ext ? [{ id: 4, data: Uint8Array.of(0x85) }] : [],
    });
    expect(decode(rx.toMediaFrame(p(true, 40)))).toMatchObject({ audioLevel: 0x85, flags: 0 });
    expect(decode(rx.toMediaFrame(p(false, 40)))).toMatchObject({ audioLevel: 127 });
    expect(decode(rx.toMediaFrame(p(true, 1)))).toMatchObject({ flags: MediaFlag.dtx });
  });

  it('drops and counts what is not its codec\'s RTP, never throws', () => {
    const rx = new RtpToMedia('video', 1, 96);
    expect(rx.toMediaFrame(vp8(1, 1, true, true, [0x10], 97))).toBeUndefined(); // another payload type
    expect(rx.toMediaFrame(vp8(1, 1, true, true, []))).toBeUndefined(); // descriptor only
    expect(rx.toMediaFrame(Uint8Array.of(0x80, 96))).toBeUndefined();
    expect(rx.toMediaFrame(buildRtp({ marker: false, payloadType: 96, sequence: 1, timestamp: 1, ssrc: 1, payload: Uint8Array.of(0xff) }))).toBeUndefined();
    expect(rx.stats()).toEqual({ packets: 0, malformed: 4 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const f = rx.toMediaFrame(b);
      if (f) expect(decodeMediaFrame(f).ok).toBe(true);
    }), { numRuns: 1000 });
  });
});
