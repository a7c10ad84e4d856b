/**
 * Publisher: the local side of a published stream, as in OpenTok.js: made by
 * `OT.initPublisher(properties)` (or by `session.publish(properties)`), published with
 * `session.publish(publisher)`. Its sound comes from `properties.audioSource` (an AudioSource
 * fed with PCM), its pictures from `properties.videoSource` (a VideoSource fed with raw
 * frames); without them the stream is metadata only.
 *
 * Events (OpenTok.js event objects, see ./events):
 *   streamCreated    { stream }            its stream exists
 *   streamDestroyed  { stream, reason }    its stream went (unpublished, forced, session ended);
 *                                          cancelable: the default action destroys the publisher,
 *                                          preventDefault() keeps it to publish again
 *   muteForced       {}                    a moderator muted its audio (forceMuteStream/All)
 *   destroyed        { reason }            destroyed: it cannot publish any more
 */
import { AudioSource } from './audio-source';
import { VideoSource } from './video-source';
import type { OTError } from './errors';
import { otError } from './errors';
import { EventDispatcher } from './dispatcher';
import { makeEvent } from './events';
import type { NativeSession, NativeStream } from './native';
import type { Session } from './session';
import type { Connection, MediaStats, PublisherEvents, PublisherProperties, Stream, VideoType } from './types';

/** One entry of Publisher.getStats(). */
export interface PublisherStatsEntry {
  stats: {
    audio: { bytesSent: number; packetsLost: number; packetsSent: number };
    video: { bytesSent: number; packetsLost: number; packetsSent: number; frameRate: number };
    timestamp: number;
  };
  /** the core's counters (undefined while not published) */
  convene: MediaStats | undefined;
}

/** What a Publisher needs of the session it is published in. @internal */
export interface PublisherLink {
  readonly native: NativeSession;
  readonly id: number;
  onCreated(p: Publisher): void;
  onFailed(e: OTError): void;
}

function pick(a: boolean | undefined, b: boolean | undefined): boolean {
  return a ?? b ?? true;
}

export class Publisher extends EventDispatcher<PublisherEvents> {
  readonly name: string;
  readonly videoType: VideoType;
  /** where its audio comes from, if anywhere */
  readonly audioSource: AudioSource | undefined;
  /** where its video comes from, if anywhere */
  readonly videoSource: VideoSource | undefined;
  /** the stream, once created; undefined after it is destroyed */
  stream: Stream | undefined;
  /** the Session it is published in, while it is */
  session: Session | undefined = undefined;
  private audio: boolean;
  private video: boolean;
  private link: PublisherLink | undefined;
  private settled = false;
  private gone = false;
  /** this publisher feeds its sources' frames to the core */
  private sourceBound = false;

  constructor(properties: PublisherProperties = {}) {
    super();
    if (properties === null || typeof properties !== 'object') throw otError(1011, 'publisher properties must be an object');
    const { name, videoType } = properties;
    if (name !== undefined && typeof name !== 'string') throw otError(1011, 'name must be a string');
    if (videoType !== undefined && videoType !== 'camera' && videoType !== 'screen' && videoType !== 'custom') {
      throw otError(1011, "videoType must be 'camera', 'screen' or 'custom'");
    }
    if (properties.audioSource !== undefined && !(properties.audioSource instanceof AudioSource)) {
      throw otError(1011, 'audioSource must be an AudioSource');
    }
    this.name = name ?? '';
    this.videoType = videoType ?? 'camera';
    if (properties.videoSource !== undefined && !(properties.videoSource instanceof VideoSource)) {
      throw otError(1011, 'videoSource must be a VideoSource');
    }
    this.audioSource = properties.audioSource;
    this.videoSource = properties.videoSource;
    // OpenTok.js names (publishAudio / publishVideo) win over the older hasAudio / hasVideo
    this.audio = pick(properties.publishAudio, properties.hasAudio) !== false;
    this.video = pick(properties.publishVideo, properties.hasVideo) !== false;
  }

  /** the publish request id in its session; 0 while not published */
  get id(): number { return this.link?.id ?? 0; }
  get publishingAudio(): boolean { return this.audio; }
  get publishingVideo(): boolean { return this.video; }
  /** true once destroyed (destroy(), or the default action of streamDestroyed / sessionDisconnected) */
  get isDestroyed(): boolean { return this.gone; }

  /** Turns audio on or off; others get streamPropertyChanged (hasAudio). */
  publishAudio(on: boolean): void {
    this.audio = on;
    if (this.stream) this.stream.hasAudio = on;
    this.link?.native.setPublish(this.link.id, 'audio', on);
  }

