/**
 * The async iterators of a Subscriber's frames (`audioFrames()`, `videoFrames()`). Each has its
 * own queue, bounded by a cost (audio: ms of sound; video: frames): media is real time, so when
 * its consumer stops reading the oldest frames are dropped (and counted) rather than kept, and
 * the newest one is always kept. They are fed by the Subscriber directly, and all of them end
 * when it is destroyed (unsubscribed, stream destroyed, session disconnected): a `for await`
 * over them never hangs past the end of the stream. Frames still queued at the end are read
 * first.
 */
import type { FrameIterator } from './types';

interface Sink<F> {
  queue: F[];
  head: number;
  queued: number;
  max: number;
  dropped: number;
  wake: (() => void) | undefined;
  done: boolean;
}

export class FrameSinks<F> {
  private readonly sinks = new Set<Sink<F>>();
  private ended = false;
  /** frames dropped by iterators that are closed now (for the subscriber's total) */
  private droppedClosed = 0;

  /** `cost(frame)`: what a frame counts against an iterator's bound; `defaultMax`: the bound when open() is given none */
  constructor(private readonly cost: (f: F) => number, private readonly defaultMax: number) {}

  get size(): number { return this.sinks.size; }

  /** Every iterator's drops, closed ones included. */
  get dropped(): number {
    let n = this.droppedClosed;
    for (const s of this.sinks) n += s.dropped;
    return n;
  }

  /** A new iterator keeping at most `max` (in cost units) unread; one opened after the end is done at once. */
  open(max: number = this.defaultMax): FrameIterator<F> {
    const sink: Sink<F> = { queue: [], head: 0, queued: 0, max, dropped: 0, wake: undefined, done: this.ended };
    if (!this.ended) this.sinks.add(sink);
    const stop = (): void => {
      if (this.sinks.delete(sink)) this.droppedClosed += sink.dropped;
      sink.done = true;
      sink.wake?.();
    };
    const it: FrameIterator<F> = {
      get pending() { return sink.queue.length - sink.head; },
      get dropped() { return sink.dropped; },
      next: async () => {
        while (sink.head === sink.queue.length && !sink.done) await new Promise<void>((r) => { sink.wake = r; });
        sink.wake = undefined;
        if (sink.head < sink.queue.length) return { value: this.take(sink), done: false };
        stop();
        return { value: undefined, done: true };
      },
      return: async () => {
        stop();
        sink.queue = [];
        sink.head = 0;
        sink.queued = 0;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  }

  /** Hands one frame to every open iterator. */
  push(frame: F): void {
    const c = this.cost(frame);
    for (const sink of this.sinks) {
      // drop-oldest: keep at least the newest frame
      while (sink.head < sink.queue.length && sink.queued + c > sink.max) {
        this.take(sink);
        sink.dropped++;
      }
      sink.queue.push(frame);
      sink.queued += c;
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

  /** Takes the oldest frame of a non-empty queue; compacts the array now and then (amortized O(1)). */
  private take(sink: Sink<F>): F {
    const f = sink.queue[sink.head] as F;
    sink.head++;
    sink.queued -= this.cost(f);
    if (sink.head === sink.queue.length) {
      sink.queue = [];
      sink.head = 0;
    } else if (sink.head >= 64 && sink.head * 2 >= sink.queue.length) {
      sink.queue = sink.queue.slice(sink.head);
      sink.head = 0;
    }
    if (sink.queue.length === 0) sink.queued = 0;
    return f;
  }
}
