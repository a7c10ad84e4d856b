/**
 * The Router: one per session (mediasoup's noun), where media comes in and fans out. It holds
 * the session's Producers (one per (stream, kind), by track) and Consumers (one per
 * (subscriber, producer)), checks each incoming frame (header, track, owner, role, mute) and
 * forwards its bytes unchanged. Media is not an event: no seq, no replay buffer, no log entry.
 * It never decodes a payload. Plain state and counters; no socket (frames leave through the
 * MediaSink each consumer is handed), no events (the registry tells subscribers).
 */
import {
  decodeMediaFrame, ErrorCode, wireError, type MediaKindName, type WireError, type WireStream, type WireSubscription,
  type WireTracks,
} from '../../wire';
import { Consumer, type ConsumerLimits, type ConsumerStats, type MediaSink } from './consumer';
import { Producer, type ProducerStats } from './producer';

export type MediaLimits = ConsumerLimits;

/** A stream as the router sees it: its wire form and, once published, its track numbers. */
export type RoutedStream = WireStream & { tracks?: WireTracks | undefined };

export const MEDIA_DEFAULTS: MediaLimits = {
  sendBufferBytes: 64 * 1024,
  queueFrames: 25, // 500 ms of 20 ms audio
  videoQueueBytes: 512 * 1024, // about 1 s of 360p VP8 at 4 Mbit/s
};

/**
 * At most one keyframe request per video track per this many ms reaches the publisher; a
 * request inside the interval is coalesced into one sent when it ends (a keyframe costs the
 * publisher's bitrate, and twenty subscribers joining at once need only one).
 */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;

/** How long after a stream ends its owner's frames on its tracks are still dropped silently (in flight). */
const ENDED_TRACK_MS = 5000;
/** How often consumers with frames waiting are retried. */
const FLUSH_MS = 20;
/** Track numbers are 16 bits; 0 is not a track. */
const MAX_TRACK = 0xffff;

/** The track numbers a router gives new streams (a cluster node gets a part of the 16-bit space: docs/cluster.md). */
export interface TrackRange {
  first: number;
  last: number;
}

export const ALL_TRACKS: TrackRange = { first: 1, last: MAX_TRACK };

/**
 * Subscriber ids of the consumers that carry a stream to another node of a cluster (one per
 * node: a stream crosses to a node once however many subscribers it has there).
 */
export const LINK_SUBSCRIBER_PREFIX = 'link:';
export const isLinkSubscriber = (id: string): boolean => id.startsWith(LINK_SUBSCRIBER_PREFIX);

/** What kinds of a stream this node's own subscribers take (what must come from another node). */
export type Demand = Map<string, { audio: boolean; video: boolean }>;

/** Who sent a frame: the connection and whether its role may publish. */
export interface MediaSender {
  id: string;
  canPublish: boolean;
}

export interface RouterStats {
  producers: ProducerStats[];
  consumers: ConsumerStats[];
  /** binary frames that did not decode (short, version, kind, track 0, oversize) */
  malformed: number;
  /** frames on a track the session does not have (never assigned, or its stream is gone) */
  unknownTrack: number;
  /**
   * frames on the track of a stream that ended within the last ENDED_TRACK_MS, from its owner:
   * dropped silently (frames in flight after unpublish / forceUnpublish are normal)
   */
  droppedAfterEnd: number;
  /** frames from a connection whose role may not publish (subscriber) */
  refusedRole: number;
}

export class Router {
  /** by track */
  private readonly producers = new Map<number, Producer>();
  private readonly byStream = new Map<string, Record<MediaKindName, Producer>>();
  /** subscriber id → stream id → its consumers of that stream */
  private readonly bySubscriber = new Map<string, Map<string, Consumer[]>>();
  /** streams whose publisher is in its grace window (subscribers were told streamInterrupted) */
  private readonly interrupted = new Set<string>();
  private readonly backlog = new Set<Consumer>();
  private flushTimer: NodeJS.Timeout | undefined;
  private nextTrack = 0;
  private malformed = 0;
  private unknownTrack = 0;
  private droppedAfterEnd = 0;
  /** track -> (owner, when its stream ended): in-flight frames after the end are not an error */
  private readonly ended = new Map<number, { ownerId: string; at: number }>();
  private refusedRole = 0;

