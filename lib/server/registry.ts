/**
 * The session registry: sessions, their connections and streams, and every operation a
 * client request or a REST call can perform (docs/protocol.md, sections 4, 5, 6.2, 8.3).
 * No sockets and no HTTP here: connections are reached through Connection.emit.
 *
 * Alone, an operation emits its events at once. In a cluster (docs/cluster.md) an operation
 * builds one entry of the session's log instead (`this.batch`), the cluster appends it, and
 * every node emits the events of the entries to its own clients, in log order (applyEntry).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { Connection, RateLimiter, Transport } from './connection';
import { ReplyError } from 'ioredis';
import { ErrorCode, fail, wireError, WireError } from './errors';
import type { RequestBody, StreamProps, VideoDimensions, WireConnection, WireStream } from './protocol';
import type { Role } from './tokens';
import type { ClusterPort, RemoteSnapshot } from './cluster';
import { addressedTo, eventsAfter, isEmpty, newBatch, removalBatch, type Batch, type ClusterOp, type LogEntry, type LogMsg, type MuteState, type StoredConnection, type StoredStream } from './log-entry';
import { Outbox } from './outbox';
import { SessionLog } from './session-log';

export type ConnectionDestroyedReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected';
export type StreamDestroyedReason = ConnectionDestroyedReason | 'forceUnpublished' | 'mediaStopped';

export interface RegistryLimits {
  maxConnectionsPerSession: number;
  signalsPerSecond: number;
  signalBurst: number;
  maxReplayEvents: number;
  maxReplayBytes: number;
}

export interface RegistryOptions {
  limits: RegistryLimits;
  graceWindowMs: number;
  now?: () => number;
  /** Called when a connection's grace window ends or it is destroyed (for logs/metrics). */
  onConnectionGone?: (conn: Connection, reason: ConnectionDestroyedReason) => void;
  /** Set when this node is one of several sharing their sessions through Redis. */
  cluster?: ClusterPort;
}

interface Stream extends WireStream {
  /** layout classes for archives and broadcasts (REST API), from the publisher's token */
  layoutClassList: string[];
  /* the media attachment point of a later version: tracks will hang off the stream */
}

/** A stream as the REST API shows it. */
export interface RestStream extends WireStream {
  layoutClassList: string[];
}

class Session {
  /** this node's connections */
  readonly connections = new Map<string, Connection>();
  /** the session's connections on other nodes (cluster only): a mirror kept by their events */
  readonly remote = new Map<string, WireConnection>();
  readonly streams = new Map<string, Stream>();
  forceMuteActive = false;
  forceMuteExcluded = new Set<string>();
  /** cluster: the session's log as this node applies it */
  log: SessionLog | undefined;
  /** cluster: joins and takeovers in flight (the session must stay) */
  joining = 0;
  constructor(readonly id: string) {}
}

export interface JoinOptions {
  sessionId: string;
  role: Role;
  data: string;
  eventsSuppressed: boolean;
  layoutClassList?: string[];
}

export interface SessionSnapshot {
  connections: WireConnection[];
  streams: WireStream[];
  forceMute: { active: boolean };
}

const json = JSON.stringify;

export class Registry {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  /** cluster: the log entry the current operation builds */
  private batch: Batch | undefined;
  /** cluster: appends entries, holds them while Redis is away */
  private outbox: Outbox | undefined;

  constructor(private readonly opts: RegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Makes this registry a cluster node's (server.listen, once Redis is reached). */
  attachCluster(cluster: ClusterPort): void {
    this.opts.cluster = cluster;
    this.outbox = new Outbox(cluster, {
      position: (sid) => {
        const log = this.sessions.get(sid)?.log;
        return log?.initialized ? { epoch: log.epoch, applied: log.applied } : undefined;
      },
      prepare: () => this.prepareResync(),
      finish: () => this.finishResync(),
      drained: (sid) => {
        const session = this.sessions.get(sid);
        if (session) this.dropIfIdle(session);
      },
      log: (line) => console.error(line),
    });
  }

  /** Cluster: Redis is back after an outage: catch up, then append what waited (Outbox.resync). */
  resync(): Promise<void> {
    return this.outbox?.resync() ?? Promise.resolve();
  }

  /**
   * Cluster, after an outage: for each session, a log that went back in time (Redis restarted
   * from an older snapshot: the same epoch, fewer entries than applied here) gets a new epoch;
   * then catch up with the log (what other nodes appended meanwhile), and put back this node's
   * records (connections, streams) that Redis may have lost.
   */
  private async prepareResync(): Promise<void> {
    const cluster = this.opts.cluster as ClusterPort;
    for (const s of [...this.sessions.values()]) {
      const log = s.log;
      if (!log?.initialized) continue;
      const epoch = await cluster.epochOf(s.id);
      if (epoch === log.epoch && (await cluster.headOf(s.id)) < log.applied) await cluster.newEpoch(s.id);
      else if (epoch !== undefined && epoch !== log.epoch) log.adopt(epoch); // others started a new one meanwhile
      await log.catchUp();
    }
    await cluster.restore(this.localState());
  }

  /** Cluster: joins and takeovers wait while the node catches up after an outage. */
  private refuseWhileResyncing(): void {
    if (this.outbox?.resyncing || (this.opts.cluster && !this.opts.cluster.available)) fail(ErrorCode.CONNECTION_REFUSED, 'the cluster store (Redis) was unavailable and this node is catching up: try again in a moment');
  }

  get cluster(): ClusterPort | undefined {
    return this.opts.cluster;
  }

  /**
   * Cluster: before a client joins a session here, takes its place in the session's
   * cluster-wide count and merges what the other nodes have in it. 'full' when the session is
   * full. Throws ClusterUnavailableError when Redis cannot be reached. Alone: always 'ok'.
   */
  async admit(sessionId: string): Promise<'ok' | 'full'> {
    const { cluster } = this.opts;
    if (!cluster) return 'ok';
    const session = this.clusterSession(sessionId);
    session.joining++;
    let ok = false;
    try {
      ok = await cluster.admit(sessionId, this.opts.limits.maxConnectionsPerSession);
    } finally {
      if (!ok) {
        session.joining--;
        this.dropIfIdle(session);
      }
    }
    return ok ? 'ok' : 'full';
  }

  /** Cluster: gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void {
    const { cluster } = this.opts;
    if (!cluster) return;
    cluster.release(sessionId);
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.joining--;
    this.dropIfIdle(session);
  }

  /** Cluster: the session object for a session this node takes part in (created with its log). */
  private clusterSession(sessionId: string): Session {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new Session(sessionId);
      this.sessions.set(sessionId, session);
    }
    if (!session.log) session.log = this.newLog(session);
    return session;
  }

