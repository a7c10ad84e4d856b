/**
 * AudioSource: 16-bit PCM a bot publishes (a TTS engine, a file, a tone), as in LiveKit's Node
 * SDK. Pass it to `session.publish({ audioSource })`, then push frames with captureFrame():
 *
 *     const source = new AudioSource({ sampleRate: 48000, channels: 1 });
 *     const publisher = await session.publish({ name: 'bot', audioSource: source });
 *     await source.captureFrame({ data, sampleRate: 48000, channels: 1, samplesPerChannel: 960 });
 *
 * The samples are copied into the publisher's native queue (bounded: `queueMs`), which the core
 * encodes and sends in real time. captureFrame resolves once its frame is queued: when the queue
 * is full it waits until the core has drained it to half (back-pressure), so a producer that
 * awaits each call is paced by playback and can run ahead by at most `queueMs`. Frames whose
 * call is still waiting count in `queuedDuration`; they are bounded too (`queueMs` more), past
 * which captureFrame rejects (CONVENE_AUDIO_QUEUE_FULL): await the calls.
 *
 * clearQueue() (barge-in) drops what is queued and what is waiting; the waiting calls resolve.
 * When the publisher goes (unpublished, destroyed, session ended) the waiting calls reject and
 * the source can be published again.
 */
import { otError, type OTError } from './errors';
import { loadNative, type NativeSession } from './native';
import type { AudioChannels, AudioFrame, AudioSampleRate, AudioSourceOptions } from './types';

export const SAMPLE_RATES: readonly AudioSampleRate[] = [8000, 16000, 24000, 32000, 44100, 48000];
const QUEUE_FULL_NAME = 'CONVENE_AUDIO_QUEUE_FULL';

interface Waiting {
  frame: AudioFrame;
  ms: number;
  resolve(): void;
  reject(e: OTError): void;
}

/** Where the source writes: its publisher's native side. @internal */
export interface AudioSourceLink {
  readonly native: NativeSession;
  readonly pubId: number;
}

export class AudioSource {
  readonly sampleRate: AudioSampleRate;
  readonly channels: AudioChannels;
  /** the native queue's bound, in ms */
  readonly queueMs: number;
  private link: AudioSourceLink | undefined;
  private readonly waiting: Waiting[] = [];
  private waitingMs = 0;

  constructor(options: AudioSourceOptions) {
    if (options === null || typeof options !== 'object') throw otError(1011, 'AudioSource: options must be an object');
    const { sampleRate, channels, queueMs = 1000 } = options;
    if (!SAMPLE_RATES.includes(sampleRate)) throw otError(1011, `AudioSource: sampleRate must be one of ${SAMPLE_RATES.join(', ')}, got ${String(sampleRate)}`);
    if (channels !== 1 && channels !== 2) throw otError(1011, `AudioSource: channels must be 1 or 2, got ${String(channels)}`);
    if (!Number.isInteger(queueMs) || queueMs < 100 || queueMs > 60_000) throw otError(1011, `AudioSource: queueMs must be an integer from 100 to 60000, got ${String(queueMs)}`);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.queueMs = queueMs;
  }

  /** ms of audio queued and not sent yet, including frames whose captureFrame is waiting. */
  get queuedDuration(): number {
    const native = this.link ? this.link.native.queuedAudio(this.link.pubId) : 0;
    return Math.max(0, native) + this.waitingMs;
  }

  /** true while a publisher sends this source's audio */
  get isPublished(): boolean { return this.link !== undefined; }

  /**
   * Queues one frame (copied); resolves when it is in the native queue. Rejects with code 1011
   * for a frame that does not match the source, 1010 when the source is not published.
   */
  captureFrame(frame: AudioFrame): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const bad = this.check(frame);
      if (bad) return reject(otError(1011, `captureFrame: ${bad}`));
      if (!this.link) return reject(otError(1010, 'captureFrame: the AudioSource is not published (session.publish({ audioSource }))', 'OT_NOT_CONNECTED'));
      const ms = (frame.samplesPerChannel * 1000) / frame.sampleRate;
      const full = loadNative().AUDIO_QUEUE_FULL;
      if (this.waiting.length === 0) {
        const st = this.write(frame);
        if (st === 0) return resolve();
        if (st !== full) return reject(otError(1011, `captureFrame: the core refused the frame (status ${st})`));
      }
      if (this.waitingMs + ms > this.queueMs) {
        return reject(otError(full, `captureFrame: more than ${this.queueMs} ms of frames are waiting for room: await captureFrame before the next one`, QUEUE_FULL_NAME));
      }
      this.waiting.push({ frame, ms, resolve, reject });
      this.waitingMs += ms;
    });
  }

  /** Drops the queued audio and the frames waiting to be queued (their captureFrame resolves). */
  clearQueue(): void {
    if (this.link) this.link.native.clearAudio(this.link.pubId);
    const w = this.waiting.splice(0);
    this.waitingMs = 0;
    for (const x of w) x.resolve();
  }

  /** @internal session.publish binds the source to its native publisher */
  attach(link: AudioSourceLink): void {
    if (this.link) throw otError(1015, 'the AudioSource is already published by another publisher');
    this.link = link;
  }

  /** @internal the publisher is gone: waiting frames are refused */
  detach(): void {
    if (!this.link) return;
    this.link = undefined;
    const w = this.waiting.splice(0);
    this.waitingMs = 0;
    for (const x of w) x.reject(otError(1010, 'captureFrame: the publisher of this AudioSource went away', 'OT_NOT_CONNECTED'));
  }

  /** @internal the core drained the queue to half: write what waits, in order, while it fits */
  onSpace(): void {
    const full = loadNative().AUDIO_QUEUE_FULL;
    while (this.link && this.waiting.length > 0) {
      const x = this.waiting[0] as Waiting;
      const st = this.write(x.frame);
      if (st === full) return;
      this.waiting.shift();
      this.waitingMs -= x.ms;
      if (st === 0) x.resolve();
      else x.reject(otError(1011, `captureFrame: the core refused the frame (status ${st})`));
    }
  }

  private write(f: AudioFrame): number {
    const link = this.link as AudioSourceLink;
    return link.native.writeAudio(link.pubId, f.data, f.samplesPerChannel, f.sampleRate, f.channels);
  }

  private check(f: AudioFrame): string | undefined {
    if (f === null || typeof f !== 'object') return 'the frame must be an object';
    if (!(f.data instanceof Int16Array)) return 'data must be an Int16Array';
    if (f.sampleRate !== this.sampleRate) return `sampleRate ${String(f.sampleRate)} is not the source's (${this.sampleRate})`;
    if (f.channels !== this.channels) return `channels ${String(f.channels)} is not the source's (${this.channels})`;
    if (!Number.isInteger(f.samplesPerChannel) || f.samplesPerChannel <= 0) return 'samplesPerChannel must be a positive integer';
    if (f.data.length !== f.samplesPerChannel * f.channels) {
      return `data holds ${f.data.length} samples, samplesPerChannel * channels is ${f.samplesPerChannel * f.channels}`;
    }
    if ((f.samplesPerChannel * 1000) / f.sampleRate > this.queueMs) return `the frame is longer than the queue (${this.queueMs} ms)`;
    return undefined;
  }
}
