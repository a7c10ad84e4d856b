/**
 * The cluster outbox: appends the entries a node's operations build to their sessions' logs,
 * in order, and holds them while Redis is away (docs/cluster.md, "Redis unavailable").
 *
 * An entry is sent at once while Redis is up and nothing waits for its session. Otherwise it
 * waits; so does an entry whose append failed: with an error reply it was not appended, with a
 * lost connection nobody knows. When Redis is back (or a second later, after an error reply),
 * resync() brings the node up to date (the registry's prepare step: catch up with the logs,
 * put back its records), drops each waiting entry that the stored log shows was appended after
 * all (by the id every entry carries), appends the others in order, then lets the registry
 * clean up. Nothing is appended twice, nothing reaches a client before it is in the log.
 * No session logic here.
 */
import { ClusterUnavailableError, type ClusterPort, type Committed } from './cluster';
import { isEmpty, type Batch } from './log-entry';

export interface OutboxHooks {
  /** where a session's log stands on this node (epoch, last applied entry), if it follows it */
  position(sessionId: string): { epoch: string | undefined; applied: number } | undefined;
  /** before waiting entries are appended: catch up with the logs, put back this node's records */
  prepare(): Promise<void>;
  /** after: remove this node's stale records, recount */
  finish(): Promise<void>;
  /** nothing waits for this session any more */
  drained(sessionId: string): void;
  log(line: string): void;
}

/** Retry delay after an error reply (Redis up but refusing writes). */
const RETRY_MS = 1000;

export class Outbox {
  /** entries waiting, per session, in the order their operations happened */
  private readonly waitingBySession = new Map<string, Batch[]>();
  /** entries sent and not answered yet, by id */
  private readonly inflight = new Map<string, Batch>();
  private seq = 0;
  /** entries waiting, in all */
  private count = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly cluster: ClusterPort, private readonly hooks: OutboxHooks) {}

  /** Whether an entry for this session would go out at once (REST answers 503 otherwise). */
  accepting(sessionId: string): boolean {
    return this.cluster.available && this.running === undefined && !this.waitingBySession.has(sessionId);
  }

  /** Whether the node is catching up after an outage (joins and takeovers wait for it). */
  get resyncing(): boolean {
    return this.running !== undefined;
  }

  waiting(sessionId: string): boolean {
    return this.waitingBySession.has(sessionId);
  }

  /** How many entries wait, in all. */
  get waitingCount(): number {
    return this.count;
  }

  /** Appends an operation's entry, now or when Redis allows. */
  send(b: Batch): void {
    if (isEmpty(b)) return;
    this.stamp(b);
    if (!this.accepting(b.sessionId)) return this.wait(b);
    this.inflight.set(b.id as string, b);
    this.cluster.commit(b).then(() => this.inflight.delete(b.id as string), (e: unknown) => this.failed(b, e));
  }

  /**
   * REST: appends now, or throws (the caller answers 503). When the outcome is unknown the
   * entry waits, to be appended once if it was not: the error says so.
   */
  async sendNow(b: Batch): Promise<Committed | null> {
    this.stamp(b);
    this.inflight.set(b.id as string, b);
    try {
      const r = await this.cluster.commit(b);
      this.inflight.delete(b.id as string);
      return r;
    } catch (e) {
      this.failed(b, e);
      throw e;
    }
  }

  /** An entry of a session's log, as applied: one of ours that was sent is in. */
  seen(id: string | undefined): void {
    if (id === undefined) return;
    const b = this.inflight.get(id);
    if (b) b.appended = true;
  }

  private stamp(b: Batch): void {
    b.order = ++this.seq;
    b.id = `${this.cluster.nodeId.slice(0, 8)}.${b.order}`;
    const at = this.hooks.position(b.sessionId);
    b.epoch = at?.epoch;
    b.sentAfter = at?.applied ?? 0;
  }

  private failed(b: Batch, e: unknown): void {
    this.inflight.delete(b.id as string);
    if (b.appended) return; // its entry came back already
    if (!(e instanceof ClusterUnavailableError && e.notDone)) b.unknown = true; // the connection went: appended or not
    this.wait(b);
    if (this.cluster.connected) this.scheduleRetry(); // an error reply: Redis is there, try again soon
  }

  private wait(b: Batch): void {
    const queue = this.waitingBySession.get(b.sessionId) ?? [];
    if (queue.length === 0) this.waitingBySession.set(b.sessionId, queue);
    queue.push(b);
    this.count++;
    queue.sort((x, y) => (x.order as number) - (y.order as number));
  }

  private scheduleRetry(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.cluster.connected) void this.resync();
    }, RETRY_MS);
    this.retry.unref();
  }

  /** Brings the node up to date after an outage and appends what waited. One at a time. */
  resync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.hooks.prepare();
          for (const [sid, queue] of this.waitingBySession) {
            const { epoch } = await this.cluster.logHead(sid);
            await this.dropAppended(sid, queue, epoch);
            while (queue.length > 0) {
              const b = queue[0] as Batch;
              // Redis lost the session's log: nobody can have acted on these meanwhile
              if (b.epoch !== undefined && b.epoch !== epoch) b.conds = [];
              await this.cluster.commit(b);
              queue.shift();
              this.count--;
            }
            this.waitingBySession.delete(sid);
            this.hooks.drained(sid);
          }
          await this.hooks.finish();
        } while (this.again || this.waitingBySession.size > 0);
      } catch (e) {
        this.hooks.log(`convene: redis: appending what waited failed (${(e as Error).message}); trying again when Redis is back`);
        if (this.cluster.connected) this.scheduleRetry();
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Drops the waiting entries whose append was cut off but that the stored log holds. */
  private async dropAppended(sessionId: string, queue: Batch[], epoch: string | undefined): Promise<void> {
    const unsure = queue.filter((b) => b.unknown);
    if (unsure.length === 0) return;
    // where the stored log stood when each was sent (from its start if the log changed epoch since)
    const from = Math.min(...unsure.map((b) => (b.epoch === epoch ? b.sentAfter ?? 0 : 0)));
    const ids = new Set((await this.cluster.fetch(sessionId, from, Number.MAX_SAFE_INTEGER)).map((e) => e.id));
    for (const b of unsure) {
      if (!ids.has(b.id)) continue;
      queue.splice(queue.indexOf(b), 1);
      this.count--;
    }
  }

  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }
}
