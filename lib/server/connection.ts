/**
 * One client connection's reliability state (docs/protocol.md, sections 4-6): event
 * sequence numbers, the replay buffer of unacknowledged events, the last processed
 * request id, and the socket it is attached to, if any. No session logic here.
 */
import { randomFillSync, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Role } from './tokens';
import type { WireConnection } from '../wire';

/** What a connection needs from its socket. Implemented by the socket layer. */
export interface Transport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** v1.1: a binary media frame (a transport that carries media; see media/consumer.ts, MediaSink) */
  sendMedia?(frame: Uint8Array): void;
  /** bytes waiting to be sent: media waits while it is over its bound */
  bufferedBytes?(): number;
}

export interface Capabilities {
  publish: 0 | 1;
  subscribe: 0 | 1;
  signal: 0 | 1;
  forceDisconnect: 0 | 1;
  forceUnpublish: 0 | 1;
  forceMute: 0 | 1;
}

export function capabilitiesFor(role: Role): Capabilities {
  const mod = role === 'moderator' ? 1 : 0;
  return {
    publish: role === 'subscriber' ? 0 : 1,
    subscribe: role === 'publisheronly' ? 0 : 1,
    signal: role === 'publisher' || role === 'moderator' ? 1 : 0,
    forceDisconnect: mod,
    forceUnpublish: mod,
    forceMute: mod,
  };
}

export interface ReplayLimits {
  maxReplayEvents: number;
  maxReplayBytes: number;
}

export type ConnectionState = 'attached' | 'detached' | 'closed';

/**
 * Where a signal event came from: the sending connection, the id of its `signal` request and
 * the signal's type. Kept with the event until it is acknowledged, so that the sender can be
 * told (signalUndelivered) if this connection ends without acknowledging it.
 */
export interface SignalOrigin {
  from: string;
  rid: number;
  signalType: string;
}

/** A per-connection token bucket for signals. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  constructor(private readonly perSecond: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }
  take(now: number): boolean {
    if (this.perSecond <= 0) return true;
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /**
   * A resume after `stallMs` during which the server heard nothing from the client: the
   * signals it queued meanwhile (at most the rate for that long) arrive at once. They are
   * credited on top of the bucket, which may go over `burst` until they are spent.
   */
  credit(stallMs: number, now: number): void {
    if (this.perSecond <= 0 || stallMs <= 0) return;
    this.refill(now);
    this.tokens += (stallMs * this.perSecond) / 1000;
  }

  private refill(now: number): void {
    if (this.tokens < this.burst) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
  }
}

/**
 * Marks, in the replay buffer, a signalUndelivered event: it carries no signal, and does not
 * count against the replay limits (up to as much again): a burst of them, one per signal of
 * an addressee that left, must not overflow the sender that is told.
 */
const UNDELIVERED: SignalOrigin = Object.freeze({ from: '', rid: 0, signalType: '' });
const UNDELIVERED_PREFIX = '{"type":"signalUndelivered"';

/**
 * 24 random bytes, base64url: a resume token. From a pool refilled 128 tokens at a time (as
 * randomUUID does): a synchronous randomBytes per connection was 22 µs of a connect's CPU.
 */
const TOKEN_BYTES = 24;
const tokenPool = Buffer.alloc(TOKEN_BYTES * 128);
let tokenPoolAt = tokenPool.length;
function newResumeToken(): string {
  if (tokenPoolAt === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenPoolAt = 0;
  }
  const token = tokenPool.toString('base64url', tokenPoolAt, tokenPoolAt + TOKEN_BYTES);
  tokenPool.fill(0, tokenPoolAt, tokenPoolAt + TOKEN_BYTES); // used once, not kept
  tokenPoolAt += TOKEN_BYTES;
  return token;
}

/** A connection rebuilt by another node of a cluster: the same id and resume token. */
export interface RestoredIdentity {
  id: string;
  resumeToken: string;
}