  private newLog(session: Session): SessionLog {
    const cluster = this.opts.cluster as ClusterPort;
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
        console.error(`convene: cluster: session ${session.id}: log entries ${from}-${to} are lost (Redis lost or trimmed them); its clients here cannot resume on another node`);
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
    this.opts.cluster?.forgetCheckpoint(c.sessionId, c.id);
  }

  /**
   * Cluster, after an outage, once what waited is appended: this node's records of
   * connections it does not hold (their leave could not be appended, or a join or takeover
   * was cut off) leave their sessions through the log; then the counts are recounted.
   */
  private async finishResync(): Promise<void> {
    const cluster = this.opts.cluster as ClusterPort;
    const stale = await cluster.staleRecords((sid, id) => this.findConnection(sid, id) !== undefined);
    for (const { sessionId, conn, streams } of stale) this.commit(removalBatch(sessionId, conn, streams, 'networkDisconnected', cluster.nodeId));
    if (stale.length === 0) await cluster.recount();
  }

  /** Cluster: forgets a session this node has no client in any more, and stops listening to it. */
  private dropIfIdle(session: Session): void {
    if (session.connections.size > 0 || session.joining > 0 || this.sessions.get(session.id) !== session) return;
    if (this.outbox?.waiting(session.id)) return; // its entries must find its log when Redis is back
    this.sessions.delete(session.id);
    this.opts.cluster?.leave(session.id);
  }

  get graceWindowMs(): number {
    return this.opts.graceWindowMs;
  }

  get limits(): RegistryLimits {
    return this.opts.limits;
  }

  /** Number of sessions with at least one connection. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  connectionCount(sessionId?: string): number {
    if (sessionId !== undefined) return this.sessions.get(sessionId)?.connections.size ?? 0;
    let n = 0;
    for (const s of this.sessions.values()) n += s.connections.size;
    return n;
  }

  /** Every live connection, for shutdown. */
  *allConnections(): IterableIterator<Connection> {
    for (const s of this.sessions.values()) yield* s.connections.values();
  }

  findConnection(sessionId: string, connectionId: string): Connection | undefined {
    return this.sessions.get(sessionId)?.connections.get(connectionId);
  }

  /**
   * Adds a connection to a session: join() alone, through the session's log in a cluster
   * (after admit()). Rejects with a RequestError (1027 full, 1023 Redis unavailable).
   */
  async connect(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    return this.opts.cluster ? this.joinCluster(opts) : this.join(opts);
  }

  private newConnection(sessionId: string, o: { creationTime: number; data: string; role: Role; sup: boolean; lcl: readonly string[] }, restored?: { id: string; resumeToken: string }): Connection {
    const { limits } = this.opts;
    return new Connection(
      sessionId, o.creationTime, o.data, o.role, o.sup,
      new RateLimiter(limits.signalsPerSecond, limits.signalBurst, this.now()), limits, [...o.lcl], restored,
    );
  }

  /** Cluster: a connection as Redis stores it. */
  private record(conn: Connection): StoredConnection {
    return {
      ...conn.toWire(), node: (this.opts.cluster as ClusterPort).nodeId, role: conn.role, sup: conn.eventsSuppressed ? 1 : 0,
      lcl: [...conn.layoutClassList], tok: tokenHash(conn.resumeToken), rec: conn.logged ? 1 : 0,
    };
  }

