/**
 * Media frames of protocol v1.1 (docs/protocol.md, section 15): the fixed header every binary
 * WebSocket frame starts with, and its codec. RTP-like (RFC 3550) so that a WebRTC edge maps
 * one to the other field by field; the payload is the codec's packet as it is (Opus for audio).
 * Pure: bytes in, struct out, no I/O, nothing Node-only (Uint8Array / DataView): the browser
 * client uses it as it is.
 *
 * ```
 *  0               1               2               3
 *  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 * +-------+-------+---------------+-------------------------------+
 * |  ver  | kind  |     flags     |             track             |
 * +-------+-------+---------------+-------------------------------+
 * |           sequence            |     timestamp (high 16)       |
 * +-------------------------------+---------------+---------------+
 * |      timestamp (low 16)       |  audio level  |   reserved    |
 * +-------------------------------+---------------+---------------+
 * |  payload (codec packet) ...
 * ```
 * All numbers big-endian (network order, as RTP).
 */

/** Version in the header's high nibble: 1 (protocol v1.1's media frames). */
export const MEDIA_VERSION = 1;
/** Bytes of the fixed header. */
export const MEDIA_HEADER_BYTES = 12;
/**
 * Largest payload: any Opus packet (at most 1275 bytes per 20 ms frame, 6 frames of 20 ms in
 * the longest packet) fits with room to spare; video (a later revision) fragments its frames
 * into packets of at most this size, the last one with `marker` (as RTP does).
 */
export const MAX_MEDIA_PAYLOAD_BYTES = 16384;
/** Largest media frame, header included. */
export const MAX_MEDIA_FRAME_BYTES = MEDIA_HEADER_BYTES + MAX_MEDIA_PAYLOAD_BYTES;
/** Clock rate of audio timestamps (Opus's RTP clock, RFC 7587), whatever the capture rate. */
export const AUDIO_CLOCK_HZ = 48000;
/** Clock rate of video timestamps (RTP's video clock). */
export const VIDEO_CLOCK_HZ = 90000;
/** Audio level meaning silence (RFC 6464: -127 dBov). */
export const AUDIO_LEVEL_SILENT = 127;

export const MediaKind = { audio: 0, video: 1 } as const;
export type MediaKindName = keyof typeof MediaKind;
export type MediaKindValue = (typeof MediaKind)[MediaKindName];

/** Bits of the flags byte. Bits not named here are sent as 0 and ignored on receipt. */
export const MediaFlag = {
  /** RTP's marker: audio, the first packet after silence (talk spurt); video, the last packet of a frame */
  marker: 0x01,
  /** video: the packet belongs to a keyframe (a subscriber can start decoding here) */
  keyframe: 0x02,
  /** audio: a discontinuous-transmission packet (Opus DTX / comfort noise): the sender is silent */
  dtx: 0x04,
} as const;

export interface MediaHeader {
  kind: MediaKindName;
  /** MediaFlag bits */
  flags: number;
  /**
   * Which track: a number the server assigns per (stream, kind), unique in the session while the
   * stream lives, given to the publisher in the `publish` result and to subscribers in the
   * `subscribe` result. 1..65535.
   */
  track: number;
  /** 16 bits, +1 per packet of the track, wrapping (RTP) */
  sequence: number;
  /** 32 bits, wrapping; 48 kHz clock for audio (960 per 20 ms frame), 90 kHz for video */
  timestamp: number;
  /**
   * Audio: RFC 6464's client-to-mixer level: bit 7 voice activity, bits 0..6 the level in -dBov
   * (0 loudest, 127 silence). Lets the server and subscribers tell who speaks without decoding.
   * Video: 0.
   */
  audioLevel: number;
}

export interface MediaFrame extends MediaHeader {
  /** the codec packet: a view into the decoded bytes, not a copy */
  payload: Uint8Array;
}

/** Why a frame does not decode. */
export type MediaFrameProblem = 'short' | 'version' | 'kind' | 'track' | 'oversize';

