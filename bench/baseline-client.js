'use strict';
/*
 * bench/baseline-client: a pure-JavaScript client for Convene wire protocol v1
 * (docs/protocol.md), on the `ws` package. It is the benchmark baseline that the
 * native (C core) client is compared against, so it is written the way a careful Node
 * developer would write a real client: it speaks the whole session model on the wire,
 * and it is correct and reasonably efficient, not a straw man.
 *
 * What it does (section numbers refer to docs/protocol.md):
 *  - handshake (3): `connect`, then `connected` or a fatal `error`; offers the
 *    `convene.v1` subprotocol like the native client; no compression.
 *  - connections and streams (3.2, 5.1): `connections` starts with this client's own
 *    connection and the ones listed in `connected`, and follows connectionCreated /
 *    connectionDestroyed; `streams` follows streamCreated / streamDestroyed /
 *    streamPropertyChanged.
 *  - events (5): every event must carry seq = last + 1 (a duplicate is skipped, a gap is a
 *    protocol error that closes the socket). Acks are cumulative and batched like the
 *    native client's: an `ack` frame once 32 events are unacknowledged, or 1 s after
 *    the first unacknowledged event, whichever comes first (the spec asks for at least
 *    every 64 events or 1 s). A pending ack also rides along on the next request
 *    (its optional `ack` field, section 4), which saves a frame when the client sends.
 *  - requests (4): ids from 1 in steps of 1; the `result` with the same id settles the
 *    request. `signal()` returns a Promise; `signalNoAck()` sends the same frame and
 *    does not track it, but its result frame is still consumed (a failed one is reported
 *    through `onError`). A frame the server would discard as too large (4413, so that no
 *    result would ever come and the ids would go out of step) is refused locally before
 *    it takes an id. Everything else (signal type, data size, rights, rate) is left to the
 *    server, whose result is authoritative.
 *  - keepalive (7): `ws` answers the server's pings with pongs; the client pings every
 *    `keepalive.interval` ms and terminates the socket when it has heard nothing at all
 *    for `keepalive.timeout` ms (both from `connected`), checked on each ping tick.
 *  - disconnect (4.1): a `disconnect` request; the server answers it and closes with
 *    1000. `disconnect()` resolves on the socket's close (terminating it if the server
 *    has not closed it within 5 s).
 *
 * Not implemented: automatic reconnection and resume (section 6). When the socket drops,
 * the client just ends: pending requests reject with code 1010, `connections` and
 * `streams` are cleared, `closeCode` tells why, and nothing throws.
 *
 * Interface (the benchmark harness's; a second adapter of the same shape wraps the native
 * client):
 *   connect({ url, apiKey, sessionId, token }) → Promise<Client>
 *   Client:
 *     connectionId: string
 *     onSignal: (type, data, fromConnectionId | null) => void   settable, default no-op
 *     signal(type, data, toConnectionId?) → Promise<void>        rejects with Error .code
 *     signalNoAck(type, data, toConnectionId?) → void
 *     connections: Map<string, { connectionId, creationTime, data }>
 *     disconnect() → Promise<void>
 *     bufferedAmount: number (getter)
 *   Extras: onError (settable, default no-op; gets an Error with .code for a failed
 *   signalNoAck result, a server `error` frame after the handshake (a fatal one is followed
 *   by the close) or a protocol violation), streams, role, capabilities, limits,
 *   forceMuteActive, closeCode, disconnectReason; connect() also takes
 *   connectionEventsSuppressed.
 */
const WebSocket = require('ws');

const SDK = { name: 'convene-bench-js', version: '0.1.0' };
/** send an ack once this many events are unacknowledged */
const ACK_EVERY = 32;
/** ...or this long after the first unacknowledged event */
const ACK_DELAY_MS = 1000;
/** disconnect(): terminate the socket if the server has not closed it by then */
const DISCONNECT_TIMEOUT_MS = 5000;
/** used until `connected` tells the server's values */
const DEFAULT_MAX_FRAME_BYTES = 65536;

const NAMES = {
  1004: 'OT_AUTHENTICATION_ERROR', 1005: 'OT_INVALID_SESSION_ID', 1006: 'OT_CONNECT_FAILED',
  1010: 'OT_NOT_CONNECTED', 1011: 'OT_INVALID_PARAMETER', 1022: 'OT_CONNECTION_DROPPED',
  4413: 'CONVENE_FRAME_TOO_LARGE',
};

