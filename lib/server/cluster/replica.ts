/**
 * The cluster side of the registry (docs/cluster.md): a node's part in sessions shared through
 * Redis. It applies each session's log entries in order to the node's own connections (their
 * events, numbered per connection), joins connections through the log, takes over connections
 * of other nodes (resume anywhere), records checkpoints, and brings the node up to date after
 * a Redis outage (with the outbox). The operations themselves stay in the registry, whose
 * ClusterNode (cluster-node.ts) builds their entries and reaches this; this reaches the registry
 * through RegistryCore (../session-port.ts).
 */
import { Connection, type SignalOrigin } from '../connection';
import { ErrorCode } from '../../wire';
import { fail } from '../request-error';
import { ClusterUnavailableError, type ClusterPort, type RemoteSnapshot } from './cluster';
import { addressedTo, Cond, eventsAfter, newBatch, removalBatch, Write, type Batch, type ClusterOp, type LogEntry, type StoredConnection, type StoredStream } from './log-entry';
import { Outbox } from './outbox';
import { SessionLog } from './session-log';
import {
  checkTokenHash, copyStream, fillSession, gone, storedStream, Session, tokenHash, wireConnection,
  type JoinOptions, type SessionSnapshot,
} from '../session-state';
import type { Role } from '../tokens';
import type { RegistryCore } from '../session-port';

const json = JSON.stringify;

/** Back-pressure across nodes: hold clients' requests while a node applies this far behind... */
const LAG_HOLD_MS = 100;
/** ...until every node is back under this. */
const LAG_RELEASE_MS = 30;
const LAG_REPORT_MS = 100;
/** Requests also wait while this many entries wait for Redis (an outage: bounded memory)... */
const WAITING_HOLD = 1000;
/** ...until fewer than this wait. */
const WAITING_RELEASE = 100;

export class Replica {
  /** appends entries, holds them while Redis is away */
  readonly outbox: Outbox;
  /** true while some node applies entries too far behind: clients' requests wait (back-pressure) */
  throttled = false;
  /** called when `throttled` changes */
  onThrottle: ((on: boolean) => void) | undefined;
  /** the largest apply lag since the last report */
  private lag = 0;
  /** the two reasons to hold requests: a node far behind, entries piling up for Redis */
  private behind = false;
  private piledUp = false;
  private lastReport = 0;
  private readonly lagTimer: NodeJS.Timeout;

  constructor(readonly cluster: ClusterPort, private readonly core: RegistryCore) {
    this.outbox = new Outbox(cluster, {
      position: (sid) => {
        const log = core.sessions.get(sid)?.log;
        return log?.initialized ? { epoch: log.epoch, applied: log.applied } : undefined;
      },
      prepare: () => this.prepareResync(),
      finish: () => this.finishResync(),
      drained: (sid) => {
        const session = core.sessions.get(sid);
        if (session) this.dropIfIdle(session);
        if (this.piledUp) this.setThrottle();
      },
      log: (line) => cluster.report(line, 'outbox'),
    });
    this.lagTimer = setInterval(() => void this.reportLag(), LAG_REPORT_MS);
    this.lagTimer.unref();
  }

  /**
   * Back-pressure. Requests wait while entries pile up for Redis (an outage), and across nodes:
   * each node reports how far behind it applies entries (the time
   * from their append to their application here); while any node is more than LAG_HOLD_MS
   * behind, every node holds its clients' requests (Registry -> ClientSocket) so that senders
   * slow down to what the slowest node delivers, instead of queueing seconds of events there.
   */
  private async reportLag(): Promise<void> {
    const mine = this.lag;
    this.lag = 0;
    this.lastReport = Date.now();
    let worst: number;
    try {
      worst = await this.cluster.reportLag(mine);
    } catch {
      worst = 0; // Redis away: the outbox holds entries anyway
    }
    this.behind = this.behind ? worst > LAG_RELEASE_MS : worst > LAG_HOLD_MS;
    this.setThrottle();
  }

  private setThrottle(): void {
    const waiting = this.outbox.waitingCount;
    this.piledUp = this.piledUp ? waiting >= WAITING_RELEASE : waiting >= WAITING_HOLD;
    const on = this.behind || this.piledUp;
    if (on === this.throttled) return;
    this.throttled = on;
    this.onThrottle?.(on);
  }

  close(): void {
    clearInterval(this.lagTimer);
    this.outbox.close();
  }

  /** Redis is back after an outage: catch up, then append what waited (Outbox.resync). */
  resync(): Promise<void> {
    return this.outbox.resync();
  }

