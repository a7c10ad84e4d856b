/**
 * A Session's subscriptions: the Subscribers by their native number, the subscribe() calls
 * waiting for the server, and the ends (unsubscribe, stream destroyed, session ended, error).
 * Every end frees the native subscriber at once, so nothing of it is kept after.
 */
import { SAMPLE_RATES } from './audio-source';
import { otError, type OTError } from './errors';
import { K, type NativeSession } from './native';
import type { Session } from './session';
import { Subscriber } from './subscriber';
import type {
  ConnectionStatus, SessionDisconnectReason, Stream, StreamDestroyedReason, SubscriberAudioFormat, SubscriberDestroyedReason,
  SubscriberProperties, SubscriberVideoFormat, VideoFormat,
} from './types';
import { VIDEO_FORMATS } from './video-format';

interface Entry {
  readonly id: number;
  readonly sub: Subscriber;
  /** subscribe() waits for the server's answer */
  pending: { resolve(s: Subscriber): void; reject(e: OTError): void } | undefined;
}

/** OpenTok.js names of the codes a subscription fails with (opentok/subscriber.h). */
const SUB_ERROR_NAMES: Record<number, string> = {
  1010: 'OT_NOT_CONNECTED',
  1510: 'OT_PERMISSION_DENIED',
  1535: 'OT_STREAM_NOT_FOUND',
  1542: 'OT_TIMEOUT',
  1600: 'OT_MEDIA_ERR_NETWORK',
  1604: 'OT_STREAM_NOT_FOUND',
  1605: 'OT_STREAM_LIMIT_EXCEEDED',
  2000: 'OT_INTERNAL_ERROR',
};

interface Format {
  audio: boolean; sampleRate: number; channels: number; frameMs: number; bufferMs: number;
  video: boolean; videoFormat: VideoFormat; videoBufferFrames: number;
}

/** `audio` / `video`: a format object, or a boolean (on / off with the default format). */
function kindOf<T extends object>(v: T | boolean | undefined, on: unknown, name: string): { on: boolean; format: Partial<T> } | string {
  if (on !== undefined && typeof on !== 'boolean') return `subscribeTo${name === 'audio' ? 'Audio' : 'Video'} must be a boolean`;
  if (v === undefined || typeof v === 'boolean') return { on: v !== false && on !== false, format: {} };
  if (v === null || typeof v !== 'object') return `${name} must be an object or a boolean`;
  return { on: on !== false, format: v };
}

/** Checks subscribe()'s properties; a message for the first bad one. */
function formatOf(p: SubscriberProperties): Format | string {
  if (p === null || typeof p !== 'object') return 'properties must be an object';
  const a = kindOf<SubscriberAudioFormat>(p.audio, p.subscribeToAudio, 'audio');
  if (typeof a === 'string') return a;
  const v = kindOf<SubscriberVideoFormat>(p.video, p.subscribeToVideo, 'video');
  if (typeof v === 'string') return v;
  const { sampleRate = 48000, channels = 1, frameMs = 10 } = a.format;
  const bufferMs = p.bufferMs ?? 2000;
  if (!SAMPLE_RATES.includes(sampleRate)) return `audio.sampleRate must be one of ${SAMPLE_RATES.join(', ')}, got ${String(sampleRate)}`;
  if (channels !== 1 && channels !== 2) return `audio.channels must be 1 or 2, got ${String(channels)}`;
  if (!Number.isInteger(frameMs) || frameMs < 10 || frameMs > 60 || frameMs % 10 !== 0) return `audio.frameMs must be 10, 20, ... 60, got ${String(frameMs)}`;
  if (!Number.isInteger(bufferMs) || bufferMs < 100 || bufferMs > 60_000) return `bufferMs must be an integer from 100 to 60000, got ${String(bufferMs)}`;
  const { format: videoFormat = 'I420' } = v.format;
  if (!VIDEO_FORMATS.includes(videoFormat)) return `video.format must be one of ${VIDEO_FORMATS.join(', ')}, got ${String(videoFormat)}`;
  const videoBufferFrames = p.videoBufferFrames ?? 4;
  if (!Number.isInteger(videoBufferFrames) || videoBufferFrames < 1 || videoBufferFrames > 120) {
    return `videoBufferFrames must be an integer from 1 to 120, got ${String(videoBufferFrames)}`;
  }
  return { audio: a.on, sampleRate, channels, frameMs, bufferMs, video: v.on, videoFormat, videoBufferFrames };
}

