/**
 * The counters of a node's media links and relay (docs/cluster.md), as plain data: what
 * `ConveneServer.mediaRelay.stats()` and `/health` show. Kept apart from the link code so that
 * the public types (convene/server) do not depend on the `ws` package's.
 */
import type { Router } from '../media/router';
import type { Session } from '../session-state';

export interface LinkStats {
  peer: string;
  /** who opened it: 'out' this node, 'in' the peer */
  dir: 'in' | 'out';
  framesOut: number;
  bytesOut: number;
  framesIn: number;
  bytesIn: number;
  /** bytes waiting in the socket now */
  bufferedBytes: number;
  /** streams this node forwards on it now */
  channelsOut: number;
}

export interface RelayStats {
  /** the address this node's media listener announces */
  address: string;
  links: LinkStats[];
  /** links refused: the peer did not know the cluster secret */
  refused: number;
  /** streams of other nodes received here now, and how many of them flow */
  inbound: number;
  flowing: number;
  /** frames received on a link that no forward of this node expects (a forward just stopped) or its router dropped */
  dropped: number;
}

/** What the registry asks of a media relay (cluster/media-relay.ts implements it). */
export interface RelayPort {
  reconcile(session: Session): void;
  requestKeyframe(sessionId: string, streamId: string): void;
  streamRemoved(session: Session, streamId: string): void;
  saveSubscriptions(session: Session, connectionId: string): void;
  restoreSubscriptions(session: Session, connectionId: string): Promise<void>;
  /** a stream's publisher here was interrupted / restored: tell the node whose link subscribes to it */
  tellLink(sessionId: string, streamId: string, subscriberId: string, what: 'interrupted' | 'restored'): void;
  stats(): RelayStats;
}

/** What a media relay asks of the registry. */
export interface RelayHost {
  session(sessionId: string): Session | undefined;
  /** the session's router (made when needed) */
  router(session: Session): Router;
  /** this node's subscribers of a stream of another node: its publisher's media stopped / is back */
  tell(session: Session, streamId: string, what: 'interrupted' | 'restored'): void;
}

/** What a server shows of its media relay (a cluster node with a cluster secret). */
export interface MediaRelayView {
  stats(): RelayStats;
  readonly links: { readonly address: string };
}