/** An Error with the protocol's numeric `code` (and its `name`, e.g. OT_INVALID_SIGNAL_TYPE). */
function protocolError(code, message, name) {
  const err = new Error(message);
  err.code = code;
  err.name = name || NAMES[code] || 'OT_ERROR';
  return err;
}

function fromWire(e) {
  return e && typeof e === 'object'
    ? protocolError(e.code, e.message || 'request failed', e.name)
    : protocolError(2000, 'request failed without an error description', 'OT_INTERNAL_ERROR');
}

function noop() {}

/** The protocol ignores the path and recommends /v1: add it when the URL has none. */
function withPath(url) {
  const u = new URL(url);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1';
  return u.toString();
}

function toEntry(c) {
  return { connectionId: c.id, creationTime: c.creationTime, data: c.data };
}

class Client {
  constructor(ws) {
    /** own connection id, set by the handshake */
    this.connectionId = '';
    /** connection id → { connectionId, creationTime, data }, this client's own included */
    this.connections = new Map();
    /** stream id → the wire Stream object */
    this.streams = new Map();
    this.onSignal = noop;
    this.onError = noop;
    this.role = '';
    this.capabilities = null;
    this.limits = null;
    this.forceMuteActive = false;
    /** WebSocket close code once closed, and the sessionDisconnected reason if any */
    this.closeCode = 0;
    this.disconnectReason = '';

    this._ws = ws;
    this._open = false; // handshake done and socket not closed
    this._closed = false;
    this._handshake = null; // { resolve, reject } while connecting
    this._socketError = null; // a transport error from ws, reported with the close
    this._leaving = false; // disconnect() sent: no more requests
    this._seq = 0; // last event seq processed
    this._acked = 0; // last seq acknowledged to the server
    this._ackArmed = false;
    this._ackTimer = null; // one Timeout per client, re-armed with refresh()
    this._nextId = 1;
    this._pending = new Map(); // request id → { resolve, reject } (signal() only)
    this._maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
    this._lastRx = 0;
    this._keepaliveTimer = null;
    this._keepaliveTimeout = 15000;
    this._disconnectTimer = null;
    this._closedPromise = null;
    this._resolveClosed = null;

    this._ackTick = () => {
      this._ackArmed = false;
      this._flushAck();
    };
    ws.on('message', (data, isBinary) => this._onMessage(data, isBinary));
    ws.on('ping', () => { this._lastRx = Date.now(); }); // ws sends the pong itself
    ws.on('pong', () => { this._lastRx = Date.now(); });
    ws.on('error', (err) => { if (this._socketError === null) this._socketError = err; }); // 'close' follows
    ws.on('close', (code, reason) => this._onClose(code, reason));
  }

  get bufferedAmount() {
    return this._ws.bufferedAmount;
  }

  /** Sends a signal; resolves when the server's result for it arrives, rejects (Error .code) on a failed result. */
  signal(type, data, toConnectionId) {
    return new Promise((resolve, reject) => {
      const id = this._sendSignal(type, data, toConnectionId); // throws (→ rejects) when it cannot be sent
      this._pending.set(id, { resolve, reject });
    });
  }

  /** Sends the same signal frame without tracking it; throws (Error .code) when it cannot be sent. */
  signalNoAck(type, data, toConnectionId) {
    this._sendSignal(type, data, toConnectionId);
  }

  /** Clean close: a `disconnect` request, answered by the server, which then closes the socket. */
  disconnect() {
    if (this._closed) return Promise.resolve();
    if (!this._closedPromise) this._closedPromise = new Promise((resolve) => { this._resolveClosed = resolve; });
    if (!this._disconnectTimer) {
      if (this._open && this._ws.readyState === WebSocket.OPEN) {
        this._sendRequest({ type: 'disconnect', id: this._nextId, ack: this._pendingAck() });
        this._leaving = true; // results and events still arrive until the server closes
      } else {
        this._ws.close(1000);
      }
      this._disconnectTimer = setTimeout(() => this._ws.terminate(), DISCONNECT_TIMEOUT_MS);
    }
    return this._closedPromise;
  }

  // ---- sending ----