  /** Appends an operation's entry (now, or once Redis allows). */
  commit(b: Batch): void {
    this.outbox.send(b);
    if (!this.piledUp && this.outbox.waitingCount >= WAITING_HOLD) this.setThrottle();
  }

  /**
   * Before a client joins a session here: takes its place in the session's cluster-wide count
   * and listens to the session. False when the session is full; throws when Redis is away.
   */
  async admit(sessionId: string, maxConnections: number): Promise<boolean> {
    const session = this.clusterSession(sessionId);
    session.joining++;
    let ok = false;
    try {
      ok = await this.cluster.admit(sessionId, maxConnections);
    } finally {
      if (!ok) {
        session.joining--;
        this.dropIfIdle(session);
      }
    }
    return ok;
  }

  /** Gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void {
    this.cluster.release(sessionId);
    const session = this.core.sessions.get(sessionId);
    if (!session) return;
    session.joining--;
    this.dropIfIdle(session);
  }

  /**
   * After an acknowledgement: records how far the client got (its checkpoint, on an entry
   * boundary) for a resume on another node.
   */
  checkpoint(conn: Connection): void {
    if (!conn.logged || conn.state === 'closed') return;
    const oldest = conn.oldestBufferedEntry;
    if (oldest?.n === 0) return; // an event given outside the log (the connection is ending)
    const ck = oldest ? { n: oldest.n - 1, seq: oldest.base, rid: conn.committedRid } : { n: conn.lastN, seq: conn.lastSeq, rid: conn.committedRid };
    if (ck.n === conn.checkpointN && ck.seq === conn.checkpointSeq) return;
    conn.checkpointN = ck.n;
    conn.checkpointSeq = ck.seq;
    this.cluster.checkpoint(conn.sessionId, conn.id, ck);
  }

  /** Cluster: joins and takeovers wait while the node catches up after an outage. */
  refuseWhileResyncing(): void {
    if (this.outbox.resyncing || !this.cluster.available) fail(ErrorCode.CONNECTION_REFUSED, 'the cluster store (Redis) was unavailable and this node is catching up: try again in a moment');
  }

  /**
   * Cluster, after an outage: for each session, a log that went back in time (Redis restarted
   * from an older snapshot: the same epoch, fewer entries than applied here) gets a new epoch;
   * then catch up with the log (what other nodes appended meanwhile), and put back this node's
   * records (connections, streams) that Redis may have lost.
   */
  private async prepareResync(): Promise<void> {
    const cluster = this.cluster;
    for (const s of [...this.core.sessions.values()]) {
      const log = s.log;
      if (!log?.initialized) continue;
      const { epoch, n } = await cluster.logHead(s.id);
      if (epoch === log.epoch && n < log.applied) await cluster.newEpoch(s.id);
      else if (epoch !== undefined && epoch !== log.epoch) log.adopt(epoch); // others started a new one meanwhile
      await log.catchUp();
    }
    await cluster.restore(this.localState());
  }

  /**
   * Cluster, after an outage, once what waited is appended: this node's records of
   * connections it does not hold (their leave could not be appended, or a join or takeover
   * was cut off) leave their sessions through the log; then the counts are recounted.
   */
  private async finishResync(): Promise<void> {
    const cluster = this.cluster;
    const stale = await cluster.staleRecords((sid, id) => this.core.findConnection(sid, id) !== undefined);
    for (const { sessionId, conn, streams } of stale) this.commit(removalBatch(sessionId, conn, streams, 'networkDisconnected', cluster.nodeId));
    if (stale.length === 0) await cluster.recount();
  }

  /** Cluster: the session object for a session this node takes part in (created with its log). */
  private clusterSession(sessionId: string): Session {
    let session = this.core.sessions.get(sessionId);
    if (!session) {
      session = new Session(sessionId);
      this.core.sessions.set(sessionId, session);
    }
    if (!session.log) session.log = this.newLog(session);
    return session;
  }

  private newLog(session: Session): SessionLog {
    const cluster = this.cluster;
    return new SessionLog({
      apply: (entry) => this.applyEntry(session, entry),
      fetch: (from, to) => cluster.fetch(session.id, from, to),
      reset: (epoch) => {
        // Redis lost the log: this node's clients take the new one from its start, and their
        // sequences no longer match it (no resume on another node for them)
        for (const c of session.connections.values()) {
          if (c.epoch === epoch) continue; // joined in the new epoch already
          c.lastN = 0;
          c.epoch = epoch;
          this.unlog(c);
        }
      },
      lost: (from, to) => {
        for (const c of session.connections.values()) this.unlog(c);
        this.cluster.report(`convene: cluster: session ${session.id}: log entries ${from}-${to} are lost (Redis lost or trimmed them); its clients here cannot resume on another node`, 'logEntriesLost');
      },
    });
  }

