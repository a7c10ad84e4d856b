/**
 * Protocol v1 (docs/protocol.md) for the browser: one WebSocket, the handshake, numbered events
 * processed exactly once and in order, cumulative acks, requests with ids and their results,
 * keepalive, and resume after a drop (sections 3 to 7): every request sent is processed by
 * the server exactly once (resent with its id after a resume), every event is handed to the
 * session layer exactly once. The same guarantees as the native core, in TypeScript.
 *
 * Browser-only APIs are not assumed: the socket comes from a factory (default: the global
 * WebSocket), so tests run it under Node with `ws`. Imports only lib/wire.
 */
import { ErrorCode, PROTOCOL_VERSION, type RequestType, type WireConnection, type WireStream } from '../wire';

/** A request as it goes on the wire (docs/protocol.md §4.1): its type and fields; the id is added here. */
export interface WireRequest {
  type: RequestType;
  [field: string]: unknown;
}

/** An error the server reported (section 11): its code, name and message. */
export interface ServerError {
  code: number;
  name: string;
  message: string;
}

/** The part of the DOM WebSocket this client uses (the `ws` package's WebSocket has it too). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export interface ReconnectPolicy {
  /** first retry delay, ms (default 250) */
  baseMs: number;
  /** growth per retry (default 2) */
  factor: number;
  /** longest delay, ms (default 5000) */
  capMs: number;
}

export interface ProtocolOptions {
  url: string;
  apiKey: string;
  sessionId: string;
  token: string;
  sdk?: { name: string; version: string };
  connectionEventsSuppressed?: boolean;
  /** ms the handshake may take (default 15000) */
  connectTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
  /** requests a reconnection may hold (queued while reconnecting); past it they fail with 1570 (default 1000) */
  maxQueued?: number;
  createSocket?: WebSocketFactory;
}

/** What `connected` says (section 3.2). */
export interface ConnectedInfo {
  connection: WireConnection;
  role: string;
  capabilities: Record<string, number>;
  connections: WireConnection[];
  streams: WireStream[];
  forceMute: { active: boolean; excludedStreamIds?: string[] };
  limits: Record<string, number>;
  keepalive: { interval: number; timeout: number };
  graceWindow: number;
}

/** Why the session ended (the OpenTok.js sessionDisconnected reasons). */
export type EndReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected' | 'serverRotation';

export interface ProtocolHandlers {
  /** every event but `result`, exactly once, in order */
  event(frame: Record<string, unknown>): void;
  /** the socket dropped; the client resumes */
  reconnecting(): void;
  /** resumed: the events missed were delivered before this */
  reconnected(): void;
  /** the end, once (not after a failed connect(): its promise rejects instead) */
  disconnected(reason: EndReason, error?: ServerError): void;
  /** a binary (media) frame */
  media?(bytes: Uint8Array): void;
  /** a non-fatal `error` frame */
  warning?(error: ServerError): void;
}

/** A failed request or connect: the OpenTok code and name, like OTError. */
export class ProtocolError extends Error {
  constructor(readonly code: number, readonly errorName: string, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

interface Pending {
  id: number;
  text: string;
  resolve(result: Record<string, unknown>): void;
  reject(e: ProtocolError): void;
}

interface Queued {
  body: WireRequest;
  resolve(result: Record<string, unknown>): void;
  reject(e: ProtocolError): void;
}

type State = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

const ACK_EVERY = 32;
const ACK_AFTER_MS = 1000;
/** ws readyState OPEN (the same number in the DOM) */
const OPEN = 1;
/** The browser's own keepalive bounds (startKeepalive): a ping at least this often, dead after this silence. */
const BROWSER_KEEPALIVE = { interval: 10_000, timeout: 15_000 };

export class ProtocolClient {
  private state: State = 'idle';
  private ws: WebSocketLike | undefined;
  private info: ConnectedInfo | undefined;
  private resumeToken = '';
  private lastSeq = 0;
  private ackedSeq = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private queued: Queued[] = [];
  private keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  private lastHeard = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private droppedAt = 0;
  private readonly policy: ReconnectPolicy;
  private readonly createSocket: WebSocketFactory;

  constructor(private readonly o: ProtocolOptions, private readonly h: ProtocolHandlers) {
    this.policy = { baseMs: 250, factor: 2, capMs: 5000, ...o.reconnect };
    const global = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocketLike }).WebSocket;
    this.createSocket = o.createSocket ?? ((url, protocols) => {
      if (!global) throw new Error('convene/web: no WebSocket in this environment: pass createSocket');
      return new global(url, protocols);
    });
  }