  _sendSignal(type, data, to) {
    if (type === undefined) type = '';
    if (data === undefined) data = '';
    if (typeof type !== 'string' || typeof data !== 'string') throw new TypeError('signal type and data must be strings');
    if (to !== undefined && to !== null && typeof to !== 'string') throw new TypeError('toConnectionId must be a string');
    return this._sendRequest({
      type: 'signal', id: this._nextId, signalType: type, data, to: to === null ? undefined : to, ack: this._pendingAck(),
    });
  }

  /** The seq to piggyback on a request, or undefined (JSON.stringify then leaves the field out). */
  _pendingAck() {
    return this._seq > this._acked ? this._seq : undefined;
  }

  /** Serializes and sends a request whose id is this._nextId; returns the id. */
  _sendRequest(frame) {
    if (!this._open || this._leaving || this._ws.readyState !== WebSocket.OPEN) {
      throw protocolError(1010, this._leaving ? 'disconnecting' : 'not connected');
    }
    const text = JSON.stringify(frame);
    // A frame over maxFrameBytes is discarded by the server without a result: refuse it
    // here, before it takes an id. Only long frames pay for the byte count.
    if (text.length * 3 > this._maxFrameBytes && Buffer.byteLength(text) > this._maxFrameBytes) {
      throw protocolError(4413, `frame of ${Buffer.byteLength(text)} bytes is over the server's limit of ${this._maxFrameBytes}`);
    }
    if (frame.ack !== undefined) this._acked = frame.ack;
    this._ws.send(text);
    return this._nextId++;
  }

  _flushAck() {
    if (this._seq > this._acked && this._open && !this._leaving && this._ws.readyState === WebSocket.OPEN) {
      this._acked = this._seq;
      this._ws.send('{"type":"ack","seq":' + this._seq + '}');
    }
  }

  _scheduleAck() {
    if (this._ackArmed) return;
    this._ackArmed = true;
    if (this._ackTimer === null) this._ackTimer = setTimeout(this._ackTick, ACK_DELAY_MS);
    else this._ackTimer.refresh();
  }

  _keepaliveTick() {
    if (Date.now() - this._lastRx > this._keepaliveTimeout) {
      this._ws.terminate(); // 'close' (1006) follows; the server will see the drop too
      return;
    }
    if (this._ws.readyState === WebSocket.OPEN) this._ws.ping();
  }

  // ---- receiving ----

  _onMessage(data, isBinary) {
    this._lastRx = Date.now();
    if (isBinary) return; // reserved for media; the server sends none in v1
    let f;
    try {
      f = JSON.parse(data); // Buffer → string once, parsed once
    } catch {
      this._fail('frame is not valid JSON');
      return;
    }
    if (f === null || typeof f !== 'object') {
      this._fail('frame is not a JSON object');
      return;
    }
    const seq = f.seq;
    if (seq === undefined) {
      this._onControl(f);
      return;
    }
    if (!this._open) return; // events only follow `connected`
    if (seq <= this._seq) return; // a replayed duplicate (only after a resume, which this client never does)
    if (seq !== this._seq + 1) {
      this._fail(`event seq ${seq} after ${this._seq}`);
      return;
    }
    this._seq = seq;
    this._onEvent(f);
    if (seq - this._acked >= ACK_EVERY) this._flushAck();
    else if (seq > this._acked) this._scheduleAck();
  }

  _onEvent(f) {
    switch (f.type) {
      case 'signal':
        this.onSignal(f.signalType, f.data, f.from);
        return;
      case 'result': {
        const p = this._pending.get(f.id);
        if (p !== undefined) {
          this._pending.delete(f.id);
          if (f.ok) p.resolve();
          else p.reject(fromWire(f.error));
        } else if (!f.ok) {
          this.onError(fromWire(f.error)); // a signalNoAck that failed
        }
        return;
      }
      case 'connectionCreated':
        this.connections.set(f.connection.id, toEntry(f.connection));
        return;
      case 'connectionDestroyed':
        this.connections.delete(f.connection.id);
        return;
      case 'streamCreated':
        this.streams.set(f.stream.id, f.stream);
        return;
      case 'streamDestroyed':
        this.streams.delete(f.stream.id);
        return;
      case 'streamPropertyChanged': {
        const s = this.streams.get(f.streamId);
        if (s !== undefined) s[f.changedProperty] = f.newValue;
        return;
      }
      case 'muteForced':
        if (f.streamId === undefined) this.forceMuteActive = f.active === true;
        return;
      case 'sessionDisconnected':
        this.disconnectReason = f.reason; // the server closes the socket next
        return;
      default:
        return; // an event type of a later minor version: ignored
    }
  }

