/**
 * Loads the native addon (a prebuild from prebuilds/, or the local build) and describes
 * what it exports. If libwebsockets is missing at load time, the error says what to install.
 */
import { join } from 'node:path';
import type { MediaStats, SessionOptions, VideoFormat, VideoType } from './types';

export interface NativeConn { connectionId: string; creationTime: number; data: string }
export interface NativeStream {
  streamId: string;
  connectionId: string;
  creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: VideoType;
  videoDimensions: { width: number; height: number };
}

/**
 * The event kinds this side handles. Their numbers are the addon's (native/binding/events.h,
 * exported as EVENTS): read once when the addon loads, never written here. Loading fails if the
 * addon lacks one of these names (a stale build). Each event of a batch takes EVENT_STRIDE slots
 * of one flat array: [target, kind, a, b, c, d, e], where target is the NativeSession it
 * belongs to. Fields by kind:
 *
 *   Connected          a id, b creationTime, c data, d capability bits (1 publish, 2 forceMute, 4 forceDisconnect), e role
 *   Disconnected       a reason
 *   Error              a code, b message
 *   ConnectionCreated  a id, b creationTime, c data
 *   ConnectionDropped  a id, b creationTime, c data, d reason
 *   StreamReceived     a NativeStream
 *   StreamDropped      a NativeStream, b reason
 *   StreamAudio/Video  a streamId, b value
 *   StreamDims         a streamId, b width, c height
 *   StreamVideoType    a streamId, b videoType
 *   Signal             a type, b data, c from connection id | null, d from creationTime, e from data
 *                      (d and e only when connection events are suppressed; otherwise the sender is known)
 *   Reconnecting, Reconnected
 *   MuteForced         a active
 *   Done               a request id, b code (0 = ok), c message
 *   PubCreated         a publisher id, b NativeStream
 *   PubDestroyed       a publisher id, b NativeStream, c reason
 *   PubError           a publisher id, b code, c message
 *   SignalUndelivered  a signal type, b addressee connection id, c code, d message
 *   PubAudioSpace      a publisher id, b queued ms: its audio queue, full before, has room again
 *   SubConnected       a subscription id: the server subscribed it (the first time), or the
 *                      stream came back after SubDisconnected
 *   SubDisconnected    a subscription id: the stream's publisher was interrupted
 *   SubError           a subscription id, b code, c message: the subscription failed or ended
 *   SubAudio           a subscription id, b Int16Array[] (frames, oldest first), c Float64Array
 *                      of 4 numbers per frame (timestamp ms since the epoch, sample rate,
 *                      channels, peak level 0..1), d frames the native buffer dropped so far
 *                      (all of them since subscribe)
 *   SubVideo           a subscription id, b Uint8Array[] (frames, oldest first, in the format
 *                      asked for at subscribe), c Float64Array of 3 numbers per frame
 *                      (timestamp us, width, height), d video frames the native buffer dropped
 *                      so far
 *   SubVideoEnabled    a subscription id, b reason (otc_video_reason: 1 publishVideo,
 *   SubVideoDisabled     2 subscribeToVideo, 3 quality, 4 codecNotSupported)
 */