  constructor(
    /** the session's streams (authoritative: owner, hasAudio, hasVideo) */
    private readonly streams: ReadonlyMap<string, RoutedStream>,
    /** a connection's socket now, if it has one that carries media */
    private readonly sinkOf: (connectionId: string) => MediaSink | undefined,
    private readonly limits: MediaLimits = MEDIA_DEFAULTS,
    /** tells a stream's publisher to send a keyframe (the registry emits keyframeRequested) */
    private readonly requestKeyframeFrom: (ownerId: string, streamId: string) => void = () => {},
    private readonly now: () => number = Date.now,
    /** where new streams' track numbers come from (a cluster node's part of the space) */
    private readonly trackRange: () => TrackRange = () => ALL_TRACKS,
  ) {}

  /** Nothing held: the router can go. */
  get idle(): boolean {
    return this.producers.size === 0 && this.bySubscriber.size === 0;
  }

  /**
   * A stream is published: its audio and video tracks (both, whatever it sends now). `tracks`:
   * the numbers it already has (a cluster: given by the node it was published on); else new
   * ones from this router's range.
   */
  addStream(streamId: string, ownerId: string, tracks?: WireTracks): WireTracks {
    let p = this.byStream.get(streamId);
    if (!p) {
      p = { audio: this.newProducer(streamId, 'audio', ownerId, tracks?.audio), video: this.newProducer(streamId, 'video', ownerId, tracks?.video) };
      this.byStream.set(streamId, p);
    }
    return { audio: p.audio.track, video: p.video.track };
  }

  private newProducer(streamId: string, kind: MediaKindName, ownerId: string, given?: number): Producer {
    let track = given;
    if (track === undefined) {
      track = this.freeTrack();
    } else {
      const old = this.producers.get(track);
      if (old && old.streamId !== streamId) this.removeStream(old.streamId); // a stream gone that this node had not heard of yet
    }
    const p = new Producer(track, streamId, kind, ownerId);
    this.producers.set(p.track, p);
    return p;
  }

  /** A track number of the range that no producer and no stream of the session (any node's) uses. */
  private freeTrack(): number {
    const { first, last } = this.trackRange();
    const used = new Set<number>(this.producers.keys());
    for (const st of this.streams.values()) {
      const t = st.tracks;
      if (t) used.add(t.audio).add(t.video);
    }
    const size = last - first + 1;
    for (let i = 0; i < size; i++) {
      const track = first + ((this.nextTrack + i) % size);
      if (!used.has(track)) {
        this.nextTrack = (track - first + 1) % size;
        return track;
      }
    }
    throw new Error(`convene: no free media track in this session (tracks ${first}-${last} are all in use)`);
  }

  /** A stream is gone: its producers and every consumer of them. Subscribers learn it from streamDestroyed. */
  removeStream(streamId: string): void {
    const p = this.byStream.get(streamId);
    this.interrupted.delete(streamId);
    if (!p) return;
    this.byStream.delete(streamId);
    const now = Date.now();
    for (const [track, e] of this.ended) if (now - e.at > ENDED_TRACK_MS) this.ended.delete(track);
    for (const producer of [p.audio, p.video]) {
      producer.close();
      this.producers.delete(producer.track);
      this.ended.set(producer.track, { ownerId: producer.ownerId, at: now });
      for (const c of producer.consumers) {
        c.close();
        this.backlog.delete(c);
        const subs = this.bySubscriber.get(c.subscriberId);
        subs?.delete(streamId);
        if (subs?.size === 0) this.bySubscriber.delete(c.subscriberId);
      }
      producer.consumers.clear();
    }
  }