export type MediaDecodeResult =
  | { ok: true; frame: MediaFrame }
  | { ok: false; problem: MediaFrameProblem; message: string };

const KIND_NAMES: readonly MediaKindName[] = ['audio', 'video'];

/** Decodes one binary frame. Never throws. The payload is a view into `bytes`. */
export function decodeMediaFrame(bytes: Uint8Array): MediaDecodeResult {
  if (bytes.byteLength < MEDIA_HEADER_BYTES) {
    return { ok: false, problem: 'short', message: `media frame of ${bytes.byteLength} bytes is shorter than its ${MEDIA_HEADER_BYTES}-byte header` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const b0 = view.getUint8(0);
  const version = b0 >> 4;
  if (version !== MEDIA_VERSION) {
    return { ok: false, problem: 'version', message: `media frame version ${version} is not supported (this side speaks ${MEDIA_VERSION})` };
  }
  const kind = KIND_NAMES[b0 & 0x0f];
  if (kind === undefined) return { ok: false, problem: 'kind', message: `media frame kind ${b0 & 0x0f} is unknown (0 audio, 1 video)` };
  const track = view.getUint16(2);
  if (track === 0) return { ok: false, problem: 'track', message: 'media frame track 0 is not a track' };
  const payloadBytes = bytes.byteLength - MEDIA_HEADER_BYTES;
  if (payloadBytes > MAX_MEDIA_PAYLOAD_BYTES) {
    return { ok: false, problem: 'oversize', message: `media payload of ${payloadBytes} bytes is over the limit of ${MAX_MEDIA_PAYLOAD_BYTES}` };
  }
  return {
    ok: true,
    frame: {
      kind,
      flags: view.getUint8(1),
      track,
      sequence: view.getUint16(4),
      timestamp: view.getUint32(6),
      audioLevel: view.getUint8(10),
      payload: bytes.subarray(MEDIA_HEADER_BYTES),
    },
  };
}

/**
 * Encodes a header and payload into a new frame. Throws RangeError for a field out of range
 * (a programming error of the sender: every decoded frame encodes back).
 */
export function encodeMediaFrame(header: MediaHeader, payload: Uint8Array): Uint8Array {
  checkField('track', header.track, 1, 0xffff);
  checkField('sequence', header.sequence, 0, 0xffff);
  checkField('timestamp', header.timestamp, 0, 0xffffffff);
  checkField('flags', header.flags, 0, 0xff);
  checkField('audioLevel', header.audioLevel, 0, 0xff);
  if (!(header.kind in MediaKind)) throw new RangeError(`media kind '${String(header.kind)}' is unknown`);
  if (payload.byteLength > MAX_MEDIA_PAYLOAD_BYTES) {
    throw new RangeError(`media payload of ${payload.byteLength} bytes is over the limit of ${MAX_MEDIA_PAYLOAD_BYTES}`);
  }
  const out = new Uint8Array(MEDIA_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, (MEDIA_VERSION << 4) | MediaKind[header.kind]);
  view.setUint8(1, header.flags);
  view.setUint16(2, header.track);
  view.setUint16(4, header.sequence);
  view.setUint32(6, header.timestamp);
  view.setUint8(10, header.audioLevel);
  view.setUint8(11, 0);
  out.set(payload, MEDIA_HEADER_BYTES);
  return out;
}

/** The track of an encoded frame, read without decoding the rest (0 when too short). */
export function mediaTrackOf(bytes: Uint8Array): number {
  return bytes.byteLength < MEDIA_HEADER_BYTES ? 0 : (bytes[2] as number) * 256 + (bytes[3] as number);
}

/** a - b for 16-bit wrapping sequence numbers, in -32768..32767 (RFC 1982 style). */
export function sequenceDelta(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

function checkField(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`media header field '${name}' must be an integer ${min}..${max}, got ${v}`);
}
