/**
 * The session registry: sessions, their connections and streams, and every operation a
 * client request or a REST call can perform (docs/protocol.md, sections 4, 5, 6.2, 8.3).
 * No sockets and no HTTP here: connections are reached through Connection.emit.
 */
import { randomUUID } from 'node:crypto';
import { Connection, RateLimiter, Transport } from './connection';
import { ErrorCode, fail, wireError, WireError } from './errors';
import type { RequestBody, StreamProps, VideoDimensions, WireConnection, WireStream } from './protocol';
import type { Role } from './tokens';
import type { ClusterMessage, ClusterOp, ClusterPort, MuteState, RemoteSnapshot, StoredStream } from './cluster';

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
  /** cluster: connections that left lately, so that an older snapshot does not bring them back */
  private readonly recentlyGone = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Makes this registry a cluster node's (server.listen, once Redis is reached). */
  attachCluster(cluster: ClusterPort): void {
    this.opts.cluster = cluster;
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
    const admitted = await cluster.admit(sessionId, this.opts.limits.maxConnectionsPerSession);
    if (!admitted.ok) return 'full';
    this.seed(sessionId, admitted.remote);
    return 'ok';
  }

  /** Cluster: gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void {
    this.opts.cluster?.release(sessionId, this.hasLocal(sessionId));
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
   * Adds a connection to a session (creating the session) and announces it to the others.
   * Throws RequestError 1027 when the session is full. The caller attaches a transport.
   */
  join(opts: JoinOptions): { conn: Connection; snapshot: SessionSnapshot } {
    let session = this.sessions.get(opts.sessionId);
    const max = this.opts.limits.maxConnectionsPerSession;
    // In a cluster the place was taken in Redis before (Cluster.admit): that count is the one.
    if (session && !this.opts.cluster && max > 0 && session.connections.size >= max) {
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
    this.opts.cluster?.enter(session.id);
    this.opts.cluster?.putConnection(session.id, wire);
    this.broadcast(session, created, { except: conn, connectionEvent: true, op: { t: 'connAdd', conn: wire } });
    return { conn, snapshot };
  }

  /**
   * Cluster: what the other nodes have in a session this node is about to join (from
   * Cluster.admit). Merged into the mirror; entries already known are kept.
   */
  private seed(sessionId: string, remote: RemoteSnapshot): void {
    let session = this.sessions.get(sessionId);
    if (!session) {
      session = new Session(sessionId);
      this.sessions.set(sessionId, session);
    }
    this.fill(session, remote);
  }

  /** Merges what Redis holds of a session into a session object. */
  private fill(session: Session, remote: RemoteSnapshot): void {
    if (remote.mute && session.connections.size === 0) {
      session.forceMuteActive = remote.mute.active;
      session.forceMuteExcluded = new Set(remote.mute.excluded);
    }
    const me = this.opts.cluster?.nodeId;
    const now = this.now();
    for (const [id, at] of this.recentlyGone) if (now - at > 60_000) this.recentlyGone.delete(id);
    for (const c of remote.connections) {
      // this node's own entries are its local connections, or gone (a snapshot older than their leave)
      if (c.node === me || this.recentlyGone.has(c.id)) continue;
      if (!session.connections.has(c.id) && !session.remote.has(c.id)) session.remote.set(c.id, wireConnection(c));
    }
    for (const st of remote.streams) {
      if (session.streams.has(st.id) || !session.remote.has(st.connectionId)) continue;
      session.streams.set(st.id, { ...st, layoutClassList: [...(st.layoutClassList ?? [])] });
    }
  }

  /** Cluster: this node's connections and streams, per session (written back after a Redis outage). */
  localState(): Array<{ sessionId: string; connections: WireConnection[]; streams: RestStream[] }> {
    const out = [];
    for (const s of this.sessions.values()) {
      if (s.connections.size === 0) continue;
      const connections = [...s.connections.values()].map((c) => c.toWire());
      const streams = [...s.streams.values()].filter((st) => s.connections.has(st.connectionId)).map(restStream);
      out.push({ sessionId: s.id, connections, streams });
    }
    return out;
  }

  /** Cluster: whether this node has clients in the session. */
  private hasLocal(sessionId: string): boolean {
    return (this.sessions.get(sessionId)?.connections.size ?? 0) > 0;
  }

  /** Cluster: applies what another node did in a session this node has clients in. */
  applyRemote(msg: ClusterMessage): void {
    const session = this.sessions.get(msg.s);
    if (!session) return;
    // An event whose change is already known (a snapshot read between the write and the
    // publish) or unknown (a leave this node never saw arrive) is not emitted again.
    if (msg.mute) {
      session.forceMuteActive = msg.mute.active;
      session.forceMuteExcluded = new Set(msg.mute.excluded);
    }
    if (msg.op && !this.applyOp(session, msg.op)) return;
    if (msg.force !== undefined) {
      const target = session.connections.get(msg.force);
      if (target) this.forceDisconnect(target);
    }
    if (msg.body === undefined) return;
    if (msg.to !== undefined) {
      const target = session.connections.get(msg.to);
      if (target) this.emitTo(target, msg.body);
      return;
    }
    for (const c of [...session.connections.values()]) {
      if (c.id === msg.except) continue;
      if (msg.ce && c.eventsSuppressed) continue;
      this.emitTo(c, msg.body);
    }
  }

  /** Applies a mirror change; false when it changed nothing that its event could announce. */
  private applyOp(session: Session, op: ClusterOp): boolean {
    switch (op.t) {
      case 'connAdd':
        if (session.connections.has(op.conn.id) || session.remote.has(op.conn.id)) return false;
        session.remote.set(op.conn.id, wireConnection(op.conn));
        return true;
      case 'connDel':
        this.recentlyGone.set(op.id, this.now());
        return session.remote.delete(op.id);
      case 'streamPut': {
        const known = session.streams.has(op.stream.id);
        session.streams.set(op.stream.id, { ...op.stream, layoutClassList: [...(op.stream.layoutClassList ?? [])] });
        return !(op.created && known);
      }
      case 'streamDel':
        session.forceMuteExcluded.delete(op.id);
        return session.streams.delete(op.id);
    }
  }

  /** A connection's socket dropped without a disconnect request: start its grace window. */
  detach(conn: Connection, transport: Transport): void {
    if (!conn.detach(transport) || conn.state === 'closed') return;
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = setTimeout(() => {
      conn.graceTimer = undefined;
      if (conn.state === 'detached') this.destroy(conn, 'networkDisconnected');
    }, this.opts.graceWindowMs);
  }

  /** Checks a resume; on success attaches the transport and replays. Throws RequestError. */
  resume(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Connection {
    const conn = this.findConnection(sessionId, connectionId);
    if (!conn || conn.state === 'closed' || conn.isOverflowed) {
      fail(ErrorCode.CONNECTION_DROPPED, 'connection is gone: it cannot be resumed (grace window over, server restarted, or disconnected)');
    }
    if (!conn.checkResumeToken(resumeToken)) fail(ErrorCode.AUTHENTICATION, 'resume token is invalid');
    if (lastSeq > conn.lastSeq) fail(ErrorCode.INVALID_PARAMETER, `lastSeq ${lastSeq} is beyond the last event sent (${conn.lastSeq})`);
    if (lastSeq < conn.oldestReplayableSeq - 1) {
      fail(ErrorCode.INVALID_PARAMETER, `lastSeq ${lastSeq} was already acknowledged (oldest held is ${conn.oldestReplayableSeq})`);
    }
    conn.ack(lastSeq);
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = undefined;
    return conn;
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
    session.connections.delete(conn.id);
    for (const stream of [...session.streams.values()]) {
      if (stream.connectionId === conn.id) this.removeStream(session, stream, reason, conn);
    }
    this.opts.cluster?.removeConnection(session.id, conn.id);
    if (this.opts.cluster) this.recentlyGone.set(conn.id, this.now());
    this.broadcast(session, json({ type: 'connectionDestroyed', connection: conn.toWire(), reason }), { connectionEvent: true, op: { t: 'connDel', id: conn.id } });
    if (session.connections.size === 0) {
      this.sessions.delete(session.id);
      this.opts.cluster?.leave(session.id);
    }
    this.opts.onConnectionGone?.(conn, reason);
  }

  /**
   * Processes one request of `conn` and emits its result. Request ids are the caller's
   * business (socket layer); this performs the operation exactly once.
   */
  handle(conn: Connection, id: number, req: RequestBody): void {
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
    this.emitTo(conn, body);
  }

  /** Emits a failed result for a request that could not be decoded (it still consumes its id). */
  rejectRequest(conn: Connection, id: number, error: WireError): void {
    this.emitTo(conn, `{"type":"result","id":${id},"ok":false,"error":${json(error)}}`);
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
        this.removeStream(session, stream, 'clientDisconnected', conn);
        return undefined;
      }
      case 'updateStream':
        this.updateStream(session, this.ownStream(session, conn, req.streamId), req.props, conn);
        return undefined;
      case 'forceDisconnect': {
        if (!caps.forceDisconnect) fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `role '${conn.role}' may not force a disconnect`, 'OT_PERMISSION_DENIED');
        const target = session.connections.get(req.connectionId);
        if (target) this.forceDisconnect(target);
        else if (session.remote.has(req.connectionId)) this.opts.cluster?.publish({ s: session.id, force: req.connectionId });
        else fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${req.connectionId}' in this session`);
        return undefined;
      }
      case 'forceUnpublish': {
        if (!caps.forceUnpublish) fail(ErrorCode.UNABLE_TO_FORCE_UNPUBLISH, `role '${conn.role}' may not force unpublish`, 'OT_PERMISSION_DENIED');
        this.removeStream(session, this.anyStream(session, req.streamId), 'forceUnpublished');
        return undefined;
      }
      case 'forceMuteStream':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
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
      const target = session.connections.get(to);
      if (target) this.emitTo(target, body);
      else if (session.remote.has(to)) this.opts.cluster?.publish({ s: session.id, body, to });
      else fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
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
    session.streams.set(stream.id, stream);
    const wire = copyStream(stream);
    this.opts.cluster?.putStream(session.id, restStream(stream));
    this.broadcast(session, json({ type: 'streamCreated', stream: wire }), { except: conn, op: { t: 'streamPut', stream: restStream(stream), created: true } });
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
    session.streams.delete(stream.id);
    session.forceMuteExcluded.delete(stream.id);
    this.opts.cluster?.removeStream(session.id, stream.id);
    this.broadcast(session, json({ type: 'streamDestroyed', stream: copyStream(stream), reason }), { except, op: { t: 'streamDel', id: stream.id } });
  }

  private updateStream(session: Session, stream: Stream, props: StreamProps, except?: Connection, exceptId?: string): void {
    for (const key of ['hasAudio', 'hasVideo', 'videoDimensions', 'videoType', 'name'] as const) {
      const newValue = props[key];
      if (newValue === undefined) continue;
      const oldValue = stream[key];
      if (key === 'videoDimensions' ? sameDims(oldValue as VideoDimensions, newValue as VideoDimensions) : oldValue === newValue) continue;
      (stream as unknown as Record<string, unknown>)[key] = newValue;
      this.broadcast(session, json({ type: 'streamPropertyChanged', streamId: stream.id, changedProperty: key, oldValue, newValue }), { except, exceptId, op: { t: 'streamPut', stream: restStream(stream) } });
      this.opts.cluster?.putStream(session.id, restStream(stream));
    }
  }

  private muteStream(session: Session, stream: Stream): void {
    const owner = session.connections.get(stream.connectionId);
    const forced = json({ type: 'muteForced', active: true, streamId: stream.id });
    if (owner) this.emitTo(owner, forced);
    else if (session.remote.has(stream.connectionId)) this.opts.cluster?.publish({ s: session.id, body: forced, to: stream.connectionId });
    this.updateStream(session, stream, { hasAudio: false }, owner, stream.connectionId);
  }

  private muteAll(session: Session, excluded: string[], by?: Connection): void {
    session.forceMuteActive = true;
    session.forceMuteExcluded = new Set(excluded);
    const mute = { active: true, excluded: [...excluded] };
    this.opts.cluster?.setMute(session.id, mute);
    this.broadcast(session, json({ type: 'muteForced', active: true }), { except: by, mute });
    for (const stream of session.streams.values()) {
      if (!session.forceMuteExcluded.has(stream.id)) this.updateStream(session, stream, { hasAudio: false }, session.connections.get(stream.connectionId), stream.connectionId);
    }
  }

  private disableForceMute(session: Session, by?: Connection): void {
    session.forceMuteActive = false;
    session.forceMuteExcluded.clear();
    const mute = { active: false, excluded: [] };
    this.opts.cluster?.setMute(session.id, mute);
    this.broadcast(session, json({ type: 'muteForced', active: false }), { except: by, mute });
  }

  /** Disconnects a connection on a moderator's or the REST API's order. */
  private forceDisconnect(target: Connection): void {
    this.emitTo(target, json({ type: 'sessionDisconnected', reason: 'forceDisconnected' }));
    const transport = target.currentTransport;
    this.destroy(target, 'forceDisconnected');
    transport?.close(1000, 'forceDisconnected');
  }

  private emitTo(conn: Connection, body: string): void {
    if (!conn.emit(body)) {
      // Replay buffer overflow: the exactly-once promise cannot be kept for this connection.
      const transport = conn.currentTransport;
      this.destroy(conn, 'networkDisconnected');
      if (transport) {
        transport.send(json({ type: 'error', ...wireError(ErrorCode.CONNECTION_DROPPED, 'too many unacknowledged events: connection dropped'), fatal: true }));
        transport.close(4022, 'replay buffer overflow');
      }
    }
  }

  /**
   * Emits an event to every connection of the session (but `except`), here and, in a
   * cluster, on the other nodes, with the mirror change `op` that goes with it.
   */
  private broadcast(session: Session, body: string, opts: { except?: Connection; exceptId?: string; connectionEvent?: boolean; op?: ClusterOp; mute?: MuteState }): void {
    const exceptId = opts.except?.id ?? opts.exceptId;
    for (const c of [...session.connections.values()]) {
      if (c === opts.except || c.id === exceptId) continue;
      if (opts.connectionEvent && c.eventsSuppressed) continue;
      this.emitTo(c, body);
    }
    this.opts.cluster?.publish({ s: session.id, body, except: exceptId, ce: opts.connectionEvent, op: opts.op, mute: opts.mute });
  }

  // ---- REST API entry points (session ids are checked by the caller) ----

  async restSignal(sessionId: string, signalType: string, data: string, to?: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session) return this.signal(session, null, signalType, data, to);
    const { cluster } = this.opts;
    if (cluster) { // no client here: the session may have some on other nodes
      if (to !== undefined && !(await this.clusterHas(sessionId, to))) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
      const body = json({ type: 'signal', signalType, data, from: null });
      cluster.publish(to === undefined ? { s: sessionId, body } : { s: sessionId, body, to });
      return;
    }
    if (to !== undefined) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
    // nobody to deliver to
  }

  async restForceDisconnect(sessionId: string, connectionId: string): Promise<void> {
    const target = this.findConnection(sessionId, connectionId);
    if (target) return this.forceDisconnect(target);
    const { cluster } = this.opts;
    if (cluster && (await this.clusterHas(sessionId, connectionId))) return cluster.publish({ s: sessionId, force: connectionId });
    fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${connectionId}' in this session`);
  }

  async listStreams(sessionId: string): Promise<RestStream[]> {
    const session = this.sessions.get(sessionId);
    if (!session && this.opts.cluster) return (await this.opts.cluster.snapshot(sessionId)).streams.map(restStream);
    return [...(session?.streams.values() ?? [])].map(restStream);
  }

  async getStream(sessionId: string, streamId: string): Promise<RestStream | undefined> {
    return (await this.listStreams(sessionId)).find((s) => s.id === streamId);
  }

  private async clusterHas(sessionId: string, connectionId: string): Promise<boolean> {
    return this.opts.cluster ? this.opts.cluster.hasConnection(sessionId, connectionId) : false;
  }

  /**
   * Cluster, REST on a node with no client in the session: the session as Redis has it, in a
   * session object of its own (not kept) whose operations reach the other nodes.
   */
  private async transientSession(sessionId: string): Promise<Session | undefined> {
    const { cluster } = this.opts;
    if (!cluster) return undefined;
    const session = new Session(sessionId);
    this.fill(session, await cluster.snapshot(sessionId));
    return session;
  }

  async restMuteStream(sessionId: string, streamId: string): Promise<void> {
    const session = this.sessions.get(sessionId) ?? (await this.transientSession(sessionId));
    const stream = session?.streams.get(streamId);
    if (!session || !stream) fail(ErrorCode.INVALID_STREAM, `no stream '${streamId}' in this session`);
    this.muteStream(session, stream);
  }

  async restMuteAll(sessionId: string, active: boolean, excluded: string[]): Promise<void> {
    let session = this.sessions.get(sessionId);
    if (!session && this.opts.cluster) {
      const transient = await this.transientSession(sessionId);
      if (transient) {
        if (active) this.muteAll(transient, excluded);
        else this.disableForceMute(transient);
        return;
      }
    }
    if (!session) {
      if (!active) return;
      // Nobody is in the session yet: remember the force-mute state for those who join.
      session = new Session(sessionId);
      this.sessions.set(sessionId, session);
    }
    if (active) this.muteAll(session, excluded);
    else {
      this.disableForceMute(session);
      if (session.connections.size === 0) this.sessions.delete(sessionId);
    }
  }
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
