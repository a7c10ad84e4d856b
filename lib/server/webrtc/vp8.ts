/**
 * The VP8 RTP payload format (RFC 7741): the payload descriptor in front of each RTP payload,
 * a frame cut into RTP payloads, and what the edge needs back (where a frame starts, whether
 * it is a keyframe). Pure, no I/O.
 *
 * ```
 *       0 1 2 3 4 5 6 7
 *      |X|R|N|S|R| PID |   required: X extension, N non-reference, S start of partition
 *   X: |I|L|T|K| RSV   |   I picture id, L TL0PICIDX, T TID, K KEYIDX present
 *   I: |M| PictureID   |   M: 15-bit picture id (a second byte)
 *      |   PictureID   |
 *   L: |   TL0PICIDX   |
 * T/K: |TID|Y| KEYIDX  |
 * ```
 */

export interface Vp8Descriptor {
  /** S=1 and PID=0: the packet starts a frame */
  frameStart: boolean;
  nonReference: boolean;
  partitionId: number;
  /** 7- or 15-bit picture id, when present */
  pictureId?: number;
  /** bytes of the descriptor: the VP8 payload starts here */
  size: number;
}

export type Vp8ParseResult = { ok: true; descriptor: Vp8Descriptor } | { ok: false; reason: string };

/** Parses the descriptor at the start of an RTP payload. Never throws. */
export function parseVp8Descriptor(p: Uint8Array): Vp8ParseResult {
  if (p.byteLength < 1) return { ok: false, reason: 'empty VP8 payload' };
  const b0 = p[0] as number;
  let at = 1;
  let pictureId: number | undefined;
  if (b0 & 0x80) {
    if (p.byteLength < 2) return { ok: false, reason: 'VP8 descriptor: X set but no extension byte' };
    const x = p[1] as number;
    at = 2;
    if (x & 0x80) {
      if (p.byteLength < at + 1) return { ok: false, reason: 'VP8 descriptor: picture id missing' };
      const m = p[at] as number;
      if (m & 0x80) {
        if (p.byteLength < at + 2) return { ok: false, reason: 'VP8 descriptor: 15-bit picture id cut short' };
        pictureId = ((m & 0x7f) << 8) | (p[at + 1] as number);
        at += 2;
      } else {
        pictureId = m & 0x7f;
        at += 1;
      }
    }
    if (x & 0x40) at += 1; // TL0PICIDX
    if (x & 0x30) at += 1; // TID / KEYIDX share one byte
    if (at > p.byteLength) return { ok: false, reason: 'VP8 descriptor longer than the payload' };
  }
  const partitionId = b0 & 0x0f;
  if (partitionId > 8) return { ok: false, reason: `VP8 partition id ${partitionId} over 8` };
  return {
    ok: true,
    descriptor: { frameStart: (b0 & 0x10) !== 0 && partitionId === 0, nonReference: (b0 & 0x20) !== 0, partitionId, pictureId, size: at },
  };
}

/**
 * Whether the VP8 payload (after the descriptor) of a frame's first packet begins a keyframe:
 * the frame tag's inverse key-frame bit (RFC 6386 §9.1), 0 for a keyframe.
 */
export function isVp8KeyframeStart(vp8: Uint8Array): boolean {
  return vp8.byteLength >= 3 && ((vp8[0] as number) & 0x01) === 0;
}

/**
 * Cuts an encoded VP8 frame into RTP payloads of at most `maxPayload` bytes, each with a
 * descriptor carrying the 15-bit picture id (browsers' decoders use it to tell frames apart),
 * S on the first. Sizes are balanced. The caller sets the RTP marker on the last.
 */
export function packetizeVp8(frame: Uint8Array, pictureId: number, maxPayload = 1200): Uint8Array[] {
  const DESCRIPTOR = 4; // X|S, I, M|pid hi, pid lo
  if (!Number.isInteger(maxPayload) || maxPayload <= DESCRIPTOR) throw new RangeError(`maxPayload must be over ${DESCRIPTOR}, got ${maxPayload}`);
  const room = maxPayload - DESCRIPTOR;
  const n = Math.max(1, Math.ceil(frame.byteLength / room));
  const base = Math.floor(frame.byteLength / n);
  const extra = frame.byteLength % n;
  const out: Uint8Array[] = [];
  let at = 0;
  const pid = pictureId & 0x7fff;
  for (let i = 0; i < n; i++) {
    const len = base + (i < extra ? 1 : 0);
    const pkt = new Uint8Array(DESCRIPTOR + len);
    pkt[0] = 0x80 | (i === 0 ? 0x10 : 0);
    pkt[1] = 0x80;
    pkt[2] = 0x80 | (pid >> 8);
    pkt[3] = pid & 0xff;
    pkt.set(frame.subarray(at, at + len), DESCRIPTOR);
    out.push(pkt);
    at += len;
  }
  return out;
}
