/**
 * RTCP (RFC 3550 §6, RFC 4585 feedback, RFC 5104 FIR) for the WebRTC edge: a compound packet
 * parsed into the messages the edge acts on (receiver reports for the browser path's bitrate,
 * PLI / FIR → keyframe requests, generic NACK → retransmissions) and the few it sends. Pure,
 * never throws on input; unknown packet types are skipped.
 */

export interface ReportBlock {
  ssrc: number;
  /** fraction of packets lost since the last report, 0..255 (/256) */
  fractionLost: number;
  cumulativeLost: number;
  highestSequence: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export type RtcpMessage =
  | { type: 'sr'; ssrc: number; ntpTime: bigint; rtpTime: number; packets: number; octets: number; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'nack'; sender: number; media: number; lost: number[] }
  | { type: 'pli'; sender: number; media: number }
  | { type: 'fir'; sender: number; entries: Array<{ ssrc: number; seq: number }> }
  | { type: 'remb'; sender: number; bitrate: number; ssrcs: number[] }
  | { type: 'bye'; ssrcs: number[] };

export interface RtcpParse {
  messages: RtcpMessage[];
  /** packets of the compound that did not parse (the rest still count) */
  malformed: number;
}

export function parseRtcp(bytes: Uint8Array): RtcpParse {
  const messages: RtcpMessage[] = [];
  let malformed = 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.byteLength) {
    const b0 = v.getUint8(at);
    const pt = v.getUint8(at + 1);
    const len = 4 * (v.getUint16(at + 2) + 1);
    if (b0 >> 6 !== 2 || at + len > bytes.byteLength) {
      malformed++;
      break; // the rest of the compound cannot be found
    }
    const count = b0 & 0x1f;
    const m = parseOne(v, at, len, pt, count);
    if (m === undefined) malformed++;
    else if (m !== null) messages.push(m);
    at += len;
  }
  if (at < bytes.byteLength && malformed === 0) malformed++;
  return { messages, malformed };
}

/** undefined: malformed; null: a type the edge does not use (SDES, APP, XR, ...). */
function parseOne(v: DataView, at: number, len: number, pt: number, count: number): RtcpMessage | null | undefined {
  const end = at + len;
  switch (pt) {
    case 200: { // SR
      if (len < 28 + 24 * count) return undefined;
      return {
        type: 'sr', ssrc: v.getUint32(at + 4), ntpTime: v.getBigUint64(at + 8), rtpTime: v.getUint32(at + 16),
        packets: v.getUint32(at + 20), octets: v.getUint32(at + 24), reports: blocks(v, at + 28, count),
      };
    }
    case 201: // RR
      if (len < 8 + 24 * count) return undefined;
      return { type: 'rr', ssrc: v.getUint32(at + 4), reports: blocks(v, at + 8, count) };
    case 203: { // BYE
      if (len < 4 + 4 * count) return undefined;
      const ssrcs = [];
      for (let i = 0; i < count; i++) ssrcs.push(v.getUint32(at + 4 + 4 * i));
      return { type: 'bye', ssrcs };
    }
    case 205: { // RTPFB
      if (len < 12) return undefined;
      if (count !== 1) return null; // only generic NACK
      const lost: number[] = [];
      for (let i = at + 12; i + 4 <= end; i += 4) {
        const pid = v.getUint16(i);
        const blp = v.getUint16(i + 2);
        lost.push(pid);
        for (let b = 0; b < 16; b++) if (blp & (1 << b)) lost.push((pid + b + 1) & 0xffff);
      }
      return { type: 'nack', sender: v.getUint32(at + 4), media: v.getUint32(at + 8), lost };
    }
    case 206: { // PSFB
      if (len < 12) return undefined;
      const sender = v.getUint32(at + 4);
      if (count === 1) return { type: 'pli', sender, media: v.getUint32(at + 8) };
      if (count === 4) {
        const entries = [];
        for (let i = at + 12; i + 8 <= end; i += 8) entries.push({ ssrc: v.getUint32(i), seq: v.getUint8(i + 4) });
        return { type: 'fir', sender, entries };
      }
      if (count === 15 && len >= 20 && v.getUint32(at + 12) === 0x52454d42) { // 'REMB'
        const n = v.getUint8(at + 16);
        const exp = v.getUint8(at + 17) >> 2;
        const mantissa = ((v.getUint8(at + 17) & 0x03) << 16) | v.getUint16(at + 18);
        if (len < 20 + 4 * n) return undefined;
        const ssrcs = [];
        for (let i = 0; i < n; i++) ssrcs.push(v.getUint32(at + 20 + 4 * i));
        return { type: 'remb', sender, bitrate: mantissa * 2 ** exp, ssrcs };
      }
      return null;
    }
    default:
      return null;
  }
}