  get connection(): WireConnection | undefined {
    return this.info?.connection;
  }

  get connected(): ConnectedInfo | undefined {
    return this.info;
  }

  get isReconnecting(): boolean {
    return this.state === 'reconnecting';
  }

  /** Connects; resolves with what `connected` said, or rejects with the server's error. */
  connect(): Promise<ConnectedInfo> {
    if (this.state !== 'idle') return Promise.reject(new ProtocolError(ErrorCode.ILLEGAL_STATE, 'OT_ILLEGAL_STATE', 'connect() was called already'));
    this.state = 'connecting';
    return new Promise((resolve, reject) => {
      const ws = this.open();
      const timer = setTimeout(() => fail(new ProtocolError(ErrorCode.CONNECTION_TIMED_OUT, 'OT_CONNECTION_TIMED_OUT', 'the server did not answer the handshake in time')), this.o.connectTimeoutMs ?? 15000);
      const fail = (e: ProtocolError): void => {
        clearTimeout(timer);
        if (this.state !== 'connecting') return;
        this.state = 'closed';
        ws.onclose = null;
        ws.close();
        reject(e);
      };
      ws.onopen = () => ws.send(JSON.stringify({
        type: 'connect', v: PROTOCOL_VERSION, apiKey: this.o.apiKey, sessionId: this.o.sessionId, token: this.o.token,
        sdk: this.o.sdk ?? { name: 'convene-web', version: '0.1.0' },
        ...(this.o.connectionEventsSuppressed ? { connectionEventsSuppressed: true } : {}),
      }));
      ws.onclose = (ev) => fail(new ProtocolError(ErrorCode.CONNECTION_REFUSED, 'OT_CONNECT_FAILED', `the socket closed before the handshake (${ev.code} ${ev.reason})`));
      ws.onerror = () => {};
      ws.onmessage = (ev) => {
        const f = parse(ev.data);
        if (!f) return;
        if (f['type'] === 'error') return fail(errorOf(f));
        if (f['type'] !== 'connected') return;
        clearTimeout(timer);
        this.info = connectedInfo(f);
        this.resumeToken = String(f['resumeToken'] ?? '');
        this.lastSeq = this.ackedSeq = Number(f['lastSeq'] ?? 0);
        this.state = 'connected';
        this.attach(ws);
        resolve(this.info);
      };
    });
  }

