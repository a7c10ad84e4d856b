/**
 * Media across the nodes of a cluster (docs/cluster.md, "Media across nodes"): which streams
 * cross which media link (media-link.ts), in both roles a node plays.
 *
 *  - On a subscriber's node: for each stream of another node that this node's subscribers take,
 *    one inbound forward (a channel on the link to the node its publisher is on now); its
 *    frames enter the session's Router, whose producers (same tracks as on the publisher's
 *    node) fan them out to the local subscribers through their Consumers (bounded queues,
 *    keyframe policy) as if the publisher were here. So a stream crosses to a node once,
 *    however many subscribers it has there. Keyframe requests go back on the link.
 *  - On a publisher's node: each forward asked for is a consumer of the stream in the Router
 *    whose sink is the link (`link:<link id>`), with the same bounded queue as a subscriber's: a
 *    slow node loses video to the next keyframe, then its oldest audio, and slows nobody else.
 *
 * Where a stream is forwarded from follows the log: when its publisher's connection moves to
 * another node (a node died and the client resumed elsewhere), every node asks the new one.
 * A link that drops marks its streams interrupted for the local subscribers (streamInterrupted),
 * and the forward that comes back restores them (streamRestored); nobody resubscribes.
 */
import type { ClusterPort } from './cluster';
import { MediaLinks, type Link, type LinkControl, type LinkHandler } from './media-link';
import type { RelayHost, RelayPort, RelayStats } from './media-stats';

export type { RelayHost, RelayStats } from './media-stats';
import { LINK_SUBSCRIBER_PREFIX, type Router } from '../media/router';
import type { Session } from '../session-state';

/** What the relay needs of the registry. */

export interface MediaRelayOptions {
  cluster: ClusterPort;
  secret: string;
  listen: { host: string; port: number };
  announce?: string | undefined;
  host: RelayHost;
  log: (line: string, event?: string) => void;
}

/** A stream of another node that this node's subscribers take. */
interface Inbound {
  sessionId: string;
  streamId: string;
  /** the node its publisher is on (where the frames come from) */
  node: string;
  ch: number;
  kinds: { audio: boolean; video: boolean };
  link: Link | undefined;
  /** waiting: no link or not accepted yet (retried); asking: asked, no answer yet; flowing: accepted */
  state: 'waiting' | 'asking' | 'flowing';
  askedAt: number;
}


const RETRY_MS = 1000;
/** A forward refused (the publisher is not on that node yet) is asked again this soon. */
const NOFWD_RETRY_MS = 150;
/** A forward asked for and not answered in this long is asked again. */
const ASK_AGAIN_MS = 3000;

const key = (sessionId: string, streamId: string): string => `${sessionId}\u0000${streamId}`;

export class MediaRelay implements LinkHandler, RelayPort {
  readonly links: MediaLinks;
  private readonly inbound = new Map<string, Inbound>();
  private readonly byChannel = new Map<number, Inbound>();
  private nextChannel = 1;
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private readonly host: RelayHost;

  constructor(private readonly opts: MediaRelayOptions) {
    this.host = opts.host;
    const cluster = opts.cluster;
    this.links = new MediaLinks({
      nodeId: cluster.nodeId, secret: opts.secret, listen: opts.listen, announce: opts.announce,
      lookup: (node) => cluster.mediaAddress(node), publish: (address) => cluster.publishMediaAddress(address),
      handler: this, log: opts.log,
    });
  }