export class Connection {
  readonly id: string;
  readonly resumeToken: string;
  readonly capabilities: Capabilities;
  state: ConnectionState = 'detached';
  /** seq of the last event numbered for this connection */
  lastSeq = 0;
  /** id of the last request processed */
  lastRequestId = 0;
  /**
   * A request whose result waits for something outside the server (1.2: a WebRTC
   * negotiation): settles once its result is emitted; the connection's next requests wait.
   */
  pendingRequest: Promise<void> | undefined;
  /** cluster: n of the last session log entry considered for this connection, in log epoch `epoch` */
  lastN = 0;
  epoch = '';
  /** cluster: id of the last request whose result was delivered (it is in the log) */
  committedRid = 0;
  /** cluster: every event came from the log, so another node can rebuild this connection */
  logged = true;
  /** cluster: the checkpoint last recorded in Redis */
  checkpointN = -1;
  checkpointSeq = -1;
  /** when the server last received anything from this connection's client (ms; 0 unknown) */
  lastHeardAt = 0;
  /** when the socket dropped (state 'detached' after a handshake), for the grace timer */
  graceTimer: NodeJS.Timeout | undefined;
  private transport: Transport | undefined;
  /** unacknowledged events, oldest first: replay[i] has seq firstBufferedSeq + i */
  private replay: string[] = [];
  /** cluster: the log entry each buffered event came from */
  private replayN: number[] = [];
  /** cluster: for each buffered event, the seq before the first event of its entry */
  private replayBase: number[] = [];
  /** for each buffered event, the signal it carries, if any (signalUndelivered) */
  private replaySig: Array<SignalOrigin | undefined> = [];
  private lastEmitN = -1;
  private lastEmitBase = 0;
  private replayHead = 0;
  private replayBytes = 0;
  /** signalUndelivered events among the buffered ones, and their bytes */
  private undeliveredEvents = 0;
  private undeliveredBytes = 0;
  private firstBufferedSeq = 1;
  private overflowed = false;

  constructor(
    readonly sessionId: string,
    readonly creationTime: number,
    readonly data: string,
    readonly role: Role,
    readonly eventsSuppressed: boolean,
    readonly limiter: RateLimiter,
    private readonly limits: ReplayLimits,
    /** the token's initial layout classes, given to the streams it publishes */
    readonly layoutClassList: readonly string[] = [],
    restored?: RestoredIdentity,
  ) {
    this.id = restored?.id ?? randomUUID();
    this.resumeToken = restored?.resumeToken ?? newResumeToken();
    this.capabilities = capabilitiesFor(role);
  }

  toWire(): WireConnection {
    return { id: this.id, creationTime: this.creationTime, data: this.data };
  }

