/** EventDispatcher (lib/client/dispatcher.ts) and event objects (lib/client/events.ts), without a server. */
import { describe, expect, it } from 'vitest';
import { EventDispatcher } from '../lib/client/dispatcher';
import { makeEvent } from '../lib/client/events';

interface Events {
  a: [event: { n: number }];
  b: [event: { n: number }];
}

describe('EventDispatcher', () => {
  it('calls a handler with its context as this; off with a context removes only that binding', () => {
    const d = new EventDispatcher<Events>();
    const seen: string[] = [];
    const one = { name: 'one' };
    const two = { name: 'two' };
    function handler(this: { name: string }, e: { n: number }): void { seen.push(`${this.name}:${e.n}`); }
    d.on('a', handler, one);
    d.on('a', handler, two);
    d.emit('a', { n: 1 });
    d.off('a', handler, one);
    d.emit('a', { n: 2 });
    expect(seen).toEqual(['one:1', 'two:1', 'two:2']);
    expect(d.listeners('a')).toEqual([handler]); // the handler, not the binding
    d.off('a', handler);
    expect(d.listenerCount('a')).toBe(0);
  });

  it('once: map form with a context fires once; off(handler) removes a once binding', () => {
    const d = new EventDispatcher<Events>();
    const ctx = { hits: 0 };
    d.once({ a(this: typeof ctx) { this.hits++; }, b(this: typeof ctx) { this.hits += 10; } }, ctx);
    d.emit('a', { n: 0 });
    d.emit('a', { n: 0 });
    expect(ctx.hits).toBe(1);
    const fn = (): void => { ctx.hits += 100; };
    d.once('a b', fn, ctx);
    d.off('b', fn);
    d.emit('b', { n: 0 });
    expect(ctx.hits).toBe(11);
    d.emit('a', { n: 0 });
    expect(ctx.hits).toBe(111);
  });

  it('off(types) and off() remove every handler; bad arguments throw TypeError', () => {
    const d = new EventDispatcher<Events>();
    d.on('a b', () => {});
    d.on('a', () => {}, {});
    d.off('a');
    expect(d.listenerCount('a')).toBe(0);
    expect(d.listenerCount('b')).toBe(1);
    d.off();
    expect(d.eventNames()).toEqual([]);
    expect(() => d.on('a', 'nope' as unknown as () => void)).toThrow(TypeError);
    expect(() => d.on('a', () => {}, 5 as unknown as object)).toThrow(TypeError);
    expect(() => d.on({ a: 1 } as unknown as { a: () => void })).toThrow(TypeError);
  });
});

describe('event objects', () => {
  it('carry type, target, cancelable; preventDefault only counts when cancelable', () => {
    const target = {};
    const e = makeEvent('x', target, { n: 1 }, true);
    expect(e).toMatchObject({ type: 'x', target, cancelable: true, n: 1 });
    expect(e.isDefaultPrevented()).toBe(false);
    e.preventDefault();
    expect(e.isDefaultPrevented()).toBe(true);
    const f = makeEvent('y', target, {});
    f.preventDefault();
    expect(f.isDefaultPrevented()).toBe(false);
  });
});