  /**
   * Cluster: a connection whose events are no longer all in the log: it cannot be resumed on
   * another node, and its checkpoint must not keep the log from being trimmed.
   */
  private unlog(c: Connection): void {
    if (!c.logged) return;
    c.logged = false;
    this.cluster.forgetCheckpoint(c.sessionId, c.id);
  }

  /** Cluster: forgets a session this node has no client in any more, and stops listening to it. */
  dropIfIdle(session: Session): void {
    if (session.connections.size > 0 || session.joining > 0 || this.core.sessions.get(session.id) !== session) return;
    if (this.outbox.waiting(session.id)) return; // its entries must find its log when Redis is back
    this.core.sessions.delete(session.id);
    this.cluster.leave(session.id);
  }

  /** Cluster: a connection as Redis stores it. */
  private record(conn: Connection): StoredConnection {
    return {
      ...conn.toWire(), node: (this.cluster).nodeId, role: conn.role, sup: conn.eventsSuppressed ? 1 : 0,
      lcl: [...conn.layoutClassList], tok: tokenHash(conn.resumeToken), rec: conn.logged ? 1 : 0,
    };
  }

  /**
   * Cluster: appends the connection's arrival to the session's log; the `connected` snapshot is
   * the session's state right after that entry, and the client's events start after it.
   */
  async join(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    const cluster = this.cluster;
    this.refuseWhileResyncing();
    const session = this.clusterSession(opts.sessionId);
    const log = session.log as SessionLog;
    const conn = this.core.newConnection(opts.sessionId, { creationTime: this.core.now(), data: opts.data, role: opts.role, sup: opts.eventsSuppressed, lcl: opts.layoutClassList ?? [] });
    const wire = conn.toWire();
    const b = newBatch(session.id);
    b.m.push({ b: json({ type: 'connectionCreated', connection: wire }), x: conn.id, ce: 1 });
    b.op.push({ t: 'connAdd', conn: wire, node: cluster.nodeId });
    b.writes.push([Write.PUT_CONNECTION, conn.id, json(this.record(conn))], [Write.PUT_CHECKPOINT, conn.id, '0:0'], [Write.ADD_NODE_SESSION, cluster.nodeId, session.id]);
    b.snapshot = true;
    log.hold();
    try {
      let r;
      try {
        r = await cluster.commit(b);
      } catch (e) {
        // Cut off: its arrival may be in the log. Remove it then (appends nothing if not).
        if (!(e instanceof ClusterUnavailableError && e.notDone)) this.commit(removalBatch(session.id, conn.toWire(), [], 'networkDisconnected', cluster.nodeId, false));
        fail(ErrorCode.CONNECTION_REFUSED, `the cluster store (Redis) is unavailable: no new connections for now, try again later (${(e as Error).message})`);
      }
      const state = r?.snapshot as RemoteSnapshot;
      if (!log.initialized) {
        fillSession(session, state, this.cluster.nodeId);
        log.init(r!.e, r!.n);
      }
      conn.lastN = r!.n;
      conn.epoch = r!.e;
      session.connections.set(conn.id, conn);
      session.joining--;
      return {
        conn,
        snapshot: {
          connections: opts.eventsSuppressed ? [] : state.connections.filter((c) => c.id !== conn.id).map(wireConnection),
          streams: state.streams.map(copyStream),
          forceMute: { active: state.mute?.active ?? false },
        },
      };
    } finally {
      log.release();
    }
  }

  /** Cluster: this node's connections and streams, per session (written back after a Redis outage). */
  localState(): Array<{ sessionId: string; connections: StoredConnection[]; streams: StoredStream[] }> {
    const out = [];
    for (const s of this.core.sessions.values()) {
      if (s.connections.size === 0) continue;
      const connections = [...s.connections.values()].filter((c) => c.state !== 'closed').map((c) => this.record(c));
      const streams = [...s.streams.values()].filter((st) => s.connections.has(st.connectionId)).map(storedStream);
      out.push({ sessionId: s.id, connections, streams });
    }
    return out;
  }

  /** Cluster: an entry of a session's log, as published (applied in order by the session's log). */
  receiveEntry(entry: LogEntry): void {
    this.core.sessions.get(entry.s)?.log?.receive(entry);
  }

