/**
 * The demo bots' voices and ears: each bot publishes a tone of its own pitch from an
 * AudioSource, subscribes to the others at 16 kHz mono and tells which pitch it hears on each
 * stream (Goertzel over the last half second of sound).
 */
import type { AudioSource } from '../client/audio-source';
import type { Subscriber } from '../client/subscriber';
import type { ReceivedAudioFrame } from '../client/types';

export const PITCHES = [440, 660, 880] as const;

/** Keeps a tone flowing into `source` (20 ms frames, paced by captureFrame's back-pressure) until stop(). */
export async function sing(source: AudioSource, freq: number, stopped: () => boolean): Promise<void> {
  const rate = source.sampleRate;
  const n = (rate * 20) / 1000;
  let at = 0;
  while (!stopped()) {
    const data = new Int16Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.round(Math.sin((2 * Math.PI * freq * (at + i)) / rate) * 0.3 * 32767);
    at += n;
    try {
      await source.captureFrame({ data, sampleRate: rate, channels: 1, samplesPerChannel: n });
    } catch {
      // unpublished meanwhile (the end of the demo): nothing left to sing to
      if (!source.isPublished) return;
    }
  }
}

/** The power of `freq` in `x` (Goertzel), normalized by length. */
export function goertzel(x: Int16Array, rate: number, freq: number): number {
  const n = x.length;
  const w = (2 * Math.PI * Math.round((n * freq) / rate)) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = (x[i] as number) / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
}

const peak = (f: ReceivedAudioFrame): number => f.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** What one bot hears on one subscribed stream. */
export class Ear {
  /** the last frames with sound, at most WINDOW */
  private recent: ReceivedAudioFrame[] = [];
  /** frames with sound since the last mark() */
  heard = 0;
  private static readonly WINDOW = 50; // 0.5 s of 10 ms frames

  constructor(readonly from: string, readonly subscriber: Subscriber) {
    void this.listen();
  }

  private async listen(): Promise<void> {
    for await (const f of this.subscriber.audioFrames({ maxQueuedMs: 1000 })) {
      if (peak(f) < 1000) continue; // silence
      this.heard++;
      this.recent.push(f);
      if (this.recent.length > Ear.WINDOW) this.recent.shift();
    }
  }

  /** Forgets what was heard (to hear afresh, e.g. after a network cut). */
  mark(): void {
    this.heard = 0;
    this.recent = [];
  }

  /** The loudest of PITCHES in the recent sound, or undefined before enough was heard. */
  pitch(): number | undefined {
    if (this.recent.length < Ear.WINDOW) return undefined;
    const pcm = new Int16Array(this.recent.reduce((n, f) => n + f.data.length, 0));
    let at = 0;
    for (const f of this.recent) { pcm.set(f.data, at); at += f.data.length; }
    const rate = this.recent[0]?.sampleRate ?? 16000;
    let best: number | undefined;
    let bestPower = 1e-4;
    for (const p of PITCHES) {
      const power = goertzel(pcm, rate, p);
      if (power > bestPower) { best = p; bestPower = power; }
    }
    return best;
  }
}
