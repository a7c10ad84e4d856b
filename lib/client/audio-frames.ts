/**
 * The iterators of `Subscriber.audioFrames()`: frame sinks (./frame-sinks) bounded in ms of
 * audio (default 2000).
 */
import { FrameSinks } from './frame-sinks';
import type { ReceivedAudioFrame } from './types';

const durationOf = (f: ReceivedAudioFrame): number => (f.samplesPerChannel * 1000) / f.sampleRate;

export class AudioFrameSinks extends FrameSinks<ReceivedAudioFrame> {
  constructor() { super(durationOf, 2000); }
}
