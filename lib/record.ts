/**
 * A WAV recorder for `convene join --record FILE.wav`: mixes the audio of several streams
 * onto one timeline and writes 16-bit PCM in a RIFF/WAVE container (the header is written by
 * hand: it is a container, not a codec).
 *
 * Each stream's frames are placed one after the other from where its first frame arrived
 * (its timestamp relative to the recording's start); frames of different streams that
 * overlap are summed (and clipped). The mix is kept in memory for `windowMs` only: what is
 * older than the newest sample by more than that is written out, so memory stays bounded
 * however long the recording; a frame that would land before what was written is dropped.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ReceivedAudioFrame } from './client/types';

const HEADER = 44;

/** The 44-byte header of a PCM WAV file of `dataBytes` bytes of 16-bit samples. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(HEADER);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28); // byte rate
  h.writeUInt16LE(channels * 2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

interface Track { next: number } // sample position (per channel) of its next frame

export class WavRecorder {
  private readonly fd: number;
  private readonly mix: Int32Array; // interleaved, `capacity` samples per channel from `base`
  private readonly capacity: number;
  private base = 0; // position (per channel) of mix[0]; everything before is in the file
  private end = 0; // one past the newest sample placed
  private written = 0; // data bytes in the file
  private readonly tracks = new Map<string, Track>();
  private closed = false;
  /** frames that arrived too late to be mixed, or in another format */
  dropped = 0;

  constructor(path: string, readonly sampleRate: number, readonly channels: number, private readonly t0 = Date.now(), windowMs = 1000) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, wavHeader(sampleRate, channels, 0));
    this.capacity = Math.ceil((sampleRate * windowMs) / 1000);
    this.mix = new Int32Array(this.capacity * channels);
  }

  /** Places one frame of `track` on the timeline. */
  add(track: string, f: ReceivedAudioFrame): void {
    if (this.closed) return;
    if (f.sampleRate !== this.sampleRate || f.channels !== this.channels) { this.dropped++; return; }
    let t = this.tracks.get(track);
    if (!t) {
      t = { next: Math.max(0, Math.round(((f.timestamp - this.t0) * this.sampleRate) / 1000) - f.samplesPerChannel) };
      this.tracks.set(track, t);
    }
    const at = t.next;
    t.next += f.samplesPerChannel;
    if (at < this.base) { this.dropped++; return; }
    const last = at + f.samplesPerChannel;
    while (last > this.base + this.capacity) this.flush(last - this.capacity); // a gap is written as silence
    const ch = this.channels;
    for (let i = 0; i < f.data.length; i++) {
      const k = (at - this.base) * ch + i;
      this.mix[k] = (this.mix[k] as number) + (f.data[i] as number);
    }
    this.end = Math.max(this.end, last);
  }

  /** Writes out the timeline up to `upTo` (per-channel position), then forgets it. */
  private flush(upTo: number): void {
    const n = Math.min(upTo, this.base + this.capacity) - this.base;
    if (n <= 0) return;
    const ch = this.channels;
    const out = Buffer.alloc(n * ch * 2);
    for (let i = 0; i < n * ch; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, this.mix[i] as number)), i * 2);
    writeSync(this.fd, out, 0, out.length, HEADER + this.written);
    this.written += out.length;
    this.mix.copyWithin(0, n * ch);
    this.mix.fill(0, (this.capacity - n) * ch);
    this.base += n;
  }

  /** Writes what is left, completes the header and closes the file. Returns the data bytes written. */
  close(): number {
    if (this.closed) return this.written;
    this.closed = true;
    this.flush(this.end);
    writeSync(this.fd, wavHeader(this.sampleRate, this.channels, this.written), 0, HEADER, 0);
    closeSync(this.fd);
    return this.written;
  }
}
