/**
 * Completion of asynchronous calls (connect, signal, publish, moderation), both ways:
 *
 * - with an OpenTok.js completion handler: the handler gets the error (or nothing), never
 *   synchronously; the returned promise then never rejects.
 * - without one: the returned promise rejects on failure, for `await` and `.catch`. If nobody
 *   attaches a handler to it (OpenTok.js code never awaits), the failure is not an unhandled
 *   rejection (which would end the process): it goes to `unobserved` instead, which the Session
 *   routes to its `exception` listeners.
 *
 * How "nobody attached a handler" is told: the returned promise is an ObservedPromise, whose
 * then() (also behind catch, finally and await) records that someone is listening. The
 * promise itself is marked handled so Node never reports it; a promise derived from it by
 * then() without a rejection handler is the caller's, and reported as usual.
 */
import type { OTError } from './errors';

export type CompletionHandler = (error?: OTError) => void;

class ObservedPromise<T> extends Promise<T> {
  // Derived promises (then, catch, finally) are plain ones.
  static override get [Symbol.species](): PromiseConstructor { return Promise; }
  observed = false;

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    this.observed = true;
    return super.then(onFulfilled, onRejected);
  }
}

const noop = (): void => {};

/**
 * Settles `work` the OpenTok.js way (see above). `unobserved` is called with the error of a
 * failure nobody handled: by then every synchronous caller and every `await` has had its
 * chance to attach (checked on the next turn of the event loop).
 */
export function complete(work: Promise<void>, handler: CompletionHandler | undefined, unobserved: (e: OTError) => void): Promise<void>;
/** `valueOnError`: what the promise resolves to when a handler took the error. */
export function complete<T>(work: Promise<T>, handler: CompletionHandler | undefined, unobserved: (e: OTError) => void, valueOnError: T): Promise<T>;
export function complete<T>(work: Promise<T>, handler: CompletionHandler | undefined, unobserved: (e: OTError) => void, valueOnError?: T): Promise<T> {
  if (handler !== undefined) {
    return work.then(
      (v) => { process.nextTick(handler); return v; },
      (e: OTError) => { process.nextTick(handler, e); return valueOnError as T; },
    );
  }
  let out: ObservedPromise<T> | undefined;
  out = new ObservedPromise<T>((resolve, reject) => {
    work.then(resolve, (e: OTError) => {
      reject(e);
      setImmediate(() => { if (out && !out.observed) unobserved(e); });
    });
  });
  // Marks it handled without counting as an observer (Promise.prototype.then, not ours).
  Promise.prototype.then.call(out, undefined, noop);
  return out;
}
