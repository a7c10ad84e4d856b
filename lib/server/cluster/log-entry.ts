/**
 * The session log of a cluster (docs/cluster.md): every event of a session is one message of
 * an entry appended to the session's log in Redis, numbered n = 1, 2, 3... by the script that
 * appends it. Each node applies the entries in order and hands each message to its clients it
 * is addressed to; a client's event sequence is therefore a function of the log alone, which
 * is what lets any node rebuild a connection whose node died. No I/O here.
 */
import type { SignalOrigin } from '../connection';
import type { WireConnection, WireStream, WireTracks } from '../../wire';
import { connectionDestroyed, streamDestroyed } from '../events';
import { copyStream, wireConnection } from '../session-state';

/** A stream as the cluster stores it: the wire form plus its layout classes. */
export interface StoredStream extends WireStream {
  layoutClassList: string[];
  /** its media tracks (session-wide numbers: every node's router uses them; docs/cluster.md, "Media across nodes") */
  tracks?: WireTracks | undefined;
}

export interface MuteState {
  active: boolean;
  excluded: string[];
}

/** A connection as the cluster stores it (hash `cv:s:<sid>:conns`). */
export interface StoredConnection extends WireConnection {
  /** the node it lives on */
  node: string;
  role: string;
  /** 1: connection events are suppressed for it */
  sup: 0 | 1;
  /** the token's layout classes */
  lcl: string[];
  /** SHA-256 (hex) of its resume token */
  tok: string;
  /** 1: its events are all in the log, so another node can resume it */
  rec: 0 | 1;
}

/** One message of an entry: an event for some connections of the session, or an order. */
export interface LogMsg {
  /** the event (a JSON object without seq) */
  b?: string;
  /** only for this connection */
  to?: string;
  /** for everyone but this connection */
  x?: string;
  /** a connection event: not for connections that suppress them */
  ce?: 1;
  /** the result of request `rid` of connection `to` */
  rid?: number;
  /** force-disconnect this connection (its node does it) */
  force?: string;
  /** a signal event: its sender and request (signalUndelivered if an addressee never acknowledges it) */
  sg?: SignalOrigin;
}

/** A change to the session state that rides along with an entry. */
export type ClusterOp =
  | { t: 'connAdd'; conn: WireConnection; node: string }
  | { t: 'connDel'; id: string }
  | { t: 'connMove'; conn: WireConnection; node: string }
  | { t: 'streamPut'; stream: StoredStream }
  | { t: 'streamSet'; id: string; key: 'hasAudio' | 'hasVideo' | 'videoDimensions' | 'videoType' | 'name'; value: unknown }
  | { t: 'streamDel'; id: string };

/** An entry as stored and published. */
export interface LogEntry {
  n: number;
  /** when its node appended it (ms, that node's clock): how far behind a node applies */
  t?: number;
  /** the log's epoch: a new one after Redis lost the log */
  e: string;
  s: string;
  /** the node that appended it */
  node: string;
  /** the batch it was appended for (a node that could not tell whether it was appended looks for it) */
  id?: string;
  m: LogMsg[];
  op?: ClusterOp[];
  mute?: MuteState;
}

/**
 * The conditions an entry is appended under, checked by the append script (cluster.ts, COMMIT)
 * against what Redis holds. Short on the wire; named here.
 */
export const Cond = {
  /** connection `id` is on `node`; if not, the entry's fallback is appended instead (if any) */
  CONNECTION_ON_NODE: 'c',
  /**
   * the connection whose request this is is still on `node`; if not, nothing is appended: it
   * resumed elsewhere and its client resends the request there
   */
  REQUESTER_ON_NODE: 'o',
  /** stream `id` exists; if not, the fallback is appended instead (if any) */
  STREAM_EXISTS: 's',
} as const;

export type LogCond =
  | [typeof Cond.CONNECTION_ON_NODE | typeof Cond.REQUESTER_ON_NODE, string, string]
  | [typeof Cond.STREAM_EXISTS, string];

/**
 * The state writes done by the append script with the entry, as [kind, id, value] (cluster.ts,
 * COMMIT). Short on the wire; named here.
 */
export const Write = {
  /** puts connection record `id` (value: StoredConnection JSON) */
  PUT_CONNECTION: 'pc',
  /** deletes connection `id`, its checkpoint, and frees its place in the session's count */
  DELETE_CONNECTION: 'dc',
  /** deletes connection `id` and its checkpoint; its place was given back already */
  DELETE_RELEASED_CONNECTION: 'dr',
  /** puts the checkpoint of connection `id` at this entry (value: "seq:rid") */
  PUT_CHECKPOINT: 'pk',
  /** puts stream `id` (value: StoredStream JSON) */
  PUT_STREAM: 'ps',
  /** replaces stream `id` if it still exists (value: StoredStream JSON) */
  UPDATE_STREAM: 'us',
  /** deletes stream `id` */
  DELETE_STREAM: 'ds',
  /** sets the force-mute state (value: MuteState JSON) */
  SET_MUTE: 'mu',
  /** clears the force-mute state */
  CLEAR_MUTE: 'um',
  /** adds the session (value) to node `id`'s set of sessions */
  ADD_NODE_SESSION: 'ns',
} as const;

