/**
 * The session registry: sessions, their connections and streams, and every operation a
 * client request or a REST call can perform (docs/protocol.md, sections 4, 5, 6.2, 8.3).
 * No sockets and no HTTP here: connections are reached through Connection.emit.
 *
 * The operations decide (permissions, validation, which events in which order) and reach the
 * sessions through a SessionPort (session-port.ts): alone, SingleNode makes each change and
 * emits its events at once; in a cluster (docs/cluster.md), ClusterNode builds one entry of
 * the session's log per operation, and every node applies the entries in order (replica.ts).
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, wireError, type RequestBody, type StreamProps, type VideoDimensions, type WireError, type WireStream } from '../wire';
import { Connection, RateLimiter, Transport, type SignalOrigin } from './connection';
import type { ClusterPort } from './cluster/cluster';
import { ClusterNode } from './cluster/cluster-node';
import type { LogEntry } from './cluster/log-entry';
import {
  failedResult, fatalError, muteForced, okResult, sessionDisconnected, signal, signalUndelivered, streamInterrupted, streamRestored, keyframeRequested,
  type StreamProperty,
} from './events';
import type { MediaSink } from './media/consumer';
import { ALL_TRACKS, MEDIA_DEFAULTS, Router, type MediaLimits, type RouterStats } from './media/router';
import { fail } from './request-error';
import type { ConnectionSeed, RegistryCore, RegistryLimits, SessionPort, StreamChange } from './session-port';
import {
  copyStream, gone, restStream, type ConnectionDestroyedReason, type JoinOptions, type RestStream, type Session,
  type SessionSnapshot, type Stream,
} from './session-state';
import { SingleNode } from './single-node';
import { reportInternal, silentLog, type Logger } from './logger';
import { RtcError, type EdgeKey, type WebRtcEdge } from './webrtc/edge';
import type { RelayHost, RelayPort, RelayStats } from './cluster/media-stats';
import { isLinkSubscriber } from './media/router';

export type { ConnectionDestroyedReason, JoinOptions, RestStream, SessionSnapshot, StreamDestroyedReason } from './session-state';
export type { RegistryLimits } from './session-port';

export interface RegistryOptions {
  limits: RegistryLimits;
  graceWindowMs: number;
  now?: () => number;
  /** Called when a connection's grace window ends or it is destroyed (for logs/metrics). */
  onConnectionGone?: (conn: Connection, reason: ConnectionDestroyedReason) => void;
  /** Called when a connection hits a limit: a signal over its rate, its replay buffer full (for logs). */
  onLimit?: (conn: Connection, limit: 'signalRate' | 'replayBuffer') => void;
  /** Each consumer's send bound and queue (media/consumer.ts). */
  media?: MediaLimits;
  /** the operator log, for unexpected errors (default: standard error) */
  log?: Logger;
  /** revision 1.2: the WebRTC edge, or why there is none (rtcPublish / rtcSubscribe then fail with 4419) */
  webrtc?: WebRtcEdge | { disabled: string };
}

const json = JSON.stringify;
const STREAM_PROPERTIES: readonly StreamProperty[] = ['hasAudio', 'hasVideo', 'videoDimensions', 'videoType', 'name'];

export class Registry {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  /** where the operations' changes go: this node alone, or the cluster's log */
  private node: SessionPort;
  /** cluster with a cluster secret: media across nodes */
  private relay: RelayPort | undefined;

  constructor(private readonly opts: RegistryOptions) {
    this.now = opts.now ?? Date.now;
    this.node = new SingleNode(this.core());
  }

  /** What the two modes (SingleNode, ClusterNode and its replica) reach of the registry. */
  private core(): RegistryCore {
    return {
      sessions: this.sessions,
      limits: this.opts.limits,
      now: () => this.now(),
      newConnection: (sid, o, restored) => this.newConnection(sid, o, restored),
      findConnection: (sid, id) => this.findConnection(sid, id),
      destroy: (conn, reason) => this.destroy(conn, reason),
      forceDisconnect: (conn) => this.forceDisconnect(conn),
      overflow: (conn) => this.overflow(conn),
      startGrace: (conn) => this.startGrace(conn),
      resumeChecked: (conn, lastSeq) => this.resumeChecked(conn, lastSeq),
      streamRemoved: (session, streamId) => {
        session.router?.removeStream(streamId);
        this.edge?.closeStream(session.id, streamId);
        this.relay?.streamRemoved(session, streamId);
      },
      mediaMoved: (session) => this.relay?.reconcile(session),
    };
  }

