/**
 * The iterators of `Subscriber.videoFrames()`: frame sinks (./frame-sinks) bounded in frames
 * (default DEFAULT_VIDEO_QUEUE): a consumer slower than the stream sees the newest frames, the
 * older ones are dropped and counted.
 */
import { FrameSinks } from './frame-sinks';
import type { ReceivedVideoFrame } from './types';

export const DEFAULT_VIDEO_QUEUE = 4;

export class VideoFrameSinks extends FrameSinks<ReceivedVideoFrame> {
  constructor() { super(() => 1, DEFAULT_VIDEO_QUEUE); }
}