export type WriteKind = (typeof Write)[keyof typeof Write];
export type LogWrite = [WriteKind, string, string];

/** What an operation appends: built by the registry, appended by the cluster. */
export interface Batch {
  sessionId: string;
  m: LogMsg[];
  op: ClusterOp[];
  mute?: MuteState;
  conds: LogCond[];
  writes: LogWrite[];
  /** appended instead when a condition does not hold (else nothing is) */
  fallback?: LogMsg[];
  /** return the session's state as it is right after this entry */
  snapshot?: boolean;
  /** set when committed: its id (in the entry) and order on this node */
  id?: string;
  order?: number;
  /** where the session's log stood on this node when it was sent: epoch and last applied entry */
  epoch?: string;
  sentAfter?: number;
  /** its entry came back (applied) before the answer to its append */
  appended?: boolean;
  /** its append was cut off: it may be in the log */
  unknown?: boolean;
}

export function newBatch(sessionId: string): Batch {
  return { sessionId, m: [], op: [], conds: [], writes: [] };
}

export function isEmpty(b: Batch): boolean {
  return b.m.length === 0 && b.op.length === 0 && b.writes.length === 0 && b.mute === undefined;
}

/** Whether a message is an event for connection `id` (which suppresses connection events or not). */
export function addressedTo(msg: LogMsg, id: string, suppressed: boolean): boolean {
  if (msg.b === undefined) return false;
  if (msg.to !== undefined) return msg.to === id;
  if (msg.x === id) return false;
  return !(msg.ce && suppressed);
}

/** Where a client's event stream stands: the last entry considered and its last seq and result id. */
export interface Checkpoint {
  n: number;
  seq: number;
  rid: number;
}

/**
 * Rebuilds a connection's events after a checkpoint from the log entries that follow it
 * (consecutive, starting at ck.n + 1): each event with its seq, and the last result id.
 */
export function eventsAfter(entries: LogEntry[], ck: Checkpoint, id: string, suppressed: boolean): { events: Array<{ seq: number; n: number; body: string; sg?: SignalOrigin }>; rid: number } {
  const events: Array<{ seq: number; n: number; body: string; sg?: SignalOrigin }> = [];
  let seq = ck.seq;
  let rid = ck.rid;
  for (const entry of entries) {
    for (const msg of entry.m) {
      if (!addressedTo(msg, id, suppressed)) continue;
      events.push(msg.sg ? { seq: ++seq, n: entry.n, body: msg.b as string, sg: msg.sg } : { seq: ++seq, n: entry.n, body: msg.b as string });
      if (msg.rid !== undefined && msg.rid > rid) rid = msg.rid;
    }
  }
  return { events, rid };
}

/**
 * A connection's removal as an entry's part, written once for every way a connection leaves
 * a cluster session (the registry's destroy through ClusterNode, a swept node, a stale record
 * after an outage, a join cut off): if the connection is still on `node`, streamDestroyed for
 * each of its streams (not for it), then connectionDestroyed, with their state ops and writes.
 * `counted` false: its place in the session's count was given back already.
 */
export function appendRemoval(b: Batch, conn: WireConnection, streams: WireStream[], reason: string, node: string, counted = true): void {
  b.conds.push([Cond.CONNECTION_ON_NODE, conn.id, node]);
  for (const st of streams) {
    b.m.push({ b: streamDestroyed(copyStream(st), reason), x: conn.id });
    b.op.push({ t: 'streamDel', id: st.id });
    b.writes.push([Write.DELETE_STREAM, st.id, '']);
  }
  b.m.push({ b: connectionDestroyed(wireConnection(conn), reason), ce: 1 });
  b.op.push({ t: 'connDel', id: conn.id });
  b.writes.push([counted ? Write.DELETE_CONNECTION : Write.DELETE_RELEASED_CONNECTION, conn.id, '']);
}

/** The entry that removes a connection of `node` and its streams (appendRemoval). */
export function removalBatch(sessionId: string, conn: WireConnection, streams: WireStream[], reason: string, node: string, counted = true): Batch {
  const b = newBatch(sessionId);
  appendRemoval(b, conn, streams, reason, node, counted);
  return b;
}
