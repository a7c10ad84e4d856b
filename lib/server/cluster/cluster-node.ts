/**
 * Sessions of a cluster node (docs/cluster.md), as a SessionPort (../session-port.ts): an
 * operation's state changes and events become one entry of the session's log, built while the
 * operation runs and appended when it returns. Nothing changes here until the entry comes back:
 * the replica applies each entry, on every node alike (replica.ts, applyEntry / applyOp).
 */
import { ErrorCode, wireError, type ConnectionDestroyedReason, type StreamDestroyedReason } from '../../wire';
import type { Connection, SignalOrigin } from '../connection';
import { failedResult, muteForced, streamCreated, streamDestroyed, streamPropertyChanged } from '../events';
import { fail } from '../request-error';
import type { BroadcastOptions, RegistryCore, SessionPort, StreamChange } from '../session-port';
import { copyStream, fillSession, storedStream, Session, type JoinOptions, type SessionSnapshot, type Stream } from '../session-state';
import type { ClusterPort } from './cluster';
import { appendRemoval, Cond, isEmpty, newBatch, Write, type Batch, type ClusterOp, type LogEntry, type LogMsg, type MuteState } from './log-entry';
import { Replica } from './replica';

const json = JSON.stringify;

export class ClusterNode implements SessionPort {
  /** the log entry the current operation builds */
  private batch: Batch | undefined;
  /** this node's part in sessions shared through Redis */
  private readonly replica: Replica;

  /** `onThrottle` hears when clients' requests must wait, and when they may go on (back-pressure across nodes). */
  constructor(readonly cluster: ClusterPort, private readonly core: RegistryCore, onThrottle?: (on: boolean) => void) {
    this.replica = new Replica(cluster, core);
    this.replica.onThrottle = onThrottle;
  }

  get throttled(): boolean {
    return this.replica.throttled;
  }

  close(): void {
    this.replica.close();
  }

  resync(): Promise<void> {
    return this.replica.resync();
  }

  receiveEntry(entry: LogEntry): void {
    this.replica.receiveEntry(entry);
  }

  /** Takes the client's place in the session's cluster-wide count and listens to the session. Throws ClusterUnavailableError. */
  async admit(sessionId: string): Promise<'ok' | 'full'> {
    return (await this.replica.admit(sessionId, this.core.limits.maxConnectionsPerSession)) ? 'ok' : 'full';
  }

  release(sessionId: string): void {
    this.replica.release(sessionId);
  }

  /** Through the session's log, after admit() (1023 when Redis is unavailable). */
  connect(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    return this.replica.join(opts);
  }