  /**
   * Cluster: appends the connection's arrival to the session's log; the `connected` snapshot is
   * the session's state right after that entry, and the client's events start after it.
   */
  private async joinCluster(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    const cluster = this.opts.cluster as ClusterPort;
    this.refuseWhileResyncing();
    const session = this.clusterSession(opts.sessionId);
    const log = session.log as SessionLog;
    const conn = this.newConnection(opts.sessionId, { creationTime: this.now(), data: opts.data, role: opts.role, sup: opts.eventsSuppressed, lcl: opts.layoutClassList ?? [] });
    const wire = conn.toWire();
    const b = newBatch(session.id);
    b.m.push({ b: json({ type: 'connectionCreated', connection: wire }), x: conn.id, ce: 1 });
    b.op.push({ t: 'connAdd', conn: wire, node: cluster.nodeId });
    b.writes.push(['pc', conn.id, json(this.record(conn))], ['pk', conn.id, '0:0'], ['ns', cluster.nodeId, session.id]);
    b.snapshot = true;
    log.hold();
    try {
      let r;
      try {
        r = await cluster.commit(b);
      } catch (e) {
        // Cut off: its arrival may be in the log. Remove it then (appends nothing if not).
        if (!(e instanceof ReplyError)) this.commit(removalBatch(session.id, conn.toWire(), [], 'networkDisconnected', cluster.nodeId, false));
        fail(ErrorCode.CONNECTION_REFUSED, `the cluster store (Redis) is unavailable: no new connections for now, try again later (${(e as Error).message})`);
      }
      const state = r?.snapshot as RemoteSnapshot;
      if (!log.initialized) {
        this.fill(session, state);
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

  /**
   * Adds a connection to a session (creating the session) and announces it to the others.
   * Throws RequestError 1027 when the session is full. The caller attaches a transport.
   */
  join(opts: JoinOptions): { conn: Connection; snapshot: SessionSnapshot } {
    let session = this.sessions.get(opts.sessionId);
    const max = this.opts.limits.maxConnectionsPerSession;
    // In a cluster the place was taken in Redis before (Cluster.admit): that count is the one.
    if (session && max > 0 && session.connections.size >= max) {
      fail(ErrorCode.CONNECTION_LIMIT_EXCEEDED, `session is full (${max} connections)`);
    }
    if (!session) {
      session = new Session(opts.sessionId);
      this.sessions.set(opts.sessionId, session);
    }
    const now = this.now();
    const { limits } = this.opts;
    const conn = new Connection(
      opts.sessionId, now, opts.data, opts.role, opts.eventsSuppressed,
      new RateLimiter(limits.signalsPerSecond, limits.signalBurst, now), limits, opts.layoutClassList ?? [],
    );
    const snapshot: SessionSnapshot = {
      connections: opts.eventsSuppressed ? [] : [...[...session.connections.values()].map((c) => c.toWire()), ...session.remote.values()],
      streams: [...session.streams.values()].map(copyStream),
      forceMute: { active: session.forceMuteActive },
    };
    const wire = conn.toWire();
    const created = json({ type: 'connectionCreated', connection: wire });
    session.connections.set(conn.id, conn);
    this.broadcast(session, created, { except: conn, connectionEvent: true });
    return { conn, snapshot };
  }

  /** Cluster: the session's state as Redis has it (at a known log entry) into a session object. */
  private fill(session: Session, remote: RemoteSnapshot): void {
    if (remote.mute) {
      session.forceMuteActive = remote.mute.active;
      session.forceMuteExcluded = new Set(remote.mute.excluded);
    }
    const me = this.opts.cluster?.nodeId;
    for (const c of remote.connections) {
      if (c.node !== me && !session.connections.has(c.id)) session.remote.set(c.id, wireConnection(c));
    }
    for (const st of remote.streams) session.streams.set(st.id, { ...st, layoutClassList: [...(st.layoutClassList ?? [])] });
  }

  /** Cluster: this node's connections and streams, per session (written back after a Redis outage). */
  localState(): Array<{ sessionId: string; connections: StoredConnection[]; streams: StoredStream[] }> {
    const out = [];
    for (const s of this.sessions.values()) {
      if (s.connections.size === 0) continue;
      const connections = [...s.connections.values()].filter((c) => c.state !== 'closed').map((c) => this.record(c));
      const streams = [...s.streams.values()].filter((st) => s.connections.has(st.connectionId)).map(restStream);
      out.push({ sessionId: s.id, connections, streams });
    }
    return out;
  }

  /** Cluster: an entry of a session's log, as published (applied in order by the session's log). */
  receiveEntry(entry: LogEntry): void {
    this.sessions.get(entry.s)?.log?.receive(entry);
  }

  /**
   * Cluster: applies one entry of a session's log: its state changes, then each of its events
   * to this node's connections it is addressed to (numbered in each one's sequence), then its
   * orders. Entries a connection already has (n <= lastN) are skipped for it.
   */
  private applyEntry(session: Session, entry: LogEntry): void {
    this.outbox?.seen(entry.id);
    if (entry.mute) {
      session.forceMuteActive = entry.mute.active;
      session.forceMuteExcluded = new Set(entry.mute.excluded);
    }
    for (const op of entry.op ?? []) this.applyOp(session, op, entry);
    for (const c of [...session.connections.values()]) {
      if (entry.n <= c.lastN || entry.e !== c.epoch) continue;
      c.lastN = entry.n;
      for (const msg of entry.m) {
        if (addressedTo(msg, c.id, c.eventsSuppressed)) this.deliver(c, msg.b as string, entry.n, msg.rid);
      }
      // a client that gets nothing does not acknowledge: move its checkpoint on (log trimming)
      if (c.bufferedEvents === 0 && entry.n - c.checkpointN >= 256) this.ack(c, c.lastSeq);
    }
    for (const msg of entry.m) {
      const target = msg.force !== undefined ? session.connections.get(msg.force) : undefined;
      if (target) this.forceDisconnect(target);
    }
    this.dropIfIdle(session);
  }

  /** Cluster: events reach this node's connections here (or directly when Redis is away). */
  private deliver(c: Connection, body: string, n: number, rid?: number): void {
    if (c.state === 'closed') return;
    if (rid !== undefined && rid > c.committedRid) c.committedRid = rid;
    if (!c.emit(body, n)) this.overflow(c);
  }

  /** Cluster: applies a change of the session's state (idempotent: the origin applied it already). */
  private applyOp(session: Session, op: ClusterOp, entry: LogEntry): void {
    // a local connection is not touched by an entry older than where it stands (taken over here since)
    const stale = (c: Connection): boolean => c.epoch === entry.e && entry.n <= c.lastN;
    const me = this.opts.cluster?.nodeId;
    switch (op.t) {
      case 'connAdd':
        if (op.node !== me && !session.connections.has(op.conn.id)) session.remote.set(op.conn.id, wireConnection(op.conn));
        return;
      case 'connDel': {
        session.remote.delete(op.id);
        const local = session.connections.get(op.id);
        if (local && local.state !== 'closed' && !stale(local)) this.dropLocal(session, local, 4022, 'connection removed by the cluster');
        return;
      }
      case 'connMove': {
        if (op.node === me) {
          session.remote.delete(op.conn.id);
          return;
        }
        const local = session.connections.get(op.conn.id);
        if (local && stale(local)) return;
        if (local) this.dropLocal(session, local, 4001, 'resumed on another node');
        session.remote.set(op.conn.id, wireConnection(op.conn));
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
    }
  }

  /** Cluster: a connection of this node now lives elsewhere (or nowhere): forget it without announcing. */
  private dropLocal(session: Session, conn: Connection, code: number, reason: string): void {
    const transport = conn.currentTransport;
    conn.markClosed();
    session.connections.delete(conn.id);
    transport?.close(code, reason);
  }

  /** A connection's socket dropped without a disconnect request: start its grace window. */
  detach(conn: Connection, transport: Transport): void {
    if (!conn.detach(transport) || conn.state === 'closed') return;
    this.startGrace(conn);
  }

  private startGrace(conn: Connection): void {
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = setTimeout(() => {
      conn.graceTimer = undefined;
      if (conn.state === 'detached') this.destroy(conn, 'networkDisconnected');
    }, this.opts.graceWindowMs);
  }

  /**
   * Checks a resume of a connection of this node, or in a cluster of any node (resumeHere,
   * rebuilt from the log). The caller attaches the transport. Rejects with a RequestError.
   */
  async resumeAnywhere(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection> {
    const local = this.findConnection(sessionId, connectionId);
    if (local || !this.opts.cluster) return this.resume(sessionId, connectionId, resumeToken, lastSeq);
    return this.takeOver(sessionId, connectionId, resumeToken, lastSeq);
  }

  /** Checks a resume; on success the caller attaches the transport and replays. Throws RequestError. */
  resume(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Connection {
    const conn = this.findConnection(sessionId, connectionId);
    if (!conn || conn.state === 'closed' || conn.isOverflowed) gone();
    if (!conn.checkResumeToken(resumeToken)) fail(ErrorCode.AUTHENTICATION, 'resume token is invalid');
    return this.resumeChecked(conn, lastSeq);
  }

  private resumeChecked(conn: Connection, lastSeq: number): Connection {
    if (lastSeq > conn.lastSeq) fail(ErrorCode.INVALID_PARAMETER, `lastSeq ${lastSeq} is beyond the last event sent (${conn.lastSeq})`);
    if (lastSeq < conn.oldestReplayableSeq - 1) {
      fail(ErrorCode.INVALID_PARAMETER, `lastSeq ${lastSeq} was already acknowledged (oldest held is ${conn.oldestReplayableSeq})`);
    }
    this.ack(conn, lastSeq);
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = undefined;
    return conn;
  }

  /**
   * Cluster: resumes a connection of another node (dead, or alive but left by its client).
   * Appends a `connMove` entry under the condition that the connection is still that node's,
   * then rebuilds the client's events from its checkpoint up to that entry out of the log,
   * with the same sequence numbers; later entries reach it here as to any local connection.
   */
  private async takeOver(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection> {
    const cluster = this.opts.cluster as ClusterPort;
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
      const conn = this.newConnection(sessionId, { creationTime: rec.creationTime, data: rec.data, role: rec.role as Role, sup: rec.sup === 1, lcl: rec.lcl ?? [] }, { id: connectionId, resumeToken });
      const b = newBatch(sessionId);
      b.conds.push(['c', connectionId, rec.node]);
      b.op.push({ t: 'connMove', conn: conn.toWire(), node: cluster.nodeId });
      b.writes.push(['pc', connectionId, json(this.record(conn))], ['ns', cluster.nodeId, sessionId]);
      b.snapshot = !log.initialized;
      let r;
      try {
        r = await cluster.commit(b);
      } catch (e) {
        unavailable(e);
      }
      if (!r) gone(); // it left, was swept, or another node took it meanwhile
      if (!log.initialized) {
        this.fill(session, r.snapshot as RemoteSnapshot);
        log.init(r.e, r.n);
      }
      session.remote.delete(connectionId);
      session.connections.set(connectionId, conn);
      conn.lastN = r.n;
      conn.epoch = r.e;
      this.startGrace(conn); // until the client is attached
      // The checkpoint as the old node left it (it cannot move it any more), and the entries after it.
      let from = ck;
      let entries: LogEntry[] = [];
      try {
        from = (await cluster.loadConnection(sessionId, connectionId))?.ck ?? ck;
        entries = await cluster.fetch(sessionId, from.n, r.n - 1);
      } catch (e) {
        this.destroy(conn, 'networkDisconnected');
        fail(ErrorCode.CONNECTION_DROPPED, `connection cannot be resumed: the cluster store (Redis) failed while rebuilding it (${(e as Error).message})`);
      }
      const complete = entries.length === r.n - 1 - from.n && entries.every((e, i) => e.n === from.n + 1 + i && e.e === r!.e);
      if (!complete) {
        this.destroy(conn, 'networkDisconnected');
        fail(ErrorCode.CONNECTION_DROPPED, 'connection cannot be resumed: its events are no longer in the cluster log (trimmed or lost)');
      }
      const { events, rid } = eventsAfter(entries, from, connectionId, rec.sup === 1);
      conn.startAfter(from.seq);
      conn.lastRequestId = rid;
      conn.committedRid = rid;
      for (const ev of events) {
        if (!conn.emit(ev.body, ev.n)) {
          this.destroy(conn, 'networkDisconnected');
          fail(ErrorCode.CONNECTION_DROPPED, 'connection cannot be resumed: too many unacknowledged events');
        }
      }
      // a forced disconnect its old node had not carried out yet
      if (entries.some((e) => e.m.some((m) => m.force === connectionId))) {
        this.forceDisconnect(conn);
        gone();
      }
      return this.resumeChecked(conn, lastSeq);
    } finally {
      session.joining--;
      if (held) log.release();
      this.dropIfIdle(session);
    }
  }

  /**
   * A cumulative acknowledgement from the client; false when seq is beyond the last event.
   * In a cluster, records how far the client got (its checkpoint) for a resume elsewhere.
   */
  ack(conn: Connection, seq: number): boolean {
    if (!conn.ack(seq)) return false;
    const { cluster } = this.opts;
    if (!cluster || !conn.logged || conn.state === 'closed') return true;
    const oldest = conn.oldestBufferedEntry;
    if (oldest?.n === 0) return true; // an event given outside the log (the connection is ending)
    const ck = oldest ? { n: oldest.n - 1, seq: oldest.base, rid: conn.committedRid } : { n: conn.lastN, seq: conn.lastSeq, rid: conn.committedRid };
    if (ck.n === conn.checkpointN && ck.seq === conn.checkpointSeq) return true;
    conn.checkpointN = ck.n;
    conn.checkpointSeq = ck.seq;
    cluster.checkpoint(conn.sessionId, conn.id, ck);
    return true;
  }

  /**
   * Removes a connection for good and tells the others: streamDestroyed for each of its
   * streams, then connectionDestroyed. Idempotent.
   */
  destroy(conn: Connection, reason: ConnectionDestroyedReason): void {
    if (conn.state === 'closed') return;
    const session = this.sessions.get(conn.sessionId);
    conn.markClosed();
    if (!session || session.connections.get(conn.id) !== conn) return;
    this.inBatch(session.id, () => {
      session.connections.delete(conn.id);
      for (const stream of [...session.streams.values()]) {
        if (stream.connectionId === conn.id) this.removeStream(session, stream, reason, conn);
      }
      const { cluster } = this.opts;
      if (this.batch && cluster) {
        // only while it is still this node's (not resumed elsewhere, not swept)
        this.batch.conds.push(['c', conn.id, cluster.nodeId]);
        this.batch.writes.push(['dc', conn.id, '']);
      }
      this.broadcast(session, json({ type: 'connectionDestroyed', connection: conn.toWire(), reason }), { connectionEvent: true, op: { t: 'connDel', id: conn.id } });
    });
    if (session.connections.size === 0) {
      if (this.opts.cluster) this.dropIfIdle(session);
      else this.sessions.delete(session.id);
    }
    this.opts.onConnectionGone?.(conn, reason);
  }

  /**
   * Runs an operation on a session. Alone it emits as it goes; in a cluster its events and
   * state changes make one log entry, appended when it returns (commit).
   */
  private inBatch<T>(sessionId: string, fn: () => T): T {
    if (!this.opts.cluster || this.batch?.sessionId === sessionId) return fn();
    const outer = this.batch;
    const b = newBatch(sessionId);
    this.batch = b;
    try {
      return fn();
    } finally {
      this.batch = outer;
      this.commit(b);
    }
  }

  /** Cluster: appends an operation's entry (now, or once Redis allows: Outbox). */
  private commit(b: Batch): void {
    (this.outbox as Outbox).send(b);
  }

  /**
   * A REST operation: in a cluster, resolves once its entry is appended, and fails with 1023
   * (HTTP 503) when Redis is away: a 204 means it is in the log.
   */
  private async restOp(sessionId: string, fn: () => void): Promise<void> {
    const outbox = this.outbox;
    if (!outbox) return fn();
    if (!outbox.accepting(sessionId)) fail(ErrorCode.CONNECTION_REFUSED, 'the cluster store (Redis) is unavailable: try again later');
    const b = newBatch(sessionId);
    const outer = this.batch;
    this.batch = b;
    try {
      fn();
    } finally {
      this.batch = outer;
    }
    if (isEmpty(b)) return;
    let r;
    try {
      r = await outbox.sendNow(b);
    } catch {
      fail(ErrorCode.CONNECTION_REFUSED, 'the cluster store (Redis) became unavailable: this is carried out once it is back; do not repeat it');
    }
    if (!r) fail(ErrorCode.INVALID_STREAM, 'the stream or connection it acts on is gone');
  }

  /**
   * Processes one request of `conn` and emits its result. Request ids are the caller's
   * business (socket layer); this performs the operation exactly once.
   */
  handle(conn: Connection, id: number, req: RequestBody): void {
    if (req.type === 'disconnect') {
      // The connection ends here: its result goes out at once, before the socket closes.
      if (!conn.emit(`{"type":"result","id":${id},"ok":true}`)) this.overflow(conn);
      conn.logged = false;
      return;
    }
    this.inBatch(conn.sessionId, () => this.handleIn(conn, id, req));
  }

  private handleIn(conn: Connection, id: number, req: RequestBody): void {
    this.onlyIfStillHere(conn);
    let extra = '';
    let error: WireError | undefined;
    try {
      const session = this.sessions.get(conn.sessionId);
      if (!session || conn.state === 'closed') fail(ErrorCode.NOT_CONNECTED, 'connection is not in its session');
      const stream = this.perform(session, conn, req);
      if (stream) extra = `,"stream":${json(stream)}`;
    } catch (e) {
      error = e instanceof Error && 'wire' in e ? (e as { wire: WireError }).wire : wireError(ErrorCode.INTERNAL, 'internal server error');
      if (!(e instanceof Error && 'wire' in e)) console.error('convene: request failed', e);
    }
    if (conn.state === 'closed') return;
    const body = error
      ? `{"type":"result","id":${id},"ok":false,"error":${json(error)}}`
      : `{"type":"result","id":${id},"ok":true${extra}}`;
    if (this.batch) {
      // if a condition of the entry fails (what it acts on went away meanwhile), only this
      const lost = wireError(ErrorCode.INVALID_STREAM, 'the stream or connection it acts on is gone');
      this.batch.fallback = [{ to: conn.id, rid: id, b: `{"type":"result","id":${id},"ok":false,"error":${json(lost)}}` }];
    }
    this.emitTo(conn, body, id);
  }

  /** Emits a failed result for a request that could not be decoded (it still consumes its id). */
  rejectRequest(conn: Connection, id: number, error: WireError): void {
    this.inBatch(conn.sessionId, () => {
      this.onlyIfStillHere(conn);
      this.emitTo(conn, `{"type":"result","id":${id},"ok":false,"error":${json(error)}}`, id);
    });
  }

  /**
   * Cluster: a request's entry is appended only while its connection is still this node's: if
   * the client resumed elsewhere meanwhile, it resends the request there (its result is not
   * in the log), so it is performed once.
   */
  private onlyIfStillHere(conn: Connection): void {
    const { cluster } = this.opts;
    if (this.batch && cluster) this.batch.conds.push(['o', conn.id, cluster.nodeId]);
  }

  private perform(session: Session, conn: Connection, req: RequestBody): WireStream | undefined {
    const caps = conn.capabilities;
    switch (req.type) {
      case 'signal':
        if (!caps.signal) fail(ErrorCode.SIGNAL_DENIED, `role '${conn.role}' may not send signals`, 'OT_PERMISSION_DENIED');
        if (!conn.limiter.take(this.now())) fail(ErrorCode.RATE_LIMIT_EXCEEDED, 'signal rate limit exceeded');
        this.signal(session, conn.id, req.signalType, req.data, req.to);
        return undefined;
      case 'publish':
        if (!caps.publish) fail(ErrorCode.PUBLISH_DENIED, `role '${conn.role}' may not publish`, 'OT_PERMISSION_DENIED');
        return this.publish(session, conn, req.props);
      case 'unpublish': {
        const stream = this.ownStream(session, conn, req.streamId);
        this.batch?.conds.push(['s', stream.id]);
        this.removeStream(session, stream, 'clientDisconnected', conn);
        return undefined;
      }
      case 'updateStream':
        this.batch?.conds.push(['s', req.streamId]);
        this.updateStream(session, this.ownStream(session, conn, req.streamId), req.props, conn);
        return undefined;
      case 'forceDisconnect': {
        if (!caps.forceDisconnect) fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `role '${conn.role}' may not force a disconnect`, 'OT_PERMISSION_DENIED');
        const target = session.connections.get(req.connectionId);
        if (target) this.forceDisconnect(target);
        else if (session.remote.has(req.connectionId)) this.batch?.m.push({ force: req.connectionId });
        else fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${req.connectionId}' in this session`);
        return undefined;
      }
      case 'forceUnpublish': {
        if (!caps.forceUnpublish) fail(ErrorCode.UNABLE_TO_FORCE_UNPUBLISH, `role '${conn.role}' may not force unpublish`, 'OT_PERMISSION_DENIED');
        const stream = this.anyStream(session, req.streamId);
        this.batch?.conds.push(['s', stream.id]);
        this.removeStream(session, stream, 'forceUnpublished');
        return undefined;
      }
      case 'forceMuteStream':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.batch?.conds.push(['s', req.streamId]);
        this.muteStream(session, this.anyStream(session, req.streamId));
        return undefined;
      case 'forceMuteAll':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.muteAll(session, req.excludedStreamIds, conn);
        return undefined;
      case 'disableForceMute':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.disableForceMute(session, conn);
        return undefined;
      case 'disconnect':
        // Nothing to do before the result: the socket layer then calls destroy() and closes.
        return undefined;
    }
  }

  // ---- operations shared by client requests and the REST API ----

  /** Sends a signal to every connection of the session, or to one. `from` null = the server. */
  private signal(session: Session, from: string | null, signalType: string, data: string, to?: string): void {
    const body = json({ type: 'signal', signalType, data, from });
    if (to !== undefined) {
      if (!session.connections.has(to) && !session.remote.has(to)) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
      this.emitToId(session, to, body);
      return;
    }
    this.broadcast(session, body, {});
  }

  private publish(session: Session, conn: Connection, props: StreamProps): WireStream {
    const muted = session.forceMuteActive;
    const stream: Stream = {
      id: randomUUID(),
      connectionId: conn.id,
      creationTime: this.now(),
      name: props.name ?? '',
      hasAudio: muted ? false : props.hasAudio ?? true,
      hasVideo: props.hasVideo ?? true,
      videoType: props.videoType ?? 'camera',
      videoDimensions: props.videoDimensions ?? { width: 640, height: 480 },
      layoutClassList: [...conn.layoutClassList],
    };
    // In a cluster the session's state changes when the entry is applied (its ops), on every
    // node alike: nothing here to undo if its condition fails.
    if (!this.batch) session.streams.set(stream.id, stream);
    const wire = copyStream(stream);
    this.batch?.writes.push(['ps', stream.id, json(restStream(stream))]);
    this.broadcast(session, json({ type: 'streamCreated', stream: wire }), { except: conn, op: { t: 'streamPut', stream: restStream(stream) } });
    if (muted) this.emitTo(conn, json({ type: 'muteForced', active: true, streamId: stream.id }));
    return wire;
  }

  private ownStream(session: Session, conn: Connection, streamId: string): Stream {
    const stream = session.streams.get(streamId);
    if (!stream || stream.connectionId !== conn.id) fail(ErrorCode.INVALID_STREAM, `no stream '${streamId}' published by this connection`);
    return stream;
  }

  private anyStream(session: Session, streamId: string): Stream {
    const stream = session.streams.get(streamId);
    if (!stream) fail(ErrorCode.INVALID_STREAM, `no stream '${streamId}' in this session`);
    return stream;
  }

  private removeStream(session: Session, stream: Stream, reason: StreamDestroyedReason, except?: Connection): void {
    if (!this.batch) {
      session.streams.delete(stream.id);
      session.forceMuteExcluded.delete(stream.id);
    }
    this.batch?.writes.push(['ds', stream.id, '']);
    this.broadcast(session, json({ type: 'streamDestroyed', stream: copyStream(stream), reason }), { except, op: { t: 'streamDel', id: stream.id } });
  }

  private updateStream(session: Session, stream: Stream, props: StreamProps, except?: Connection, exceptId?: string): void {
    const next = restStream(stream) as unknown as Record<string, unknown>;
    let changed = false;
    for (const key of ['hasAudio', 'hasVideo', 'videoDimensions', 'videoType', 'name'] as const) {
      const newValue = props[key];
      if (newValue === undefined) continue;
      const oldValue = next[key];
      if (key === 'videoDimensions' ? sameDims(oldValue as VideoDimensions, newValue as VideoDimensions) : oldValue === newValue) continue;
      next[key] = newValue;
      changed = true;
      if (!this.batch) (stream as unknown as Record<string, unknown>)[key] = newValue; // in a cluster: when applied
      this.broadcast(session, json({ type: 'streamPropertyChanged', streamId: stream.id, changedProperty: key, oldValue, newValue }), { except, exceptId, op: { t: 'streamSet', id: stream.id, key, value: newValue } });
    }
    if (changed) this.batch?.writes.push(['us', stream.id, json(next)]);
  }

  private muteStream(session: Session, stream: Stream): void {
    const owner = session.connections.get(stream.connectionId);
    const forced = json({ type: 'muteForced', active: true, streamId: stream.id });
    if (owner || session.remote.has(stream.connectionId)) this.emitToId(session, stream.connectionId, forced);
    this.updateStream(session, stream, { hasAudio: false }, owner, stream.connectionId);
  }

  private muteAll(session: Session, excluded: string[], by?: Connection): void {
    const skip = new Set(excluded);
    if (!this.batch) {
      session.forceMuteActive = true;
      session.forceMuteExcluded = skip;
    }
    const mute = { active: true, excluded: [...excluded] };
    this.batch?.writes.push(['mu', '', json(mute)]);
    this.broadcast(session, json({ type: 'muteForced', active: true }), { except: by, mute });
    for (const stream of session.streams.values()) {
      if (!skip.has(stream.id)) this.updateStream(session, stream, { hasAudio: false }, session.connections.get(stream.connectionId), stream.connectionId);
    }
  }

  private disableForceMute(session: Session, by?: Connection): void {
    if (!this.batch) {
      session.forceMuteActive = false;
      session.forceMuteExcluded = new Set();
    }
    const mute = { active: false, excluded: [] };
    this.batch?.writes.push(['um', '', '']);
    this.broadcast(session, json({ type: 'muteForced', active: false }), { except: by, mute });
  }

  /** Disconnects a connection on a moderator's or the REST API's order. */
  private forceDisconnect(target: Connection): void {
    const body = json({ type: 'sessionDisconnected', reason: 'forceDisconnected' });
    // The connection ends here: in a cluster too its last event goes out at once, out of the log.
    if (!target.emit(body)) return this.overflow(target);
    target.logged = false;
    const transport = target.currentTransport;
    this.destroy(target, 'forceDisconnected');
    transport?.close(1000, 'forceDisconnected');
  }

  /** Emits an event to one connection of this node (in a cluster: through the log). */
  private emitTo(conn: Connection, body: string, rid?: number): void {
    if (this.batch) {
      this.batch.m.push(rid === undefined ? { to: conn.id, b: body } : { to: conn.id, b: body, rid });
      return;
    }
    if (!conn.emit(body)) this.overflow(conn);
  }

  /** Emits an event to one connection of the session, on this node or (cluster) another. */
  private emitToId(session: Session, id: string, body: string): void {
    if (this.batch) {
      this.batch.m.push({ to: id, b: body });
      return;
    }
    const target = session.connections.get(id);
    if (target) this.emitTo(target, body);
  }

  /** Replay buffer overflow: the exactly-once promise cannot be kept for this connection. */
  private overflow(conn: Connection): void {
    const transport = conn.currentTransport;
    this.destroy(conn, 'networkDisconnected');
    if (transport) {
      transport.send(json({ type: 'error', ...wireError(ErrorCode.CONNECTION_DROPPED, 'too many unacknowledged events: connection dropped'), fatal: true }));
      transport.close(4022, 'replay buffer overflow');
    }
  }

  /**
   * Emits an event to every connection of the session (but `except`), here and, in a
   * cluster, on the other nodes, with the mirror change `op` that goes with it.
   */
  private broadcast(session: Session, body: string, opts: { except?: Connection; exceptId?: string; connectionEvent?: boolean; op?: ClusterOp; mute?: MuteState }): void {
    const exceptId = opts.except?.id ?? opts.exceptId;
    if (this.batch) {
      const msg: LogMsg = { b: body };
      if (exceptId !== undefined) msg.x = exceptId;
      if (opts.connectionEvent) msg.ce = 1;
      this.batch.m.push(msg);
      if (opts.op) this.batch.op.push(opts.op);
      if (opts.mute) this.batch.mute = opts.mute;
      return;
    }
    for (const c of [...session.connections.values()]) {
      if (c === opts.except || c.id === exceptId) continue;
      if (opts.connectionEvent && c.eventsSuppressed) continue;
      this.emitTo(c, body);
    }
  }

  // ---- REST API entry points (session ids are checked by the caller) ----

  async restSignal(sessionId: string, signalType: string, data: string, to?: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session?.connections.size) return this.restOp(sessionId, () => this.signal(session, null, signalType, data, to));
    const { cluster } = this.opts;
    if (cluster) { // no client here: the session may have some on other nodes
      if (to !== undefined && !(await this.clusterHas(sessionId, to))) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
      const body = json({ type: 'signal', signalType, data, from: null });
      return this.restOp(sessionId, () => { this.batch?.m.push(to === undefined ? { b: body } : { b: body, to }); });
    }
    if (to !== undefined) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
    // nobody to deliver to
  }

  async restForceDisconnect(sessionId: string, connectionId: string): Promise<void> {
    const target = this.findConnection(sessionId, connectionId);
    if (target) return this.restOp(sessionId, () => this.forceDisconnect(target));
    if (this.opts.cluster && (await this.clusterHas(sessionId, connectionId))) {
      return this.restOp(sessionId, () => { this.batch?.m.push({ force: connectionId }); });
    }
    fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${connectionId}' in this session`);
  }

  async listStreams(sessionId: string): Promise<RestStream[]> {
    const session = this.sessions.get(sessionId);
    if (!session?.connections.size && this.opts.cluster) return (await this.opts.cluster.snapshot(sessionId)).streams.map(restStream);
    return [...(session?.streams.values() ?? [])].map(restStream);
  }

  async getStream(sessionId: string, streamId: string): Promise<RestStream | undefined> {
    return (await this.listStreams(sessionId)).find((s) => s.id === streamId);
  }

  private async clusterHas(sessionId: string, connectionId: string): Promise<boolean> {
    return this.opts.cluster ? this.opts.cluster.hasConnection(sessionId, connectionId) : false;
  }

  /**
   * The session a REST call acts on: this node's, or in a cluster (no client here) the
   * session as Redis has it, in a session object of its own (not kept) whose operations
   * reach the other nodes through the log.
   */
  private async restSession(sessionId: string): Promise<Session | undefined> {
    const local = this.sessions.get(sessionId);
    const { cluster } = this.opts;
    if (!cluster || local?.connections.size) return local;
    const session = new Session(sessionId);
    this.fill(session, await cluster.snapshot(sessionId));
    return session;
  }

  async restMuteStream(sessionId: string, streamId: string): Promise<void> {
    const session = await this.restSession(sessionId);
    const stream = session?.streams.get(streamId);
    if (!session || !stream) fail(ErrorCode.INVALID_STREAM, `no stream '${streamId}' in this session`);
    await this.restOp(sessionId, () => {
      this.batch?.conds.push(['s', stream.id]);
      this.muteStream(session, stream);
    });
  }

  async restMuteAll(sessionId: string, active: boolean, excluded: string[]): Promise<void> {
    let session = await this.restSession(sessionId);
    if (!session) {
      if (!active) return;
      // Nobody is in the session yet: remember the force-mute state for those who join.
      session = new Session(sessionId);
      this.sessions.set(sessionId, session);
    }
    const s = session;
    await this.restOp(sessionId, () => (active ? this.muteAll(s, excluded) : this.disableForceMute(s)));
    if (!active && !this.opts.cluster && s.connections.size === 0) this.sessions.delete(sessionId);
  }
}

/** A connection that cannot be resumed. */
function gone(): never {
  fail(ErrorCode.CONNECTION_DROPPED, 'connection is gone: it cannot be resumed (grace window over, server restarted, or disconnected)');
}

/** What a cluster stores of a resume token: its SHA-256. */
function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function checkTokenHash(token: string, hash: string): boolean {
  const a = Buffer.from(tokenHash(token));
  const b = Buffer.from(hash ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The wire form of a stream: exactly the fields of docs/protocol.md, section 9. */
function copyStream(s: WireStream): WireStream {
  return {
    id: s.id, connectionId: s.connectionId, creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio,
    hasVideo: s.hasVideo, videoType: s.videoType, videoDimensions: { ...s.videoDimensions },
  };
}

function wireConnection(c: WireConnection): WireConnection {
  return { id: c.id, creationTime: c.creationTime, data: c.data };
}

function restStream(s: Stream | StoredStream): RestStream {
  return { ...copyStream(s), layoutClassList: [...s.layoutClassList] };
}

function sameDims(a: VideoDimensions, b: VideoDimensions): boolean {
  return a.width === b.width && a.height === b.height;
}
