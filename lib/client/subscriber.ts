/**
 * Subscriber: the receiving side of a stream, as in OpenTok.js (`session.subscribe(stream)`),
 * delivering the stream's audio as 16-bit PCM frames and its video as raw frames, in the
 * formats asked for:
 *
 *     const subscriber = await session.subscribe(stream, { audio: { sampleRate: 16000, channels: 1 }, video: false });
 *     for await (const frame of subscriber.audioFrames()) recognizer.write(frame.data);
 *
 *     const viewer = await session.subscribe(stream, { audio: false, video: { format: 'RGBA' } });
 *     for await (const f of viewer.videoFrames()) draw(f.width, f.height, f.data);
 *
 * The core decodes, resamples and converts on its media thread; frames reach JavaScript in
 * batches through the session's event pump, each copied once (video: into the buffer JavaScript
 * gets). Every buffer on the way is bounded: the native ones (`bufferMs` of audio,
 * `videoBufferFrames` of video, for when the JavaScript thread is busy) and each iterator's
 * (`maxQueuedMs`, `maxQueuedFrames`, for a consumer that stops reading); all drop the oldest
 * frames and count them (`stats`, `stats.video`).
 *
 * Events (OpenTok.js event objects, see ./events and SubscriberEvents in ./types):
 *   disconnected       the publisher's connection was interrupted (it may resume)
 *   connected          the stream is back after `disconnected`
 *   audioLevelUpdated  { audioLevel } about every 60 ms while audio arrives (peak, 0..1)
 *   videoDisabled      { reason }: video stopped ('publishVideo', 'subscribeToVideo', 'quality',
 *                      'codecNotSupported')
 *   videoEnabled       { reason }: video is back
 *   videoDimensionsChanged { oldValue, newValue }: the frames' size changed (the publisher resized)
 *   destroyed          { reason }: unsubscribed, stream destroyed, session ended, or error;
 *                      every audioFrames() / videoFrames() iterator ends
 */
