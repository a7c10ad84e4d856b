/**
 * The socket layer: one ClientSocket per WebSocket. It enforces frame limits, the
 * handshake order and timeout, request id order and keepalive bookkeeping, then hands
 * decoded frames to the registry (docs/protocol.md, sections 1-7, 10).
 */
import { authenticate } from './auth';
import { checkSessionId } from './session-id';
import type { Connection, Transport } from './connection';
import {
  closeCodeFor, ErrorCode, isRequestFrame, PROTOCOL_VERSION, wireError, type ClientFrame, type ConnectFrame, type ErrorCodeValue,
  type RequestFrame, type ResumeFrame, type WireError,
} from '../wire';
import { decodeClientFrame, type DecodeResult } from './protocol';
import type { ProjectStore } from './projects';
import { clip, fatalEvent, reportInternal, silentLog, type Logger } from './logger';
import type { Registry } from './registry';

/** A frame that performs a request (takes a request id): it waits under back-pressure. */
function isRequest(r: DecodeResult): boolean {
  return r.kind === 'badRequest' || (r.kind === 'frame' && isRequestFrame(r.frame));
}

export interface SocketConfig {
  maxFrameBytes: number;
  handshakeTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  /** frames per second per socket before the socket is closed as a flood */
  maxFramesPerSecond: number;
  /**
   * Bytes waiting in a socket to be sent (ws bufferedAmount): past half of it the client's
   * frames are no longer read; past it the socket is dropped (close 4003).
   */
  maxSendBufferBytes: number;
}

/** What a socket needs from the server that owns it. */
export interface SocketHost {
  readonly registry: Registry;
  readonly projects: ProjectStore;
  readonly config: SocketConfig;
  /** false while the server shuts down: new handshakes are refused with 1023 */
  readonly accepting: boolean;
  /** cluster back-pressure: while true, request frames wait (acks and pings do not) */
  readonly throttled: boolean;
  limitsFrame(): Record<string, number>;
  forget(sock: ClientSocket): void;
}

/** A message as `ws` delivers it. */
type RawData = Buffer | ArrayBuffer | Buffer[];

/**
 * The part of a `ws` WebSocket that a ClientSocket uses. Structural, so that the published
 * types (ConveneServer refers to ClientSocket) do not need @types/ws.
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly OPEN: number;
  readonly CONNECTING: number;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number) => void): unknown;
  on(event: 'error', listener: () => void): unknown;
  on(event: 'ping', listener: () => void): unknown;
  on(event: 'pong', listener: () => void): unknown;
  send(data: string): void;
  send(data: Uint8Array, options: { binary: boolean }): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  pause(): void;
  resume(): void;
}

type Phase = 'handshake' | 'authenticating' | 'open' | 'closed';

const MAX_PENDING_FRAMES = 256;
/** Bytes of frames a socket may send before its handshake completes. */
const MAX_PENDING_BYTES = 1024 * 1024;
/** How often a socket whose client does not read is checked (send buffer draining). */
const DRAIN_CHECK_MS = 50;
/** At most one media error frame per socket per this many ms; the others are counted in the next. */
const MEDIA_ERROR_INTERVAL_MS = 1000;
/** Close code of a socket dropped because its client does not read what it is sent. */
export const CLOSE_SEND_BUFFER_FULL = 4003;

export class ClientSocket implements Transport {
  private phase: Phase = 'handshake';
  private conn: Connection | undefined;
  private readonly handshakeTimer: NodeJS.Timeout;
  private pending: string[] = [];
  private pendingBytes = 0;
  /** decoded request frames waiting for the cluster to catch up (back-pressure) or for the connection's pending request, in order */
  private held: DecodeResult[] = [];
  /** the connection's pending request (a negotiation) the held requests wait for */
  private waitingFor: Promise<void> | undefined;
  /** reading is paused: requests wait for the cluster (held) */
  private paused = false;
  /** reading is paused: the client does not read what it is sent (send buffer over half its bound) */
  private sendBlocked = false;
  private drainTimer: NodeJS.Timeout | undefined;
  /** bufferedAmount at the last check while blocked */
  private lastQueued = 0;
  private windowStart = 0;
  private framesInWindow = 0;
  /** frames allowed over the per-second limit: a resumed connection's backlog (creditStall) */
  private floodCredit = 0;
  /** time anything was last received, for the keepalive */
  lastSeen = Date.now();
  /** time the keepalive last pinged the peer */
  private lastPingAt = 0;
  /** the operator log (the server sets a child with the peer's address) */
  log: Logger = silentLog;
  /** what the handshake claimed, for the log (never the token) */
  private logCtx: { apiKey?: string; sessionId?: string } = {};
  /** media error frames: when the last went out, and how many were held back since */
  private lastMediaErrorAt = -Infinity;
  private mediaErrorsSuppressed = 0;

