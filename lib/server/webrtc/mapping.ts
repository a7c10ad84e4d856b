/**
 * RTP <-> media frames (docs/protocol.md §15.1 and §16.3), one track at a time, without I/O:
 *
 * - RtpToMedia: a browser publisher's RTP packets become the media frames of the stream's
 *   track, as a bot would send them: Opus payload as it is; VP8 without its payload
 *   descriptor, flags.keyframe on every packet of a keyframe (read from the frame tag of the
 *   frame's first packet, inherited by the rest of that timestamp), flags.marker from RTP's M;
 *   sequence, timestamp as they came; the RFC 6464 audio level extension into byte 10.
 * - MediaToRtp: a subscriber's media frames become RTP packets for a browser: its own SSRC
 *   and sequence numbers, the timestamp as it came; Opus as it is with the audio level
 *   extension; VP8 cut by packetizeVp8 with its own picture id, S only on a frame's first
 *   packet, M on its last. The packets sent in the last second (at most RETRANSMIT_PACKETS)
 *   stay in a ring, to answer NACKs.
 */
import {
  AUDIO_CLOCK_HZ, AUDIO_LEVEL_SILENT, decodeMediaFrame, encodeMediaFrame, MAX_MEDIA_PAYLOAD_BYTES, MediaFlag, VIDEO_CLOCK_HZ,
  type MediaKindName,
} from '../../wire';
import { audioLevelExtension, buildRtp, parseRtp } from './rtp';
import { isVp8KeyframeStart, packetizeVp8, parseVp8Descriptor } from './vp8';

/** Packets a MediaToRtp keeps for retransmission (a ring indexed by sequence number). */
export const RETRANSMIT_PACKETS = 512;
/** A packet older than this (ms) is not retransmitted: the browser's jitter buffer has moved on. */
export const RETRANSMIT_MAX_AGE_MS = 1000;
/** Largest RTP payload the edge sends (descriptor included): under a 1200-byte path MTU with headers, SRTP tag and extensions. */
export const MAX_RTP_PAYLOAD = 1100;

export interface RtpToMediaStats {
  /** RTP packets that became media frames */
  packets: number;
  /** dropped: not RTP, another payload type, a VP8 descriptor that does not parse, an empty or oversized payload */
  malformed: number;
}

export class RtpToMedia {
  /** the sender's SSRC, from its first packet */
  ssrc: number | undefined;
  packets = 0;
  malformed = 0;
  /** the loss window (takeLoss): highest extended sequence number seen, the first of the window, packets in it */
  private maxExt = -1;
  private windowFirst = -1;
  private windowReceived = 0;
  /** VP8: the timestamp of the last frame start seen, and whether that frame is a keyframe */
  private frameTimestamp = -1;
  private frameIsKey = false;

  constructor(
    readonly kind: MediaKindName,
    /** the stream's track for this kind (its media frames carry it) */
    private readonly track: number,
    private readonly payloadType: number,
    private readonly audioLevelId?: number,
  ) {}

  /** One RTP packet (not RTCP) from the browser: its media frame, or undefined (dropped, counted). */
  toMediaFrame(bytes: Uint8Array): Uint8Array | undefined {
    const r = parseRtp(bytes);
    if (!r.ok || r.packet.payloadType !== this.payloadType) {
      this.malformed++;
      return undefined;
    }
    const p = r.packet;
    this.ssrc = p.ssrc;
    this.countSequence(p.sequence);
    let payload = p.payload;
    let flags = p.marker ? MediaFlag.marker : 0;
    let audioLevel = 0;
    if (this.kind === 'audio') {
      audioLevel = AUDIO_LEVEL_SILENT;
      const ext = this.audioLevelId === undefined ? undefined : p.extensions.find((e) => e.id === this.audioLevelId);
      if (ext && ext.data.byteLength >= 1) audioLevel = ext.data[0] as number;
      if (payload.byteLength <= 2) flags |= MediaFlag.dtx; // Opus DTX / comfort noise (RFC 7587 §3.1.3)
    } else {
      const d = parseVp8Descriptor(payload);
      if (!d.ok) {
        this.malformed++;
        return undefined;
      }
      payload = payload.subarray(d.descriptor.size);
      if (d.descriptor.frameStart) {
        this.frameTimestamp = p.timestamp;
        this.frameIsKey = isVp8KeyframeStart(payload);
      }
      if (this.frameIsKey && this.frameTimestamp === p.timestamp) flags |= MediaFlag.keyframe;
    }
    if (payload.byteLength === 0 || payload.byteLength > MAX_MEDIA_PAYLOAD_BYTES) {
      this.malformed++;
      return undefined;
    }
    this.packets++;
    return encodeMediaFrame({ kind: this.kind, flags, track: this.track, sequence: p.sequence, timestamp: p.timestamp, audioLevel }, payload);
  }

  stats(): RtpToMediaStats {
    return { packets: this.packets, malformed: this.malformed };
  }

  /** Extends the 16-bit sequence number around the highest seen and counts the packet in the loss window. */
  private countSequence(seq: number): void {
    if (this.maxExt < 0) {
      this.maxExt = seq;
      this.windowFirst = seq;
      this.windowReceived = 1;
      return;
    }
    const delta = ((seq - (this.maxExt & 0xffff) + 0x8000) & 0xffff) - 0x8000; // -32768..32767
    const ext = this.maxExt + delta;
    if (ext > this.maxExt) this.maxExt = ext;
    if (ext >= this.windowFirst) this.windowReceived++;
  }