import { AudioFrameSinks } from './audio-frames';
import { DEFAULT_VIDEO_QUEUE, VideoFrameSinks } from './video-frames';
import { EventDispatcher } from './dispatcher';
import type { OTError } from './errors';
import { makeEvent } from './events';
import type { NativeMediaStats, NativeSession } from './native';
import type { Session } from './session';
import type {
  AudioFrameIterator, AudioFramesOptions, MediaStats, ReceivedAudioFrame, ReceivedVideoFrame, Stream,
  SubscriberDestroyedReason, SubscriberEvents, SubscriberStats, VideoChangeReason, VideoDimensions, VideoFormat,
  VideoFrameIterator, VideoFramesOptions,
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
/** per-frame fields of a SubVideo batch: timestamp (us), width, height */
const VIDEO_META = 3;
/** otc_video_reason (opentok/subscriber.h) to OpenTok.js's reasons */
const VIDEO_REASONS: Record<number, VideoChangeReason> = { 1: 'publishVideo', 2: 'subscribeToVideo', 3: 'quality', 4: 'codecNotSupported' };

const ZERO_MEDIA: MediaStats = Object.freeze({
  framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDecoded: 0, framesConcealed: 0,
  decodeErrors: 0, framesLost: 0, queueDropped: 0, queueRefused: 0, videoFramesEncoded: 0, videoKeyframesSent: 0,
  videoKeyframeRequests: 0, videoFramesDropped: 0, videoFramesRendered: 0, videoPacketsSent: 0, videoBytesSent: 0,
  videoPacketsDropped: 0, videoPacketsReceived: 0, videoBytesReceived: 0, videoPacketsLost: 0, videoDecodeErrors: 0,
  videoBitrateKbps: 0, videoFps: 0, videoWidth: 0, videoHeight: 0,
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
  private readonly videoSinks = new VideoFrameSinks();
  private videoReceived = 0;
  private videoNativeDropped = 0;
  private videoOn: boolean;
  private dims: VideoDimensions | undefined;
  /** the pixel format of its video frames */
  readonly videoFormat: VideoFormat;

  /** @internal made by Session.subscribe */
  constructor(session: Session, stream: Stream, link: SubscriberLink, id: string, audio: boolean, video = false, videoFormat: VideoFormat = 'I420') {
    super();
    this.session = session;
    this.stream = stream;
    this.link = link;
    this.id = id;
    this.audioOn = audio;
    this.videoOn = video;
    this.videoFormat = videoFormat;
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

  /** the size of the last video frame received (undefined before the first) */
  get videoDimensions(): VideoDimensions | undefined { return this.dims ? { ...this.dims } : undefined; }

  /** whether video is received (subscribeToVideo) */
  get subscribingToVideo(): boolean { return this.videoOn; }

  /**
   * An async iterator over the video frames received from now on, in `videoFormat`. Several
   * may be open; each gets every frame (the same object: treat `data` as read-only). It keeps
   * at most `maxQueuedFrames` unread (the newest; older ones are dropped and counted) and ends
   * when the subscriber is destroyed (after the frames it holds).
   */
  videoFrames(options: VideoFramesOptions = {}): VideoFrameIterator {
    const max = options.maxQueuedFrames ?? DEFAULT_VIDEO_QUEUE;
    if (!Number.isInteger(max) || max < 1) throw new TypeError('videoFrames: maxQueuedFrames must be a positive integer');
    return this.videoSinks.open(max);
  }

  /**
   * Starts or stops receiving video (the server stops forwarding it while off; `videoDisabled`
   * fires with reason 'subscribeToVideo', and `videoEnabled` when it is back).
   */
  subscribeToVideo(on = true): this {
    this.videoOn = on !== false;
    if (this.link) this.link.native.setSubscribeVideo(this.link.subId, this.videoOn);
    return this;
  }

  /** What was received and dropped so far (see SubscriberStats). */
  get stats(): SubscriberStats {
    if (this.link) {
      const m = this.link.native.mediaStats('sub', this.link.subId);
      if (m) this.lastMedia = toMedia(m);
    }
    const iter = this.sinks.dropped;
    const videoIter = this.videoSinks.dropped;
    return {
      framesReceived: this.received, framesDropped: this.nativeDropped + iter, nativeFramesDropped: this.nativeDropped,
      iteratorFramesDropped: iter, media: { ...this.lastMedia },
      video: {
        framesReceived: this.videoReceived, framesDropped: this.videoNativeDropped + videoIter,
        nativeFramesDropped: this.videoNativeDropped, iteratorFramesDropped: videoIter,
      },
    };
  }

  /**
   * OpenTok.js's getStats shape: `{ audio: { bytesReceived, packetsLost, packetsReceived },
   * video: { bytesReceived, packetsLost, packetsReceived, frameRate }, timestamp }` (packets are
   * Opus frames and video packets here; frameRate is frames decoded over the last second), plus
   * Convene's `stats`.
   */
  getStats(): Promise<SubscriberGetStats> {
    const s = this.stats;
    const m = s.media;
    return Promise.resolve({
      audio: { bytesReceived: m.bytesReceived, packetsLost: m.framesLost, packetsReceived: m.framesReceived },
      video: { bytesReceived: m.videoBytesReceived, packetsLost: m.videoPacketsLost, packetsReceived: m.videoPacketsReceived, frameRate: m.videoFps },
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
   * @internal one batch of video frames: `frames[i]` with `meta[i*3 ..]` = timestamp (us),
   * width, height; `nativeDropped` is the native video buffer's drop count so far.
   */
  video(frames: Uint8Array[], meta: Float64Array, nativeDropped: number): void {
    if (this.gone) return;
    this.videoNativeDropped = nativeDropped;
    const format = this.videoFormat;
    for (let i = 0; i < frames.length; i++) {
      const at = i * VIDEO_META;
      const width = meta[at + 1] as number;
      const height = meta[at + 2] as number;
      const frame: ReceivedVideoFrame = { format, width, height, data: frames[i] as Uint8Array, timestampUs: meta[at] as number };
      this.videoReceived++;
      const old = this.dims;
      if (!old || old.width !== width || old.height !== height) {
        this.dims = { width, height };
        if (old) this.emit('videoDimensionsChanged', makeEvent('videoDimensionsChanged', this, { oldValue: old, newValue: this.dims }));
      }
      if (this.videoSinks.size > 0) this.videoSinks.push(frame);
    }
  }

  /** @internal the core says video went (`on` false) or came back, for `reason` (otc_video_reason) */
  videoState(on: boolean, reason: number): void {
    if (this.gone) return;
    const r = VIDEO_REASONS[reason] ?? 'quality';
    if (on) this.emit('videoEnabled', makeEvent('videoEnabled', this, { reason: r }));
    else this.emit('videoDisabled', makeEvent('videoDisabled', this, { reason: r }));
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
    this.videoSinks.end();
    this.emit('destroyed', makeEvent('destroyed', this, error ? { reason, error } : { reason }));
  }
}

export function toMedia(m: NativeMediaStats): MediaStats {
  const out = { ...ZERO_MEDIA };
  for (const k of Object.keys(ZERO_MEDIA) as Array<keyof MediaStats>) if (typeof m[k] === 'number') out[k] = m[k];
  return out;
}

/** What Subscriber.getStats() resolves with (OpenTok.js's shape plus Convene's counters). */
export interface SubscriberGetStats {
  audio: { bytesReceived: number; packetsLost: number; packetsReceived: number };
  video: { bytesReceived: number; packetsLost: number; packetsReceived: number; frameRate: number };
  timestamp: number;
  convene: SubscriberStats;
}