export const EVENT_KINDS = [
  'Connected', 'Disconnected', 'Error', 'ConnectionCreated', 'ConnectionDropped', 'StreamReceived', 'StreamDropped',
  'StreamAudio', 'StreamVideo', 'StreamDims', 'StreamVideoType', 'Signal', 'Reconnecting', 'Reconnected', 'MuteForced',
  'Done', 'PubCreated', 'PubDestroyed', 'PubError', 'SignalUndelivered', 'PubAudioSpace', 'SubConnected',
  'SubDisconnected', 'SubError', 'SubAudio', 'SubVideo', 'SubVideoEnabled', 'SubVideoDisabled',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

const kinds: Partial<Record<EventKind, number>> = {};
/** Event numbers by kind, as the addon defines them; filled (and frozen) by loadNative(). */
export const K: Readonly<Record<EventKind, number>> = kinds as Record<EventKind, number>;
/** Slots per event in a batch, as the addon writes them; set by loadNative(). */
let stride = 0;

/** What a session does with one event of a batch (see K for the fields). */
export type NativeEventHandler = (kind: number, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => void;

/** The addon reads the public options as they are. */
export type NativeSessionOptions = SessionOptions;

/** The core's media counters of one publisher or subscriber (struct convene_media_stats). */
export type NativeMediaStats = MediaStats;

/** The native session handle; every method returns an otc status (0 = OK). */
export interface NativeSession {
  /** set by the owner: receives this session's events */
  onEvent: NativeEventHandler;
  connect(token: string): number;
  disconnect(releaseOnly?: boolean): number;
  signal(req: number, type: string, data: string, to: string | null, retryAfterReconnect: boolean): number;
  moderate(req: number, op: string, target: string | null, ids: string[]): number;
  /**
   * audioQueueMs > 0: the publisher's audio comes from writeAudio, queued up to that many ms;
   * videoWidth > 0: its video comes from writeVideo, encoded at that size and videoFps
   */
  publish(pub: number, name: string, hasAudio: boolean, hasVideo: boolean, videoType: VideoType, audioQueueMs?: number,
    videoWidth?: number, videoHeight?: number, videoFps?: number): number;
  unpublish(pub: number): number;
  setPublish(pub: number, what: 'audio' | 'video', on: boolean): number;
  /** 1 or 0: whether the core publishes audio / video now (a forced mute turns audio off); -1: no such publisher */
  getPublish(pub: number, what: 'audio' | 'video'): number;
  /** copies a frame into the publisher's audio queue; AUDIO_QUEUE_FULL when it does not fit */
  writeAudio(pub: number, data: Int16Array, samplesPerChannel: number, sampleRate: number, channels: number): number;
  clearAudio(pub: number): number;
  /** ms queued; -1: no such publisher (or no audio source) */
  queuedAudio(pub: number): number;
  /**
   * copies (converts, scales) a frame into the publisher's video source, replacing one not
   * encoded yet; timestampUs < 0: now
   */
  writeVideo(pub: number, format: VideoFormat, width: number, height: number, data: Uint8Array, timestampUs: number): number;
  /** changes the publisher's video source size and rate (mid-stream: a keyframe of the new size) */
  setVideoSource(pub: number, width: number, height: number, fps: number): number;
  /** subscribes to a stream this session knows; the events come as Sub* with this sub id */
  subscribe(sub: number, streamId: string, audio: boolean, sampleRate: number, channels: number, frameMs: number, bufferMs: number,
    video: boolean, videoFormat: VideoFormat, videoBufferFrames: number): number;
  /** the core's id of a subscription ('' if unknown) */
  subscriberId(sub: number): string;
  /** unsubscribes (if still subscribed) and frees the subscriber; no event of it comes after */
  unsubscribe(sub: number): number;
  setSubscribeAudio(sub: number, on: boolean): number;
  setSubscribeVideo(sub: number, on: boolean): number;
  /** null: no such publisher / subscriber */
  mediaStats(what: 'pub' | 'sub', id: number): NativeMediaStats | null;
  close(): void;
}

export interface NativeModule {
  NativeSession: new (apiKey: string, sessionId: string, options: NativeSessionOptions) => NativeSession;
  setDispatcher(fn: (batch: unknown[], count: number) => void): void;
  /** the event numbering (native/binding/events.h): {name: number}, frozen */
  EVENTS: Readonly<Record<string, number>>;
  /** slots per event in a batch */
  EVENT_STRIDE: number;
  /** writeAudio's status when the frame does not fit (CONVENE_AUDIO_QUEUE_FULL) */
  AUDIO_QUEUE_FULL: number;
  version: string;
}

/** Takes the addon's numbering for every kind handled here; throws if one is missing. */
function adoptNumbering(mod: NativeModule): void {
  const missing: string[] = EVENT_KINDS.filter((k) => typeof mod.EVENTS?.[k] !== 'number');
  if (typeof mod.EVENT_STRIDE !== 'number') missing.push('EVENT_STRIDE');
  if (typeof mod.AUDIO_QUEUE_FULL !== 'number') missing.push('AUDIO_QUEUE_FULL');
  if (missing.length > 0) throw new Error(`the addon is older than this package (it lacks ${missing.join(', ')}): rebuild it`);
  if (!Object.isFrozen(kinds)) {
    for (const k of EVENT_KINDS) kinds[k] = mod.EVENTS[k];
    Object.freeze(kinds);
  }
  stride = mod.EVENT_STRIDE;
}

/**
 * Delivers one batch: every event to its session's handler. A throwing listener does not
 * stop the others; the first error is rethrown as an uncaught exception afterwards.
 */
function dispatch(batch: unknown[], count: number): void {
  let first: unknown;
  let failed = false;
  for (let i = 0, at = 0; i < count; i++, at += stride) {
    const target = batch[at] as NativeSession;
    try {
      target.onEvent(batch[at + 1] as number, batch[at + 2], batch[at + 3], batch[at + 4], batch[at + 5], batch[at + 6]);
    } catch (e) {
      if (!failed) { failed = true; first = e; }
    }
  }
  if (failed) process.nextTick(() => { throw first; });
}

let cached: NativeModule | undefined;

/** The addon, loaded on first use. Throws an Error that says how to fix a missing library. */
export function loadNative(): NativeModule {
  if (cached) return cached;
  const root = join(__dirname, '..', '..');
  try {
    // node-gyp-build picks prebuilds/<platform>-<arch>/ or build/Release/.
    const load = require('node-gyp-build') as (dir: string) => NativeModule;
    const mod = load(root);
    adoptNumbering(mod);
    mod.setDispatcher(dispatch);
    cached = mod;
    return mod;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/libwebsockets\.so/.test(msg)) {
      throw new Error(`convene: the native core needs libwebsockets 4.1 (libwebsockets.so.17): install it with 'apt-get install libwebsockets17' (Debian/Ubuntu). (${msg})`);
    }
    if (/libev\.so/.test(msg)) {
      throw new Error(`convene: the native core needs libev: install it with 'apt-get install libev4 libwebsockets-evlib-ev'. (${msg})`);
    }
    if (/libjansson\.so/.test(msg)) {
      throw new Error(`convene: the native core needs jansson: install it with 'apt-get install libjansson4'. (${msg})`);
    }
    throw new Error(`convene: cannot load the native core: ${msg}. Build it with 'npm run build:native', or install a package with a prebuild for ${process.platform}-${process.arch}.`);
  }
}
