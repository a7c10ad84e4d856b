/**
 * VideoSource: raw frames a bot publishes (a rendered scene, a decoded file, a test pattern),
 * as in LiveKit's Node SDK. Pass it to `session.publish({ videoSource })`, then hand it frames:
 *
 *     const video = new VideoSource({ width: 640, height: 360, fps: 30 });
 *     await session.publish({ name: 'cam', videoSource: video });
 *     video.captureFrame({ format: 'I420', width: 640, height: 360, data });
 *
 * captureFrame copies the frame (converting it to I420, and scaling it to the source's size if
 * it differs) into the publisher, which encodes the newest frame at the source's frame rate.
 * Video is real time: a frame replaced before it was encoded (a producer faster than `fps`) is
 * dropped and counted (`stats.framesDropped`); nothing queues up. A producer slower than `fps`
 * sends fewer frames.
 *
 * When the publisher goes (unpublished, destroyed, session ended) the source can be published
 * again; captureFrame throws while it is not published.
 */
import { otError } from './errors';
import type { NativeSession } from './native';
import type { VideoFrame, VideoSourceOptions, VideoSourceStats } from './types';
import { checkVideoFrame } from './video-format';

/** Where the source writes: its publisher's native side. @internal */
export interface VideoSourceLink {
  readonly native: NativeSession;
  readonly pubId: number;
}

const MIN_SIDE = 16;
const MAX_SIDE = 4096;

/** A message for bad source options, undefined for good ones. */
function checkOptions(what: string, width: unknown, height: unknown, fps: unknown): string | undefined {
  const side = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= MIN_SIDE && (v as number) <= MAX_SIDE;
  if (!side(width)) return `${what}: width must be an integer from ${MIN_SIDE} to ${MAX_SIDE}, got ${String(width)}`;
  if (!side(height)) return `${what}: height must be an integer from ${MIN_SIDE} to ${MAX_SIDE}, got ${String(height)}`;
  if (!Number.isInteger(fps) || (fps as number) < 1 || (fps as number) > 60) return `${what}: fps must be an integer from 1 to 60, got ${String(fps)}`;
  return undefined;
}

export class VideoSource {
  private w: number;
  private h: number;
  private rate: number;
  private link: VideoSourceLink | undefined;
  private captured = 0;

  constructor(options: VideoSourceOptions) {
    if (options === null || typeof options !== 'object') throw otError(1011, 'VideoSource: options must be an object');
    const { width, height, fps = 30 } = options;
    const bad = checkOptions('VideoSource', width, height, fps);
    if (bad) throw otError(1011, bad);
    this.w = width;
    this.h = height;
    this.rate = fps;
  }

  /** the encoded size */
  get width(): number { return this.w; }
  get height(): number { return this.h; }
  /** the encoded frame rate */
  get fps(): number { return this.rate; }

  /**
   * Changes the encoded size (and rate) — mid-stream while published: the next frame is a
   * keyframe of the new size, the stream's videoDimensions follow (peers get
   * streamPropertyChanged, subscribers videoDimensionsChanged). Frames of any size may still
   * be captured (they are scaled). Throws 1011 for bad values.
   */
  resize(width: number, height: number, fps: number = this.rate): void {
    const bad = checkOptions('resize', width, height, fps);
    if (bad) throw otError(1011, bad);
    if (this.link) {
      const st = this.link.native.setVideoSource(this.link.pubId, width, height, fps);
      if (st !== 0) throw otError(1011, `resize: the core refused ${width}x${height} at ${fps} fps (status ${st})`);
    }
    this.w = width;
    this.h = height;
    this.rate = fps;
  }

  /** true while a publisher sends this source's video */
  get isPublished(): boolean { return this.link !== undefined; }

  /**
   * Hands one frame to the publisher (copied: `data` may be reused at once). Throws an OTError:
   * 1011 for a bad frame (the message says what), 1010 when the source is not published.
   */
  captureFrame(frame: VideoFrame): void {
    const bad = checkVideoFrame(frame);
    if (bad) throw otError(1011, `captureFrame: ${bad}`);
    const link = this.link;
    if (!link) throw otError(1010, 'captureFrame: the VideoSource is not published (session.publish({ videoSource }))', 'OT_NOT_CONNECTED');
    const st = link.native.writeVideo(link.pubId, frame.format, frame.width, frame.height, frame.data, frame.timestampUs ?? -1);
    if (st !== 0) throw otError(1011, `captureFrame: the core refused the frame (status ${st})`);
    this.captured++;
  }

  /** What the source and its publisher counted (zeros for the publisher's part while not published). */
  get stats(): VideoSourceStats {
    const m = this.link ? this.link.native.mediaStats('pub', this.link.pubId) : null;
    return {
      framesCaptured: this.captured,
      framesDropped: m?.videoFramesDropped ?? 0,
      framesEncoded: m?.videoFramesEncoded ?? 0,
      keyframesSent: m?.videoKeyframesSent ?? 0,
      keyframeRequests: m?.videoKeyframeRequests ?? 0,
      bitrateKbps: m?.videoBitrateKbps ?? 0,
      fps: m?.videoFps ?? 0,
    };
  }

  /** @internal session.publish binds the source to its native publisher */
  attach(link: VideoSourceLink): void {
    if (this.link) throw otError(1015, 'the VideoSource is already published by another publisher');
    this.link = link;
  }

  /** @internal the publisher is gone */
  detach(): void {
    this.link = undefined;
  }
}
