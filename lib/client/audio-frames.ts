/**
 * The async iterators of `Subscriber.audioFrames()`. Each has its own queue, bounded in ms of
 * audio: audio is real time, so when its consumer stops reading the oldest frames are dropped
 * (and counted) rather than kept. They are fed by the Subscriber directly, and all of them end
 * when it is destroyed (unsubscribed, stream destroyed, session disconnected): a `for await`
 * over them never hangs past the end of the stream. Frames still queued at the end are read
 * first.
 */
import type { AudioFrameIterator, ReceivedAudioFrame } from './types';

const DEFAULT_MAX_MS = 2000;

interface Sink {
  queue: ReceivedAudioFrame[];
  head: number;
  queuedMs: number;
  maxMs: number;
  dropped: number;
  wake: (() => void) | undefined;
  done: boolean;
}

const durationOf = (f: ReceivedAudioFrame): number => (f.samplesPerChannel * 1000) / f.sampleRate;

export class AudioFrameSinks {
  private readonly sinks = new Set<Sink>();
  private ended = false;
  /** frames dropped by iterators that are closed now (for the subscriber's total) */
  private droppedClosed = 0;

  get size(): number { return this.sinks.size; }

  /** Every iterator's drops, closed ones included. */
  get dropped(): number {
    let n = this.droppedClosed;
    for (const s of this.sinks) n += s.dropped;
    return n;
  }

  /** A new iterator; one opened after the end is done at once. */
  open(maxQueuedMs: number = DEFAULT_MAX_MS): AudioFrameIterator {
    const sink: Sink = { queue: [], head: 0, queuedMs: 0, maxMs: maxQueuedMs, dropped: 0, wake: undefined, done: this.ended };
    if (!this.ended) this.sinks.add(sink);
    const stop = (): void => {
      if (this.sinks.delete(sink)) this.droppedClosed += sink.dropped;
      sink.done = true;
      sink.wake?.();
    };
    const it: AudioFrameIterator = {
      get pending() { return sink.queue.length - sink.head; },
      get dropped() { return sink.dropped; },
      next: async () => {
        while (sink.head === sink.queue.length && !sink.done) await new Promise<void>((r) => { sink.wake = r; });
        sink.wake = undefined;
        if (sink.head < sink.queue.length) return { value: take(sink), done: false };
        stop();
        return { value: undefined, done: true };
      },
      return: async () => {
        stop();
        sink.queue = [];
        sink.head = 0;
        sink.queuedMs = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  }

  /** Hands one frame to every open iterator. */
  push(frame: ReceivedAudioFrame): void {
    const ms = durationOf(frame);
    for (const sink of this.sinks) {
      // drop-oldest: keep at least the newest frame
      while (sink.head < sink.queue.length && sink.queuedMs + ms > sink.maxMs) {
        take(sink);
        sink.dropped++;
      }
      sink.queue.push(frame);
      sink.queuedMs += ms;
      sink.wake?.();
    }
  }

  /** Ends every iterator: each returns what it holds, then done. New ones are done at once. */
  end(): void {
    this.ended = true;
    for (const sink of this.sinks) {
      this.droppedClosed += sink.dropped;
      sink.done = true;
      sink.wake?.();
    }
    this.sinks.clear();
  }
}

/** Takes the oldest frame of a non-empty queue; compacts the array now and then (amortized O(1)). */
function take(sink: Sink): ReceivedAudioFrame {
  const f = sink.queue[sink.head] as ReceivedAudioFrame;
  sink.head++;
  sink.queuedMs -= durationOf(f);
  if (sink.head === sink.queue.length) {
    sink.queue = [];
    sink.head = 0;
  } else if (sink.head >= 64 && sink.head * 2 >= sink.queue.length) {
    sink.queue = sink.queue.slice(sink.head);
    sink.head = 0;
  }
  if (sink.queue.length === 0) sink.queuedMs = 0;
  return f;
}