  /**
   * A subscriber takes (or changes: a second subscribe replaces the kinds) the stream's audio
   * and/or video. The stream must exist with its owner here (the caller checks). Returns the
   * tracks its frames carry. `sink`: where this subscription's frames go instead of the
   * subscriber's socket (the WebRTC edge's RTP sink; undefined while it cannot send).
   */
  subscribe(subscriberId: string, stream: RoutedStream, kinds: { audio: boolean; video: boolean }, sink?: () => MediaSink | undefined): WireSubscription {
    const tracks = stream.tracks;
    const p = this.byStream.get(stream.id) ?? (this.addStream(stream.id, stream.connectionId, tracks), this.byStream.get(stream.id));
    if (!p) throw new Error('convene: media: producers missing');
    this.unsubscribe(subscriberId, stream.id);
    const consumers: Consumer[] = [];
    const sub: WireSubscription = { streamId: stream.id };
    for (const kind of ['audio', 'video'] as const) {
      if (!kinds[kind]) continue;
      const c = new Consumer(subscriberId, p[kind], sink ?? (() => this.sinkOf(subscriberId)), this.limits, (x) => this.keyframeFor(x.producer));
      p[kind].consumers.add(c);
      consumers.push(c);
      sub[kind] = { track: p[kind].track };
    }
    // a new video path starts at a keyframe: ask for one now rather than wait for the periodic one
    if (kinds.video && stream.hasVideo && !this.interrupted.has(stream.id)) this.keyframeFor(p.video);
    if (this.interrupted.has(stream.id)) sub.interrupted = true;
    if (consumers.length > 0) {
      let subs = this.bySubscriber.get(subscriberId);
      if (!subs) this.bySubscriber.set(subscriberId, (subs = new Map()));
      subs.set(stream.id, consumers);
    }
    return sub;
  }

  /**
   * A subscriber asks for a keyframe of a stream it subscribes to the video of (it lost
   * packets, its decoder broke). False when it has no such subscription.
   */
  requestKeyframe(subscriberId: string, streamId: string): boolean {
    const c = this.bySubscriber.get(subscriberId)?.get(streamId)?.find((x) => x.kind === 'video');
    if (!c) return false;
    this.keyframeFor(c.producer);
    return true;
  }

  /** Asks a video track's publisher for a keyframe, at most once per KEYFRAME_REQUEST_INTERVAL_MS (coalesced). */
  private keyframeFor(p: Producer): void {
    if (p.kind !== 'video' || p.keyframeRequestTimer) {
      if (p.keyframeRequestTimer) p.keyframeRequestsCoalesced++;
      return;
    }
    const wait = p.lastKeyframeRequestAt + KEYFRAME_REQUEST_INTERVAL_MS - this.now();
    const send = (): void => {
      p.keyframeRequestTimer = undefined;
      if (this.producers.get(p.track) !== p) return; // the stream went meanwhile
      p.lastKeyframeRequestAt = this.now();
      p.keyframeRequests++;
      this.requestKeyframeFrom(p.ownerId, p.streamId);
    };
    if (wait <= 0) return send();
    p.keyframeRequestsCoalesced++;
    p.keyframeRequestTimer = setTimeout(send, wait);
    p.keyframeRequestTimer.unref();
  }

  /** Ends a subscription; false when there was none. */
  unsubscribe(subscriberId: string, streamId: string): boolean {
    const subs = this.bySubscriber.get(subscriberId);
    const consumers = subs?.get(streamId);
    if (!subs || !consumers) return false;
    for (const c of consumers) {
      c.producer.consumers.delete(c);
      c.close();
      this.backlog.delete(c);
    }
    subs.delete(streamId);
    if (subs.size === 0) this.bySubscriber.delete(subscriberId);
    return true;
  }

  /** A connection left this node (it moved to another one): its subscriptions go, its streams' producers stay. */
  dropSubscriber(connectionId: string): void {
    for (const streamId of [...(this.bySubscriber.get(connectionId)?.keys() ?? [])]) this.unsubscribe(connectionId, streamId);
  }

