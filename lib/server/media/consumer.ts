/**
 * A Consumer: one subscriber's view of one Producer (mediasoup's noun), with its bounded send
 * queue. A frame goes to the subscriber's socket at once while what waits in that socket is
 * under `sendBufferBytes`; past it, frames wait in the consumer's queue, bounded, with a drop
 * policy per kind:
 *
 * - audio: at most `queueFrames`; when full the OLDEST is dropped and counted (500 ms of
 *   late audio is worth less than the live edge);
 * - video: at most `videoQueueBytes`; when over, the whole queue is dropped (a video frame
 *   depends on the frames before it: dropping one packet spoils every frame to the next
 *   keyframe), and the consumer waits for the next keyframe and asks for one (the router
 *   rate-bounds the requests to the publisher).
 *
 * A new video consumer starts by waiting for a keyframe too: its first frame is a keyframe.
 * So a slow or blind subscriber costs the server at most its queues plus the socket bound, and
 * never slows the publisher or the other subscribers (nothing here waits). The frame bytes are
 * shared by every consumer of a producer: nothing is copied.
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
  /** audio frames a consumer holds while its socket is over sendBufferBytes; past it the oldest is dropped */
  queueFrames: number;
  /** video bytes a consumer holds while its socket is over sendBufferBytes; past it the queue goes, to the next keyframe */
  videoQueueBytes: number;
}

/** What the producer knows of a packet: whether it starts a video frame that is a keyframe. */
export interface FrameInfo {
  /** video: the first packet of a keyframe (the previous packet ended a frame, this one has flags.keyframe) */
  keyframeStart: boolean;
}

export interface ConsumerStats {
  subscriberId: string;
  streamId: string;
  kind: MediaKindName;
  track: number;
  /** frames written to the subscriber's socket */
  forwarded: number;
  /**
   * frames dropped for this subscriber only: its queue was full (audio: oldest first; video:
   * the queue, then every packet to the next keyframe) or it had no socket (grace window)
   */
  dropped: number;
  /** video: packets dropped while waiting for a keyframe (a subset of `dropped`) */
  droppedWaitingKeyframe: number;
  /** video: times the queue overflowed and was emptied (each asks the publisher for a keyframe) */
  videoResets: number;
  /** video: waiting for a keyframe now (new subscriber, or after an overflow) */
  waitingKeyframe: boolean;
  /** frames waiting in its queue now */
  queued: number;
  /** bytes waiting in the subscriber's socket now (all its traffic; 0 without a socket) */
  socketBytes: number;
}

export class Consumer {
  forwarded = 0;
  dropped = 0;
  droppedWaitingKeyframe = 0;
  videoResets = 0;
  /** video: nothing is forwarded until the first packet of a keyframe */
  waitingKeyframe: boolean;
  private queue: Uint8Array[] = [];
  private queueBytes = 0;

  constructor(
    readonly subscriberId: string,
    readonly producer: Producer,
    /** the subscriber's socket now, or undefined while it has none (grace window) */
    private readonly sink: () => MediaSink | undefined,
    private readonly limits: ConsumerLimits,
    /** called when this (video) consumer needs a keyframe: the router asks the publisher, rate-bounded */
    private readonly needKeyframe: (c: Consumer) => void = () => {},
  ) {
    this.waitingKeyframe = producer.kind === 'video';
  }

  get kind(): MediaKindName {
    return this.producer.kind;
  }

  get queued(): number {
    return this.queue.length;
  }

  /**
   * A frame for this subscriber. Returns true when frames are left waiting (the router then
   * retries with flush() until the queue drains).
   */
  push(frame: Uint8Array, info: FrameInfo = { keyframeStart: false }): boolean {
    const sink = this.sink();
    if (this.waitingKeyframe) {
      if (!info.keyframeStart) {
        this.dropped++;
        this.droppedWaitingKeyframe++;
        if (sink) this.needKeyframe(this); // the router rate-bounds what reaches the publisher
        return this.queue.length > 0;
      }
      this.waitingKeyframe = false;
    }
    if (!sink) {
      // no socket (the subscriber is in its grace window): it resumes at the live edge
      this.dropQueue(1);
      if (this.kind === 'video') this.waitingKeyframe = true; // asked for when it has a socket again
      return false;
    }
    if (this.queue.length === 0 && sink.bufferedBytes() < this.limits.sendBufferBytes) {
      sink.sendMedia(frame);
      this.forwarded++;
      return false;
    }
    this.queue.push(frame);
    this.queueBytes += frame.byteLength;
    if (this.kind === 'audio') {
      while (this.queue.length > this.limits.queueFrames) {
        const old = this.queue.shift() as Uint8Array;
        this.queueBytes -= old.byteLength;
        this.dropped++;
      }
    } else if (this.queueBytes > this.limits.videoQueueBytes) {
      this.dropQueue(0);
      this.videoResets++;
      this.waitingKeyframe = true;
      this.needKeyframe(this);
      return false;
    }
    return this.flush();
  }

  /** Writes what waits while the socket takes it. Returns true when frames are still waiting. */
  flush(): boolean {
    if (this.queue.length === 0) return false;
    const sink = this.sink();
    if (!sink) {
      this.dropQueue(0);
      if (this.kind === 'video') this.waitingKeyframe = true;
      return false;
    }
    let sent = 0;
    let bytes = 0;
    while (sent < this.queue.length && sink.bufferedBytes() < this.limits.sendBufferBytes) {
      const f = this.queue[sent] as Uint8Array;
      sink.sendMedia(f);
      bytes += f.byteLength;
      sent++;
    }
    if (sent > 0) {
      this.forwarded += sent;
      this.queue = this.queue.slice(sent);
      this.queueBytes -= bytes;
    }
    return this.queue.length > 0;
  }

  private dropQueue(extra: number): void {
    this.dropped += extra + this.queue.length;
    this.queue = [];
    this.queueBytes = 0;
  }

  /** Frees the queue (unsubscribed, stream or subscriber gone). */
  close(): void {
    this.queue = [];
    this.queueBytes = 0;
  }

  stats(): ConsumerStats {
    const p = this.producer;
    return {
      subscriberId: this.subscriberId, streamId: p.streamId, kind: p.kind, track: p.track,
      forwarded: this.forwarded, dropped: this.dropped, droppedWaitingKeyframe: this.droppedWaitingKeyframe,
      videoResets: this.videoResets, waitingKeyframe: this.waitingKeyframe, queued: this.queue.length,
      socketBytes: this.sink()?.bufferedBytes() ?? 0,
    };
  }
}
