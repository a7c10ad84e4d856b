/**
 * Sessions of a server alone (no cluster): every state change is made, and its events are
 * emitted to the session's connections, at once (SessionPort, session-port.ts).
 */
import { ErrorCode, type ConnectionDestroyedReason, type StreamDestroyedReason } from '../wire';
import type { Connection, SignalOrigin } from './connection';
import { connectionCreated, connectionDestroyed, muteForced, streamCreated, streamDestroyed, streamPropertyChanged } from './events';
import type { MuteState } from './cluster/log-entry';
import { fail } from './request-error';
import type { BroadcastOptions, RegistryCore, SessionPort, StreamChange } from './session-port';
import { copyStream, gone, Session, type JoinOptions, type SessionSnapshot, type Stream } from './session-state';

export class SingleNode implements SessionPort {
  readonly cluster = undefined;
  readonly throttled = false;

  constructor(private readonly core: RegistryCore) {}

  close(): void {}

  resync(): Promise<void> {
    return Promise.resolve();
  }

  receiveEntry(): void {}

  async admit(): Promise<'ok' | 'full'> {
    return 'ok';
  }

  release(): void {}

  async connect(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }> {
    return this.join(opts);
  }

  /**
   * Adds a connection to a session (creating the session) and announces it to the others.
   * Throws RequestError 1027 when the session is full. The caller attaches a transport.
   */
  private join(opts: JoinOptions): { conn: Connection; snapshot: SessionSnapshot } {
    const { sessions, limits } = this.core;
    let session = sessions.get(opts.sessionId);
    const max = limits.maxConnectionsPerSession;
    if (session && max > 0 && session.connections.size >= max) {
      fail(ErrorCode.CONNECTION_LIMIT_EXCEEDED, `session is full (${max} connections)`);
    }
    if (!session) {
      session = new Session(opts.sessionId);
      sessions.set(opts.sessionId, session);
    }
    const conn = this.core.newConnection(opts.sessionId, {
      creationTime: this.core.now(), data: opts.data, role: opts.role, sup: opts.eventsSuppressed, lcl: opts.layoutClassList ?? [],
    });
    const snapshot: SessionSnapshot = {
      connections: opts.eventsSuppressed ? [] : [...session.connections.values()].map((c) => c.toWire()),
      streams: [...session.streams.values()].map(copyStream),
      forceMute: { active: session.forceMuteActive },
    };
    session.connections.set(conn.id, conn);
    this.broadcast(session, connectionCreated(conn.toWire()), { except: conn, connectionEvent: true });
    return { conn, snapshot };
  }

  /** Alone, a connection this node does not have does not exist. */
  async resumeElsewhere(): Promise<Connection> {
    gone();
  }

  acknowledged(): void {}

  sessionEmptied(session: Session): void {
    this.core.sessions.delete(session.id);
  }

  run<T>(_sessionId: string, fn: () => T): T {
    return fn();
  }

  async runRest(_sessionId: string, fn: () => void): Promise<void> {
    fn();
  }

  requireHere(): void {}
  requireStream(): void {}
  fallbackResult(): void {}

  addStream(session: Session, stream: Stream, publisher: Connection): void {
    session.streams.set(stream.id, stream);
    this.broadcast(session, streamCreated(copyStream(stream)), { except: publisher });
  }

  removeStream(session: Session, stream: Stream, reason: StreamDestroyedReason, except?: Connection): void {
    session.streams.delete(stream.id);
    session.forceMuteExcluded.delete(stream.id);
    this.core.streamRemoved(session, stream.id);
    this.broadcast(session, streamDestroyed(copyStream(stream), reason), { except });
  }

  changeStream(session: Session, stream: Stream, changes: StreamChange[], except?: Connection, exceptId?: string): void {
    for (const { key, oldValue, newValue } of changes) {
      (stream as unknown as Record<string, unknown>)[key] = newValue;
      this.broadcast(session, streamPropertyChanged(stream.id, key, oldValue, newValue), { except, exceptId });
    }
  }

  setForceMute(session: Session, mute: MuteState, by?: Connection): void {
    session.forceMuteActive = mute.active;
    session.forceMuteExcluded = new Set(mute.excluded);
    this.broadcast(session, muteForced(mute.active, undefined, mute.excluded), { except: by });
  }

  removeConnection(session: Session, conn: Connection, streams: Stream[], reason: ConnectionDestroyedReason): void {
    for (const stream of streams) this.removeStream(session, stream, reason, conn);
    this.broadcast(session, connectionDestroyed(conn.toWire(), reason), { connectionEvent: true });
  }

  emitTo(conn: Connection, body: string, _rid?: number, sig?: SignalOrigin): void {
    if (!conn.emit(body, 0, sig)) this.core.overflow(conn);
  }

  emitToId(session: Session, id: string, body: string, sig?: SignalOrigin): void {
    const target = session.connections.get(id);
    if (target) this.emitTo(target, body, undefined, sig);
  }

  broadcast(session: Session, body: string, opts: BroadcastOptions): void {
    const exceptId = opts.except?.id ?? opts.exceptId;
    for (const c of [...session.connections.values()]) {
      if (c === opts.except || c.id === exceptId) continue;
      if (opts.connectionEvent && c.eventsSuppressed) continue;
      this.emitTo(c, body, undefined, opts.sig);
    }
  }

  /** Alone there is no other node. */
  forceDisconnectRemote(): boolean {
    return false;
  }

  async restSession(sessionId: string, create: boolean): Promise<Session | undefined> {
    const local = this.core.sessions.get(sessionId);
    if (local || !create) return local;
    // Nobody is in the session yet: kept to remember the force-mute state for those who join.
    const session = new Session(sessionId);
    this.core.sessions.set(sessionId, session);
    return session;
  }

  /** No client here is no client at all: nobody to deliver to. */
  async signalElsewhere(_sessionId: string, _body: string, to: string | undefined): Promise<void> {
    if (to !== undefined) fail(ErrorCode.INVALID_PARAMETER, `no connection '${to}' in this session`);
  }

  async forceDisconnectElsewhere(): Promise<boolean> {
    return false;
  }
}