  /** Turns video on or off; others get streamPropertyChanged (hasVideo). */
  publishVideo(on: boolean): void {
    this.video = on;
    if (this.stream) this.stream.hasVideo = on;
    this.link?.native.setPublish(this.link.id, 'video', on);
  }

  /**
   * OpenTok.js's getStats shape, one entry (the server routes the stream: what this publisher
   * sends is the same for every subscriber): `[{ stats: { audio: { bytesSent, packetsLost,
   * packetsSent }, video: { bytesSent, packetsLost, packetsSent, frameRate }, timestamp } }]`
   * (packets are Opus frames and video packets; video packetsLost counts those the socket's
   * backlog refused; frameRate is the encoder's now), plus the core's counters as `convene`.
   * Zeros while not published.
   */
  getStats(): Promise<PublisherStatsEntry[]> {
    const m = this.link ? this.link.native.mediaStats('pub', this.link.id) : null;
    const z = (v: number | undefined): number => v ?? 0;
    return Promise.resolve([{
      stats: {
        audio: { bytesSent: z(m?.bytesSent), packetsLost: 0, packetsSent: z(m?.framesSent) },
        video: { bytesSent: z(m?.videoBytesSent), packetsLost: z(m?.videoPacketsDropped), packetsSent: z(m?.videoPacketsSent), frameRate: z(m?.videoFps) },
        timestamp: Date.now(),
      },
      convene: m ? { ...m } : undefined,
    }]);
  }

  /** Unpublishes (if published) and destroys the publisher; `destroyed` fires once. */
  destroy(): this {
    if (this.gone) return this;
    if (this.link && this.session) this.session.unpublish(this);
    this.markDestroyed('destroyed');
    return this;
  }

  /** @internal Session.publish hands it its native side */
  attach(session: Session, link: PublisherLink): void {
    this.session = session;
    this.link = link;
    this.settled = false;
  }

  /** @internal the native publisher exists: its sources write to it */
  bindSource(): void {
    if (!this.link) return;
    const link = { native: this.link.native, pubId: this.link.id };
    this.audioSource?.attach(link);
    this.videoSource?.attach(link);
    this.sourceBound = true;
  }

  /** @internal its audio queue has room again */
  audioSpace(): void {
    if (this.sourceBound) this.audioSource?.onSpace();
  }

  /** @internal the stream exists */
  created(owner: Connection, s: NativeStream): void {
    this.stream = {
      streamId: s.streamId, connection: owner, creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio,
      hasVideo: s.hasVideo, videoType: s.videoType, videoDimensions: { ...s.videoDimensions }, frameRate: undefined,
    };
    if (!this.settled) {
      this.settled = true;
      this.emit('streamCreated', makeEvent('streamCreated', this, { stream: this.stream }));
      this.link?.onCreated(this);
    }
  }

  /** @internal publishing failed */
  failed(e: OTError): void {
    const link = this.link;
    this.detach();
    if (this.settled) return;
    this.settled = true;
    link?.onFailed(e);
  }

  /** @internal a moderator muted it: the core turned its audio off */
  forceMuted(): void {
    this.audio = false;
    if (this.stream) this.stream.hasAudio = false;
    this.emit('muteForced', makeEvent('muteForced', this, {}));
  }

  /**
   * @internal the stream is gone (reason as in streamDestroyed). Returns true when the
   * default action ran (the publisher was destroyed).
   */
  ended(reason: string): boolean {
    const stream = this.stream;
    this.stream = undefined;
    const link = this.link;
    this.detach();
    if (!this.settled && link) {
      this.settled = true;
      link.onFailed(otError(1010, 'the publisher was destroyed before its stream was created', 'OT_NOT_CONNECTED'));
    }
    if (!stream) return false;
    const event = makeEvent('streamDestroyed', this, { stream, reason }, true);
    this.emit('streamDestroyed', event);
    if (event.isDefaultPrevented()) return false;
    this.markDestroyed(reason);
    return true;
  }

  /** @internal the session ended and its sessionDisconnected was not prevented */
  sessionEnded(reason: string): void {
    this.markDestroyed(reason);
  }

  private detach(): void {
    if (this.sourceBound) {
      this.sourceBound = false;
      this.audioSource?.detach();
      this.videoSource?.detach();
    }
    this.link = undefined;
    this.session = undefined;
  }

  private markDestroyed(reason: string): void {
    if (this.gone) return;
    this.gone = true;
    this.detach();
    this.emit('destroyed', makeEvent('destroyed', this, { reason }));
  }
}
