/**
 * Subscriber: the receiving side of a stream, as in OpenTok.js (`session.subscribe(stream)`),
 * delivering the stream's audio as 16-bit PCM frames in the format asked for:
 *
 *     const subscriber = await session.subscribe(stream, { audio: { sampleRate: 16000, channels: 1 } });
 *     for await (const frame of subscriber.audioFrames()) recognizer.write(frame.data);
 *
 * The core decodes and resamples on its media thread; frames reach JavaScript in batches through
 * the session's event pump. Every buffer on the way is bounded: the native one (`bufferMs`, for
 * when the JavaScript thread is busy) and each iterator's (`maxQueuedMs`, for a consumer that
 * stops reading); both drop the oldest audio and count it (`stats`).
 *
 * Events (OpenTok.js event objects, see ./events and SubscriberEvents in ./types):
 *   disconnected       the publisher's connection was interrupted (it may resume)
 *   connected          the stream is back after `disconnected`
 *   audioLevelUpdated  { audioLevel } about every 60 ms while audio arrives (peak, 0..1)
 *   destroyed          { reason }: unsubscribed, stream destroyed, session ended, or error;
 *                      every audioFrames() iterator ends
 */
import { AudioFrameSinks } from './audio-frames';
import { EventDispatcher } from './dispatcher';
import type { OTError } from './errors';
import { makeEvent } from './events';
import type { NativeMediaStats, NativeSession } from './native';
import type { Session } from './session';
import type {
  AudioFrameIterator, AudioFramesOptions, MediaStats, ReceivedAudioFrame, Stream, SubscriberDestroyedReason,
  SubscriberEvents, SubscriberStats,
} from './types';

/** What a Subscriber needs of its session. @internal */
export interface SubscriberLink {
  readonly native: NativeSession;
  /** the subscription's number in its session */
  readonly subId: number;
}

/** audioLevelUpdated at most this often (OpenTok.js: about every 60 ms) */
const LEVEL_INTERVAL_MS = 60;
/** per-frame fields of a SubAudio batch (lib/client/native.ts): timestamp, rate, channels, level */
const META = 4;

const ZERO_MEDIA: MediaStats = Object.freeze({
  framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDecoded: 0, framesConcealed: 0,
  decodeErrors: 0, framesLost: 0, queueDropped: 0, queueRefused: 0,
});

export class Subscriber extends EventDispatcher<SubscriberEvents> {
  /** the stream it receives */
  readonly stream: Stream;
  /** the core's id for this subscriber */
  readonly id: string;
  /** the Session it belongs to, until destroyed */
  session: Session | undefined;
  private link: SubscriberLink | undefined;
  private readonly sinks = new AudioFrameSinks();
  private received = 0;
  private nativeDropped = 0;
  private lastMedia: MediaStats = ZERO_MEDIA;
  private interrupted = false;
  private gone = false;
  private audioOn: boolean;
  private levelPeak = 0;
  private levelAt = -Infinity;

  /** @internal made by Session.subscribe */
  constructor(session: Session, stream: Stream, link: SubscriberLink, id: string, audio: boolean) {
    super();
    this.session = session;
    this.stream = stream;
    this.link = link;
    this.id = id;
    this.audioOn = audio;
  }

  /** true once destroyed: no more frames or events */
  get isDestroyed(): boolean { return this.gone; }

  /** whether audio is received (subscribeToAudio) */
  get subscribingToAudio(): boolean { return this.audioOn; }

  /**
   * An async iterator over the audio frames received from now on. Several may be open; each
   * gets every frame. It ends when the subscriber is destroyed (after the frames it holds).
   */
  audioFrames(options: AudioFramesOptions = {}): AudioFrameIterator {
    const max = options.maxQueuedMs ?? 2000;
    if (typeof max !== 'number' || !(max > 0) || !Number.isFinite(max)) throw new TypeError('audioFrames: maxQueuedMs must be a positive number');
    return this.sinks.open(max);
  }

  /** Starts or stops receiving audio (the server stops forwarding it while off). */
  subscribeToAudio(on = true): this {
    this.audioOn = on !== false;
    if (this.link) this.link.native.setSubscribeAudio(this.link.subId, this.audioOn);
    return this;
  }

