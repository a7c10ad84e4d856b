/**
 * A session as one server node holds it: its connections on this node, the connections of
 * other nodes (a cluster's mirror), its streams and force-mute state, and, in a cluster, its
 * log as this node applies it. Plain data and the helpers that copy it; no operations here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Connection } from './connection';
import { ErrorCode, type WireConnection, type WireStream, type WireTracks } from '../wire';
import { fail } from './request-error';
import type { Role } from './tokens';
import type { RemoteSnapshot } from './cluster/cluster';
import type { StoredStream } from './cluster/log-entry';
import type { SessionLog } from './cluster/session-log';
import type { Router } from './media/router';

export type { ConnectionDestroyedReason, StreamDestroyedReason } from '../wire';

export interface Stream extends WireStream {
  /** layout classes for archives and broadcasts (REST API), from the publisher's token */
  layoutClassList: string[];
  /**
   * media: the stream's track numbers (its producers in the session Router, media/router.ts);
   * kept with the stream so that every node of a cluster knows them (not in the wire form)
   */
  tracks?: WireTracks | undefined;
}

/** A stream as the REST API shows it. */
export interface RestStream extends WireStream {
  layoutClassList: string[];
}

export class Session {
  /** this node's connections */
  readonly connections = new Map<string, Connection>();
  /** the session's connections on other nodes (cluster only): a mirror kept by their events */
  readonly remote = new Map<string, WireConnection>();
  /** cluster: the node each connection of `remote` lives on (media across nodes: where a stream's frames come from) */
  readonly remoteNode = new Map<string, string>();
  readonly streams = new Map<string, Stream>();
  forceMuteActive = false;
  forceMuteExcluded = new Set<string>();
  /** cluster: the session's log as this node applies it */
  log: SessionLog | undefined;
  /** cluster: joins and takeovers in flight (the session must stay) */
  joining = 0;
  /** the session's media router (this node's producers and consumers), made when first needed */
  router: Router | undefined;
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

/**
 * Cluster: the session's state as Redis has it (at a known log entry) into a session object;
 * `me` is this node (its own connections are the session's local ones).
 */
export function fillSession(session: Session, remote: RemoteSnapshot, me: string | undefined): void {
  if (remote.mute) {
    session.forceMuteActive = remote.mute.active;
    session.forceMuteExcluded = new Set(remote.mute.excluded);
  }
  for (const c of remote.connections) {
    if (c.node !== me && !session.connections.has(c.id)) {
      session.remote.set(c.id, wireConnection(c));
      session.remoteNode.set(c.id, c.node);
    }
  }
  for (const st of remote.streams) session.streams.set(st.id, { ...st, layoutClassList: [...(st.layoutClassList ?? [])] });
}

/** A connection that cannot be resumed. */
export function gone(): never {
  fail(ErrorCode.CONNECTION_DROPPED, 'connection is gone: it cannot be resumed (grace window over, server restarted, or disconnected)');
}

/** What a cluster stores of a resume token: its SHA-256. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function checkTokenHash(token: string, hash: string): boolean {
  const a = Buffer.from(tokenHash(token));
  const b = Buffer.from(hash ?? '');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The wire form of a stream: exactly the fields of docs/protocol.md, section 9. */
export function copyStream(s: WireStream): WireStream {
  return {
    id: s.id, connectionId: s.connectionId, creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio,
    hasVideo: s.hasVideo, videoType: s.videoType, videoDimensions: { ...s.videoDimensions },
  };
}

export function wireConnection(c: WireConnection): WireConnection {
  return { id: c.id, creationTime: c.creationTime, data: c.data };
}

export function restStream(s: Stream | StoredStream): RestStream {
  return { ...copyStream(s), layoutClassList: [...s.layoutClassList] };
}

/** A stream as a cluster stores it (Redis, log entries): the REST form with its media tracks. */
export function storedStream(s: Stream | StoredStream): StoredStream {
  return s.tracks ? { ...restStream(s), tracks: { ...s.tracks } } : restStream(s);
}
