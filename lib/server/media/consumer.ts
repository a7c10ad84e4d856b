/**
 * A Consumer: one subscriber's view of one Producer (mediasoup's noun), with its bounded send
 * queue. A frame goes to the subscriber's socket at once while what waits in that socket is
 * under `sendBufferBytes`; past it, frames wait in the consumer's queue of at most
 * `queueFrames`, and when that is full the OLDEST is dropped and counted. So a slow or blind
 * subscriber costs the server at most its queue plus the socket bound, and never slows the
 * publisher or the other subscribers (nothing here waits). The frame bytes are shared by every
 * consumer of a producer: nothing is copied.
 */
import type { MediaKindName } from '../../wire';
import type { Producer } from './producer';

/** Where a consumer's frames go: the subscriber's socket (ClientSocket implements it). */
export interface MediaSink {
  sendMedia(frame: Uint8Array): void;
  /** bytes waiting in the socket to be sent (ws bufferedAmount) */
  bufferedBytes(): number;
}

export interface ConsumerLimits {
  /** frames are written to the socket only while it holds fewer bytes than this */
  sendBufferBytes: number;
  /** frames a consumer holds while its socket is over sendBufferBytes; past it the oldest is dropped */
  queueFrames: number;
}

export interface ConsumerStats {
  subscriberId: string;
  streamId: string;
  kind: MediaKindName;
  track: number;
  /** frames written to the subscriber's socket */
  forwarded: number;
  /** frames dropped for this subscriber only: its queue was full (oldest first) or it had no socket (grace window) */
  dropped: number;
  /** frames waiting in its queue now */
  queued: number;
  /** bytes waiting in the subscriber's socket now (all its traffic; 0 without a socket) */
  socketBytes: number;
}

export class Consumer {
  forwarded = 0;
  dropped = 0;
  private queue: Uint8Array[] = [];

  constructor(
    readonly subscriberId: string,
    readonly producer: Producer,
    /** the subscriber's socket now, or undefined while it has none (grace window) */
    private readonly sink: () => MediaSink | undefined,
    private readonly limits: ConsumerLimits,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /**
   * A frame for this subscriber. Returns true when frames are left waiting (the router then
   * retries with flush() until the queue drains).
   */
  push(frame: Uint8Array): boolean {
    const sink = this.sink();
    if (!sink) {
      // no socket (the subscriber is in its grace window): it resumes at the live edge
      this.dropped += 1 + this.queue.length;
      this.queue = [];
      return false;
    }
    if (this.queue.length === 0 && sink.bufferedBytes() < this.limits.sendBufferBytes) {
      sink.sendMedia(frame);
      this.forwarded++;
      return false;
    }
    // Audio policy: the oldest goes first (a later video policy drops until the next keyframe).
    this.queue.push(frame);
    while (this.queue.length > this.limits.queueFrames) {
      this.queue.shift();
      this.dropped++;
    }
    return this.flush();
  }

  /** Writes what waits while the socket takes it. Returns true when frames are still waiting. */
  flush(): boolean {
    if (this.queue.length === 0) return false;
    const sink = this.sink();
    if (!sink) {
      this.dropped += this.queue.length;
      this.queue = [];
      return false;
    }
    let sent = 0;
    while (sent < this.queue.length && sink.bufferedBytes() < this.limits.sendBufferBytes) {
      sink.sendMedia(this.queue[sent] as Uint8Array);
      sent++;
    }
    if (sent > 0) {
      this.forwarded += sent;
      this.queue = this.queue.slice(sent);
    }
    return this.queue.length > 0;
  }

  /** Frees the queue (unsubscribed, stream or subscriber gone). */
  close(): void {
    this.queue = [];
  }

  stats(): ConsumerStats {
    const p = this.producer;
    return {
      subscriberId: this.subscriberId, streamId: p.streamId, kind: p.kind, track: p.track,
      forwarded: this.forwarded, dropped: this.dropped, queued: this.queue.length, socketBytes: this.sink()?.bufferedBytes() ?? 0,
    };
  }
}