  /**
   * Cluster: applies one entry of a session's log: its state changes, then each of its events
   * to this node's connections it is addressed to (numbered in each one's sequence), then its
   * orders. Entries a connection already has (n <= lastN) are skipped for it.
   */
  private applyEntry(session: Session, entry: LogEntry): void {
    if (entry.t !== undefined) {
      const now = Date.now();
      this.lag = Math.max(this.lag, now - entry.t);
      // a node that falls behind is too busy for its timer: it reports from here
      if (this.lag > LAG_HOLD_MS && now - this.lastReport >= LAG_REPORT_MS) void this.reportLag();
    }
    this.outbox.seen(entry.id);
    if (entry.mute) {
      session.forceMuteActive = entry.mute.active;
      session.forceMuteExcluded = new Set(entry.mute.excluded);
    }
    for (const op of entry.op ?? []) this.applyOp(session, op, entry);
    for (const c of [...session.connections.values()]) {
      if (entry.n <= c.lastN || entry.e !== c.epoch) continue;
      c.lastN = entry.n;
      for (const msg of entry.m) {
        if (addressedTo(msg, c.id, c.eventsSuppressed)) this.deliver(c, msg.b as string, entry.n, msg.rid, msg.sg);
      }
      // a client that gets nothing does not acknowledge: move its checkpoint on (log trimming)
      if (c.bufferedEvents === 0 && entry.n - c.checkpointN >= 256) this.checkpoint(c);
    }
    for (const msg of entry.m) {
      const target = msg.force !== undefined ? session.connections.get(msg.force) : undefined;
      if (target) this.core.forceDisconnect(target);
    }
    this.dropIfIdle(session);
  }

  /** Cluster: events reach this node's connections here (or directly when Redis is away). */
  private deliver(c: Connection, body: string, n: number, rid?: number, sig?: SignalOrigin): void {
    if (c.state === 'closed') return;
    if (rid !== undefined && rid > c.committedRid) c.committedRid = rid;
    if (!c.emit(body, n, sig)) this.core.overflow(c);
  }

  /** Cluster: applies a change of the session's state (idempotent: the origin applied it already). */
  private applyOp(session: Session, op: ClusterOp, entry: LogEntry): void {
    // a local connection is not touched by an entry older than where it stands (taken over here since)
    const stale = (c: Connection): boolean => c.epoch === entry.e && entry.n <= c.lastN;
    const me = this.cluster.nodeId;
    switch (op.t) {
      case 'connAdd':
        if (op.node !== me && !session.connections.has(op.conn.id)) {
          session.remote.set(op.conn.id, wireConnection(op.conn));
          session.remoteNode.set(op.conn.id, op.node);
        }
        return;
      case 'connDel': {
        session.remote.delete(op.id);
        session.remoteNode.delete(op.id);
        const local = session.connections.get(op.id);
        if (local && local.state !== 'closed' && !stale(local)) this.dropLocal(session, local, 4022, 'connection removed by the cluster');
        return;
      }
      case 'connMove': {
        if (op.node === me) {
          session.remote.delete(op.conn.id);
          session.remoteNode.delete(op.conn.id);
          this.core.mediaMoved(session);
          return;
        }
        const local = session.connections.get(op.conn.id);
        if (local && stale(local)) return;
        if (local) this.dropLocal(session, local, 4001, 'resumed on another node');
        session.remote.set(op.conn.id, wireConnection(op.conn));
        session.remoteNode.set(op.conn.id, op.node);
        this.core.mediaMoved(session); // its streams' frames now come from its new node
        return;
      }
      case 'streamPut':
        session.streams.set(op.stream.id, { ...op.stream, layoutClassList: [...(op.stream.layoutClassList ?? [])] });
        return;
      case 'streamSet': { // a change of one property, of a stream that still exists
        const stream = session.streams.get(op.id);
        if (stream) (stream as unknown as Record<string, unknown>)[op.key] = op.value;
        return;
      }
      case 'streamDel':
        session.forceMuteExcluded.delete(op.id);
        session.streams.delete(op.id);
        this.core.streamRemoved(session, op.id);
    }
  }

  /** Cluster: a connection of this node now lives elsewhere (or nowhere): forget it without announcing. */
  private dropLocal(session: Session, conn: Connection, code: number, reason: string): void {
    const transport = conn.currentTransport;
    conn.markClosed();
    session.connections.delete(conn.id);
    // its subscriptions follow it (cv:s:<sid>:subs); its streams' producers stay (their subscribers here get them from its node now)
    session.router?.dropSubscriber(conn.id);
    transport?.close(code, reason);
  }

