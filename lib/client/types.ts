/** Public types of the client API: the shapes of OpenTok.js (see ../shared reference, section 2). */
import type { OTError } from './errors';
import type { OTEvent, OTEventBase } from './events';
import type { AudioSource } from './audio-source';
import type { VideoSource } from './video-source';
import type { Publisher } from './publisher';
import type { Session } from './session';
import type { Subscriber } from './subscriber';

export type VideoType = 'camera' | 'screen' | 'custom';
export interface VideoDimensions { width: number; height: number }

/** A client's connection. The same object is handed out each time for the same id. */
export interface Connection {
  readonly connectionId: string;
  readonly creationTime: number;
  readonly data: string;
}

/** A stream. The same object each time for the same id; its properties follow updates. */
export interface Stream {
  readonly streamId: string;
  readonly connection: Connection;
  readonly creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: VideoType;
  videoDimensions: VideoDimensions;
  /** the frame rate its publisher announced (undefined: not known) */
  readonly frameRate: number | undefined;
}

/** 1 or 0, as in OpenTok.js. */
export interface Capabilities {
  forceDisconnect: 0 | 1;
  forceUnpublish: 0 | 1;
  forceMute: 0 | 1;
  publish: 0 | 1;
  subscribe: 0 | 1;
}

export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';
export type SessionDisconnectReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected' | 'serverRotation';
export type ConnectionDestroyedReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected';
export type StreamDestroyedReason = ConnectionDestroyedReason | 'forceUnpublished' | 'mediaStopped';

/** A Session event: the OpenTok.js event fields (type, target, cancelable, preventDefault) plus its own. */
export type SessionEvent<Type extends string, Fields extends object = object> = OTEvent<Type, Session, Fields>;

/** `signal` and `signal:<type>`: `type` is the signal's type, as in OpenTok.js. */
export interface SignalEvent extends OTEventBase<string, Session> { readonly data: string; readonly from: Connection | null }

export type StreamPropertyChangedEvent =
  | SessionEvent<'streamPropertyChanged', { stream: Stream; changedProperty: 'hasAudio' | 'hasVideo'; oldValue: boolean; newValue: boolean }>
  | SessionEvent<'streamPropertyChanged', { stream: Stream; changedProperty: 'videoDimensions'; oldValue: VideoDimensions; newValue: VideoDimensions }>;

/** A failure: a native error, or a call without completion handler whose promise nobody awaited. */
export type ExceptionEvent = SessionEvent<'exception', { code: number; name: string; title: string; message: string; error: OTError }>;

/**
 * Event map of Session: name → listener arguments. Cancelable (with a default action):
 * sessionDisconnected (destroys the session's publishers) and streamDestroyed (its subscribers are
 * destroyed whether prevented or not: no media comes for a stream that is gone).
 */
export interface SessionEvents {
  sessionConnected: [event: SessionEvent<'sessionConnected'>];
  sessionDisconnected: [event: SessionEvent<'sessionDisconnected', { reason: SessionDisconnectReason }>];
  sessionReconnecting: [event: SessionEvent<'sessionReconnecting'>];
  sessionReconnected: [event: SessionEvent<'sessionReconnected'>];
  connectionCreated: [event: SessionEvent<'connectionCreated', { connection: Connection }>];
  connectionDestroyed: [event: SessionEvent<'connectionDestroyed', { connection: Connection; reason: ConnectionDestroyedReason }>];
  streamCreated: [event: SessionEvent<'streamCreated', { stream: Stream }>];
  streamDestroyed: [event: SessionEvent<'streamDestroyed', { stream: Stream; reason: StreamDestroyedReason }>];
  streamPropertyChanged: [event: StreamPropertyChangedEvent];
  signal: [event: SignalEvent];
  muteForced: [event: SessionEvent<'muteForced', { active: boolean }>];
  exception: [event: ExceptionEvent];
  signalUndelivered: [event: SignalUndeliveredEvent];
  [signalType: `signal:${string}`]: [event: SignalEvent];
}