  /** A subscriber's subscriptions: stream and kinds (kept in a cluster for its resume on another node). */
  subscriptionsOf(subscriberId: string): Array<{ streamId: string; audio: boolean; video: boolean }> {
    const out = [];
    for (const [streamId, consumers] of this.bySubscriber.get(subscriberId) ?? []) {
      out.push({ streamId, audio: consumers.some((c) => c.kind === 'audio'), video: consumers.some((c) => c.kind === 'video') });
    }
    return out;
  }

  /** The kinds of each stream this node's own subscribers take (links to other nodes left out). */
  demand(): Demand {
    const out: Demand = new Map();
    for (const [subscriberId, subs] of this.bySubscriber) {
      if (isLinkSubscriber(subscriberId)) continue;
      for (const [streamId, consumers] of subs) {
        const d = out.get(streamId) ?? { audio: false, video: false };
        for (const c of consumers) d[c.kind] = true;
        out.set(streamId, d);
      }
    }
    return out;
  }

  /** A connection is gone for good: its subscriptions and its streams' producers. */
  removeConnection(connectionId: string): void {
    for (const streamId of [...(this.bySubscriber.get(connectionId)?.keys() ?? [])]) this.unsubscribe(connectionId, streamId);
    for (const [streamId, p] of [...this.byStream]) if (p.audio.ownerId === connectionId) this.removeStream(streamId);
  }

  /** Subscribers of a stream (each once). */
  subscribersOf(streamId: string): string[] {
    const p = this.byStream.get(streamId);
    if (!p) return [];
    const ids = new Set<string>();
    for (const c of p.audio.consumers) ids.add(c.subscriberId);
    for (const c of p.video.consumers) ids.add(c.subscriberId);
    return [...ids];
  }

  /**
   * The publisher `ownerId` lost its socket (grace window): each of its streams is marked
   * interrupted (a subscriber that subscribes meanwhile is told so in its subscribe result);
   * returned with the subscribers to tell now (streamInterrupted).
   */
  interrupt(ownerId: string, streamIds: Iterable<string>): Array<{ streamId: string; subscribers: string[] }> {
    const out = [];
    for (const streamId of streamIds) {
      if (this.interrupted.has(streamId)) continue;
      this.interrupted.add(streamId);
      out.push({ streamId, subscribers: this.subscribersOf(streamId).filter((s) => s !== ownerId) });
    }
    return out;
  }

  /** The publisher resumed: its interrupted streams and who to tell (streamRestored). */
  restore(streamIds: Iterable<string>, ownerId: string): Array<{ streamId: string; subscribers: string[] }> {
    const out = [];
    for (const streamId of streamIds) {
      if (!this.interrupted.delete(streamId)) continue;
      out.push({ streamId, subscribers: this.subscribersOf(streamId).filter((s) => s !== ownerId) });
    }
    return out;
  }

  /** Whether the stream's publisher is in its grace window now. */
  isInterrupted(streamId: string): boolean {
    return this.interrupted.has(streamId);
  }