  _onControl(f) {
    switch (f.type) {
      case 'connected':
        if (this._handshake !== null) this._onConnected(f);
        return;
      case 'error': {
        const err = protocolError(f.code, f.message, f.name);
        if (this._handshake !== null) {
          // a handshake error is fatal: the server closes the socket right after it
          const h = this._handshake;
          this._handshake = null;
          h.reject(err);
          if (!f.fatal) this._ws.close(1000);
          return;
        }
        this.onError(err); // when f.fatal, the server closes the socket next
        return;
      }
      default:
        return; // `pong` (answer to a JSON ping, which this client does not send) and unknown frames
    }
  }

  _onConnected(f) {
    const h = this._handshake;
    this._handshake = null;
    this.connectionId = f.connection.id;
    this.role = f.role;
    this.capabilities = f.capabilities;
    this.limits = f.limits;
    this.forceMuteActive = Boolean(f.forceMute && f.forceMute.active);
    if (f.limits && f.limits.maxFrameBytes > 0) this._maxFrameBytes = f.limits.maxFrameBytes;
    this._seq = this._acked = f.lastSeq || 0;
    this.connections.set(f.connection.id, toEntry(f.connection));
    for (const c of f.connections) this.connections.set(c.id, toEntry(c));
    for (const s of f.streams) this.streams.set(s.id, s);
    const ka = f.keepalive || {};
    const interval = ka.interval > 0 ? ka.interval : 10000;
    this._keepaliveTimeout = ka.timeout > 0 ? ka.timeout : 15000;
    this._keepaliveTimer = setInterval(() => this._keepaliveTick(), interval);
    this._open = true;
    h.resolve(this);
  }

  /** A protocol violation by the server: nothing more can be trusted on this socket. */
  _fail(message) {
    const err = protocolError(1022, `protocol error: ${message}`);
    if (this._handshake !== null) {
      const h = this._handshake;
      this._handshake = null;
      h.reject(err);
    } else {
      this.onError(err);
    }
    this._open = false;
    this._ws.close(1002, 'protocol error');
  }

  _onClose(code, reason) {
    this._open = false;
    this._closed = true;
    this.closeCode = code;
    if (this._keepaliveTimer !== null) clearInterval(this._keepaliveTimer);
    if (this._ackTimer !== null) clearTimeout(this._ackTimer);
    if (this._disconnectTimer !== null) clearTimeout(this._disconnectTimer);
    this._keepaliveTimer = this._ackTimer = this._disconnectTimer = null;
    if (this._handshake !== null) {
      const h = this._handshake;
      this._handshake = null;
      const why = this._socketError !== null ? this._socketError.message : `socket closed (${code}${reason && reason.length ? ': ' + reason : ''})`;
      h.reject(protocolError(1006, `cannot connect: ${why}`));
    }
    if (this._pending.size > 0) {
      const pending = this._pending;
      this._pending = new Map();
      for (const p of pending.values()) p.reject(protocolError(1010, 'the connection closed before the request completed'));
    }
    this.connections.clear();
    this.streams.clear();
    if (this._resolveClosed !== null) this._resolveClosed();
  }
}

/**
 * Opens a WebSocket to the server and completes the `connect` handshake.
 * Resolves with the Client, or rejects with an Error carrying the server's `code`
 * (e.g. 1004 for a bad token) or 1006 when the socket could not be opened.
 */
function connect({ url, apiKey, sessionId, token, connectionEventsSuppressed }) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(withPath(url), 'convene.v1', { perMessageDeflate: false });
    const client = new Client(ws);
    client._handshake = { resolve, reject };
    ws.once('open', () => {
      client._lastRx = Date.now();
      const hello = { type: 'connect', v: 1, apiKey, sessionId, token, sdk: SDK };
      if (connectionEventsSuppressed) hello.connectionEventsSuppressed = true;
      ws.send(JSON.stringify(hello));
    });
  });
}

module.exports = { connect };
