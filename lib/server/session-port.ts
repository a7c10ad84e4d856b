/**
 * The port between the registry's operations and the sessions they change. The registry
 * decides (permissions, validation, which events, in which order); a SessionPort carries it out:
 *
 *  - SingleNode (single-node.ts), alone: each state change is made and its events are emitted
 *    at once, to this node's connections;
 *  - ClusterNode (cluster/cluster-node.ts), in a cluster (docs/cluster.md): an operation's state
 *    changes and events become one entry of the session's log, appended when the operation
 *    returns; every node, this one too, changes its state and emits the events when it applies
 *    the entry (cluster/replica.ts).
 *
 * So each state change is written once per mode: in SingleNode, and in the cluster as the
 * entry ClusterNode writes and the replica applies.
 */
import type { Connection, SignalOrigin } from './connection';
import type { ClusterPort, LogEntry, MuteState } from './cluster/cluster';
import type { StreamProperty } from './events';
import type { ConnectionDestroyedReason, JoinOptions, Session, SessionSnapshot, Stream, StreamDestroyedReason } from './session-state';
import type { Role } from './tokens';

export interface RegistryLimits {
  maxConnectionsPerSession: number;
  signalsPerSecond: number;
  signalBurst: number;
  maxReplayEvents: number;
  maxReplayBytes: number;
}

/** What a connection is made of (a new one, or one rebuilt by a takeover). */
export interface ConnectionSeed {
  creationTime: number;
  data: string;
  role: Role;
  /** connection events suppressed */
  sup: boolean;
  /** the token's layout classes */
  lcl: readonly string[];
}

/** What the two modes need of the registry. */
export interface RegistryCore {
  readonly sessions: Map<string, Session>;
  readonly limits: RegistryLimits;
  now(): number;
  newConnection(sessionId: string, o: ConnectionSeed, restored?: { id: string; resumeToken: string }): Connection;
  findConnection(sessionId: string, connectionId: string): Connection | undefined;
  destroy(conn: Connection, reason: ConnectionDestroyedReason): void;
  forceDisconnect(conn: Connection): void;
  /** the connection's replay buffer overflowed */
  overflow(conn: Connection): void;
  startGrace(conn: Connection): void;
  /** checks a resume's lastSeq against the connection and acknowledges up to it */
  resumeChecked(conn: Connection, lastSeq: number): Connection;
  /** a stream left the session (its media producers and consumers go) */
  streamRemoved(session: Session, streamId: string): void;
  /** cluster: a connection moved to another node (or here): where its streams' media comes from changed */
  mediaMoved(session: Session): void;
}

/** Who a broadcast is for: every connection of the session but `except` / `exceptId`. */
export interface BroadcastOptions {
  except?: Connection | undefined;
  exceptId?: string | undefined;
  /** a connection event: not for connections that suppress them */
  connectionEvent?: boolean;
  /** a signal: its sender and request (signalUndelivered if an addressee never acknowledges it) */
  sig?: SignalOrigin | undefined;
}

/** One property of a stream that changes, with its value before and after. */
export interface StreamChange {
  key: StreamProperty;
  oldValue: unknown;
  newValue: unknown;
}

export interface SessionPort {
  // ---- the cluster's plumbing (alone: nothing to do) ----

  /** set in a cluster */
  readonly cluster: ClusterPort | undefined;
  /** true while clients' requests must wait (a node applies entries too far behind) */
  readonly throttled: boolean;
  /** stops timers (server shutdown) */
  close(): void;
  /** Redis is back after an outage: catch up, then append what waited */
  resync(): Promise<void>;
  /** an entry of a session's log, as published */
  receiveEntry(entry: LogEntry): void;

  // ---- joining, resuming, leaving ----

  /** Before a join: takes a place in the session (cluster-wide). 'full' when the session is full. */
  admit(sessionId: string): Promise<'ok' | 'full'>;
  /** Gives back a place admit() took when the join did not happen. */
  release(sessionId: string): void;
  /** Adds a connection to a session and announces it. Rejects with a RequestError. */
  connect(opts: JoinOptions): Promise<{ conn: Connection; snapshot: SessionSnapshot }>;
  /** A resume of a connection this node does not have: taken over from another node, or gone. */
  resumeElsewhere(sessionId: string, connectionId: string, resumeToken: string, lastSeq: number): Promise<Connection>;
  /** A client acknowledged events (cluster: records its checkpoint). */
  acknowledged(conn: Connection): void;
  /** The session has no connection of this node left. */
  sessionEmptied(session: Session): void;

  // ---- operations ----

  /** Runs one operation on a session: its changes take effect at once, or as one log entry. */
  run<T>(sessionId: string, fn: () => T): T;
  /** Runs a REST operation; resolves once it took effect (cluster: is in the log). */
  runRest(sessionId: string, fn: () => void): Promise<void>;
  /**
   * Conditions of the operation (cluster: its entry is appended only if they still hold when
   * Redis appends it; alone they hold, being checked in the same turn): the request's
   * connection is still this node's...
   */
  requireHere(conn: Connection): void;
  /** ...the stream exists. */
  requireStream(streamId: string): void;
  /** When a condition fails (what it acts on went away meanwhile), the request's result is a failure. */
  fallbackResult(conn: Connection, id: number): void;

  // ---- state changes, each with its events ----

  /** A stream published by `publisher`: stored, and streamCreated for the others. */
  addStream(session: Session, stream: Stream, publisher: Connection): void;
  /** A stream goes: streamDestroyed for all but `except`. */
  removeStream(session: Session, stream: Stream, reason: StreamDestroyedReason, except?: Connection): void;
  /** Properties of a stream change: streamPropertyChanged for each, for all but `except` / `exceptId`. */
  changeStream(session: Session, stream: Stream, changes: StreamChange[], except?: Connection, exceptId?: string): void;
  /** Force mute on (with the streams it spares) or off: muteForced for all but `by`. */
  setForceMute(session: Session, mute: MuteState, by?: Connection): void;
  /**
   * A connection of this node leaves with its streams (already out of session.connections):
   * streamDestroyed for each stream (not for it), then connectionDestroyed for the others.
   */
  removeConnection(session: Session, conn: Connection, streams: Stream[], reason: ConnectionDestroyedReason): void;

  // ---- events ----

  /** An event for one connection of this node; `rid`: it is the result of that request. */
  emitTo(conn: Connection, body: string, rid?: number, sig?: SignalOrigin): void;
  /** An event for one connection of the session, on this node or (cluster) another. */
  emitToId(session: Session, id: string, body: string, sig?: SignalOrigin): void;
  /** An event for every connection of the session, here and (cluster) on the other nodes. */
  broadcast(session: Session, body: string, opts: BroadcastOptions): void;
  /** Forces a connection of another node out; false when there is no such connection. */
  forceDisconnectRemote(session: Session, connectionId: string): boolean;

  // ---- REST on a session with no client on this node ----

  /**
   * The session a REST call acts on: this node's, or in a cluster (no client here) the
   * session as Redis has it, in a session object of its own (not kept) whose operations reach
   * the other nodes through the log. `create`: alone, create (and keep) it when it does not exist.
   */
  restSession(sessionId: string, create: boolean): Promise<Session | undefined>;
  /** A REST signal for a session with no client here (cluster: to the other nodes' clients). */
  signalElsewhere(sessionId: string, body: string, to: string | undefined): Promise<void>;
  /** A REST forced disconnect of a connection not here; false when the session has no such connection. */
  forceDisconnectElsewhere(sessionId: string, connectionId: string): Promise<boolean>;
}
