/**
 * A Producer: one incoming track of a published stream (mediasoup's noun): a (stream, kind)
 * with the session-scoped track number its frames carry, its owner, its consumers, and the
 * counters of what came in. It forwards the frame's bytes as they came (the server never
 * decodes a payload, nor rewrites the header): the track number is the same on both legs.
 */
import type { MediaKindName } from '../../wire';
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
  consumers: number;
}

export class Producer {
  readonly consumers = new Set<Consumer>();
  received = 0;
  droppedMuted = 0;
  droppedNotOwner = 0;
  droppedMalformed = 0;

  constructor(readonly track: number, readonly streamId: string, readonly kind: MediaKindName, readonly ownerId: string) {}

  /** Fans a frame out; returns the consumers left with frames waiting (slow subscribers). */
  forward(frame: Uint8Array, backlog: Set<Consumer>): void {
    this.received++;
    for (const c of this.consumers) {
      if (c.push(frame)) backlog.add(c);
    }
  }

  stats(): ProducerStats {
    return {
      track: this.track, streamId: this.streamId, kind: this.kind, connectionId: this.ownerId, received: this.received,
      droppedMuted: this.droppedMuted, droppedNotOwner: this.droppedNotOwner, droppedMalformed: this.droppedMalformed,
      consumers: this.consumers.size,
    };
  }
}