  constructor(private readonly ws: WebSocketLike, private readonly host: SocketHost) {
    this.handshakeTimer = setTimeout(() => {
      if (this.phase === 'handshake' || this.phase === 'authenticating') {
        this.fatal(wireError(ErrorCode.CONNECTION_TIMED_OUT, `no handshake within ${host.config.handshakeTimeoutMs} ms`));
      }
    }, host.config.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('pong', () => { this.lastSeen = Date.now(); });
    ws.on('ping', () => { this.lastSeen = Date.now(); });
    ws.on('close', (code) => { this.onClose(); this.logClose(code); });
    ws.on('error', () => { /* 'close' follows; ws reports protocol errors (e.g. 1009) there */ });
  }

  get connection(): Connection | undefined {
    return this.conn;
  }

  // ---- Transport (used by Connection) and MediaSink (used by media/consumer.ts) ----

  sendMedia(frame: Uint8Array): void {
    if (this.phase !== 'open' || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(frame, { binary: true });
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  send(text: string): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(text);
    const max = this.host.config.maxSendBufferBytes;
    if (!this.sendBlocked && this.ws.bufferedAmount > max / 2) this.checkSendBuffer();
  }

  /**
   * Bounds what waits in the socket for a client that does not read (it may even acknowledge
   * events it never read): past half the bound its frames are no longer read, past the bound
   * the socket is dropped with 4003 and the connection starts its grace window. Below a quarter
   * reading goes on. Checked on each send and every DRAIN_CHECK_MS while blocked.
   */
  private checkSendBuffer(): void {
    if (this.phase === 'closed') return;
    const queued = this.ws.bufferedAmount;
    const max = this.host.config.maxSendBufferBytes;
    if (queued > max) {
      this.dropUnread(queued);
      return;
    }
    if (!this.sendBlocked && queued > max / 2) {
      this.sendBlocked = true;
      this.lastQueued = queued;
      this.updateReading();
      this.drainTimer = setInterval(() => this.checkSendBuffer(), DRAIN_CHECK_MS);
    } else if (this.sendBlocked) {
      if (queued < this.lastQueued) this.lastSeen = Date.now(); // it reads: a sign of life
      this.lastQueued = queued;
      if (queued <= max / 4) {
        this.sendBlocked = false;
        clearInterval(this.drainTimer);
        this.updateReading();
      }
    }
  }

  /** The client does not read: drop the socket (a drop: the grace window starts), close 4003. */
  private dropUnread(queued: number): void {
    const conn = this.conn;
    clearInterval(this.drainTimer);
    this.phase = 'closed';
    // nothing more is sent to this socket; events wait in the replay buffer for a resume
    if (conn && conn.currentTransport === this) {
      conn.lastHeardAt = this.lastSeen;
      this.host.registry.detach(conn, this);
    }
    this.ws.close(CLOSE_SEND_BUFFER_FULL, closeReason(`send buffer full: ${queued} bytes unread (limit ${this.host.config.maxSendBufferBytes})`));
    // the close frame waits behind what the client does not read: give it a moment, no more
    setTimeout(() => this.ws.terminate(), Math.min(5000, this.host.config.keepaliveTimeoutMs)).unref();
  }

  /** Reading is paused while requests are held (cluster) or the client does not read. */
  private updateReading(): void {
    if (this.paused || this.sendBlocked) this.ws.pause();
    else this.ws.resume();
  }

  close(code: number, reason: string): void {
    this.phase = 'closed';
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason);
  }

  /**
   * Keepalive (the server's wheel calls it when nextKeepaliveCheck() has come): terminate when
   * nothing was heard for the timeout, or ping a peer not heard from (and not pinged) within
   * the interval. A peer heard from within the interval is alive, and it hears us (its pings
   * get pongs, its requests results): a ping would only cost both sides a wake-up. Returns
   * the next check, or undefined once the socket is closed.
   */
  keepalive(now: number): number | undefined {
    if (now - this.lastSeen > this.host.config.keepaliveTimeoutMs) {
      this.log.info({ event: 'keepaliveTimeout', ...this.logCtx, connectionId: this.conn?.id }, `nothing heard for ${now - this.lastSeen} ms: closing`);
      this.close(4002, 'keepalive timeout');
      this.ws.terminate();
      return undefined;
    }
    const interval = this.host.config.keepaliveIntervalMs;
    if (now - this.lastSeen >= interval && now - this.lastPingAt >= interval && this.ws.readyState === this.ws.OPEN) {
      this.lastPingAt = now;
      this.ws.ping();
    }
    return this.nextKeepaliveCheck();
  }

  /** When keepalive() has something to decide: the next ping to a silent peer, or its timeout. */
  nextKeepaliveCheck(): number {
    const { keepaliveIntervalMs, keepaliveTimeoutMs } = this.host.config;
    return Math.min(Math.max(this.lastSeen, this.lastPingAt) + keepaliveIntervalMs, this.lastSeen + keepaliveTimeoutMs + 1);
  }

  /** Server shutdown: serverRotation to a connected client, then close 1001. */
  rotate(): void {
    if (this.phase === 'open' && this.conn) {
      this.conn.emit(JSON.stringify({ type: 'sessionDisconnected', reason: 'serverRotation' }));
    }
    this.close(1001, 'serverRotation');
  }

  // ---- receiving ----

  private onMessage(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (this.phase === 'closed') return;
    if (this.flooded()) return;
    if (isBinary) {
      this.onMedia(data);
      return;
    }
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
    if (size > this.host.config.maxFrameBytes) {
      this.sendError(wireError(ErrorCode.FRAME_TOO_LARGE, `frame of ${size} bytes is over the limit of ${this.host.config.maxFrameBytes}`));
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    if (this.phase === 'authenticating') {
      if (this.pending.length >= MAX_PENDING_FRAMES || this.pendingBytes + size > MAX_PENDING_BYTES) {
        this.fatal(wireError(ErrorCode.FLOOD, 'too many frames before the handshake completed'));
        return;
      }
      this.pending.push(text);
      this.pendingBytes += size;
      return;
    }
    this.process(text);
  }

  /**
   * A binary frame: media (v1.1) once the handshake is done, handed to the session's router;
   * before it, 4415. Errors about media are not fatal and rate-bounded: a client that sends
   * garbage at frame rate gets one error frame per second, with the count of those held back.
   */
  private onMedia(data: RawData): void {
    const conn = this.conn;
    if (this.phase !== 'open' || !conn) {
      this.sendError(wireError(ErrorCode.BINARY_NOT_SUPPORTED, 'binary frames carry media, after the handshake only'));
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const error = this.host.registry.receiveMedia(conn, bytes);
    if (!error) return;
    const now = Date.now();
    if (now - this.lastMediaErrorAt < MEDIA_ERROR_INTERVAL_MS) {
      this.mediaErrorsSuppressed++;
      return;
    }
    this.lastMediaErrorAt = now;
    const suppressed = this.mediaErrorsSuppressed;
    this.mediaErrorsSuppressed = 0;
    const more = suppressed > 0 ? ` (and ${suppressed} more media errors in the last second, not reported)` : '';
    this.send(JSON.stringify({ type: 'error', ...error, message: error.message + more, fatal: false, ref: 'media', suppressed }));
  }

  /**
   * The flood guard: at most maxFramesPerSecond frames per one-second window, beyond which a
   * resumed connection spends its credit for the stall (creditStall): its backlog is not a flood.
   */
  private flooded(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.framesInWindow = 0;
    }
    if (++this.framesInWindow > this.host.config.maxFramesPerSecond) {
      if (this.floodCredit >= 1) {
        this.floodCredit--;
        return false;
      }
      this.fatal(wireError(ErrorCode.FLOOD, `more than ${this.host.config.maxFramesPerSecond} frames in one second`));
      return true;
    }
    return false;
  }

  /**
   * A resume: the client queued frames while the server heard nothing from it (since
   * `heardAt`, ms; 0 unknown: another node had it) and now sends them at once. The flood guard
   * and the signal rate limiter are credited for that long, so the backlog of a client that
   * kept to the limits is neither a flood nor over the rate. At most the grace window plus
   * the keepalive timeout (the longest a connection can be silent and still be resumed).
   */
  private creditStall(conn: Connection, heardAt: number): void {
    const { keepaliveTimeoutMs, maxFramesPerSecond } = this.host.config;
    const now = Date.now();
    const longest = this.host.registry.graceWindowMs + keepaliveTimeoutMs;
    const stallMs = heardAt > 0 ? Math.min(longest, Math.max(0, now - heardAt)) : keepaliveTimeoutMs;
    this.floodCredit += (stallMs * maxFramesPerSecond) / 1000;
    conn.limiter.credit(stallMs, now);
  }

  private process(text: string): void {
    const r = decodeClientFrame(text);
    if (this.phase === 'open' && (this.held.length > 0 || this.host.throttled || this.conn?.pendingRequest) && isRequest(r)) return this.hold(r);
    this.processDecoded(r);
  }

  /**
   * Back-pressure across cluster nodes: a request waits (its piggybacked ack does not); past
   * MAX_PENDING_FRAMES waiting, the socket stops reading until they go on.
   */
  private hold(r: DecodeResult): void {
    const ack = r.kind === 'badRequest' ? r.ack : r.kind === 'frame' && isRequestFrame(r.frame) ? r.frame.ack : undefined;
    if (ack !== undefined) this.ack(ack);
    this.held.push(r);
    const pending = this.conn?.pendingRequest;
    if (pending && this.waitingFor !== pending) {
      this.waitingFor = pending;
      void pending.then(() => {
        if (this.waitingFor !== pending) return;
        this.waitingFor = undefined;
        this.releaseHeld();
      });
    }
    if (this.held.length >= MAX_PENDING_FRAMES && !this.paused) {
      this.paused = true;
      this.updateReading();
    }
  }

  /**
   * The cluster caught up, or the connection's pending request (a negotiation) has its result:
   * the requests that waited go on, in order, until one of them waits in its turn.
   */
  releaseHeld(): void {
    while (this.held.length > 0 && this.phase === 'open' && !this.conn?.pendingRequest) {
      this.processDecoded(this.held.shift() as DecodeResult);
    }
    if (this.phase !== 'open') this.held = [];
    if (this.paused && this.held.length < MAX_PENDING_FRAMES) {
      this.paused = false;
      this.updateReading();
    }
  }

  private processDecoded(r: DecodeResult): void {
    if (this.phase === 'handshake') {
      const type = r.kind === 'frame' ? r.frame.type : r.ref;
      if (type !== 'connect' && type !== 'resume' && type !== 'ping') {
        const why = r.kind === 'error' && r.ref === undefined ? ` (${r.error.message})` : '';
        return this.fatal(wireError(ErrorCode.NOT_CONNECTED, `'${type ?? 'frame'}' before the handshake${why}: send 'connect' or 'resume' first`), type);
      }
    }
    if (r.kind === 'error') {
      const fatal = r.error.code === ErrorCode.REQUEST_OUT_OF_ORDER;
      if (fatal) this.fatal(r.error, r.ref);
      else if (this.phase === 'handshake' && (r.ref === 'connect' || r.ref === 'resume')) this.fatal(r.error, r.ref);
      else this.sendError(r.error, r.ref);
      return;
    }
    if (r.kind === 'badRequest') {
      if (this.phase !== 'open' || !this.conn) return this.notConnected(r.ref);
      if (r.ack !== undefined) this.ack(r.ack);
      if (this.takeRequestId(r.id)) this.host.registry.rejectRequest(this.conn, r.id, r.error);
      return;
    }
    this.dispatch(r.frame);
  }

  private dispatch(frame: ClientFrame): void {
    switch (frame.type) {
      case 'ping':
        this.send('{"type":"pong"}');
        return;
      case 'pong':
        return;
      case 'connect':
      case 'resume':
        if (this.phase !== 'handshake') {
          this.sendError(wireError(ErrorCode.ILLEGAL_STATE, `'${frame.type}' on a socket that is already connected`), frame.type);
          return;
        }
        if (!this.host.accepting) {
          this.fatal(wireError(ErrorCode.CONNECTION_REFUSED, 'server is shutting down'), frame.type);
          return;
        }
        if (frame.type === 'connect') void this.connect(frame);
        else void this.resume(frame);
        return;
      case 'ack':
        if (this.phase !== 'open') return this.notConnected('ack');
        this.ack(frame.seq);
        return;
      default:
        this.request(frame);
    }
  }

  private notConnected(ref: string): void {
    this.fatal(wireError(ErrorCode.NOT_CONNECTED, `'${ref}' before the handshake: send 'connect' or 'resume' first`), ref);
  }

  private ack(seq: number): void {
    if (this.conn && !this.host.registry.ack(this.conn, seq)) {
      this.sendError(wireError(ErrorCode.INVALID_PARAMETER, `ack ${seq} is beyond the last event sent (${this.conn.lastSeq})`), 'ack');
    }
  }

  /** Applies the request id rules; true when the request must be processed. */
  private takeRequestId(id: number): boolean {
    const conn = this.conn as Connection;
    if (id <= conn.lastRequestId) return false; // duplicate after a resume: its result is already in the stream
    if (id !== conn.lastRequestId + 1) {
      this.fatal(wireError(ErrorCode.REQUEST_OUT_OF_ORDER, `request id ${id} skips ids: expected ${conn.lastRequestId + 1}`));
      return false;
    }
    conn.lastRequestId = id;
    return true;
  }

  private request(frame: RequestFrame): void {
    if (this.phase !== 'open' || !this.conn) return this.notConnected(frame.type);
    const conn = this.conn;
    if (frame.ack !== undefined) this.ack(frame.ack);
    if (!this.takeRequestId(frame.id)) return;
    const pending = this.host.registry.handle(conn, frame.id, frame);
    if (pending) {
      // settles (never rejects) once the result is out; cleared first, then held requests go on
      const clear = (): void => {
        if (conn.pendingRequest === settled) conn.pendingRequest = undefined;
      };
      const settled: Promise<void> = pending.then(clear, clear);
      conn.pendingRequest = settled;
    }
    if (frame.type === 'disconnect') {
      this.host.registry.destroy(conn, 'clientDisconnected');
      this.close(1000, 'clientDisconnected');
    }
  }

  // ---- handshake ----

  private async connect(frame: ConnectFrame): Promise<void> {
    this.phase = 'authenticating';
    this.logCtx = { apiKey: clip(frame.apiKey), sessionId: clip(frame.sessionId) };
    let result;
    try {
      result = await authenticate(this.host.projects, frame);
    } catch {
      result = { ok: false as const, error: wireError(ErrorCode.INTERNAL, 'internal error while checking the token') };
    }
    if ((this.phase as Phase) === 'closed') return; // the socket went away while the token was checked
    if (!result.ok) return this.fatal(result.error, 'connect');
    if (!this.host.accepting) return this.fatal(wireError(ErrorCode.CONNECTION_REFUSED, 'server is shutting down'), 'connect');
    const { registry } = this.host;
    // In a cluster: take a place in the session's cluster-wide count and learn what the other
    // nodes have in it, before joining here (alone, nothing to wait for).
    let admitted: 'ok' | 'full';
    try {
      admitted = await registry.admit(frame.sessionId);
    } catch {
      if ((this.phase as Phase) === 'closed') return;
      return this.fatal(wireError(ErrorCode.CONNECTION_REFUSED, 'the cluster store (Redis) is unavailable: no new connections for now, try again later'), 'connect');
    }
    if ((this.phase as Phase) === 'closed') {
      if (admitted === 'ok') registry.release(frame.sessionId);
      return;
    }
    if (admitted === 'full') {
      return this.fatal(wireError(ErrorCode.CONNECTION_LIMIT_EXCEEDED, `session is full (${registry.limits.maxConnectionsPerSession} connections)`), 'connect');
    }
    let joined;
    try {
      joined = await registry.connect({
        sessionId: frame.sessionId, role: result.role, data: result.data,
        eventsSuppressed: frame.connectionEventsSuppressed, layoutClassList: result.layoutClassList,
      });
    } catch (e) {
      registry.release(frame.sessionId);
      return this.fatal(errorOf(e, this.log), 'connect');
    }
    const { conn, snapshot } = joined;
    if ((this.phase as Phase) === 'closed') { // the socket went away while joining
      registry.destroy(conn, 'networkDisconnected');
      return;
    }
    this.open(conn);
    this.log.info({ event: 'connected', sessionId: conn.sessionId, connectionId: conn.id, role: conn.role }, 'client connected');
    this.send(JSON.stringify({
      type: 'connected', v: PROTOCOL_VERSION, sessionId: frame.sessionId, connection: conn.toWire(), role: conn.role,
      capabilities: conn.capabilities, resumeToken: conn.resumeToken, connections: snapshot.connections,
      streams: snapshot.streams, forceMute: snapshot.forceMute, ...this.sessionParams(), lastSeq: 0,
    }));
    // In a cluster, events may already be numbered for it (log entries applied while joining):
    // they follow at once.
    conn.attach(this, 0);
    this.drainPending();
  }

  private async resume(frame: ResumeFrame): Promise<void> {
    const { registry, projects } = this.host;
    this.logCtx = { apiKey: clip(frame.apiKey), sessionId: clip(frame.sessionId) };
    if (!projects.get(frame.apiKey)) return this.fatal(wireError(ErrorCode.AUTHENTICATION, 'unknown api key'), 'resume');
    const sid = checkSessionId(frame.sessionId, frame.apiKey, projects);
    if (!sid.ok) return this.fatal(wireError(ErrorCode.INVALID_SESSION_ID, sid.message), 'resume');
    let conn: Connection;
    this.phase = 'authenticating'; // a resume on another node of a cluster reads Redis first
    try {
      conn = await registry.resumeAnywhere(frame.sessionId, frame.connectionId, frame.resumeToken, frame.lastSeq);
    } catch (e) {
      return this.fatal(errorOf(e, this.log), 'resume');
    }
    if ((this.phase as Phase) === 'closed') { // the socket went away meanwhile: its grace window starts again
      conn.attach(this, conn.lastSeq);
      registry.detach(conn, this);
      return;
    }
    const previous = conn.currentTransport;
    const heardAt = previous instanceof ClientSocket ? previous.lastSeen : conn.lastHeardAt;
    if (previous && previous !== this) {
      conn.detach(previous);
      previous.close(4001, 'superseded by resume');
    }
    this.open(conn);
    this.log.info({ event: 'resumed', sessionId: conn.sessionId, connectionId: conn.id, lastSeq: frame.lastSeq }, 'client resumed');
    this.creditStall(conn, heardAt);
    this.send(JSON.stringify({
      type: 'resumed', v: PROTOCOL_VERSION, sessionId: conn.sessionId, connection: conn.toWire(), role: conn.role,
      capabilities: conn.capabilities, ...this.sessionParams(), lastRequestId: conn.lastRequestId, lastSeq: conn.lastSeq,
    }));
    conn.attach(this, frame.lastSeq);
    this.drainPending();
  }

  private sessionParams(): Record<string, unknown> {
    const { config, registry } = this.host;
    return {
      limits: this.host.limitsFrame(),
      keepalive: { interval: config.keepaliveIntervalMs, timeout: config.keepaliveTimeoutMs },
      graceWindow: registry.graceWindowMs,
    };
  }

  private open(conn: Connection): void {
    clearTimeout(this.handshakeTimer);
    this.conn = conn;
    this.phase = 'open';
  }

  private drainPending(): void {
    const frames = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const text of frames) {
      if (this.phase !== 'open') return;
      this.process(text);
    }
  }

  // ---- errors and closing ----

  private sendError(error: WireError, ref?: string, fatal = false): void {
    this.send(JSON.stringify({ type: 'error', ...error, fatal, ...(ref !== undefined ? { ref } : {}) }));
  }

  private fatal(error: WireError, ref?: string): void {
    if (this.phase === 'closed') return;
    this.log.warn({ event: fatalEvent(error.code, this.phase !== 'open'), code: error.code, error: error.name, ...(ref !== undefined ? { ref: clip(ref) } : {}), ...this.logCtx, connectionId: this.conn?.id }, error.message);
    this.sendError(error, ref, true);
    this.close(closeCodeFor(error.code as ErrorCodeValue), closeReason(error.message));
  }

  /** A client's socket went away: with its connection in its grace window, or for good. */
  private logClose(code: number): void {
    const conn = this.conn;
    if (conn?.state === 'detached' && conn.currentTransport === undefined) {
      this.log.info({ event: 'dropped', sessionId: conn.sessionId, connectionId: conn.id, code, graceWindowMs: this.host.registry.graceWindowMs }, 'client socket lost: grace window started');
    } else {
      this.log.debug({ event: 'socketClosed', code, ...this.logCtx, connectionId: conn?.id }, 'socket closed');
    }
  }

  private onClose(): void {
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    clearInterval(this.drainTimer);
    this.pending = [];
    const conn = this.conn;
    if (conn && conn.currentTransport === this) {
      conn.lastHeardAt = this.lastSeen;
      this.host.registry.detach(conn, this);
    }
    this.host.forget(this);
  }
}

/** A WebSocket close reason must fit in 123 bytes of UTF-8. */
function closeReason(message: string): string {
  let r = message.slice(0, 123);
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

function errorOf(e: unknown, log: Logger): WireError {
  if (e instanceof Error && 'wire' in e) return (e as { wire: WireError }).wire;
  reportInternal(log, 'unexpected error', e);
  return wireError(ErrorCode.INTERNAL, 'internal server error');
}