  /** Cluster: media across nodes (docs/cluster.md): streams of other nodes reach this node's subscribers over media links. */
  attachMediaRelay<R extends RelayPort>(make: (host: RelayHost) => R): R {
    const relay = make({
      session: (id) => this.sessions.get(id),
      router: (session) => this.routerOf(session),
      tell: (session, streamId, what) => {
        const stream = session.streams.get(streamId);
        if (!stream) return;
        const router = this.routerOf(session);
        this.tellChanges(session, what === 'interrupted' ? router.interrupt(stream.connectionId, [streamId]) : router.restore([streamId], stream.connectionId), what);
      },
    });
    this.relay = relay;
    return relay;
  }

  /** The media relay's counters (links, forwards), in a cluster with media across nodes. */
  mediaRelayStats(): RelayStats | undefined {
    return this.relay?.stats();
  }

  /**
   * Makes this registry a cluster node's (server.listen, once Redis is reached). `onThrottle`
   * hears when clients' requests must wait, and when they may go on (back-pressure across nodes).
   */
  attachCluster(cluster: ClusterPort, onThrottle?: (on: boolean) => void): void {
    this.node = new ClusterNode(cluster, this.core(), onThrottle);
  }

  /** Cluster: true while clients' requests must wait (a node applies entries too far behind). */
  get throttled(): boolean {
    return this.node.throttled;
  }

  /** Stops the cluster side's timers (server shutdown). */
  close(): void {
    this.node.close();
  }

  /** Cluster: Redis is back after an outage: catch up, then append what waited. */
  resync(): Promise<void> {
    return this.node.resync();
  }

  /** Cluster: an entry of a session's log, as published. */
  receiveEntry(entry: LogEntry): void {
    this.node.receiveEntry(entry);
  }

  get cluster(): ClusterPort | undefined {
    return this.node.cluster;
  }

  /**
   * Cluster: before a client joins a session here, takes its place in the session's
   * cluster-wide count and listens to the session. 'full' when the session is full. Throws
   * ClusterUnavailableError when Redis cannot be reached. Alone: always 'ok'.
   */
  admit(sessionId: string): Promise<'ok' | 'full'> {
    return this.node.admit(sessionId);
  }

  /** Cluster: gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void {
    this.node.release(sessionId);
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
   * Adds a connection to a session (creating the session) and announces it to the others;
   * in a cluster through the session's log, after admit(). Rejects with a RequestError (1027
   * full, 1023 Redis unavailable). The caller attaches a transport.
   */
  async connect(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    return this.node.connect(opts);
  }

  private newConnection(sessionId: string, o: ConnectionSeed, restored?: { id: string; resumeToken: string }): Connection {
    const { limits } = this.opts;
    return new Connection(
      sessionId, o.creationTime, o.data, o.role, o.sup,
      new RateLimiter(limits.signalsPerSecond, limits.signalBurst, this.now()), limits, [...o.lcl], restored,
    );
  }

  /** A connection's socket dropped without a disconnect request: start its grace window. */
  detach(conn: Connection, transport: Transport): void {
    if (!conn.detach(transport) || conn.state === 'closed') return;
    this.startGrace(conn);
    this.tellSubscribers(conn, 'interrupted');
  }

  private startGrace(conn: Connection): void {
    if (conn.graceTimer) clearTimeout(conn.graceTimer);
    conn.graceTimer = setTimeout(() => {
      conn.graceTimer = undefined;
      if (conn.state === 'detached') this.destroy(conn, 'networkDisconnected');
    }, this.opts.graceWindowMs);
  }