export class Subscriptions {
  private readonly entries = new Map<number, Entry>();
  private nextId = 1;

  constructor(private readonly session: Session, private readonly native: NativeSession) {}

  get(id: number): Subscriber | undefined {
    return this.entries.get(id)?.sub;
  }

  forStream(streamId: string | undefined): Subscriber[] {
    const out: Subscriber[] = [];
    if (typeof streamId !== 'string') return out;
    for (const e of this.entries.values()) if (e.sub.stream.streamId === streamId) out.push(e.sub);
    return out;
  }

  subscribe(stream: Stream, properties: SubscriberProperties, status: ConnectionStatus): Promise<Subscriber> {
    return new Promise<Subscriber>((resolve, reject) => {
      const id = stream?.streamId;
      if (typeof id !== 'string') return reject(otError(1011, 'subscribe: stream must be a Stream (from streamCreated)'));
      const f = formatOf(properties);
      if (typeof f === 'string') return reject(otError(1011, `subscribe: ${f}`));
      if (status !== 'connected') return reject(otError(1010, 'subscribe: the session is not connected'));
      const known = this.session.streamById(id);
      if (!known) return reject(otError(1535, `subscribe: stream ${id} is not a stream of this session (any more)`, 'OT_STREAM_NOT_FOUND'));
      const n = this.nextId++;
      const st = this.native.subscribe(n, id, f.audio, f.sampleRate, f.channels, f.frameMs, f.bufferMs, f.video, f.videoFormat, f.videoBufferFrames);
      if (st === 1604) return reject(otError(1535, `subscribe: stream ${id} is gone`, 'OT_STREAM_NOT_FOUND'));
      if (st !== 0) return reject(otError(st === 1010 ? 1010 : 1011, `subscribe failed (status ${st})`));
      const sub = new Subscriber(this.session, known, { native: this.native, subId: n }, this.native.subscriberId(n) || `sub-${n}`, f.audio, f.video, f.videoFormat);
      this.entries.set(n, { id: n, sub, pending: { resolve, reject } });
    });
  }

  /** Ends one subscription (no-op if it is not one of ours). */
  unsubscribe(sub: Subscriber, reason: SubscriberDestroyedReason, error?: OTError): void {
    for (const e of this.entries.values()) {
      if (e.sub === sub) {
        this.end(e, reason, error);
        return;
      }
    }
  }

  streamGone(streamId: string, reason: StreamDestroyedReason): void {
    for (const e of [...this.entries.values()]) if (e.sub.stream.streamId === streamId) this.end(e, reason);
  }

  sessionGone(reason: SessionDisconnectReason): void {
    for (const e of [...this.entries.values()]) this.end(e, reason);
  }

  /** SubConnected / SubDisconnected / SubError of subscription `id`. */
  onEvent(kind: number, id: number, code: number, message: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    if (kind === K.SubConnected) {
      if (e.pending) {
        const p = e.pending;
        e.pending = undefined;
        p.resolve(e.sub);
      } else {
        e.sub.reconnectedToStream();
      }
    } else if (kind === K.SubDisconnected) {
      e.sub.disconnectedFromStream();
    } else if (kind === K.SubError) {
      const error = otError(code, message || `subscriber error ${code}`, SUB_ERROR_NAMES[code] ?? 'OT_SUBSCRIBER_ERROR');
      if (code === 1010) {
        // The session is ending: its Disconnected event (in the same batch) ends the
        // subscription with the session's reason; if none comes, the error ends it.
        queueMicrotask(() => { if (this.entries.get(id) === e) this.end(e, 'error', error); });
        return;
      }
      this.end(e, 'error', error);
    }
  }

  /** Destroys the Subscriber (its iterators end), then frees its native side. */
  private end(e: Entry, reason: SubscriberDestroyedReason, error?: OTError): void {
    this.entries.delete(e.id);
    const p = e.pending;
    e.pending = undefined;
    e.sub.destroyed(reason, error);
    this.native.unsubscribe(e.id);
    p?.reject(error ?? otError(1010, `subscribe: the subscription ended before it started (${reason})`));
  }
}
