/**
 * The session registry: sessions, their connections and streams, and every operation a
 * client request or a REST call can perform (docs/protocol.md, sections 4, 5, 6.2, 8.3).
 * No sockets and no HTTP here: connections are reached through Connection.emit.
 *
 * Alone, an operation emits its events at once. In a cluster (docs/cluster.md) an operation
 * builds one entry of the session's log instead (`this.batch`), the cluster appends it, and
 * every node emits the events of the entries to its own clients, in log order (replica.ts).
 */
import { randomUUID } from 'node:crypto';
import { Connection, RateLimiter, Transport, type SignalOrigin } from './connection';
import { ErrorCode, wireError, type RequestBody, type StreamProps, type VideoDimensions, type WireError, type WireStream } from '../wire';
import { fail } from './request-error';
import type { Role } from './tokens';
import type { ClusterPort } from './cluster/cluster';
import { isEmpty, newBatch, type Batch, type ClusterOp, type LogEntry, type LogMsg, type MuteState } from './cluster/log-entry';
import { Replica } from './cluster/replica';
import {
  copyStream, fillSession, gone, restStream, Session, type ConnectionDestroyedReason, type JoinOptions,
  type RestStream, type SessionSnapshot, type Stream, type StreamDestroyedReason,
} from './session-state';

export type { ConnectionDestroyedReason, JoinOptions, RestStream, SessionSnapshot, StreamDestroyedReason } from './session-state';

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
  /** Called when a connection hits a limit: a signal over its rate, its replay buffer full (for logs). */
  onLimit?: (conn: Connection, limit: 'signalRate' | 'replayBuffer') => void;
  /** Set when this node is one of several sharing their sessions through Redis. */
  cluster?: ClusterPort;
}

const json = JSON.stringify;

export class Registry {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  /** cluster: the log entry the current operation builds */
  private batch: Batch | undefined;
  /** cluster: this node's part in sessions shared through Redis */
  private replica: Replica | undefined;

