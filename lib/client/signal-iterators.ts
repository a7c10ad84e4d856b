/**
 * The async iterators of `Session.signals()`. They are fed by the session directly, not through
 * its public listeners, so `off()` / `removeAllListeners()` cannot leave one waiting forever; all
 * of them end when the session ends. Signals are exactly-once, so an iterator's queue keeps
 * every signal until it is read (its length is readable as `pending` for a consumer that wants
 * to watch it).
 */
import type { SignalEvent } from './types';

interface Sink {
  type: string | undefined;
  queue: SignalEvent[];
  wake: (() => void) | undefined;
  done: boolean;
}

export interface SignalIterator extends AsyncIterableIterator<SignalEvent> {
  /** signals received and not read yet */
  readonly pending: number;
}

export class SignalIterators {
  private readonly sinks = new Set<Sink>();

  /** A new iterator over signals of `type` (every type when undefined). */
  open(type: string | undefined): SignalIterator {
    const sink: Sink = { type, queue: [], wake: undefined, done: false };
    this.sinks.add(sink);
    const stop = (): void => {
      sink.done = true;
      this.sinks.delete(sink);
      sink.wake?.();
    };
    const it: SignalIterator = {
      get pending() { return sink.queue.length; },
      next: async () => {
        while (sink.queue.length === 0 && !sink.done) await new Promise<void>((r) => { sink.wake = r; });
        sink.wake = undefined;
        const value = sink.queue.shift();
        if (value) return { value, done: false };
        stop();
        return { value: undefined, done: true };
      },
      return: async () => { stop(); sink.queue.length = 0; return { value: undefined, done: true }; },
      [Symbol.asyncIterator]() { return it; },
    };
    return it;
  }

  push(event: SignalEvent): void {
    for (const sink of this.sinks) {
      if (sink.type !== undefined && sink.type !== event.type) continue;
      sink.queue.push(event);
      sink.wake?.();
    }
  }

  /** Ends every iterator: each returns what it holds, then done. */
  end(): void {
    for (const sink of this.sinks) {
      sink.done = true;
      sink.wake?.();
    }
    this.sinks.clear();
  }
}