  async start(): Promise<void> {
    await this.links.start();
    let announced = true;
    this.timer = setInterval(() => {
      // the announcement is kept in Redis: made again after an outage (Redis may have come back empty)
      if (!this.opts.cluster.connected) announced = false;
      else if (!announced) void this.links.announce().then((ok) => { announced = ok; });
      this.retry();
    }, RETRY_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.links.close();
  }

  // ---- the subscriber's side ----

  /**
   * What this node's subscribers take in the session changed (subscribe, unsubscribe, leave), or
   * a publisher moved: starts, changes and stops the session's inbound forwards.
   */
  reconcile(session: Session): void {
    const want = new Map<string, { node: string; kinds: { audio: boolean; video: boolean } }>();
    const demand = session.router?.demand();
    for (const [streamId, kinds] of demand ?? []) {
      const stream = session.streams.get(streamId);
      if (!stream || session.connections.has(stream.connectionId)) continue; // its publisher is here
      const node = session.remoteNode.get(stream.connectionId);
      if (node) want.set(streamId, { node, kinds });
    }
    for (const ib of [...this.inbound.values()]) {
      if (ib.sessionId !== session.id) continue;
      const w = want.get(ib.streamId);
      want.delete(ib.streamId);
      if (!w || w.node !== ib.node) {
        this.stop(ib);
        if (w) this.open(session.id, ib.streamId, w.node, w.kinds);
      } else if (w.kinds.audio !== ib.kinds.audio || w.kinds.video !== ib.kinds.video) {
        ib.kinds = w.kinds;
        this.ask(ib);
      }
    }
    for (const [streamId, w] of want) this.open(session.id, streamId, w.node, w.kinds);
  }

  private open(sessionId: string, streamId: string, node: string, kinds: { audio: boolean; video: boolean }): void {
    const ch = this.nextChannel;
    this.nextChannel = this.nextChannel >= 0xffffffff ? 1 : this.nextChannel + 1;
    const ib: Inbound = { sessionId, streamId, node, ch, kinds, link: undefined, state: 'waiting', askedAt: 0 };
    this.inbound.set(key(sessionId, streamId), ib);
    this.byChannel.set(ch, ib);
    this.ask(ib);
  }

  private stop(ib: Inbound): void {
    if (ib.link?.open) ib.link.send({ t: 'stop', ch: ib.ch });
    this.inbound.delete(key(ib.sessionId, ib.streamId));
    this.byChannel.delete(ib.ch);
  }

  /** Asks the publisher's node to forward (again: new kinds, no answer, link back). */
  private ask(ib: Inbound): void {
    const link = this.links.linkTo(ib.node);
    ib.askedAt = Date.now();
    if (!link) {
      ib.link = undefined;
      ib.state = 'waiting';
      return;
    }
    ib.link = link;
    if (ib.state !== 'flowing') ib.state = 'asking';
    link.send({ t: 'fwd', ch: ib.ch, s: ib.sessionId, st: ib.streamId, a: ib.kinds.audio, v: ib.kinds.video });
  }

  private retry(): void {
    const now = Date.now();
    for (const ib of this.inbound.values()) {
      if (ib.state === 'waiting' || (ib.state === 'asking' && now - ib.askedAt >= ASK_AGAIN_MS)) this.ask(ib);
    }
  }

  /** A subscriber here needs a keyframe of a stream of another node: asked of that node (its router rate-bounds). */
  requestKeyframe(sessionId: string, streamId: string): void {
    const ib = this.inbound.get(key(sessionId, streamId));
    if (ib?.link && ib.state === 'flowing') ib.link.send({ t: 'kf', ch: ib.ch });
  }

  /** A stream left the session: its forwards, both sides. */
  streamRemoved(session: Session, streamId: string): void {
    for (const link of this.links.all()) {
      for (const [ch, o] of link.outbound) if (o.sessionId === session.id && o.streamId === streamId) link.outbound.delete(ch);
    }
    this.reconcile(session);
  }

  // ---- the publisher's side ----

  /**
   * This node's publisher of a stream lost its socket or came back: the nodes it is forwarded
   * to are told (their subscribers get streamInterrupted / streamRestored). `subscriberId`: the
   * link's consumer id, as the router lists it among the stream's subscribers.
   */
  tellLink(sessionId: string, streamId: string, subscriberId: string, what: 'interrupted' | 'restored'): void {
    for (const link of this.links.all()) {
      if (linkSubscriber(link) !== subscriberId) continue;
      for (const [ch, o] of link.outbound) {
        if (o.sessionId === sessionId && o.streamId === streamId) link.send({ t: what === 'interrupted' ? 'int' : 'rest', ch });
      }
    }
  }

  private forward(link: Link, m: Extract<LinkControl, { t: 'fwd' }>): void {
    if (typeof m.s !== 'string' || typeof m.st !== 'string' || typeof m.a !== 'boolean' || typeof m.v !== 'boolean') {
      return link.send({ t: 'nofwd', ch: m.ch, why: 'malformed request' });
    }
    const session = this.host.session(m.s);
    const stream = session?.streams.get(m.st);
    if (!session || !stream || !session.connections.has(stream.connectionId)) {
      return link.send({ t: 'nofwd', ch: m.ch, why: `stream ${m.st} is not published on this node` });
    }
    const router = this.host.router(session);
    // a forward of the same stream on another channel of this link (asked again) is replaced
    for (const [ch, o] of link.outbound) if (ch !== m.ch && o.sessionId === m.s && o.streamId === m.st) link.outbound.delete(ch);
    router.subscribe(linkSubscriber(link), stream, { audio: m.a, video: m.v }, () => link.sink(m.ch));
    link.outbound.set(m.ch, { sessionId: m.s, streamId: m.st });
    link.send({ t: 'fwdok', ch: m.ch, int: router.isInterrupted(m.st) });
  }

  private unforward(link: Link, ch: number): void {
    const o = link.outbound.get(ch);
    if (!o) return;
    link.outbound.delete(ch);
    this.host.session(o.sessionId)?.router?.unsubscribe(linkSubscriber(link), o.streamId);
  }

  // ---- LinkHandler ----

  up(link: Link): void {
    for (const ib of this.inbound.values()) if (ib.node === link.peer && ib.state === 'waiting') this.ask(ib);
  }

  down(link: Link): void {
    for (const ch of [...link.outbound.keys()]) this.unforward(link, ch);
    for (const ib of this.inbound.values()) {
      if (ib.link !== link) continue;
      ib.link = undefined;
      ib.state = 'waiting';
      const session = this.host.session(ib.sessionId);
      if (session) this.host.tell(session, ib.streamId, 'interrupted');
    }
  }

  control(link: Link, m: LinkControl): void {
    switch (m.t) {
      case 'fwd':
        return this.forward(link, m);
      case 'stop':
        return this.unforward(link, m.ch);
      case 'kf': {
        const o = link.outbound.get(m.ch);
        if (o) this.host.session(o.sessionId)?.router?.requestKeyframe(linkSubscriber(link), o.streamId);
        return;
      }
      default:
        break;
    }
    const ib = this.byChannel.get(m.ch);
    if (!ib || ib.link !== link) return;
    const session = this.host.session(ib.sessionId);
    if (m.t === 'nofwd') {
      // its publisher is not there (yet: the log that moved it reached this node first): asked
      // again soon, wherever the log says it is by then
      ib.state = 'waiting';
      setTimeout(() => { if (ib.state === 'waiting' && this.byChannel.get(ib.ch) === ib) this.ask(ib); }, NOFWD_RETRY_MS).unref();
      return;
    }
    if (m.t === 'fwdok') ib.state = 'flowing';
    if (!session) return;
    const interrupted = m.t === 'int' || (m.t === 'fwdok' && m.int);
    if (interrupted !== (session.router?.isInterrupted(ib.streamId) ?? false)) this.host.tell(session, ib.streamId, interrupted ? 'interrupted' : 'restored');
  }

  media(link: Link, ch: number, frame: Uint8Array): void {
    const ib = this.byChannel.get(ch);
    const router = ib && ib.link === link ? this.host.session(ib.sessionId)?.router : undefined;
    if (!ib || !router?.receiveRelayed(ib.streamId, frame)) this.dropped++;
  }

  // ---- subscriptions kept for a resume on another node ----

  /** Records a connection's subscriptions in Redis (its node's, while it is this node's). */
  saveSubscriptions(session: Session, connectionId: string): void {
    const subs = session.router?.subscriptionsOf(connectionId) ?? [];
    this.opts.cluster.saveSubscriptions(session.id, connectionId, JSON.stringify(subs));
  }

  /** A connection taken over here: its subscriptions, as its old node recorded them, are made again. */
  async restoreSubscriptions(session: Session, connectionId: string): Promise<void> {
    let text: string | undefined;
    try {
      text = await this.opts.cluster.loadSubscriptions(session.id, connectionId);
    } catch {
      return; // Redis away: the client subscribes again
    }
    let subs: unknown;
    try {
      subs = JSON.parse(text ?? '[]');
    } catch {
      return;
    }
    if (!Array.isArray(subs) || !session.connections.has(connectionId)) return;
    const router = this.host.router(session);
    for (const s of subs as Array<{ streamId?: unknown; audio?: unknown; video?: unknown }>) {
      const stream = typeof s.streamId === 'string' ? session.streams.get(s.streamId) : undefined;
      if (stream) router.subscribe(connectionId, stream, { audio: s.audio === true, video: s.video === true });
    }
    this.reconcile(session);
  }

  stats(): RelayStats {
    let flowing = 0;
    for (const ib of this.inbound.values()) if (ib.state === 'flowing') flowing++;
    return { address: this.links.address, links: this.links.stats(), refused: this.links.refused, inbound: this.inbound.size, flowing, dropped: this.dropped };
  }
}

/** The router's subscriber id of a link's consumers. */
function linkSubscriber(link: Link): string {
  return `${LINK_SUBSCRIBER_PREFIX}${link.id}`;
}