  /** What was received and dropped so far (see SubscriberStats). */
  get stats(): SubscriberStats {
    if (this.link) {
      const m = this.link.native.mediaStats('sub', this.link.subId);
      if (m) this.lastMedia = toMedia(m);
    }
    const iter = this.sinks.dropped;
    return {
      framesReceived: this.received, framesDropped: this.nativeDropped + iter, nativeFramesDropped: this.nativeDropped,
      iteratorFramesDropped: iter, media: { ...this.lastMedia },
    };
  }

  /**
   * OpenTok.js's getStats shape: `{ audio: { bytesReceived, packetsLost, packetsReceived }, timestamp }`
   * (packets are Opus frames here), plus Convene's `stats`.
   */
  getStats(): Promise<{ audio: { bytesReceived: number; packetsLost: number; packetsReceived: number }; timestamp: number; convene: SubscriberStats }> {
    const s = this.stats;
    return Promise.resolve({
      audio: { bytesReceived: s.media.bytesReceived, packetsLost: s.media.framesLost, packetsReceived: s.media.framesReceived },
      timestamp: Date.now(),
      convene: s,
    });
  }

  /** Unsubscribes (session.unsubscribe(this)). */
  destroy(): this {
    if (this.session) this.session.unsubscribe(this);
    else this.destroyed('unsubscribed');
    return this;
  }

  // ---- from the session ----

  /** @internal the stream's connection was interrupted */
  disconnectedFromStream(): void {
    if (this.gone || this.interrupted) return;
    this.interrupted = true;
    this.emit('disconnected', makeEvent('disconnected', this, {}));
  }

  /** @internal the stream is back */
  reconnectedToStream(): void {
    if (this.gone || !this.interrupted) return;
    this.interrupted = false;
    this.emit('connected', makeEvent('connected', this, {}));
  }

  /**
   * @internal one batch of frames: `frames[i]` with `meta[i*4 ..]` = timestamp, sample rate,
   * channels, peak level; `nativeDropped` is the native buffer's drop count so far.
   */
  audio(frames: Int16Array[], meta: Float64Array, nativeDropped: number): void {
    if (this.gone) return;
    this.nativeDropped = nativeDropped;
    const levels = this.listenerCount('audioLevelUpdated') > 0;
    for (let i = 0; i < frames.length; i++) {
      const data = frames[i] as Int16Array;
      const at = i * META;
      const timestamp = meta[at] as number;
      const sampleRate = meta[at + 1] as number;
      const channels = meta[at + 2] as number;
      const frame: ReceivedAudioFrame = { data, sampleRate, channels, samplesPerChannel: data.length / channels, timestamp };
      this.received++;
      if (this.sinks.size > 0) this.sinks.push(frame);
      if (levels) {
        this.levelPeak = Math.max(this.levelPeak, meta[at + 3] as number);
        if (timestamp - this.levelAt >= LEVEL_INTERVAL_MS) {
          this.levelAt = timestamp;
          const audioLevel = this.levelPeak;
          this.levelPeak = 0;
          this.emit('audioLevelUpdated', makeEvent('audioLevelUpdated', this, { audioLevel }));
        }
      }
    }
  }

  /**
   * @internal the subscription ended (the session has already freed its native side, or
   * does so right after): iterators end, `destroyed` fires once.
   */
  destroyed(reason: SubscriberDestroyedReason, error?: OTError): void {
    if (this.gone) return;
    if (this.link) {
      const m = this.link.native.mediaStats('sub', this.link.subId);
      if (m) this.lastMedia = toMedia(m);
    }
    this.gone = true;
    this.link = undefined;
    this.session = undefined;
    this.sinks.end();
    this.emit('destroyed', makeEvent('destroyed', this, error ? { reason, error } : { reason }));
  }
}

export function toMedia(m: NativeMediaStats): MediaStats {
  return {
    framesSent: m.framesSent, framesReceived: m.framesReceived, bytesSent: m.bytesSent, bytesReceived: m.bytesReceived,
    framesDecoded: m.framesDecoded, framesConcealed: m.framesConcealed, decodeErrors: m.decodeErrors,
    framesLost: m.framesLost, queueDropped: m.queueDropped, queueRefused: m.queueRefused,
  };
}