/** A Publisher event. */
export type PublisherEvent<Type extends string, Fields extends object = object> = OTEvent<Type, Publisher, Fields>;

/** Event map of Publisher (see ./publisher). streamDestroyed is cancelable: its default action destroys the publisher. */
export interface PublisherEvents {
  streamCreated: [event: PublisherEvent<'streamCreated', { stream: Stream }>];
  streamDestroyed: [event: PublisherEvent<'streamDestroyed', { stream: Stream; reason: string }>];
  muteForced: [event: PublisherEvent<'muteForced'>];
  destroyed: [event: PublisherEvent<'destroyed', { reason: string }>];
}

/**
 * A signal this session sent, that the server had accepted (its promise resolved), could not
 * be delivered to one addressee: that connection ended for good before receiving it. One
 * event per (signal, addressee). `to` is the addressee (it may already be destroyed).
 */
export type SignalUndeliveredEvent = SessionEvent<'signalUndelivered', {
  to: Connection;
  signalType: string;
  /** code 1560, name CONVENE_SIGNAL_UNDELIVERED */
  error: OTError;
}>;

export interface SessionOptions {
  /** ws:// or wss:// URL of the Convene server; default env CONVENE_SERVER_URL, else ws://127.0.0.1:4100 */
  serverUrl?: string;
  connectionEventsSuppressed?: boolean;
  /**
   * connectionCreated fires for this client's own connection too, as in OpenTok.js ("including
   * your own"; right after sessionConnected). Set false for the earlier behaviour: others only.
   */
  connectionCreatedForSelf?: boolean;
  /** handshake timeout in ms (default 10000) */
  connectTimeout?: number;
  /** wss://: PEM CA bundle to verify the server with */
  caFile?: string;
  /** wss://: set false to skip certificate verification (testing only) */
  tlsVerify?: boolean;
  /**
   * when resuming after a drop is impossible, join again as a new connection (default false);
   * connectionDestroyed/streamDestroyed then come for peers that left meanwhile
   */
  rejoin?: boolean;
  /** with rejoin: how long (ms) to keep trying while the server cannot be reached (default 60000) */
  rejoinTimeout?: number;
  /** reconnection delays in ms: base, growth factor, cap (default 250, 2, 5000), each with 50-100 % jitter */
  reconnectBackoff?: { base?: number; factor?: number; cap?: number };
  /**
   * How many signals/requests may be queued while the session reconnects (default 1000);
   * past it a signal fails with 1550. Requests already in flight when the connection
   * dropped do not count.
   */
  maxQueued?: number;
  /**
   * Keepalive in ms: ping every `interval`, take the connection for dead (and reconnect) when
   * nothing came for `timeout`. Default: the server's (25000 / 40000), with the kernel's TCP
   * keepalive on the socket finding a dead path about 15 s after the last packet heard
   * (sooner with a shorter `timeout`: docs/protocol.md section 7). Bots on good networks
   * may want e.g. {interval: 1000, timeout: 3000}. A missing one follows the 2:3 ratio.
   */
  keepalive?: { interval?: number; timeout?: number };
}

export interface SignalOptions {
  type?: string;
  data?: string;
  /** a Connection, or any object with its connectionId */
  to?: { connectionId: string };
  retryAfterReconnect?: boolean;
}

/** Properties of OT.initPublisher / session.publish (the OpenTok.js names, plus hasAudio / hasVideo). */
export interface PublisherProperties {
  name?: string;
  /** publish audio (default true); OpenTok.js's name, preferred over hasAudio */
  publishAudio?: boolean;
  /** publish video (default true); OpenTok.js's name, preferred over hasVideo */
  publishVideo?: boolean;
  hasAudio?: boolean;
  hasVideo?: boolean;
  videoType?: VideoType;
  /**
   * Where the publisher's audio comes from: PCM written with `audioSource.captureFrame()`.
   * Without one, the stream carries no sound (no sound card is ever opened).
   */
  audioSource?: AudioSource;
  /**
   * Where the publisher's video comes from: frames written with `videoSource.captureFrame()`,
   * encoded at the source's size and frame rate. Without one, no video is sent (the stream's
   * hasVideo is still as published: metadata only).
   */
  videoSource?: VideoSource;
}
/** The earlier name of PublisherProperties. */
export type PublishOptions = PublisherProperties;

