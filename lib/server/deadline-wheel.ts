/**
 * A bucketed timing wheel of deadlines, for the keepalive of every socket of a server: each
 * item sits in the bucket of its next deadline (buckets `periodMs` wide, on the clock the
 * caller passes in), and `advance(now)` visits only the items whose deadline has come, in
 * the buckets passed since the last advance. An item is not moved when its deadline moves
 * later (a socket that hears its peer only updates a field): it is visited once at its old
 * deadline, and the visit returns the new one. So a sweep costs what is due, not the number
 * of sockets, and a socket that hears its peer every interval is visited about once per
 * interval instead of once per period.
 *
 * An item is visited no sooner than its deadline and, if advance() is called every period,
 * less than one period (plus the timer's lateness) after it. Pure: no timers, no clock.
 */
export class DeadlineWheel<T> {
  private readonly buckets = new Map<number, Set<T>>();
  /** each item's deadline and bucket */
  private readonly where = new Map<T, { deadline: number; key: number }>();
  /** the last bucket advance() has emptied: later schedules go after it */
  private done: number;

  constructor(private readonly periodMs: number, now: number) {
    if (!(periodMs > 0)) throw new RangeError('DeadlineWheel: periodMs must be > 0');
    this.done = Math.floor(now / periodMs) - 1;
  }

  get size(): number {
    return this.where.size;
  }

  has(item: T): boolean {
    return this.where.has(item);
  }

  /** (Re)places `item` at `deadline` (ms, the clock of `now`). */
  schedule(item: T, deadline: number): void {
    this.remove(item);
    const key = Math.max(Math.floor(deadline / this.periodMs), this.done + 1);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(key, bucket);
    }
    bucket.add(item);
    this.where.set(item, { deadline, key });
  }

  remove(item: T): void {
    const at = this.where.get(item);
    if (!at) return;
    this.where.delete(item);
    const bucket = this.buckets.get(at.key);
    if (!bucket) return;
    bucket.delete(item);
    if (bucket.size === 0) this.buckets.delete(at.key);
  }

  /**
   * Visits every item whose deadline is at or before `now`, each once: `visit` returns the
   * item's next deadline (it is scheduled again) or undefined (it leaves the wheel). Items in
   * a passed bucket whose deadline is still ahead move to the next bucket unvisited. Returns
   * the number of items visited.
   */
  advance(now: number, visit: (item: T) => number | undefined): number {
    const upTo = Math.floor(now / this.periodMs);
    let visited = 0;
    for (let key = this.done + 1; key <= upTo; key++) {
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      this.buckets.delete(key);
      this.done = key; // what is scheduled from here on goes to a later bucket
      for (const item of bucket) {
        const at = this.where.get(item);
        if (!at || at.key !== key) continue; // removed or moved during this advance
        this.where.delete(item);
        if (at.deadline > now) {
          this.schedule(item, at.deadline);
          continue;
        }
        visited++;
        const next = visit(item);
        if (next !== undefined && !this.where.has(item)) this.schedule(item, next);
      }
    }
    if (upTo > this.done) this.done = upTo;
    return visited;
  }
}
