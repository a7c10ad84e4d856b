/**
 * In-order application of one session's log entries on a node (docs/cluster.md). Entries
 * arrive by Redis pub/sub, in order while the subscription holds; they are buffered while the
 * log is not initialized yet or held (a join or a takeover in flight), gaps are fetched from
 * the stored log, and a new epoch (Redis lost the log) restarts the numbering. No I/O here:
 * fetching is injected.
 */
import type { LogEntry } from './log-entry';

export interface SessionLogHooks {
  apply(entry: LogEntry): void;
  /** entries with from < n <= to, in order (those still stored) */
  fetch(from: number, to: number): Promise<LogEntry[]>;
  /** the log was reset (Redis lost it): a new epoch, numbered from 1 */
  reset(epoch: string): void;
  /** entries that could not be had (lost while Redis was away, or trimmed) */
  lost(from: number, to: number): void;
}

export class SessionLog {
  epoch: string | undefined;
  /** n of the last entry applied; -1 until initialized */
  applied = -1;
  private holds = 0;
  private readonly buffer = new Map<number, LogEntry>();
  private fetching = false;
  private filling: Promise<void> | undefined;

  constructor(private readonly hooks: SessionLogHooks) {}

  get initialized(): boolean {
    return this.applied >= 0;
  }

  /** Starts applying after entry n of epoch e (the state is known as it was right after it). */
  init(epoch: string, n: number): void {
    if (this.initialized) return;
    this.epoch = epoch;
    this.applied = n;
    this.drain();
  }

  /** Redis has a new epoch of the log (it lost the old one): take it from its start. */
  adopt(epoch: string): void {
    if (!this.initialized || epoch === this.epoch) return;
    for (const [n, entry] of this.buffer) if (entry.e !== epoch) this.buffer.delete(n);
    this.epoch = epoch;
    this.applied = 0;
    this.hooks.reset(epoch);
    this.drain();
  }

  /** Stops applying until release(): the caller inserts a connection at a known entry meanwhile. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds--;
    this.drain();
  }

  receive(entry: LogEntry): void {
    this.buffer.set(entry.n, entry);
    this.drain();
  }

  /**
   * After the subscription was lost: fetches and applies whatever follows the last applied
   * entry. Resolves when done (whether or not Redis answered).
   */
  async catchUp(): Promise<void> {
    if (!this.initialized) return;
    if (this.filling) await this.filling;
    await this.fill(this.applied, Number.MAX_SAFE_INTEGER);
  }

  private drain(): void {
    if (!this.initialized || this.holds > 0) return;
    for (;;) {
      if (this.buffer.size === 0) return;
      let lowest = Infinity;
      for (const [n, entry] of this.buffer) {
        if (entry.e !== this.epoch) { // Redis lost the log: a new numbering, from 1
          for (const [m, other] of this.buffer) if (other.e !== entry.e) this.buffer.delete(m);
          this.epoch = entry.e;
          this.applied = 0;
          this.hooks.reset(entry.e);
          lowest = Infinity;
          for (const m of this.buffer.keys()) if (m < lowest) lowest = m;
          break;
        }
        if (n <= this.applied) this.buffer.delete(n);
        else if (n < lowest) lowest = n;
      }
      const next = this.buffer.get(this.applied + 1);
      if (!next) {
        if (lowest !== Infinity && !this.fetching) this.fill(this.applied, lowest - 1);
        return;
      }
      this.buffer.delete(next.n);
      this.applied = next.n;
      this.hooks.apply(next);
      if (this.holds > 0) return;
    }
  }

  /** Fetches the entries in (from, to] from the stored log, then goes on. */
  private fill(from: number, to: number): Promise<void> {
    this.fetching = true;
    const epoch = this.epoch;
    this.filling = this.hooks.fetch(from, to).then((entries) => {
      this.filling = undefined;
      this.fetching = false;
      if (this.epoch !== epoch) return this.drain(); // the log changed epoch meanwhile: these are the old one's
      for (const e of entries) if (e.e === epoch && e.n > this.applied) this.buffer.set(e.n, e);
      if (this.epoch === epoch && this.applied === from && !this.buffer.has(from + 1)) {
        let lowest = Infinity;
        for (const n of this.buffer.keys()) if (n > from && n < lowest) lowest = n;
        if (lowest !== Infinity) { // what lies between is not stored any more
          this.hooks.lost(from + 1, lowest - 1);
          this.applied = lowest - 1;
        }
      }
      this.drain();
    }, () => {
      this.filling = undefined;
      this.fetching = false; // Redis is away: the next entry or catchUp() tries again
    });
    return this.filling;
  }
}