function blocks(v: DataView, at: number, count: number): ReportBlock[] {
  const out: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + 24 * i;
    const lostWord = v.getUint32(o + 4);
    let cumulativeLost = lostWord & 0xffffff;
    if (cumulativeLost & 0x800000) cumulativeLost -= 0x1000000; // signed 24 bits
    out.push({
      ssrc: v.getUint32(o), fractionLost: lostWord >>> 24, cumulativeLost, highestSequence: v.getUint32(o + 8),
      jitter: v.getUint32(o + 12), lastSr: v.getUint32(o + 16), delaySinceLastSr: v.getUint32(o + 20),
    });
  }
  return out;
}

function header(pt: number, count: number, words: number): Uint8Array {
  const out = new Uint8Array(4 * (words + 1));
  const v = new DataView(out.buffer);
  v.setUint8(0, 0x80 | count);
  v.setUint8(1, pt);
  v.setUint16(2, words);
  return out;
}

/** A Picture Loss Indication asking `media` for a keyframe. */
export function buildPli(sender: number, media: number): Uint8Array {
  const out = header(206, 1, 2);
  const v = new DataView(out.buffer);
  v.setUint32(4, sender >>> 0);
  v.setUint32(8, media >>> 0);
  return out;
}

/** A Full Intra Request (RFC 5104) with command sequence number `seq` (0..255, +1 per new request). */
export function buildFir(sender: number, media: number, seq: number): Uint8Array {
  const out = header(206, 4, 4);
  const v = new DataView(out.buffer);
  v.setUint32(4, sender >>> 0);
  v.setUint32(8, 0);
  v.setUint32(12, media >>> 0);
  v.setUint8(16, seq & 0xff);
  return out;
}

/** A generic NACK for the given lost sequence numbers (packed into PID + bitmask pairs). */
export function buildNack(sender: number, media: number, lost: readonly number[]): Uint8Array {
  const sorted = [...new Set(lost.map((s) => s & 0xffff))].sort((a, b) => a - b);
  const pairs: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = pairs[pairs.length - 1];
    const d = last ? (s - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else pairs.push([s, 0]);
  }
  const out = header(205, 1, 2 + pairs.length);
  const v = new DataView(out.buffer);
  v.setUint32(4, sender >>> 0);
  v.setUint32(8, media >>> 0);
  pairs.forEach(([pid, blp], i) => {
    v.setUint16(12 + 4 * i, pid);
    v.setUint16(14 + 4 * i, blp);
  });
  return out;
}

/**
 * Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb): the most `bitrate` bits/s
 * the receiver wants the senders of `ssrcs` to use together. PSFB (206), FMT 15, media SSRC 0,
 * 'REMB', the SSRC count, the bitrate as an 18-bit mantissa and a 6-bit exponent.
 */
export function buildRemb(sender: number, bitrate: number, ssrcs: readonly number[]): Uint8Array {
  const n = Math.min(ssrcs.length, 255);
  const out = header(206, 15, 4 + n);
  const v = new DataView(out.buffer);
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (mantissa >= 0x40000 && exp < 63) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  v.setUint32(4, sender >>> 0);
  v.setUint32(8, 0);
  v.setUint32(12, 0x52454d42); // 'REMB'
  v.setUint8(16, n);
  v.setUint8(17, (exp << 2) | (mantissa >> 16));
  v.setUint16(18, mantissa & 0xffff);
  for (let i = 0; i < n; i++) v.setUint32(20 + 4 * i, (ssrcs[i] as number) >>> 0);
  return out;
}

/**
 * The next REMB estimate for a publisher, once a second, from the fraction of its video packets
 * lost over that second (the loss-based rule of Google congestion control, RFC draft
 * draft-ietf-rmcat-gcc §6): over 10 % lost, down by half the loss; under 2 %, up 8 %; between,
 * held. Within [min, max].
 */
export function nextRembBitrate(current: number, lossFraction: number, min: number, max: number): number {
  let next = current;
  if (lossFraction > 0.1) next = current * (1 - 0.5 * lossFraction);
  else if (lossFraction < 0.02) next = current * 1.08;
  return Math.round(Math.min(max, Math.max(min, next)));
}

/**
 * A Sender Report with no report block: `ntpTime` the 64-bit NTP timestamp of `rtpTime`
 * (RFC 3550 §6.4.1), with the packet and octet counts sent so far (both wrap at 32 bits).
 */
export function buildSr(ssrc: number, ntpTime: bigint, rtpTime: number, packets: number, octets: number): Uint8Array {
  const out = header(200, 0, 6);
  const v = new DataView(out.buffer);
  v.setUint32(4, ssrc >>> 0);
  v.setBigUint64(8, BigInt.asUintN(64, ntpTime));
  v.setUint32(16, rtpTime >>> 0);
  v.setUint32(20, packets >>> 0);
  v.setUint32(24, octets >>> 0);
  return out;
}

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800n;

/** A Unix time in ms as a 64-bit NTP timestamp (32.32 fixed point seconds since 1900). */
export function ntpFromUnixMs(ms: number): bigint {
  const whole = BigInt(Math.floor(ms / 1000)) + NTP_UNIX_OFFSET_S;
  const frac = BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
  return BigInt.asUintN(64, (whole << 32n) | frac);
}
