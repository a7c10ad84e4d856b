/**
 * EventDispatcher: Node's EventEmitter, typed by an event map, with the `on/once/off`
 * forms of OpenTok.js on top:
 *
 *     on(type, handler, context?)          once(...) likewise
 *     on('typeA typeB', handler, context?) several space-separated types
 *     on({ typeA: fnA, typeB: fnB }, context?)
 *     off(type, handler?, context?)        without handler: every handler of the type
 *     off({ typeA: fnA }, context?)        off(): every handler of every type
 *
 * A handler added with a context is called with `this` set to it; off() with a context
 * removes only the handlers added with that context. The inherited EventEmitter methods
 * (emit, addListener, prependListener, removeListener, listeners, ...) stay as Node has them,
 * typed from the same map.
 */
import { EventEmitter } from 'node:events';

/** An event map: event name → listener arguments. */
export type EventMapOf<E> = { [K in keyof E]: unknown[] };
/** The handler of one event. */
export type HandlerOf<E extends EventMapOf<E>, K extends keyof E> = (...args: E[K]) => void;
/** `{ type: handler, ... }`, the map form of on/once/off. */
export type HandlerMap<E extends EventMapOf<E>> = { [K in keyof E]?: HandlerOf<E, K> };
/** The first argument of any of the map's events (handlers of several types get one of them). */
export type AnyEventOf<E extends EventMapOf<E>> = { [K in keyof E]: E[K] extends [infer A, ...unknown[]] ? A : never }[keyof E];
/** Several event names separated by spaces. */
export type EventTypes<E> = `${keyof E & string} ${string}`;

type Fn = (...args: unknown[]) => void;
interface Bound extends Fn { listener: Fn; context: object }

function bind(handler: Fn, context: object): Bound {
  const bound = function (this: unknown, ...args: unknown[]): void { handler.apply(context, args); } as Bound;
  bound.listener = handler; // EventEmitter#listeners() and removeListener() see the handler
  bound.context = context;
  return bound;
}

/** The handler and context behind a raw listener (once() wraps once more, with `.listener`). */
function unwrap(raw: Fn): { handler: Fn; context: object | undefined } {
  let f = raw as Fn & Partial<Bound>;
  if (f.listener && !('context' in f)) f = f.listener as Fn & Partial<Bound>;
  return f.listener && f.context !== undefined ? { handler: f.listener, context: f.context } : { handler: f, context: undefined };
}

function typesOf(types: string): string[] {
  if (typeof types !== 'string') throw new TypeError('event type must be a string or a { type: handler } map');
  return types.split(' ').filter((t) => t !== '');
}

function checkHandler(handler: unknown, type: string): Fn {
  if (typeof handler !== 'function') throw new TypeError(`the handler of '${type}' must be a function`);
  return handler as Fn;
}

function checkContext(context: unknown): object | undefined {
  if (context === undefined || context === null) return undefined;
  if (typeof context !== 'object' && typeof context !== 'function') throw new TypeError('context must be an object');
  return context;
}

export class EventDispatcher<E extends EventMapOf<E>> extends EventEmitter<E> {
  override on<K extends keyof E>(type: K, handler: HandlerOf<E, K>, context?: object): this;
  override on(type: EventTypes<E>, handler: (event: AnyEventOf<E>) => void, context?: object): this;
  override on(handlers: HandlerMap<E>, context?: object): this;
  override on(types: unknown, handler?: unknown, context?: unknown): this {
    return this.add(false, types, handler, context);
  }

  override once<K extends keyof E>(type: K, handler: HandlerOf<E, K>, context?: object): this;
  override once(type: EventTypes<E>, handler: (event: AnyEventOf<E>) => void, context?: object): this;
  override once(handlers: HandlerMap<E>, context?: object): this;
  override once(types: unknown, handler?: unknown, context?: unknown): this {
    return this.add(true, types, handler, context);
  }

  override off<K extends keyof E>(type: K, handler?: HandlerOf<E, K>, context?: object): this;
  override off(type: EventTypes<E>, handler?: (event: AnyEventOf<E>) => void, context?: object): this;
  override off(handlers?: HandlerMap<E>, context?: object): this;
  override off(types?: unknown, handler?: unknown, context?: unknown): this {
    if (types === undefined) return this.removeAllListeners();
    if (typeof types === 'object' && types !== null) {
      const ctx = checkContext(handler);
      for (const [type, fn] of Object.entries(types)) this.remove(type, checkHandler(fn, type), ctx);
      return this;
    }
    const ctx = checkContext(context);
    for (const type of typesOf(types as string)) {
      if (handler === undefined) (this as unknown as EventEmitter).removeAllListeners(type);
      else this.remove(type, checkHandler(handler, type), ctx);
    }
    return this;
  }

  private add(once: boolean, types: unknown, handler: unknown, context: unknown): this {
    const emitter = EventEmitter.prototype as unknown as { on: (this: unknown, t: string, f: Fn) => unknown; once: (this: unknown, t: string, f: Fn) => unknown };
    const method = once ? emitter.once : emitter.on;
    const entries: Array<[string, Fn]> = [];
    let ctx: object | undefined;
    if (typeof types === 'object' && types !== null) {
      ctx = checkContext(handler);
      for (const [type, fn] of Object.entries(types)) entries.push([type, checkHandler(fn, type)]);
    } else {
      ctx = checkContext(context);
      for (const type of typesOf(types as string)) entries.push([type, checkHandler(handler, type)]);
    }
    for (const [type, fn] of entries) method.call(this, type, ctx === undefined ? fn : bind(fn, ctx));
    return this;
  }

  /** Removes every listener of `type` added with `handler` (and `context`, when given). */
  private remove(type: string, handler: Fn, context: object | undefined): void {
    const self = this as unknown as EventEmitter;
    for (const raw of self.rawListeners(type) as Fn[]) {
      const u = unwrap(raw);
      if (u.handler === handler && (context === undefined || u.context === context)) self.removeListener(type, raw);
    }
  }
}