  /**
   * One binary frame from `from`: checked and forwarded, or dropped and counted. Returns the
   * error to tell the sender (the caller rate-bounds them), or undefined (forwarded, or
   * dropped silently: a muted stream's frames still in flight).
   */
  receive(from: MediaSender, bytes: Uint8Array): WireError | undefined {
    const d = decodeMediaFrame(bytes);
    if (!d.ok) {
      this.malformed++;
      return wireError(ErrorCode.MALFORMED_MEDIA, d.message);
    }
    const { track, kind } = d.frame;
    const producer = this.producers.get(track) ?? this.adopt(track, from.id);
    if (!from.canPublish) {
      this.refusedRole++;
      if (producer) producer.droppedNotOwner++;
      return wireError(ErrorCode.MEDIA_REFUSED, 'this role (subscriber) may not send media');
    }
    const stream = producer ? this.streams.get(producer.streamId) : undefined;
    if (!producer || !stream || stream.connectionId !== producer.ownerId) {
      if (producer) this.removeStream(producer.streamId); // its stream went (seen by the log first, in a cluster)
      const ended = this.ended.get(track);
      if (ended && ended.ownerId === from.id && Date.now() - ended.at <= ENDED_TRACK_MS) {
        this.droppedAfterEnd++;
        return undefined;
      }
      this.unknownTrack++;
      return wireError(ErrorCode.MEDIA_REFUSED, `no media track ${track} in this session`);
    }
    if (producer.ownerId !== from.id) {
      producer.droppedNotOwner++;
      return wireError(ErrorCode.MEDIA_REFUSED, `media track ${track} belongs to a stream of another connection`);
    }
    if (producer.kind !== kind) {
      producer.droppedMalformed++;
      return wireError(ErrorCode.MALFORMED_MEDIA, `media track ${track} is ${producer.kind}, the frame says ${kind}`);
    }
    if (kind === 'audio' ? !stream.hasAudio : !stream.hasVideo) {
      producer.droppedMuted++;
      return undefined;
    }
    this.fanOut(producer, bytes, d.frame.flags);
    return undefined;
  }

  private fanOut(producer: Producer, bytes: Uint8Array, flags: number): void {
    producer.forward(bytes, flags, this.backlog);
    if (this.backlog.size > 0 && !this.flushTimer) {
      this.flushTimer = setInterval(() => this.flushBacklog(), FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /**
   * A frame of a track this router has no producer for, from its stream's owner: a stream
   * published on another node whose publisher resumed here (cluster). Its producers are made
   * with the tracks the stream has.
   */
  private adopt(track: number, ownerId: string): Producer | undefined {
    for (const st of this.streams.values()) {
      const t = st.tracks;
      if (st.connectionId !== ownerId || !t || (t.audio !== track && t.video !== track)) continue;
      this.addStream(st.id, ownerId, t);
      return this.producers.get(track);
    }
    return undefined;
  }

  /**
   * A frame of `streamId` forwarded by the node its publisher is on (cluster media link): fanned
   * out to this node's subscribers like a frame of a local publisher (the publisher's node
   * checked owner and role). False when dropped: not a frame of that stream, or muted.
   */
  receiveRelayed(streamId: string, bytes: Uint8Array): boolean {
    const d = decodeMediaFrame(bytes);
    const producer = d.ok ? this.producers.get(d.frame.track) : undefined;
    const stream = this.streams.get(streamId);
    if (!d.ok || !producer || producer.streamId !== streamId || producer.kind !== d.frame.kind || !stream) return false;
    if (d.frame.kind === 'audio' ? !stream.hasAudio : !stream.hasVideo) {
      producer.droppedMuted++;
      return false;
    }
    this.fanOut(producer, bytes, d.frame.flags);
    return true;
  }

  /** Retries the consumers with frames waiting (slow subscribers), until none is left. */
  private flushBacklog(): void {
    // audio first: when a subscriber's socket is congested, its sound goes before its picture
    for (const c of this.backlog) if (c.kind === 'audio' && !c.flush()) this.backlog.delete(c);
    for (const c of this.backlog) if (c.kind === 'video' && !c.flush()) this.backlog.delete(c);
    if (this.backlog.size === 0) this.stopFlushing();
  }

  private stopFlushing(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Stops the timer and frees every queue (the session is gone). */
  close(): void {
    this.stopFlushing();
    for (const p of this.producers.values()) {
      p.close();
      for (const c of p.consumers) c.close();
    }
    this.backlog.clear();
  }

  stats(): RouterStats {
    const producers = [...this.producers.values()].map((p) => p.stats());
    const consumers: ConsumerStats[] = [];
    for (const p of this.producers.values()) for (const c of p.consumers) consumers.push(c.stats());
    return { producers, consumers, malformed: this.malformed, unknownTrack: this.unknownTrack, droppedAfterEnd: this.droppedAfterEnd, refusedRole: this.refusedRole };
  }
}