  /**
   * Cluster: resumes a connection of another node (dead, or alive but left by its client).
   * Appends a `connMove` entry under the condition that the connection is still that node's,
   * then rebuilds the client's events from its checkpoint up to that entry out of the log,
   * with the same sequence numbers; later entries reach it here as to any local connection.
   */
  async takeOver(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection> {
    const cluster = this.cluster;
    this.refuseWhileResyncing();
    const unavailable = (e: unknown): never => fail(ErrorCode.CONNECTION_REFUSED, `the cluster store (Redis) is unavailable: try again later (${(e as Error).message})`);
    let stored;
    try {
      stored = await cluster.loadConnection(sessionId, connectionId);
    } catch (e) {
      unavailable(e);
    }
    if (!stored) gone();
    const { conn: rec, ck } = stored;
    if (!checkTokenHash(resumeToken, rec.tok)) fail(ErrorCode.AUTHENTICATION, 'resume token is invalid');
    // (rec.node may be this node: a takeover here whose answer was cut off by a Redis outage)
    if (!ck || rec.rec !== 1) {
      fail(ErrorCode.CONNECTION_DROPPED, 'connection cannot be resumed on another node: the cluster log does not hold all its events (Redis was unavailable)');
    }
    if (lastSeq < ck.seq) fail(ErrorCode.INVALID_PARAMETER, `lastSeq ${lastSeq} was already acknowledged (oldest held is ${ck.seq + 1})`);
    const session = this.clusterSession(sessionId); // kept (with its subscription) until this is done
    const log = session.log as SessionLog;
    session.joining++;
    let held = false;
    try {
      try {
        await cluster.listen(sessionId);
      } catch (e) {
        unavailable(e);
      }
      log.hold(); // nothing applied until the connection is rebuilt up to its connMove entry
      held = true;
      const conn = this.core.newConnection(sessionId, { creationTime: rec.creationTime, data: rec.data, role: rec.role as Role, sup: rec.sup === 1, lcl: rec.lcl ?? [] }, { id: connectionId, resumeToken });
      const b = newBatch(sessionId);
      b.conds.push([Cond.CONNECTION_ON_NODE, connectionId, rec.node]);
      b.op.push({ t: 'connMove', conn: conn.toWire(), node: cluster.nodeId });
      b.writes.push([Write.PUT_CONNECTION, connectionId, json(this.record(conn))], [Write.ADD_NODE_SESSION, cluster.nodeId, sessionId]);
      b.snapshot = !log.initialized;
      let r;
      try {
        r = await cluster.commit(b);
      } catch (e) {
        unavailable(e);
      }
      if (!r) gone(); // it left, was swept, or another node took it meanwhile
      if (!log.initialized) {
        fillSession(session, r.snapshot as RemoteSnapshot, this.cluster.nodeId);
        log.init(r.e, r.n);
      }
      session.remote.delete(connectionId);
      session.remoteNode.delete(connectionId);
      session.connections.set(connectionId, conn);
      conn.lastN = r.n;
      conn.epoch = r.e;
      this.core.startGrace(conn); // until the client is attached
      // The checkpoint as the old node left it (it cannot move it any more), and the entries after it.
      let from = ck;
      let entries: LogEntry[] = [];
      try {
        from = (await cluster.loadConnection(sessionId, connectionId))?.ck ?? ck;
        entries = await cluster.fetch(sessionId, from.n, r.n - 1);
      } catch (e) {
        this.core.destroy(conn, 'networkDisconnected');
        fail(ErrorCode.CONNECTION_DROPPED, `connection cannot be resumed: the cluster store (Redis) failed while rebuilding it (${(e as Error).message})`);
      }
      const complete = entries.length === r.n - 1 - from.n && entries.every((e, i) => e.n === from.n + 1 + i && e.e === r!.e);
      if (!complete) {
        this.core.destroy(conn, 'networkDisconnected');
        fail(ErrorCode.CONNECTION_DROPPED, 'connection cannot be resumed: its events are no longer in the cluster log (trimmed or lost)');
      }
      const { events, rid } = eventsAfter(entries, from, connectionId, rec.sup === 1);
      conn.startAfter(from.seq);
      conn.lastRequestId = rid;
      conn.committedRid = rid;
      for (const ev of events) {
        if (!conn.emit(ev.body, ev.n, ev.sg)) {
          this.core.destroy(conn, 'networkDisconnected');
          fail(ErrorCode.CONNECTION_DROPPED, 'connection cannot be resumed: too many unacknowledged events');
        }
      }
      // a forced disconnect its old node had not carried out yet
      if (entries.some((e) => e.m.some((m) => m.force === connectionId))) {
        this.core.forceDisconnect(conn);
        gone();
      }
      return this.core.resumeChecked(conn, lastSeq);
    } finally {
      session.joining--;
      if (held) log.release();
      this.dropIfIdle(session);
    }
  }
}