  /**
   * Sends a request; resolves with its `result` frame when ok, rejects with its error. While
   * reconnecting it is queued (bounded) and sent after the resume, unless `retryAfterReconnect`
   * is false: then it fails at once with 1010 (OpenTok.js's signal semantics).
   */
  request(body: WireRequest, retryAfterReconnect = true): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      if (this.state === 'reconnecting') {
        if (!retryAfterReconnect) return reject(new ProtocolError(ErrorCode.NOT_CONNECTED, 'OT_NOT_CONNECTED', 'reconnecting: the request was not sent (retryAfterReconnect is false)'));
        if (this.queued.length >= (this.o.maxQueued ?? 1000)) return reject(new ProtocolError(1570, 'CONVENE_BACKLOG_FULL', 'too many requests wait for the reconnection'));
        this.queued.push({ body, resolve, reject });
        return;
      }
      if (this.state !== 'connected') return reject(new ProtocolError(ErrorCode.NOT_CONNECTED, 'OT_NOT_CONNECTED', 'not connected'));
      this.sendRequest(body, resolve, reject);
    });
  }

  /** A binary media frame on the socket now (dropped while there is none: media is real time). */
  sendMedia(bytes: Uint8Array): boolean {
    if (this.state !== 'connected' || !this.ws || this.ws.readyState !== OPEN) return false;
    this.ws.send(bytes);
    return true;
  }

  /** Leaves the session: the `disconnect` request, then the close. Resolves when done. */
  async disconnect(): Promise<void> {
    if (this.state === 'closed' || this.state === 'idle') return;
    if (this.state === 'connected') {
      try {
        await Promise.race([this.request({ type: 'disconnect' }), new Promise((r) => setTimeout(r, 2000))]);
      } catch { /* ending anyway */ }
    }
    this.end('clientDisconnected');
  }

  // ---- internals ----

  private open(): WebSocketLike {
    const ws = this.createSocket(this.o.url, ['convene.v1']);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    return ws;
  }

  private sendRequest(body: WireRequest, resolve: Pending['resolve'], reject: Pending['reject']): void {
    const id = this.nextId++;
    const text = JSON.stringify({ ...body, id, ...(this.lastSeq > this.ackedSeq ? { ack: this.lastSeq } : {}) });
    if (this.lastSeq > this.ackedSeq) this.ackedSeq = this.lastSeq;
    this.pending.set(id, { id, text, resolve, reject });
    this.ws?.send(text);
  }

  /** The socket carries the session now: events, results, keepalive, drops. */
  private attach(ws: WebSocketLike): void {
    this.lastHeard = Date.now();
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = (ev) => this.onClose(ws, ev.code);
    ws.onerror = () => {};
    this.startKeepalive();
  }

  private onMessage(data: unknown): void {
    this.lastHeard = Date.now();
    if (typeof data !== 'string') {
      const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
      if (bytes) this.h.media?.(bytes);
      return;
    }
    const f = parse(data);
    if (!f) return;
    const type = f['type'];
    if (type === 'pong' || type === 'ping') {
      if (type === 'ping') this.ws?.send('{"type":"pong"}');
      return;
    }
    if (type === 'error') {
      const e = errorOf(f);
      if (f['fatal'] !== true) this.h.warning?.({ code: e.code, name: e.errorName, message: e.message });
      return; // a fatal one is followed by the close, which decides
    }
    const seq = f['seq'];
    if (typeof seq !== 'number') return;
    if (seq <= this.lastSeq) return; // replayed after acks crossed a drop: processed already
    if (seq !== this.lastSeq + 1) {
      // a gap breaks the exactly-once guarantee: drop the socket and resume from what we have
      this.ws?.close(4400, 'event sequence gap');
      return;
    }
    this.lastSeq = seq;
    this.scheduleAck();
    if (type === 'result') return this.onResult(f);
    if (type === 'sessionDisconnected') {
      const reason = f['reason'] === 'serverRotation' ? 'serverRotation' : 'forceDisconnected';
      this.end(reason);
      return;
    }
    this.h.event(f);
  }

  private onResult(f: Record<string, unknown>): void {
    const p = this.pending.get(Number(f['id']));
    if (!p) return;
    this.pending.delete(p.id);
    if (f['ok'] === true) p.resolve(f);
    else p.reject(errorOf((f['error'] ?? {}) as Record<string, unknown>));
  }

  private scheduleAck(): void {
    if (this.lastSeq - this.ackedSeq >= ACK_EVERY) return this.sendAck();
    if (!this.ackTimer) this.ackTimer = setTimeout(() => this.sendAck(), ACK_AFTER_MS);
  }

  private sendAck(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (this.lastSeq <= this.ackedSeq || !this.ws || this.ws.readyState !== OPEN) return;
    this.ackedSeq = this.lastSeq;
    this.ws.send(JSON.stringify({ type: 'ack', seq: this.lastSeq }));
  }

  /**
   * Browsers cannot send WebSocket pings: a JSON ping every interval; silence past the timeout
   * drops the socket. Nor can they set TCP keepalive, which lets native clients ping rarely
   * (the server's interval): a browser pings at least every 10 s and gives up after 15 s of
   * silence, so that a dead network is noticed as soon as a native client notices it.
   */
  private startKeepalive(): void {
    this.stopKeepalive();
    const announced = this.info?.keepalive ?? { interval: BROWSER_KEEPALIVE.interval, timeout: BROWSER_KEEPALIVE.timeout };
    const ka = { interval: Math.min(announced.interval, BROWSER_KEEPALIVE.interval), timeout: Math.min(announced.timeout, BROWSER_KEEPALIVE.timeout) };
    this.keepaliveTimer = setInterval(() => {
      const ws = this.ws;
      if (!ws || ws.readyState !== OPEN) return;
      if (Date.now() - this.lastHeard > ka.timeout) {
        ws.close(4002, 'keepalive timeout');
        return;
      }
      ws.send('{"type":"ping"}');
    }, Math.max(100, Math.min(ka.interval, ka.timeout / 3)));
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private onClose(ws: WebSocketLike, code: number): void {
    if (ws !== this.ws || this.state === 'closed') return;
    this.stopKeepalive();
    // closes that end the session: a clean server close after sessionDisconnected is handled there
    if (code === 4010 || code === 1000) return this.end('networkDisconnected');
    if (this.state === 'connected') {
      this.state = 'reconnecting';
      this.droppedAt = Date.now();
      this.retries = 0;
      this.h.reconnecting();
    }
    this.scheduleRetry(code === 4429 || code === 1008 ? 1000 : 0);
  }

  private scheduleRetry(atLeastMs = 0): void {
    const grace = this.info?.graceWindow ?? 30000;
    if (Date.now() - this.droppedAt > grace) return this.end('networkDisconnected');
    const base = Math.min(this.policy.capMs, this.policy.baseMs * this.policy.factor ** this.retries);
    const delay = Math.max(atLeastMs, base * (0.5 + Math.random() / 2));
    this.retries++;
    this.retryTimer = setTimeout(() => this.resume(), delay);
  }

  private resume(): void {
    this.retryTimer = undefined;
    if (this.state !== 'reconnecting' || !this.info) return;
    let ws: WebSocketLike;
    try {
      ws = this.open();
    } catch {
      this.scheduleRetry();
      return;
    }
    ws.onopen = () => ws.send(JSON.stringify({
      type: 'resume', v: PROTOCOL_VERSION, apiKey: this.o.apiKey, sessionId: this.o.sessionId,
      connectionId: this.info?.connection.id, resumeToken: this.resumeToken, lastSeq: this.lastSeq,
    }));
    ws.onerror = () => {};
    ws.onclose = () => {
      if (ws === this.ws && this.state === 'reconnecting') this.scheduleRetry();
    };
    ws.onmessage = (ev) => {
      const f = parse(ev.data);
      if (!f) return;
      if (f['type'] === 'error') {
        // the connection is gone (grace window over, server restarted) or refused: the end
        const e = errorOf(f);
        ws.onclose = null;
        ws.close();
        this.end('networkDisconnected', { code: e.code, name: e.errorName, message: e.message });
        return;
      }
      if (f['type'] !== 'resumed') return;
      this.ackedSeq = this.lastSeq; // resume.lastSeq acknowledged everything processed
      this.state = 'connected';
      this.attach(ws);
      const lastRequestId = Number(f['lastRequestId'] ?? 0);
      // the replayed events follow on this socket (onMessage); resend what the server has not processed
      for (const p of [...this.pending.values()].sort((a, b) => a.id - b.id)) if (p.id > lastRequestId) ws.send(p.text);
      const queued = this.queued;
      this.queued = [];
      for (const q of queued) this.sendRequest(q.body, q.resolve, q.reject);
      this.h.reconnected();
    };
  }

  private end(reason: EndReason, error?: ServerError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopKeepalive();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const ws = this.ws;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      if (ws.readyState <= OPEN) ws.close(1000);
    }
    const e = new ProtocolError(ErrorCode.NOT_CONNECTED, 'OT_NOT_CONNECTED', `the session ended (${reason})`);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const q of this.queued.splice(0)) q.reject(e);
    this.h.disconnected(reason, error);
  }
}

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(data);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function errorOf(f: Record<string, unknown>): ProtocolError {
  return new ProtocolError(Number(f['code'] ?? 2000), String(f['name'] ?? 'OT_INTERNAL_ERROR'), String(f['message'] ?? 'error'));
}

function connectedInfo(f: Record<string, unknown>): ConnectedInfo {
  return {
    connection: f['connection'] as WireConnection,
    role: String(f['role'] ?? ''),
    capabilities: (f['capabilities'] ?? {}) as Record<string, number>,
    connections: (f['connections'] ?? []) as WireConnection[],
    streams: (f['streams'] ?? []) as WireStream[],
    forceMute: (f['forceMute'] ?? { active: false }) as ConnectedInfo['forceMute'],
    limits: (f['limits'] ?? {}) as Record<string, number>,
    keepalive: (f['keepalive'] ?? { interval: 25000, timeout: 40000 }) as ConnectedInfo['keepalive'],
    graceWindow: Number(f['graceWindow'] ?? 30000),
  };
}