  /** Constant-time check of a resume token. */
  checkResumeToken(token: string): boolean {
    const a = Buffer.from(token);
    const b = Buffer.from(this.resumeToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Number of events held for replay. */
  get bufferedEvents(): number {
    return this.replay.length - this.replayHead;
  }

  /** True once the replay buffer went past its limits: the connection cannot be resumed. */
  get isOverflowed(): boolean {
    return this.overflowed;
  }

  /**
   * Numbers an event and sends it (or buffers it while detached).
   * `body` is a serialized JSON object without `seq`, e.g. `{"type":"signal",...}`.
   * Returns false when the replay buffer overflowed (the caller destroys the connection).
   */
  emit(body: string, n = 0, sig?: SignalOrigin): boolean {
    if (this.state === 'closed') return true;
    const seq = ++this.lastSeq;
    const text = `{"seq":${seq},${body.slice(1)}`;
    const undelivered = body.startsWith(UNDELIVERED_PREFIX);
    this.replay.push(text);
    this.replayN.push(n);
    this.replaySig.push(undelivered ? UNDELIVERED : sig);
    if (undelivered) {
      this.undeliveredEvents++;
      this.undeliveredBytes += text.length;
    }
    if (n === 0 || n !== this.lastEmitN) this.lastEmitBase = seq - 1;
    this.lastEmitN = n;
    this.replayBase.push(this.lastEmitBase);
    this.replayBytes += text.length;
    if (this.transport) this.transport.send(text);
    const { maxReplayEvents, maxReplayBytes } = this.limits;
    const events = this.bufferedEvents;
    if (events - this.undeliveredEvents > maxReplayEvents || this.replayBytes - this.undeliveredBytes > maxReplayBytes
      || events > 2 * maxReplayEvents || this.replayBytes > 2 * maxReplayBytes) {
      this.overflowed = true;
      return false;
    }
    return true;
  }

  /** Cumulative acknowledgement from the client. Returns false when seq is beyond lastSeq. */
  ack(seq: number): boolean {
    if (seq > this.lastSeq) return false;
    while (this.firstBufferedSeq <= seq && this.replayHead < this.replay.length) {
      const bytes = (this.replay[this.replayHead] as string).length;
      this.replayBytes -= bytes;
      if (this.replaySig[this.replayHead] === UNDELIVERED) {
        this.undeliveredEvents--;
        this.undeliveredBytes -= bytes;
      }
      this.replayHead++;
      this.firstBufferedSeq++;
    }
    if (this.replayHead > 1024 && this.replayHead * 2 > this.replay.length) {
      this.replay = this.replay.slice(this.replayHead);
      this.replayN = this.replayN.slice(this.replayHead);
      this.replayBase = this.replayBase.slice(this.replayHead);
      this.replaySig = this.replaySig.slice(this.replayHead);
      this.replayHead = 0;
    }
    return true;
  }

  /** The signals of the events not acknowledged yet, oldest first. */
  unacknowledgedSignals(): SignalOrigin[] {
    const out: SignalOrigin[] = [];
    for (let i = this.replayHead; i < this.replaySig.length; i++) {
      const sig = this.replaySig[i];
      if (sig && sig !== UNDELIVERED) out.push(sig);
    }
    return out;
  }

  /**
   * cluster: where the client stands on an entry boundary: the entry before the one of its
   * oldest unacknowledged event, and the seq before that entry's first event (an entry may
   * hold several of its events, some acknowledged). Undefined when nothing is unacknowledged.
   */
  get oldestBufferedEntry(): { n: number; base: number } | undefined {
    if (this.replayHead >= this.replay.length) return undefined;
    return { n: this.replayN[this.replayHead] as number, base: this.replayBase[this.replayHead] as number };
  }

  /** cluster: starts the event sequence after a checkpoint (a connection rebuilt from the log). */
  startAfter(seq: number): void {
    this.lastSeq = seq;
    this.firstBufferedSeq = seq + 1;
    this.lastEmitN = -1;
  }

  /** Oldest seq a resume may ask to replay from (lastSeq given by the client must be >= this - 1). */
  get oldestReplayableSeq(): number {
    return this.firstBufferedSeq;
  }

  /** Attaches a socket and replays every buffered event with seq > fromSeq. */
  attach(transport: Transport, fromSeq: number): void {
    this.transport = transport;
    this.state = 'attached';
    for (let i = this.replayHead + Math.max(0, fromSeq - this.firstBufferedSeq + 1); i < this.replay.length; i++) {
      transport.send(this.replay[i] as string);
    }
  }

  /** Detaches the current socket (if it is `transport`, when given). Returns true if it was attached. */
  detach(transport?: Transport): boolean {
    if (!this.transport || (transport && this.transport !== transport)) return false;
    this.transport = undefined;
    if (this.state === 'attached') this.state = 'detached';
    return true;
  }

  get currentTransport(): Transport | undefined {
    return this.transport;
  }

  /** Marks the connection gone for good; frees its buffers. */
  markClosed(): void {
    this.state = 'closed';
    this.transport = undefined;
    this.replay = [];
    this.replayN = [];
    this.replayBase = [];
    this.replaySig = [];
    this.replayHead = 0;
    this.replayBytes = 0;
    this.undeliveredEvents = 0;
    this.undeliveredBytes = 0;
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }
}
