/**
 * RTP packets (RFC 3550 §5.1) with RFC 8285 header extensions, for the WebRTC edge: bytes in,
 * struct out, and back. Pure: no I/O, no Node-only API. Never throws on input from the
 * network (`parseRtp` answers a reason instead); throws RangeError only for a bad value the
 * edge itself builds.
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * |                           timestamp                           |
 * |           synchronization source (SSRC) identifier            |
 * |            contributing source (CSRC) identifiers (CC)        |
 * |  0xBEDE (one-byte) or 0x100x (two-byte)  |  length in words   |  X: extensions
 * |  payload ...                                    | padding | n |  P: padding
 * ```
 */

export const RTP_HEADER_BYTES = 12;

/** One RFC 8285 header extension element. */
export interface RtpExtension {
  /** 1..14 (one-byte form) or 1..255 (two-byte form) */
  id: number;
  data: Uint8Array;
}

export interface RtpPacket {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  extensions: RtpExtension[];
  /** a view into the parsed bytes (padding removed) */
  payload: Uint8Array;
}

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; reason: string };

/** Whether bytes look like RTP or RTCP (RFC 5761 demultiplexing on a muxed port): RTCP types 192..223. */
export function isRtcp(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && (bytes[1] as number) >= 192 && (bytes[1] as number) <= 223;
}

export function parseRtp(bytes: Uint8Array): RtpParseResult {
  if (bytes.byteLength < RTP_HEADER_BYTES) return { ok: false, reason: `${bytes.byteLength} bytes: shorter than an RTP header` };
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = v.getUint8(0);
  if (b0 >> 6 !== 2) return { ok: false, reason: `RTP version ${b0 >> 6}, not 2` };
  const padding = (b0 & 0x20) !== 0;
  const hasExt = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = v.getUint8(1);
  let at = RTP_HEADER_BYTES + 4 * cc;
  if (at > bytes.byteLength) return { ok: false, reason: `${cc} CSRCs do not fit` };
  const csrcs: number[] = [];
  for (let i = 0; i < cc; i++) csrcs.push(v.getUint32(RTP_HEADER_BYTES + 4 * i));
  const extensions: RtpExtension[] = [];
  if (hasExt) {
    if (at + 4 > bytes.byteLength) return { ok: false, reason: 'extension header does not fit' };
    const profile = v.getUint16(at);
    const words = v.getUint16(at + 2);
    const start = at + 4;
    const end = start + 4 * words;
    if (end > bytes.byteLength) return { ok: false, reason: 'extension block does not fit' };
    const r = profile === 0xbede ? oneByte(bytes, start, end) : (profile & 0xfff0) === 0x1000 ? twoByte(bytes, start, end) : [];
    if (r === undefined) return { ok: false, reason: 'malformed header extension' };
    extensions.push(...r);
    at = end;
  }
  let end = bytes.byteLength;
  if (padding) {
    const n = bytes[end - 1] as number;
    if (n === 0 || end - n < at) return { ok: false, reason: `padding of ${n} bytes does not fit` };
    end -= n;
  }
  return {
    ok: true,
    packet: {
      marker: (b1 & 0x80) !== 0, payloadType: b1 & 0x7f, sequence: v.getUint16(2), timestamp: v.getUint32(4),
      ssrc: v.getUint32(8), csrcs, extensions, payload: bytes.subarray(at, end),
    },
  };
}

function oneByte(b: Uint8Array, start: number, end: number): RtpExtension[] | undefined {
  const out: RtpExtension[] = [];
  let i = start;
  while (i < end) {
    const h = b[i] as number;
    if (h === 0) { i++; continue; } // padding byte
    const id = h >> 4;
    if (id === 15) break; // reserved: stop processing (RFC 8285 §4.2)
    const len = (h & 0x0f) + 1;
    if (i + 1 + len > end) return undefined;
    out.push({ id, data: b.subarray(i + 1, i + 1 + len) });
    i += 1 + len;
  }
  return out;
}

function twoByte(b: Uint8Array, start: number, end: number): RtpExtension[] | undefined {
  const out: RtpExtension[] = [];
  let i = start;
  while (i < end) {
    const id = b[i] as number;
    if (id === 0) { i++; continue; }
    if (i + 2 > end) return undefined;
    const len = b[i + 1] as number;
    if (i + 2 + len > end) return undefined;
    out.push({ id, data: b.subarray(i + 2, i + 2 + len) });
    i += 2 + len;
  }
  return out;
}

export interface RtpBuild {
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** one-byte form (ids 1..14, 1..16 bytes each) */
  extensions?: RtpExtension[];
  payload: Uint8Array;
}

/** Serializes a packet (no CSRCs, no padding; extensions in the one-byte form). */
export function buildRtp(p: RtpBuild): Uint8Array {
  check('payloadType', p.payloadType, 0, 127);
  check('sequence', p.sequence, 0, 0xffff);
  check('timestamp', p.timestamp, 0, 0xffffffff);
  check('ssrc', p.ssrc, 0, 0xffffffff);
  const exts = p.extensions ?? [];
  let extBytes = 0;
  for (const e of exts) {
    check('extension id', e.id, 1, 14);
    check('extension length', e.data.byteLength, 1, 16);
    extBytes += 1 + e.data.byteLength;
  }
  const extWords = Math.ceil(extBytes / 4);
  const head = RTP_HEADER_BYTES + (exts.length > 0 ? 4 + 4 * extWords : 0);
  const out = new Uint8Array(head + p.payload.byteLength);
  const v = new DataView(out.buffer);
  v.setUint8(0, 0x80 | (exts.length > 0 ? 0x10 : 0));
  v.setUint8(1, (p.marker ? 0x80 : 0) | p.payloadType);
  v.setUint16(2, p.sequence);
  v.setUint32(4, p.timestamp);
  v.setUint32(8, p.ssrc);
  if (exts.length > 0) {
    v.setUint16(12, 0xbede);
    v.setUint16(14, extWords);
    let i = 16;
    for (const e of exts) {
      out[i] = (e.id << 4) | (e.data.byteLength - 1);
      out.set(e.data, i + 1);
      i += 1 + e.data.byteLength;
    }
  }
  out.set(p.payload, head);
  return out;
}

function check(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`RTP ${name} must be an integer ${min}..${max}, got ${v}`);
}

/**
 * RFC 6464 client-to-mixer audio level extension data (one byte: V bit 7, level 0..127 -dBov):
 * the same byte as the media frame's `audioLevel`, so the edge copies it both ways.
 */
export function audioLevelExtension(id: number, audioLevel: number): RtpExtension {
  return { id, data: Uint8Array.of(audioLevel & 0xff) };
}
