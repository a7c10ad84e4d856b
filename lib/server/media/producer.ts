/**
 * A Producer: one incoming track of a published stream (mediasoup's noun): a (stream, kind)
 * with the session-scoped track number its frames carry, its owner, its consumers, and the
 * counters of what came in. It forwards the frame's bytes as they came (the server never
 * decodes a payload, nor rewrites the header): the track number is the same on both legs.
 */
import type { MediaKindName } from '../../wire';
import { MediaFlag } from '../../wire';
import type { Consumer } from './consumer';

export interface ProducerStats {
  track: number;
  streamId: string;
  kind: MediaKindName;
  connectionId: string;
  /** frames accepted and fanned out to the consumers */
  received: number;
  /** frames dropped: the stream's hasAudio / hasVideo was false (publishAudio(false), force mute) */
  droppedMuted: number;
  /** frames dropped: sent on this track by a connection that does not own the stream */
  droppedNotOwner: number;
  /** frames dropped: the header's kind is not this track's */
  droppedMalformed: number;
  /** video: keyframe requests sent to the publisher (new subscribers, overflows, subscribers' requests; rate-bounded) */
  keyframeRequests: number;
  /** video: keyframe requests not sent because one was sent less than the minimum interval before (coalesced) */
  keyframeRequestsCoalesced: number;
  consumers: number;
}

export class Producer {
  readonly consumers = new Set<Consumer>();
  received = 0;
  droppedMuted = 0;
  droppedNotOwner = 0;
  droppedMalformed = 0;
  keyframeRequests = 0;
  keyframeRequestsCoalesced = 0;
  /** when the last keyframe request went to the publisher (ms), and whether one is scheduled */
  lastKeyframeRequestAt = -Infinity;
  keyframeRequestTimer: NodeJS.Timeout | undefined;
  /** video: the previous packet ended a frame (marker), so the next one starts a frame */
  private frameEnded = true;

  constructor(readonly track: number, readonly streamId: string, readonly kind: MediaKindName, readonly ownerId: string) {}

  /** Fans a frame out; returns the consumers left with frames waiting (slow subscribers). */
  forward(frame: Uint8Array, flags: number, backlog: Set<Consumer>): void {
    this.received++;
    const info = { keyframeStart: this.kind === 'video' && this.frameEnded && (flags & MediaFlag.keyframe) !== 0 };
    if (this.kind === 'video') this.frameEnded = (flags & MediaFlag.marker) !== 0;
    for (const c of this.consumers) {
      if (c.push(frame, info)) backlog.add(c);
    }
  }

  /** Stops a scheduled keyframe request (the stream is gone). */
  close(): void {
    if (this.keyframeRequestTimer) clearTimeout(this.keyframeRequestTimer);
    this.keyframeRequestTimer = undefined;
  }

  stats(): ProducerStats {
    return {
      track: this.track, streamId: this.streamId, kind: this.kind, connectionId: this.ownerId, received: this.received,
      droppedMuted: this.droppedMuted, droppedNotOwner: this.droppedNotOwner, droppedMalformed: this.droppedMalformed,
      keyframeRequests: this.keyframeRequests, keyframeRequestsCoalesced: this.keyframeRequestsCoalesced, consumers: this.consumers.size,
    };
  }
}