export type { CompletionHandler } from './completion';

// ---- audio ----

/** The PCM sample rates the core accepts (publishing) and produces (subscribing). */
export type AudioSampleRate = 8000 | 16000 | 24000 | 32000 | 44100 | 48000;
export type AudioChannels = 1 | 2;

/** One frame of 16-bit PCM, interleaved when stereo: `data.length === samplesPerChannel * channels`. */
export interface AudioFrame {
  data: Int16Array;
  sampleRate: number;
  channels: number;
  samplesPerChannel: number;
  /**
   * Received frames: when the native core handed the frame over, in ms since the epoch (with
   * a fraction; `Date.now()`'s clock). Ignored in captureFrame.
   */
  timestamp?: number;
}

/** A frame as a Subscriber delivers it: every field set. */
export interface ReceivedAudioFrame extends AudioFrame {
  readonly timestamp: number;
}

export interface AudioSourceOptions {
  sampleRate: AudioSampleRate;
  channels: AudioChannels;
  /**
   * How much audio (ms) may wait in the native queue to be sent (100..60000, default 1000):
   * past it captureFrame waits for room (back-pressure).
   */
  queueMs?: number;
}

/** The PCM format a Subscriber delivers (the core resamples and mixes to it). */
export interface SubscriberAudioFormat {
  /** default 48000 */
  sampleRate?: AudioSampleRate;
  /** default 1 */
  channels?: AudioChannels;
  /** frame length in ms: 10..60, a multiple of 10 (default 10) */
  frameMs?: number;
}

/** session.subscribe(stream, properties). */
export interface SubscriberProperties {
  /** receive audio (default true); `audio: false` says the same */
  subscribeToAudio?: boolean;
  /** receive video (default true); `video: false` says the same */
  subscribeToVideo?: boolean;
  /** the format of the audio frames (default 48 kHz mono, 10 ms frames); `false`: no audio */
  audio?: SubscriberAudioFormat | boolean;
  /** the format of the video frames (default I420); `false`: no video */
  video?: SubscriberVideoFormat | boolean;
  /**
   * How much audio (ms) the native side keeps for this subscriber while JavaScript is busy
   * (default 2000, 100..60000); older frames are dropped (counted in stats.framesDropped).
   */
  bufferMs?: number;
  /**
   * How many video frames the native side keeps for this subscriber while JavaScript is busy
   * (default 4, 1..120); older frames are dropped (counted in stats.video.framesDropped).
   */
  videoBufferFrames?: number;
}

/** subscriber.audioFrames(options). */
export interface AudioFramesOptions {
  /**
   * How much audio (ms) this iterator keeps while its consumer does not read (default 2000,
   * at least one frame): past it, the oldest frames are dropped and counted (`dropped`).
   */
  maxQueuedMs?: number;
}

/** An async iterator over a Subscriber's frames; it ends when the subscriber is destroyed. */
export interface FrameIterator<F> extends AsyncIterableIterator<F> {
  /** frames waiting to be read */
  readonly pending: number;
  /** frames this iterator dropped (oldest first) because its consumer did not keep up */
  readonly dropped: number;
}

/** An async iterator over a Subscriber's audio frames; it ends when the subscriber is destroyed. */
export type AudioFrameIterator = FrameIterator<ReceivedAudioFrame>;

/** What a Subscriber counted (`subscriber.stats`). */
export interface SubscriberStats {
  /** frames handed to JavaScript */
  framesReceived: number;
  /** frames dropped on this side: by the native buffer (JavaScript busy) and by iterators (consumer not reading) */
  framesDropped: number;
  /** of framesDropped: by the native buffer while the JavaScript thread was busy */
  nativeFramesDropped: number;
  /** of framesDropped: by audioFrames() iterators whose consumer did not keep up */
  iteratorFramesDropped: number;
  /** the core's media counters for this subscriber (packets from the server, decoding) */
  media: MediaStats;
  /** the same for video frames (see SubscriberVideoStats) */
  video: SubscriberVideoStats;
}