  /**
   * Checks a resume of a connection of this node, or in a cluster of any node (taken over,
   * rebuilt from the log). The caller attaches the transport. Rejects with a RequestError.
   */
  async resumeAnywhere(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection> {
    if (this.findConnection(sessionId, connectionId)) return this.resume(sessionId, connectionId, resumeToken, lastSeq);
    const conn = await this.node.resumeElsewhere(sessionId, connectionId, resumeToken, lastSeq);
    const session = this.sessions.get(sessionId);
    if (session && this.relay) {
      // taken over from another node: its subscriptions come with it, its streams' media now enters here
      await this.relay.restoreSubscriptions(session, conn.id);
      this.tellSubscribers(conn, 'restored');
      this.relay.reconcile(session);
    }
    return conn;
  }

  /** Checks a resume; on success the caller attaches the transport and replays. Throws RequestError. */
  resume(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Connection {
    const conn = this.findConnection(sessionId, connectionId);
    if (!conn || conn.state === 'closed' || conn.isOverflowed) gone();
    if (!conn.checkResumeToken(resumeToken)) fail(ErrorCode.AUTHENTICATION, 'resume token is invalid');
    this.resumeChecked(conn, lastSeq);
    this.tellSubscribers(conn, 'restored');
    return conn;
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
    this.node.acknowledged(conn);
    return true;
  }

  /**
   * Removes a connection for good and tells the others: streamDestroyed for each of its
   * streams, then connectionDestroyed, then signalUndelivered for the signals it did not
   * acknowledge. Idempotent.
   */
  destroy(conn: Connection, reason: ConnectionDestroyedReason): void {
    if (conn.state === 'closed') return;
    const session = this.sessions.get(conn.sessionId);
    const undelivered = conn.unacknowledgedSignals();
    conn.markClosed();
    if (!session || session.connections.get(conn.id) !== conn) return;
    session.router?.removeConnection(conn.id);
    this.edge?.closeConnection(session.id, conn.id);
    this.relay?.reconcile(session);
    this.node.run(session.id, () => {
      session.connections.delete(conn.id);
      const streams = [...session.streams.values()].filter((stream) => stream.connectionId === conn.id);
      this.node.removeConnection(session, conn, streams, reason);
      this.tellUndelivered(session, conn.id, undelivered);
    });
    if (session.connections.size === 0) {
      session.router?.close();
      session.router = undefined;
      this.relay?.reconcile(session);
      this.edge?.closeSession(session.id);
      this.node.sessionEmptied(session);
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
      this.node.emitToId(session, sig.from, signalUndelivered(sig.rid, to, sig.signalType, error));
    }
  }

  /**
   * Processes one request of `conn` and emits its result. Request ids are the caller's
   * business (socket layer); this performs the operation exactly once. A request that waits
   * for something outside the server (1.2: a WebRTC negotiation) returns a promise that
   * settles once its result is emitted: the socket holds the connection's next requests until
   * then, so requests are still processed one at a time in id order (docs/protocol.md §4).
   */
  handle(conn: Connection, id: number, req: RequestBody): Promise<void> | undefined {
    if (req.type === 'disconnect') {
      // The connection ends here: its result goes out at once, before the socket closes.
      if (!conn.emit(okResult(id))) this.overflow(conn);
      conn.logged = false;
      return undefined;
    }
    return this.node.run(conn.sessionId, () => this.handleIn(conn, id, req));
  }

  private handleIn(conn: Connection, id: number, req: RequestBody): Promise<void> | undefined {
    this.node.requireHere(conn);
    let extra: string | Promise<string> = '';
    let error: WireError | undefined;
    try {
      const session = this.sessions.get(conn.sessionId);
      if (!session || conn.state === 'closed') fail(ErrorCode.NOT_CONNECTED, 'connection is not in its session');
      extra = this.perform(session, conn, req, id);
    } catch (e) {
      error = this.errorOf(conn, e);
    }
    if (typeof extra !== 'string') {
      return extra.then((x) => this.emitLater(conn, id, x), (e: unknown) => this.emitLater(conn, id, '', this.errorOf(conn, e)));
    }
    if (conn.state === 'closed') return undefined;
    this.node.fallbackResult(conn, id);
    this.node.emitTo(conn, error ? failedResult(id, error) : okResult(id, extra), id);
    return undefined;
  }

  /** The wire error of a failed operation (an unexpected one is reported, and answered 2000). */
  private errorOf(conn: Connection, e: unknown): WireError {
    if (e instanceof RtcError) return wireError(ErrorCode.RTC_FAILED, e.message);
    const error = e instanceof Error && 'wire' in e ? (e as { wire: WireError }).wire : wireError(ErrorCode.INTERNAL, 'internal server error');
    if (!(e instanceof Error && 'wire' in e)) reportInternal(this.opts.log ?? silentLog, 'request failed', e);
    if (error.code === ErrorCode.RATE_LIMIT_EXCEEDED) this.opts.onLimit?.(conn, 'signalRate');
    return error;
  }

  /** The result of a request that waited (a negotiation), unless its connection ended meanwhile. */
  private emitLater(conn: Connection, id: number, extra: string, error?: WireError): void {
    if (conn.state === 'closed' || !this.sessions.has(conn.sessionId)) return;
    try {
      this.node.run(conn.sessionId, () => {
        this.node.requireHere(conn);
        this.node.fallbackResult(conn, id);
        this.node.emitTo(conn, error ? failedResult(id, error) : okResult(id, extra), id);
      });
    } catch (e) {
      reportInternal(this.opts.log ?? silentLog, 'result of a request that waited', e);
    }
  }

  /** Emits a failed result for a request that could not be decoded (it still consumes its id). */
  rejectRequest(conn: Connection, id: number, error: WireError): void {
    this.node.run(conn.sessionId, () => {
      this.node.requireHere(conn);
      this.node.emitTo(conn, failedResult(id, error), id);
    });
  }

  /**
   * Performs a request; returns the result's extra fields as JSON text (`,"stream":{...}`) or '',
   * or a promise of them (a WebRTC negotiation; it rejects with the request's error).
   */
  private perform(session: Session, conn: Connection, req: RequestBody, id: number): string | Promise<string> {
    const caps = conn.capabilities;
    switch (req.type) {
      case 'signal':
        if (!caps.signal) fail(ErrorCode.SIGNAL_DENIED, `role '${conn.role}' may not send signals`, 'OT_PERMISSION_DENIED');
        if (!conn.limiter.take(this.now())) fail(ErrorCode.RATE_LIMIT_EXCEEDED, 'signal rate limit exceeded');
        this.signal(session, conn.id, req.signalType, req.data, req.to, id);
        return '';
      case 'publish':
        if (!caps.publish) fail(ErrorCode.PUBLISH_DENIED, `role '${conn.role}' may not publish`, 'OT_PERMISSION_DENIED');
        return this.publish(session, conn, req.props);
      case 'subscribe':
        return this.subscribe(session, conn, req.streamId, req.audio, req.video);
      case 'unsubscribe':
        // idempotent: a subscription already gone (stream destroyed meanwhile) is no error
        session.router?.unsubscribe(conn.id, req.streamId);
        this.edge?.close(this.edgeKey(session, conn, req.streamId), 'subscribe');
        this.subscriptionsChanged(session, conn);
        return '';
      case 'rtcPublish':
        return this.rtcPublish(session, conn, req.streamId, req.sdp);
      case 'rtcSubscribe':
        return this.rtcSubscribe(session, conn, req.streamId, req.sdp, req.audio, req.video);
      case 'rtcClose':
        this.rtcClose(session, conn, req.streamId);
        return '';
      case 'requestKeyframe':
        if (!session.router?.requestKeyframe(conn.id, req.streamId)) {
          fail(ErrorCode.INVALID_STREAM, `no video subscription to stream '${req.streamId}' on this connection`);
        }
        return '';
      case 'unpublish': {
        const stream = this.ownStream(session, conn, req.streamId);
        this.node.requireStream(stream.id);
        this.node.removeStream(session, stream, 'clientDisconnected', conn);
        return '';
      }
      case 'updateStream':
        this.node.requireStream(req.streamId);
        this.updateStream(session, this.ownStream(session, conn, req.streamId), req.props, conn);
        return '';
      case 'forceDisconnect': {
        if (!caps.forceDisconnect) fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `role '${conn.role}' may not force a disconnect`, 'OT_PERMISSION_DENIED');
        const target = session.connections.get(req.connectionId);
        if (target) this.forceDisconnect(target);
        else if (!this.node.forceDisconnectRemote(session, req.connectionId)) {
          fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${req.connectionId}' in this session`);
        }
        return '';
      }
      case 'forceUnpublish': {
        if (!caps.forceUnpublish) fail(ErrorCode.UNABLE_TO_FORCE_UNPUBLISH, `role '${conn.role}' may not force unpublish`, 'OT_PERMISSION_DENIED');
        const stream = this.anyStream(session, req.streamId);
        this.node.requireStream(stream.id);
        this.node.removeStream(session, stream, 'forceUnpublished');
        return '';
      }
      case 'forceMuteStream':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.node.requireStream(req.streamId);
        this.muteStream(session, this.anyStream(session, req.streamId));
        return '';
      case 'forceMuteAll':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.muteAll(session, req.excludedStreamIds, conn);
        return '';
      case 'disableForceMute':
        if (!caps.forceMute) fail(ErrorCode.FORCE_MUTE_DENIED, `role '${conn.role}' may not force mute`, 'OT_PERMISSION_DENIED');
        this.node.setForceMute(session, { active: false, excluded: [] }, conn);
        return '';
      case 'disconnect':
        // Nothing to do before the result: the socket layer then calls destroy() and closes.
        return '';
    }
  }

  // ---- operations shared by client requests and the REST API ----

  /**
   * Sends a signal to every connection of the session, or to one. `from` null = the server;
   * else `rid` is the id of the sender's request (kept with each event for signalUndelivered).
   */
  private signal(session: Session, from: string | null, signalType: string, data: string, to?: string, rid?: number): void {
    const body = signal(signalType, data, from);
    const sig: SignalOrigin | undefined = from !== null && rid !== undefined ? { from, rid, signalType } : undefined;
    if (to !== undefined) {
      if (!session.connections.has(to) && !session.remote.has(to)) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
      this.node.emitToId(session, to, body, sig);
      return;
    }
    this.node.broadcast(session, body, { sig });
  }

  private publish(session: Session, conn: Connection, props: StreamProps): string {
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
    const wire = copyStream(stream);
    // the tracks are stored with the stream: every node of a cluster forwards it with the same numbers
    const tracks = this.routerOf(session).addStream(stream.id, conn.id);
    stream.tracks = tracks;
    this.node.addStream(session, stream, conn);
    if (muted) this.node.emitTo(conn, muteForced(true, stream.id));
    return `,"stream":${json(wire)},"tracks":${json(tracks)}`;
  }

  // ---- media (docs/protocol.md, section 15) ----

  /** The session's media router, made when first needed. */
  private routerOf(session: Session): Router {
    if (!session.router) {
      session.router = new Router(
        session.streams, (id) => mediaSinkOf(session.connections.get(id)), { ...MEDIA_DEFAULTS, ...this.opts.media },
        (ownerId, streamId) => {
          // a stream published over WebRTC: a PLI to the browser instead of an event
          if (this.edge?.requestKeyframe(session.id, ownerId, streamId)) return;
          const owner = session.connections.get(ownerId);
          if (owner && owner.state !== 'closed') this.node.run(session.id, () => this.node.emitTo(owner, keyframeRequested(streamId)));
          else if (!owner) this.relay?.requestKeyframe(session.id, streamId); // published on another node
        },
        this.now,
        () => this.node.cluster?.trackRange ?? ALL_TRACKS,
      );
    }
    return session.router;
  }

  private subscribe(session: Session, conn: Connection, streamId: string, audio: boolean, video: boolean): string {
    if (!conn.capabilities.subscribe) fail(ErrorCode.SUBSCRIBE_DENIED, `role '${conn.role}' may not subscribe`, 'OT_PERMISSION_DENIED');
    const stream = this.anyStream(session, streamId);
    this.mediaReachable(session, stream);
    const subscription = this.routerOf(session).subscribe(conn.id, stream, { audio, video });
    this.edge?.close(this.edgeKey(session, conn, streamId), 'subscribe'); // its media now comes on the socket
    this.subscriptionsChanged(session, conn);
    return `,"subscription":${json(subscription)}`;
  }

  /** A stream published on another node reaches this node's subscribers only over media links (a cluster secret). */
  private mediaReachable(session: Session, stream: Stream): void {
    if (session.connections.has(stream.connectionId) || this.relay) return;
    fail(ErrorCode.MEDIA_NOT_ON_THIS_NODE, `stream '${stream.id}' is published on another node of the cluster, and media across nodes needs the cluster secret (--cluster-secret) on every node`);
  }

  /** A subscriber's subscriptions changed: the streams of other nodes this node receives, and (cluster) its record for a resume elsewhere. */
  private subscriptionsChanged(session: Session, conn: Connection): void {
    if (!this.relay) return;
    this.relay.reconcile(session);
    this.relay.saveSubscriptions(session, conn.id);
  }

  // ---- WebRTC (revision 1.2, docs/protocol.md section 16; the edge is webrtc/edge.ts) ----

  /** The edge, when this server has one. */
  private get edge(): WebRtcEdge | undefined {
    const e = this.opts.webrtc;
    return e && !('disabled' in e) ? e : undefined;
  }

  /** The edge, or the 4419 failure. */
  private needEdge(): WebRtcEdge {
    const e = this.opts.webrtc;
    if (!e || 'disabled' in e) fail(ErrorCode.RTC_DISABLED, e?.disabled ?? 'WebRTC is not enabled on this server');
    return e;
  }

  private edgeKey(session: Session, conn: Connection, streamId: string): EdgeKey {
    return { sessionId: session.id, connectionId: conn.id, streamId };
  }

  /**
   * A browser sends its own stream's media over WebRTC: the checks of `publish` and of a
   * media frame's owner, then the negotiation. Its RTP enters the router as binary frames of
   * this connection would (receiveMedia: role, owner, hasAudio / hasVideo, counters).
   */
  private rtcPublish(session: Session, conn: Connection, streamId: string, sdp: string): Promise<string> {
    if (!conn.capabilities.publish) fail(ErrorCode.PUBLISH_DENIED, `role '${conn.role}' may not publish`, 'OT_PERMISSION_DENIED');
    const stream = this.ownStream(session, conn, streamId);
    const edge = this.needEdge();
    const tracks = this.routerOf(session).addStream(stream.id, conn.id, stream.tracks);
    const key = this.edgeKey(session, conn, stream.id);
    return edge.publish(key, sdp, tracks, { deliver: (frame) => this.receiveMedia(conn, frame) }).then((answer) => {
      if (conn.state === 'closed' || session.streams.get(streamId)?.connectionId !== conn.id) {
        edge.close(key, 'publish');
        fail(ErrorCode.INVALID_STREAM, `stream '${streamId}' ended during the negotiation`);
      }
      return `,"sdp":${json(answer)}`;
    });
  }

  /**
   * A browser receives a stream's media over WebRTC: the checks of `subscribe`, the
   * negotiation, then the same router subscription as `subscribe` with the RTP sink.
   */
  private rtcSubscribe(session: Session, conn: Connection, streamId: string, sdp: string, audio: boolean, video: boolean): Promise<string> {
    if (!conn.capabilities.subscribe) fail(ErrorCode.SUBSCRIBE_DENIED, `role '${conn.role}' may not subscribe`, 'OT_PERMISSION_DENIED');
    const stream = this.anyStream(session, streamId);
    this.mediaReachable(session, stream);
    const edge = this.needEdge();
    const key = this.edgeKey(session, conn, streamId);
    const hooks = {
      keyframe: () => void session.router?.requestKeyframe(conn.id, streamId),
      gone: () => {
        session.router?.unsubscribe(conn.id, streamId);
        this.subscriptionsChanged(session, conn);
      },
    };
    return edge.subscribe(key, sdp, { audio, video }, hooks).then((a) => {
      const now = session.streams.get(streamId);
      if (conn.state === 'closed' || !now || (!session.connections.has(now.connectionId) && !this.relay)) {
        edge.close(key, 'subscribe');
        fail(ErrorCode.INVALID_STREAM, `stream '${streamId}' ended during the negotiation`);
      }
      const subscription = this.routerOf(session).subscribe(conn.id, now, a.kinds, a.sink);
      this.subscriptionsChanged(session, conn);
      return `,"sdp":${json(a.sdp)},"subscription":${json(subscription)}`;
    });
  }

  /** Closes the stream's peer connections of this connection (publish and subscribe sides). Idempotent. */
  private rtcClose(session: Session, conn: Connection, streamId: string): void {
    const edge = this.edge;
    if (!edge) return;
    const key = this.edgeKey(session, conn, streamId);
    if (edge.close(key, 'subscribe')) {
      session.router?.unsubscribe(conn.id, streamId);
      this.subscriptionsChanged(session, conn);
    }
    edge.close(key, 'publish');
  }

  /**
   * One binary frame from a client (v1.1): forwarded to the subscribers of its track, or
   * dropped and counted. Returns the error to tell the sender (the socket rate-bounds them).
   */
  receiveMedia(conn: Connection, bytes: Uint8Array): WireError | undefined {
    const session = this.sessions.get(conn.sessionId);
    if (!session || conn.state === 'closed') return undefined;
    return this.routerOf(session).receive({ id: conn.id, canPublish: conn.capabilities.publish === 1 }, bytes);
  }

  /** The media counters of a session on this node (tests, a later stats endpoint); undefined when it has none. */
  mediaStats(sessionId: string): RouterStats | undefined {
    return this.sessions.get(sessionId)?.router?.stats();
  }

  /**
   * A publisher lost its socket (grace window) or resumed: each subscriber of its streams gets
   * streamInterrupted / streamRestored. Events (numbered, replayed), through the port.
   */
  private tellSubscribers(conn: Connection, what: 'interrupted' | 'restored'): void {
    const session = this.sessions.get(conn.sessionId);
    if (!session) return;
    const own = [...session.streams.values()].filter((s) => s.connectionId === conn.id).map((s) => s.id);
    if (own.length === 0) return;
    const router = this.routerOf(session);
    this.tellChanges(session, what === 'interrupted' ? router.interrupt(conn.id, own) : router.restore(own, conn.id), what);
  }

  /**
   * streamInterrupted / streamRestored for the subscribers of streams: this node's get the
   * event; another node that receives the stream over a media link is told (its own subscribers
   * get it there).
   */
  private tellChanges(session: Session, changes: Array<{ streamId: string; subscribers: string[] }>, what: 'interrupted' | 'restored'): void {
    for (const { streamId, subscribers } of changes) {
      for (const id of subscribers) if (isLinkSubscriber(id)) this.relay?.tellLink(session.id, streamId, id, what);
    }
    const here = (id: string): boolean => {
      const c = session.connections.get(id);
      return c !== undefined && c.state !== 'closed';
    };
    const local = changes.map((c) => ({ streamId: c.streamId, subscribers: c.subscribers.filter(here) }));
    if (local.every((c) => c.subscribers.length === 0)) return;
    this.node.run(session.id, () => {
      for (const { streamId, subscribers } of local) {
        const body = what === 'interrupted' ? streamInterrupted(streamId) : streamRestored(streamId);
        for (const id of subscribers) this.node.emitTo(session.connections.get(id) as Connection, body);
      }
    });
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

  /** Changes the properties of `props` that differ: streamPropertyChanged for each. */
  private updateStream(session: Session, stream: Stream, props: StreamProps, except?: Connection, exceptId?: string): void {
    const current = restStream(stream) as unknown as Record<string, unknown>;
    const changes: StreamChange[] = [];
    for (const key of STREAM_PROPERTIES) {
      const newValue = props[key];
      if (newValue === undefined) continue;
      const oldValue = current[key];
      if (key === 'videoDimensions' ? sameDims(oldValue as VideoDimensions, newValue as VideoDimensions) : oldValue === newValue) continue;
      changes.push({ key, oldValue, newValue });
    }
    this.node.changeStream(session, stream, changes, except, exceptId);
  }

  private muteStream(session: Session, stream: Stream): void {
    const owner = session.connections.get(stream.connectionId);
    if (owner || session.remote.has(stream.connectionId)) this.node.emitToId(session, stream.connectionId, muteForced(true, stream.id));
    this.updateStream(session, stream, { hasAudio: false }, owner, stream.connectionId);
  }

  private muteAll(session: Session, excluded: string[], by?: Connection): void {
    const skip = new Set(excluded);
    this.node.setForceMute(session, { active: true, excluded: [...excluded] }, by);
    for (const stream of session.streams.values()) {
      if (!skip.has(stream.id)) this.updateStream(session, stream, { hasAudio: false }, session.connections.get(stream.connectionId), stream.connectionId);
    }
  }

  /** Disconnects a connection on a moderator's or the REST API's order. */
  private forceDisconnect(target: Connection): void {
    // The connection ends here: in a cluster too its last event goes out at once, out of the log.
    if (!target.emit(sessionDisconnected('forceDisconnected'))) return this.overflow(target);
    target.logged = false;
    const transport = target.currentTransport;
    this.destroy(target, 'forceDisconnected');
    transport?.close(1000, 'forceDisconnected');
  }

  /** Replay buffer overflow: the exactly-once promise cannot be kept for this connection. */
  private overflow(conn: Connection): void {
    const transport = conn.currentTransport;
    this.opts.onLimit?.(conn, 'replayBuffer');
    this.destroy(conn, 'networkDisconnected');
    if (transport) {
      transport.send(fatalError(wireError(ErrorCode.CONNECTION_DROPPED, 'too many unacknowledged events: connection dropped')));
      transport.close(4022, 'replay buffer overflow');
    }
  }

  // ---- REST API entry points (session ids are checked by the caller) ----

  async restSignal(sessionId: string, signalType: string, data: string, to?: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (session?.connections.size) return this.node.runRest(sessionId, () => this.signal(session, null, signalType, data, to));
    // no client here: the session may have some on other nodes (cluster)
    return this.node.signalElsewhere(sessionId, signal(signalType, data, null), to);
  }

  async restForceDisconnect(sessionId: string, connectionId: string): Promise<void> {
    const target = this.findConnection(sessionId, connectionId);
    if (target) return this.node.runRest(sessionId, () => this.forceDisconnect(target));
    if (await this.node.forceDisconnectElsewhere(sessionId, connectionId)) return;
    fail(ErrorCode.UNABLE_TO_FORCE_DISCONNECT, `no connection '${connectionId}' in this session`);
  }

  async listStreams(sessionId: string): Promise<RestStream[]> {
    const session = await this.node.restSession(sessionId, false);
    return [...(session?.streams.values() ?? [])].map(restStream);
  }

  async getStream(sessionId: string, streamId: string): Promise<RestStream | undefined> {
    return (await this.listStreams(sessionId)).find((s) => s.id === streamId);
  }

  async restMuteStream(sessionId: string, streamId: string): Promise<void> {
    const session = await this.node.restSession(sessionId, false);
    const stream = session?.streams.get(streamId);
    if (!session || !stream) fail(ErrorCode.INVALID_STREAM, `no stream '${streamId}' in this session`);
    await this.node.runRest(sessionId, () => {
      this.node.requireStream(stream.id);
      this.muteStream(session, stream);
    });
  }

  /** Alone, force mute on a session nobody is in yet is remembered for those who join. */
  async restMuteAll(sessionId: string, active: boolean, excluded: string[]): Promise<void> {
    const session = await this.node.restSession(sessionId, active);
    if (!session) return;
    await this.node.runRest(sessionId, () => (active ? this.muteAll(session, excluded) : this.node.setForceMute(session, { active: false, excluded: [] })));
    if (!active && session.connections.size === 0) this.node.sessionEmptied(session);
  }
}

/** A connection's socket, when it carries media. */
function mediaSinkOf(conn: Connection | undefined): MediaSink | undefined {
  const t = conn?.currentTransport;
  return t?.sendMedia && t.bufferedBytes ? (t as MediaSink) : undefined;
}

function sameDims(a: VideoDimensions, b: VideoDimensions): boolean {
  return a.width === b.width && a.height === b.height;
}
