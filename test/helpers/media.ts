/**
 * Raw media frames for tests that speak protocol v1.1 over `ws` (test/media*.test.ts): a tap on a
 * client's binary frames and frames whose payload names their index.
 */
import { decodeMediaFrame, encodeMediaFrame, MediaFlag, type MediaFrame } from '../../lib/wire';
import type { TestClient } from './client';

/** The binary frames a client's current socket receives. */
export class Tap {
  readonly frames: Uint8Array[] = [];
  constructor(c: TestClient) { this.attach(c); }
  attach(c: TestClient): void {
    c.ws.on('message', (d: Buffer, isBinary: boolean) => { if (isBinary) this.frames.push(new Uint8Array(d)); });
  }
  decoded(): MediaFrame[] {
    return this.frames.map((f) => {
      const r = decodeMediaFrame(f);
      if (!r.ok) throw new Error(r.message);
      return r.frame;
    });
  }
}

/** An audio frame of track `track` whose payload names `i`. */
export function audio(track: number, i: number, payloadBytes = 40): Uint8Array {
  const payload = new Uint8Array(payloadBytes);
  new DataView(payload.buffer).setUint32(0, i);
  return encodeMediaFrame({ kind: 'audio', flags: i === 0 ? 1 : 0, track, sequence: i & 0xffff, timestamp: (i * 960) >>> 0, audioLevel: 40 }, payload);
}
export const indexOf = (f: MediaFrame): number => new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0);


/**
 * A video packet of track `track` whose payload names `i`: `keyframe` sets flags.keyframe,
 * `last` sets the marker (the last packet of its frame). 90 kHz timestamp of frame `frame`.
 */
export function video(track: number, i: number, o: { keyframe?: boolean; last?: boolean; frame?: number; payloadBytes?: number } = {}): Uint8Array {
  const payload = new Uint8Array(o.payloadBytes ?? 200);
  new DataView(payload.buffer).setUint32(0, i);
  const flags = (o.keyframe ? MediaFlag.keyframe : 0) | (o.last ?? true ? MediaFlag.marker : 0);
  return encodeMediaFrame({ kind: 'video', flags, track, sequence: i & 0xffff, timestamp: ((o.frame ?? i) * 3000) >>> 0, audioLevel: 0 }, payload);
}
