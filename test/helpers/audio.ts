/** Tones, their detection (Goertzel) and a paced tone publisher, for the audio tests. */
import type { AudioSource, ReceivedAudioFrame } from '../../lib/index';

/** A sine of `freq` Hz, `n` samples per channel at `rate`, starting at sample `start` (mono or duplicated to stereo). */
export function tone(freq: number, rate: number, n: number, start = 0, channels = 1, amplitude = 0.5): Int16Array {
  const out = new Int16Array(n * channels);
  for (let i = 0; i < n; i++) {
    const v = Math.round(Math.sin((2 * Math.PI * freq * (start + i)) / rate) * amplitude * 32767);
    for (let c = 0; c < channels; c++) out[i * channels + c] = v;
  }
  return out;
}

/** Goertzel: the power of `freq` in `x` (mono, or the first channel of interleaved), normalized by length. */
export function goertzel(x: Int16Array, rate: number, freq: number, channels = 1): number {
  const n = Math.floor(x.length / channels);
  const k = Math.round((n * freq) / rate);
  const w = (2 * Math.PI * k) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = (x[i * channels] as number) / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
}

/** Root mean square of a frame, 0..1. */
export function rms(x: Int16Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += ((x[i] as number) / 32768) ** 2;
  return x.length ? Math.sqrt(s / x.length) : 0;
}

/** Concatenates frames' samples. */
export function concat(frames: ReceivedAudioFrame[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.data.length, 0));
  let at = 0;
  for (const f of frames) { out.set(f.data, at); at += f.data.length; }
  return out;
}

/**
 * Pushes `ms` of a `freq` tone into `source` in `frameMs` frames, awaiting each captureFrame:
 * the source's back-pressure paces it (it runs at most the queue's length ahead). Stops early
 * when `stop()` says so. Resolves with the frames written.
 */
export async function pushTone(source: AudioSource, freq: number, ms: number, stop: () => boolean = () => false, frameMs = 20): Promise<number> {
  const rate = source.sampleRate;
  const n = (rate * frameMs) / 1000;
  let written = 0;
  for (let t = 0; t < ms && !stop(); t += frameMs) {
    await source.captureFrame({ data: tone(freq, rate, n, written * n, source.channels), sampleRate: rate, channels: source.channels, samplesPerChannel: n });
    written++;
  }
  return written;
}

/** Reads frames from an iterator into `into` until it ends (or `stop()` after a frame). */
export async function collect(it: AsyncIterable<ReceivedAudioFrame>, into: ReceivedAudioFrame[], stop: () => boolean = () => false): Promise<void> {
  for await (const f of it) {
    into.push(f);
    if (stop()) break;
  }
}