  /**
   * The fraction of packets lost since the last call (0..1; 0 before any packet): expected from
   * the sequence numbers, against those received (duplicates and reordering can make it < 0:
   * read as 0). Starts the next window.
   */
  takeLoss(): number {
    if (this.maxExt < 0) return 0;
    const expected = this.maxExt - this.windowFirst + 1;
    const lost = expected > 0 ? (expected - this.windowReceived) / expected : 0;
    this.windowFirst = this.maxExt + 1;
    this.windowReceived = 0;
    return Math.min(1, Math.max(0, lost));
  }
}

export interface MediaToRtpStats {
  /** RTP packets built */
  packets: number;
  /** payload bytes of those packets (RTP octet count) */
  octets: number;
  /** media frames that did not decode or were of the other kind (a bug upstream): dropped */
  dropped: number;
  /** packets sent again for a NACK */
  retransmitted: number;
  /** NACKed packets no longer (or never) in the ring */
  nackMissed: number;
}

interface Sent {
  seq: number;
  at: number;
  bytes: Uint8Array;
}

export class MediaToRtp {
  packets = 0;
  octets = 0;
  dropped = 0;
  retransmitted = 0;
  nackMissed = 0;
  private seq: number;
  private pictureId: number;
  /** VP8: the last media frame ended a video frame (marker): the next one starts a frame */
  private frameEnded = true;
  private lastTimestamp = -1;
  /** when the last packet was built (ms) and its RTP timestamp: the Sender Report's clock */
  private lastSentAt = -1;
  private readonly ring: Array<Sent | undefined> = new Array<Sent | undefined>(RETRANSMIT_PACKETS);

  constructor(
    readonly kind: MediaKindName,
    readonly ssrc: number,
    private readonly payloadType: number,
    private readonly audioLevelId: number | undefined,
    private readonly now: () => number = Date.now,
    random: () => number = Math.random,
  ) {
    this.seq = Math.floor(random() * 0x10000) & 0xffff;
    this.pictureId = Math.floor(random() * 0x8000) & 0x7fff;
  }

  /** A media frame of this kind: its RTP packets (one for audio; one or more for video). */
  fromMediaFrame(frame: Uint8Array): Uint8Array[] {
    const d = decodeMediaFrame(frame);
    if (!d.ok || d.frame.kind !== this.kind) {
      this.dropped++;
      return [];
    }
    const f = d.frame;
    const marker = (f.flags & MediaFlag.marker) !== 0;
    const at = this.now();
    const out: Uint8Array[] = [];
    if (this.kind === 'audio') {
      const extensions = this.audioLevelId === undefined ? [] : [audioLevelExtension(this.audioLevelId, f.audioLevel)];
      out.push(this.packet(marker, f.timestamp, f.payload, extensions, at));
    } else {
      const starts = this.frameEnded || f.timestamp !== this.lastTimestamp;
      if (starts) this.pictureId = (this.pictureId + 1) & 0x7fff;
      const chunks = packetizeVp8(f.payload, this.pictureId, MAX_RTP_PAYLOAD);
      if (!starts) (chunks[0] as Uint8Array)[0] = ((chunks[0] as Uint8Array)[0] as number) & ~0x10; // not the frame's first: no S
      chunks.forEach((c, i) => out.push(this.packet(marker && i === chunks.length - 1, f.timestamp, c, [], at)));
      this.frameEnded = marker;
    }
    this.lastTimestamp = f.timestamp;
    this.lastSentAt = at;
    return out;
  }

  private packet(marker: boolean, timestamp: number, payload: Uint8Array, extensions: ReturnType<typeof audioLevelExtension>[], at: number): Uint8Array {
    const sequence = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    const bytes = buildRtp({ marker, payloadType: this.payloadType, sequence, timestamp, ssrc: this.ssrc, extensions, payload });
    this.ring[sequence % RETRANSMIT_PACKETS] = { seq: sequence, at, bytes };
    this.packets++;
    this.octets += payload.byteLength;
    return bytes;
  }

  /** The packets a NACK asks for that are still in the ring and under RETRANSMIT_MAX_AGE_MS (each once per NACK). */
  retransmit(lost: readonly number[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    const now = this.now();
    const seen = new Set<number>();
    for (const s of lost) {
      if (seen.has(s) || seen.size >= RETRANSMIT_PACKETS) continue;
      seen.add(s);
      const e = this.ring[s % RETRANSMIT_PACKETS];
      if (e && e.seq === s && now - e.at <= RETRANSMIT_MAX_AGE_MS) out.push(e.bytes);
      else this.nackMissed++;
    }
    this.retransmitted += out.length;
    return out;
  }

  /**
   * What a Sender Report says now: the RTP timestamp that corresponds to `nowMs` (the last
   * packet's, advanced by the clock), with the counts; undefined before the first packet.
   */
  senderInfo(nowMs: number): { rtpTime: number; packets: number; octets: number } | undefined {
    if (this.lastSentAt < 0) return undefined;
    const clock = this.kind === 'audio' ? AUDIO_CLOCK_HZ : VIDEO_CLOCK_HZ;
    const rtpTime = (this.lastTimestamp + Math.round(((nowMs - this.lastSentAt) * clock) / 1000)) >>> 0;
    return { rtpTime, packets: this.packets >>> 0, octets: this.octets >>> 0 };
  }

  stats(): MediaToRtpStats {
    return { packets: this.packets, octets: this.octets, dropped: this.dropped, retransmitted: this.retransmitted, nackMissed: this.nackMissed };
  }
}