  /** A connection of another node: taken over, rebuilt from the log. */
  resumeElsewhere(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection> {
    return this.replica.takeOver(sessionId, connectionId, resumeToken, lastSeq);
  }

  /** Records how far the client got (its checkpoint) for a resume elsewhere. */
  acknowledged(conn: Connection): void {
    this.replica.checkpoint(conn);
  }

  sessionEmptied(session: Session): void {
    this.replica.dropIfIdle(session);
  }

  /** The entry being built: session changes happen only inside run() / runRest(). */
  private get entry(): Batch {
    if (!this.batch) throw new Error('convene: cluster: a session change outside an operation (no log entry to put it in)');
    return this.batch;
  }

  /** The operation's events and state changes make one log entry, appended when it returns. */
  run<T>(sessionId: string, fn: () => T): T {
    if (this.batch?.sessionId === sessionId) return fn();
    const outer = this.batch;
    const b = newBatch(sessionId);
    this.batch = b;
    try {
      return fn();
    } finally {
      this.batch = outer;
      this.replica.commit(b);
    }
  }

  /**
   * Resolves once the entry is appended, and fails with 1023 (HTTP 503) when Redis is away:
   * a 204 means it is in the log.
   */
  async runRest(sessionId: string, fn: () => void): Promise<void> {
    const outbox = this.replica.outbox;
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
   * A request's entry is appended only while its connection is still this node's: if the
   * client resumed elsewhere meanwhile, it resends the request there (its result is not in the
   * log), so it is performed once.
   */
  requireHere(conn: Connection): void {
    this.entry.conds.push([Cond.REQUESTER_ON_NODE, conn.id, this.cluster.nodeId]);
  }

  requireStream(streamId: string): void {
    this.entry.conds.push([Cond.STREAM_EXISTS, streamId]);
  }

  /** If a condition of the entry fails (what it acts on went away meanwhile), only this is appended. */
  fallbackResult(conn: Connection, id: number): void {
    const lost = wireError(ErrorCode.INVALID_STREAM, 'the stream or connection it acts on is gone');
    this.entry.fallback = [{ to: conn.id, rid: id, b: failedResult(id, lost) }];
  }

  addStream(session: Session, stream: Stream, publisher: Connection): void {
    this.entry.writes.push([Write.PUT_STREAM, stream.id, json(storedStream(stream))]);
    this.message(streamCreated(copyStream(stream)), { except: publisher }, { t: 'streamPut', stream: storedStream(stream) });
  }

  removeStream(session: Session, stream: Stream, reason: StreamDestroyedReason, except?: Connection): void {
    this.entry.writes.push([Write.DELETE_STREAM, stream.id, '']);
    this.message(streamDestroyed(copyStream(stream), reason), { except }, { t: 'streamDel', id: stream.id });
  }

  changeStream(session: Session, stream: Stream, changes: StreamChange[], except?: Connection, exceptId?: string): void {
    if (changes.length === 0) return;
    const next = storedStream(stream) as unknown as Record<string, unknown>;
    for (const { key, oldValue, newValue } of changes) {
      next[key] = newValue;
      this.message(streamPropertyChanged(stream.id, key, oldValue, newValue), { except, exceptId }, { t: 'streamSet', id: stream.id, key, value: newValue });
    }
    this.entry.writes.push([Write.UPDATE_STREAM, stream.id, json(next)]);
  }

  setForceMute(session: Session, mute: MuteState, by?: Connection): void {
    this.entry.writes.push(mute.active ? [Write.SET_MUTE, '', json(mute)] : [Write.CLEAR_MUTE, '', '']);
    this.message(muteForced(mute.active, undefined, mute.excluded), { except: by }, undefined, mute);
  }

  /** Only while the connection is still this node's (not resumed elsewhere, not swept). */
  removeConnection(session: Session, conn: Connection, streams: Stream[], reason: ConnectionDestroyedReason): void {
    appendRemoval(this.entry, conn.toWire(), streams, reason, this.cluster.nodeId);
  }

  emitTo(conn: Connection, body: string, rid?: number, sig?: SignalOrigin): void {
    const msg: LogMsg = rid === undefined ? { to: conn.id, b: body } : { to: conn.id, b: body, rid };
    if (sig) msg.sg = sig;
    this.entry.m.push(msg);
  }

  emitToId(session: Session, id: string, body: string, sig?: SignalOrigin): void {
    this.entry.m.push(sig ? { to: id, b: body, sg: sig } : { to: id, b: body });
  }

  broadcast(session: Session, body: string, opts: BroadcastOptions): void {
    this.message(body, opts);
  }

  /** An event for the session's connections on every node, with the state change `op` and force-mute state that go with it. */
  private message(body: string, opts: BroadcastOptions, op?: ClusterOp, mute?: MuteState): void {
    const b = this.entry;
    const exceptId = opts.except?.id ?? opts.exceptId;
    const msg: LogMsg = { b: body };
    if (exceptId !== undefined) msg.x = exceptId;
    if (opts.connectionEvent) msg.ce = 1;
    if (opts.sig) msg.sg = opts.sig;
    b.m.push(msg);
    if (op) b.op.push(op);
    if (mute) b.mute = mute;
  }

  /** Its node carries it out when it applies the entry. */
  forceDisconnectRemote(session: Session, connectionId: string): boolean {
    if (!session.remote.has(connectionId)) return false;
    this.entry.m.push({ force: connectionId });
    return true;
  }

  async restSession(sessionId: string): Promise<Session | undefined> {
    const local = this.core.sessions.get(sessionId);
    if (local?.connections.size) return local;
    const session = new Session(sessionId);
    fillSession(session, await this.cluster.snapshot(sessionId), this.cluster.nodeId);
    return session;
  }

  /** The session may have clients on other nodes. */
  async signalElsewhere(sessionId: string, body: string, to: string | undefined): Promise<void> {
    if (to !== undefined && !(await this.cluster.hasConnection(sessionId, to))) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
    return this.runRest(sessionId, () => { this.entry.m.push(to === undefined ? { b: body } : { b: body, to }); });
  }

  async forceDisconnectElsewhere(sessionId: string, connectionId: string): Promise<boolean> {
    if (!(await this.cluster.hasConnection(sessionId, connectionId))) return false;
    await this.runRest(sessionId, () => { this.entry.m.push({ force: connectionId }); });
    return true;
  }
}