  constructor(private readonly opts: RegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Makes this registry a cluster node's (server.listen, once Redis is reached). `onThrottle`
   * hears when clients' requests must wait, and when they may go on (back-pressure across nodes).
   */
  attachCluster(cluster: ClusterPort, onThrottle?: (on: boolean) => void): void {
    this.opts.cluster = cluster;
    this.replica = new Replica(cluster, {
      sessions: this.sessions,
      now: () => this.now(),
      newConnection: (sid, o, restored) => this.newConnection(sid, o, restored),
      findConnection: (sid, id) => this.findConnection(sid, id),
      destroy: (conn, reason) => this.destroy(conn, reason),
      forceDisconnect: (conn) => this.forceDisconnect(conn),
      overflow: (conn) => this.overflow(conn),
      startGrace: (conn) => this.startGrace(conn),
      resumeChecked: (conn, lastSeq) => this.resumeChecked(conn, lastSeq),
    });
    this.replica.onThrottle = onThrottle;
  }

  /** Cluster: true while clients' requests must wait (a node applies entries too far behind). */
  get throttled(): boolean {
    return this.replica?.throttled ?? false;
  }

  /** Stops the cluster side's timers (server shutdown). */
  close(): void {
    this.replica?.close();
  }

  /** Cluster: Redis is back after an outage: catch up, then append what waited. */
  resync(): Promise<void> {
    return this.replica?.resync() ?? Promise.resolve();
  }

  /** Cluster: an entry of a session's log, as published. */
  receiveEntry(entry: LogEntry): void {
    this.replica?.receiveEntry(entry);
  }

  get cluster(): ClusterPort | undefined {
    return this.opts.cluster;
  }

  /**
   * Cluster: before a client joins a session here, takes its place in the session's
   * cluster-wide count and listens to the session. 'full' when the session is full. Throws
   * ClusterUnavailableError when Redis cannot be reached. Alone: always 'ok'.
   */
  async admit(sessionId: string): Promise<'ok' | 'full'> {
    if (!this.replica) return 'ok';
    return (await this.replica.admit(sessionId, this.opts.limits.maxConnectionsPerSession)) ? 'ok' : 'full';
  }

  /** Cluster: gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void {
    this.replica?.release(sessionId);
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
    return this.replica ? this.replica.join(opts) : this.join(opts);
  }

  private newConnection(sessionId: string, o: { creationTime: number; data: string; role: Role; sup: boolean; lcl: readonly string[] }, restored?: { id: string; resumeToken: string }): Connection {
    const { limits } = this.opts;
    return new Connection(
      sessionId, o.creationTime, o.data, o.role, o.sup,
      new RateLimiter(limits.signalsPerSecond, limits.signalBurst, this.now()), limits, [...o.lcl], restored,
    );
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
    if (local || !this.replica) return this.resume(sessionId, connectionId, resumeToken, lastSeq);
    return this.replica.takeOver(sessionId, connectionId, resumeToken, lastSeq);
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
   * A cumulative acknowledgement from the client; false when seq is beyond the last event.
   * In a cluster, records how far the client got (its checkpoint) for a resume elsewhere.
   */
  ack(conn: Connection, seq: number): boolean {
    if (!conn.ack(seq)) return false;
    this.replica?.checkpoint(conn);
    return true;
  }

  /**
   * Removes a connection for good and tells the others: streamDestroyed for each of its
   * streams, then connectionDestroyed. Idempotent.
   */
  destroy(conn: Connection, reason: ConnectionDestroyedReason): void {
    if (conn.state === 'closed') return;
    const session = this.sessions.get(conn.sessionId);
    const undelivered = conn.unacknowledgedSignals();
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
      this.tellUndelivered(session, conn.id, undelivered);
    });
    if (session.connections.size === 0) {
      if (this.replica) this.replica.dropIfIdle(session);
      else this.sessions.delete(session.id);
    }
    this.opts.onConnectionGone?.(conn, reason);
  }

  /**
   * A connection ended without acknowledging these signals: each sender still in the session
   * gets signalUndelivered per signal (docs/protocol.md section 5.3); in a cluster, through
   * the log like any event.
   */
  private tellUndelivered(session: Session, to: string, signals: SignalOrigin[]): void {
    for (const sig of signals) {
      if (sig.from === to || (!session.connections.has(sig.from) && !session.remote.has(sig.from))) continue;
      const error = wireError(ErrorCode.SIGNAL_UNDELIVERED, `connection ${to} left the session without acknowledging the signal`);
      this.emitToId(session, sig.from, json({ type: 'signalUndelivered', requestId: sig.rid, to, signalType: sig.signalType, error }));
    }
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

  /** Cluster: appends an operation's entry (now, or once Redis allows). */
  private commit(b: Batch): void {
    (this.replica as Replica).commit(b);
  }

  /**
   * A REST operation: in a cluster, resolves once its entry is appended, and fails with 1023
   * (HTTP 503) when Redis is away: a 204 means it is in the log.
   */
  private async restOp(sessionId: string, fn: () => void): Promise<void> {
    const outbox = this.replica?.outbox;
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
      const stream = this.perform(session, conn, req, id);
      if (stream) extra = `,"stream":${json(stream)}`;
    } catch (e) {
      error = e instanceof Error && 'wire' in e ? (e as { wire: WireError }).wire : wireError(ErrorCode.INTERNAL, 'internal server error');
      if (!(e instanceof Error && 'wire' in e)) console.error('convene: request failed', e);
      if (error.code === ErrorCode.RATE_LIMIT_EXCEEDED) this.opts.onLimit?.(conn, 'signalRate');
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

  private perform(session: Session, conn: Connection, req: RequestBody, id: number): WireStream | undefined {
    const caps = conn.capabilities;
    switch (req.type) {
      case 'signal':
        if (!caps.signal) fail(ErrorCode.SIGNAL_DENIED, `role '${conn.role}' may not send signals`, 'OT_PERMISSION_DENIED');
        if (!conn.limiter.take(this.now())) fail(ErrorCode.RATE_LIMIT_EXCEEDED, 'signal rate limit exceeded');
        this.signal(session, conn.id, req.signalType, req.data, req.to, id);
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

  /**
   * Sends a signal to every connection of the session, or to one. `from` null = the server;
   * else `rid` is the id of the sender's request (kept with each event for signalUndelivered).
   */
  private signal(session: Session, from: string | null, signalType: string, data: string, to?: string, rid?: number): void {
    const body = json({ type: 'signal', signalType, data, from });
    const sig: SignalOrigin | undefined = from !== null && rid !== undefined ? { from, rid, signalType } : undefined;
    if (to !== undefined) {
      if (!session.connections.has(to) && !session.remote.has(to)) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
      this.emitToId(session, to, body, sig);
      return;
    }
    this.broadcast(session, body, { sig });
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
  private emitTo(conn: Connection, body: string, rid?: number, sig?: SignalOrigin): void {
    if (this.batch) {
      const msg: LogMsg = rid === undefined ? { to: conn.id, b: body } : { to: conn.id, b: body, rid };
      if (sig) msg.sg = sig;
      this.batch.m.push(msg);
      return;
    }
    if (!conn.emit(body, 0, sig)) this.overflow(conn);
  }

  /** Emits an event to one connection of the session, on this node or (cluster) another. */
  private emitToId(session: Session, id: string, body: string, sig?: SignalOrigin): void {
    if (this.batch) {
      this.batch.m.push(sig ? { to: id, b: body, sg: sig } : { to: id, b: body });
      return;
    }
    const target = session.connections.get(id);
    if (target) this.emitTo(target, body, undefined, sig);
  }

  /** Replay buffer overflow: the exactly-once promise cannot be kept for this connection. */
  private overflow(conn: Connection): void {
    const transport = conn.currentTransport;
    this.opts.onLimit?.(conn, 'replayBuffer');
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
  private broadcast(session: Session, body: string, opts: { except?: Connection; exceptId?: string; connectionEvent?: boolean; op?: ClusterOp; mute?: MuteState; sig?: SignalOrigin }): void {
    const exceptId = opts.except?.id ?? opts.exceptId;
    if (this.batch) {
      const msg: LogMsg = { b: body };
      if (exceptId !== undefined) msg.x = exceptId;
      if (opts.connectionEvent) msg.ce = 1;
      if (opts.sig) msg.sg = opts.sig;
      this.batch.m.push(msg);
      if (opts.op) this.batch.op.push(opts.op);
      if (opts.mute) this.batch.mute = opts.mute;
      return;
    }
    for (const c of [...session.connections.values()]) {
      if (c === opts.except || c.id === exceptId) continue;
      if (opts.connectionEvent && c.eventsSuppressed) continue;
      this.emitTo(c, body, undefined, opts.sig);
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
    fillSession(session, await cluster.snapshot(sessionId), cluster.nodeId);
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

function sameDims(a: VideoDimensions, b: VideoDimensions): boolean {
  return a.width === b.width && a.height === b.height;
}