/** What a Subscriber counted of its video (`subscriber.stats.video`). */
export interface SubscriberVideoStats {
  /** decoded frames handed to JavaScript */
  framesReceived: number;
  /** frames dropped on this side: by the native buffer (JavaScript busy) and by iterators (consumer not reading) */
  framesDropped: number;
  /** of framesDropped: by the native buffer (videoBufferFrames) while the JavaScript thread was busy */
  nativeFramesDropped: number;
  /** of framesDropped: by videoFrames() iterators whose consumer did not keep up */
  iteratorFramesDropped: number;
}

/**
 * The core's per-stream media counters (convene_media_stats): the first ten count audio, the
 * `video*` ones video. Each is 0 where it does not apply (a publisher receives nothing).
 */
export interface MediaStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  framesDecoded: number;
  framesConcealed: number;
  decodeErrors: number;
  framesLost: number;
  queueDropped: number;
  queueRefused: number;
  /** publisher: video frames encoded */
  videoFramesEncoded: number;
  /** publisher: of them, keyframes */
  videoKeyframesSent: number;
  /** publisher: keyframes the server asked for; subscriber: keyframes it asked for */
  videoKeyframeRequests: number;
  /**
   * publisher: frames written and never encoded (replaced by a newer one first, or skipped by
   * rate control); subscriber: frames lost, incomplete or refused by the decoder
   */
  videoFramesDropped: number;
  /** subscriber: frames decoded and handed over (before the binding's buffer) */
  videoFramesRendered: number;
  /** publisher: video packets sent, their bytes, packets the socket's backlog refused */
  videoPacketsSent: number;
  videoBytesSent: number;
  videoPacketsDropped: number;
  /** subscriber: video packets received, their bytes, packets lost, frames the decoder refused */
  videoPacketsReceived: number;
  videoBytesReceived: number;
  videoPacketsLost: number;
  videoDecodeErrors: number;
  /** publisher: the encoder's target bitrate now; subscriber: kbit/s received over the last second */
  videoBitrateKbps: number;
  /** publisher: frames encoded per second now; subscriber: rendered over the last second */
  videoFps: number;
  /** publisher: the encoded size; subscriber: the last decoded size (0 before the first) */
  videoWidth: number;
  videoHeight: number;
}

/** A Subscriber event. */
export type SubscriberEvent<Type extends string, Fields extends object = object> = OTEvent<Type, Subscriber, Fields>;

/** Why a Subscriber was destroyed: unsubscribed, or its stream's / session's end reason. */
export type SubscriberDestroyedReason = 'unsubscribed' | StreamDestroyedReason | SessionDisconnectReason | 'error';

/**
 * Event map of Subscriber (see ./subscriber):
 *   connected          the stream's media flows (again, after `disconnected`)
 *   disconnected       the publisher's connection was interrupted; it may come back (`connected`)
 *   destroyed          unsubscribed, the stream ended, or the session ended: no more frames
 *   audioLevelUpdated  about every 60 ms while audio arrives: the peak level (0..1)
 *   videoDisabled / videoEnabled  video went / came back, with the reason
 *   videoDimensionsChanged        the received frames' size changed
 */
export interface SubscriberEvents {
  connected: [event: SubscriberEvent<'connected'>];
  disconnected: [event: SubscriberEvent<'disconnected'>];
  destroyed: [event: SubscriberEvent<'destroyed', { reason: SubscriberDestroyedReason; error?: OTError }>];
  audioLevelUpdated: [event: SubscriberEvent<'audioLevelUpdated', { audioLevel: number }>];
  videoEnabled: [event: SubscriberEvent<'videoEnabled', { reason: VideoChangeReason }>];
  videoDisabled: [event: SubscriberEvent<'videoDisabled', { reason: VideoChangeReason }>];
  videoDimensionsChanged: [event: SubscriberEvent<'videoDimensionsChanged', { oldValue: VideoDimensions; newValue: VideoDimensions }>];
}

