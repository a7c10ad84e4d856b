/**
 * The server's keepalive wheel (lib/server/deadline-wheel.ts), on a clock of its own: an item
 * is visited at its deadline, never before and less than one period after when advanced every
 * period, whatever the phase; a sweep visits what is due, not every item.
 */
import { describe, expect, it } from 'vitest';
import { DeadlineWheel } from '../lib/server/deadline-wheel';

describe('DeadlineWheel', () => {
  it('visits an item once its deadline has come, not before', () => {
    const w = new DeadlineWheel<string>(1000, 1000);
    w.schedule('a', 1050);
    w.schedule('b', 1500);
    w.schedule('c', 2999);
    const seen: string[] = [];
    const visit = (x: string): undefined => { seen.push(x); return undefined; };
    w.advance(1049, visit); // bucket 1 passes: a and b are not due yet
    expect(seen).toEqual([]);
    w.advance(2049, visit);
    expect(seen).toEqual(['a', 'b']);
    w.advance(3049, visit);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(w.size).toBe(0);
  });

  it('advanced every period at any phase: each visit within [deadline, deadline + period)', () => {
    const period = 100;
    let seed = 7;
    const rand = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    for (const phase of [0, 1, 37, 99]) {
      const w = new DeadlineWheel<number>(period, 0);
      const deadlines = new Map<number, number>();
      for (let i = 0; i < 500; i++) {
        const d = Math.floor(rand() * 5000);
        deadlines.set(i, d);
        w.schedule(i, d);
      }
      const visitedAt = new Map<number, number>();
      for (let t = phase; t <= 5200; t += period) {
        w.advance(t, (i) => { expect(visitedAt.has(i)).toBe(false); visitedAt.set(i, t); return undefined; });
      }
      expect(visitedAt.size).toBe(500);
      for (const [i, d] of deadlines) {
        const at = visitedAt.get(i)!;
        expect(at).toBeGreaterThanOrEqual(d);
        expect(at).toBeLessThan(d + period);
      }
    }
  });

  it('a visit returns the next deadline (or undefined to leave); a removed item is never visited', () => {
    const w = new DeadlineWheel<string>(10, 0);
    w.schedule('again', 15);
    w.schedule('gone', 15);
    w.schedule('removed', 15);
    w.remove('removed');
    expect(w.has('removed')).toBe(false);
    const seen: Array<[string, number]> = [];
    for (let t = 0; t <= 100; t += 10) {
      w.advance(t, (x) => { seen.push([x, t]); return x === 'again' ? t + 30 : undefined; });
    }
    expect(seen).toEqual([['again', 20], ['gone', 20], ['again', 50], ['again', 80]]);
    expect(w.has('again')).toBe(true);
    expect(w.has('gone')).toBe(false);
  });

  it('a sweep visits what is due: an item due every 10 periods is visited 10 times in 100 periods, not 100', () => {
    const w = new DeadlineWheel<number>(1, 0);
    for (let i = 0; i < 1000; i++) w.schedule(i, 10 + (i % 10));
    let visits = 0;
    for (let t = 0; t < 100; t++) visits += w.advance(t, () => t + 10);
    expect(visits).toBeGreaterThanOrEqual(9 * 1000);
    expect(visits).toBeLessThanOrEqual(10 * 1000);
  });

  it('refuses a period that is not positive', () => {
    expect(() => new DeadlineWheel(0, 0)).toThrow(RangeError);
  });
});
