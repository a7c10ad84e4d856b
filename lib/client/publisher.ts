/** Publisher: the local side of a published stream (metadata only in this version). */
import { EventEmitter } from 'node:events';
import type { OTError } from './errors';
import type { NativeSession, NativeStream } from './native';
import type { Connection, Stream } from './types';

/** Events: `streamDestroyed` ({ reason }) when its stream goes (unpublished, forced, session ended). */
export class Publisher extends EventEmitter<{ streamDestroyed: [event: { reason: string }] }> {
  /** the stream, once created; undefined after it is destroyed */
  stream: Stream | undefined;
  private settled = false;

  /** @internal created by Session.publish */
  constructor(
    private readonly native: NativeSession,
    readonly id: number,
    readonly name: string,
    private audio: boolean,
    private video: boolean,
    private readonly onCreated: (p: Publisher) => void,
    private readonly onFailed: (e: OTError) => void,
  ) {
    super();
  }

  get publishingAudio(): boolean { return this.audio; }
  get publishingVideo(): boolean { return this.video; }

  /** Turns audio on or off; others get streamPropertyChanged (hasAudio). */
  publishAudio(on: boolean): void {
    this.audio = on;
    if (this.stream) this.stream.hasAudio = on;
    this.native.setPublish(this.id, 'audio', on);
  }

  /** Turns video on or off; others get streamPropertyChanged (hasVideo). */
  publishVideo(on: boolean): void {
    this.video = on;
    if (this.stream) this.stream.hasVideo = on;
    this.native.setPublish(this.id, 'video', on);
  }

  /** @internal */
  created(owner: Connection, s: NativeStream): void {
    this.stream = {
      streamId: s.streamId, connection: owner, creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio,
      hasVideo: s.hasVideo, videoType: s.videoType, videoDimensions: { ...s.videoDimensions }, frameRate: undefined,
    };
    if (!this.settled) {
      this.settled = true;
      this.onCreated(this);
    }
  }

  /** @internal */
  failed(e: OTError): void {
    if (this.settled) return;
    this.settled = true;
    this.onFailed(e);
  }

  /** @internal the stream is gone (reason as in streamDestroyed) */
  destroyed(reason: string): void {
    const had = this.stream !== undefined;
    this.stream = undefined;
    if (had) this.emit('streamDestroyed', { reason });
    this.failed(Object.assign(new Error('the publisher was destroyed before its stream was created'), { code: 1010, name: 'OT_NOT_CONNECTED' }) as OTError);
  }
}