/**
 * Why a Subscriber's video went or came back (OpenTok.js): its publisher turned video off / on
 * (publishVideo), this subscriber did (subscribeToVideo), the network could not carry it
 * (quality), or the codec cannot be decoded here (codecNotSupported).
 */
export type VideoChangeReason = 'publishVideo' | 'subscribeToVideo' | 'quality' | 'codecNotSupported';

// ---- video ----

/**
 * Pixel formats of video frames, named by their byte order in memory (as ffmpeg's pix_fmt
 * names, and canvas ImageData's 'RGBA'):
 *   I420    planar 4:2:0: Y (width x height), then U and V (each ceil(width/2) x ceil(height/2))
 *   NV12    Y, then U and V interleaved (ceil(width/2) pairs x ceil(height/2) rows)
 *   RGBA    4 bytes per pixel: R G B A      BGRA  B G R A      ARGB  A R G B      ABGR  A B G R
 *   RGB24   3 bytes per pixel: R G B        BGR24 B G R
 * Every plane is tightly packed (the stride is the plane's width in bytes). The native core's
 * names (libyuv's, otc_video_frame's) differ: 'BGRA' here is OTC_VIDEO_FRAME_FORMAT_ARGB32,
 * 'ARGB' BGRA32, 'RGBA' ABGR32, 'ABGR' RGBA32, 'BGR24' RGB24 (README, "Video").
 */
export type VideoFormat = 'I420' | 'NV12' | 'RGBA' | 'BGRA' | 'ARGB' | 'ABGR' | 'RGB24' | 'BGR24';

/** One frame of raw video: `data` holds exactly the bytes its format and size take (videoFrameSize). */
export interface VideoFrame {
  format: VideoFormat;
  width: number;
  height: number;
  data: Uint8Array;
  /**
   * Capture time in microseconds (any monotonic origin). Optional in captureFrame: the
   * source's clock is used when it is left out.
   */
  timestampUs?: number;
}

/** A frame as a Subscriber delivers it: every field set. */
export interface ReceivedVideoFrame extends VideoFrame {
  /** the publisher's capture timestamp, in microseconds */
  readonly timestampUs: number;
}

/** What a VideoSource and its publisher counted (`videoSource.stats`). */
export interface VideoSourceStats {
  /** frames handed to captureFrame (and accepted) */
  framesCaptured: number;
  /** frames replaced by a newer one before they were encoded (a producer faster than fps) */
  framesDropped: number;
  /** frames encoded and sent */
  framesEncoded: number;
  /** of framesEncoded: keyframes (the first, periodic ones, and those subscribers asked for) */
  keyframesSent: number;
  /** keyframes the server asked for (new subscribers, losses) */
  keyframeRequests: number;
  /** the encoder's current target bitrate, in kbit/s */
  bitrateKbps: number;
  /** frames encoded per second now */
  fps: number;
}

export interface VideoSourceOptions {
  /** the encoded width and height (16..4096); frames of another size are scaled to it */
  width: number;
  height: number;
  /** the frame rate the stream is encoded at (1..60, default 30) */
  fps?: number;
}

/** The format a Subscriber delivers its video in (the core converts to it). */
export interface SubscriberVideoFormat {
  /** default 'I420' */
  format?: VideoFormat;
}

/** subscriber.videoFrames(options). */
export interface VideoFramesOptions {
  /**
   * How many frames this iterator keeps while its consumer does not read (default 4, at
   * least 1): past it, the oldest frames are dropped and counted (`dropped`).
   */
  maxQueuedFrames?: number;
}

/** An async iterator over a Subscriber's video frames; it ends when the subscriber is destroyed. */
export type VideoFrameIterator = FrameIterator<ReceivedVideoFrame>;
