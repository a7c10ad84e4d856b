/**
 * The browser Session, in the shape of OpenTok.js: connect(token, callback), events
 * (sessionConnected, connectionCreated / Destroyed, streamCreated / Destroyed,
 * streamPropertyChanged, signal and signal:<type>, sessionReconnecting / Reconnected,
 * sessionDisconnected, muteForced), signal(), moderation. Media (publish / subscribe over
 * WebRTC) is in media.ts. Over lib/web/protocol.ts: exactly-once signals through reconnections.
 */
import type { WireConnection, WireStream } from '../wire';
import { Emitter, makeEvent, type OTEvent } from './emitter';
import { ProtocolClient, ProtocolError, type EndReason, type WebSocketFactory, type WireRequest } from './protocol';

export interface Connection {
  readonly connectionId: string;
  readonly creationTime: number;
  readonly data: string;
}

export interface Stream {
  readonly streamId: string;
  readonly connection: Connection;
  readonly creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: string;
  videoDimensions: { width: number; height: number };
}

export interface OTError {
  code: number;
  name: string;
  message: string;
}

export type Completion = (error?: OTError) => void;

type SessionEvent<T extends string, F extends object = object> = OTEvent<T, Session, F>;

export interface SessionEvents {
  sessionConnected: SessionEvent<'sessionConnected'>;
  sessionDisconnected: SessionEvent<'sessionDisconnected', { reason: EndReason }>;
  sessionReconnecting: SessionEvent<'sessionReconnecting'>;
  sessionReconnected: SessionEvent<'sessionReconnected'>;
  connectionCreated: SessionEvent<'connectionCreated', { connection: Connection }>;
  connectionDestroyed: SessionEvent<'connectionDestroyed', { connection: Connection; reason: string }>;
  streamCreated: SessionEvent<'streamCreated', { stream: Stream }>;
  streamDestroyed: SessionEvent<'streamDestroyed', { stream: Stream; reason: string }>;
  streamPropertyChanged: SessionEvent<'streamPropertyChanged', { stream: Stream; changedProperty: string; oldValue: unknown; newValue: unknown }>;
  signal: SessionEvent<string, { data: string; from: Connection | null }>;
  muteForced: SessionEvent<'muteForced', { active: boolean }>;
  streamInterrupted: SessionEvent<'streamInterrupted', { stream: Stream }>;
  streamRestored: SessionEvent<'streamRestored', { stream: Stream }>;
  keyframeRequested: SessionEvent<'keyframeRequested', { streamId: string }>;
  [signalType: `signal:${string}`]: SessionEvent<string, { data: string; from: Connection | null }>;
}

export interface SessionOptions {
  /** the server's WebSocket URL; default: the page's origin (ws[s]://host/v1) */
  serverUrl?: string;
  connectionEventsSuppressed?: boolean;
  createSocket?: WebSocketFactory;
}

export interface SignalOptions {
  type?: string;
  data?: string;
  to?: Connection;
  retryAfterReconnect?: boolean;
}

function otError(e: unknown): OTError {
  if (e instanceof ProtocolError) return { code: e.code, name: e.errorName, message: e.message };
  const m = e instanceof Error ? e.message : String(e);
  return { code: 2000, name: 'OT_INTERNAL_ERROR', message: m };
}

function defaultUrl(): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (!loc) throw new Error('convene/web: no serverUrl and no page location');
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/v1`;
}

export class Session extends Emitter<SessionEvents> {
  readonly connections = new Map<string, Connection>();
  readonly streams = new Map<string, Stream>();
  connection: Connection | undefined;
  capabilities: Record<string, number> = {};
  private client: ProtocolClient | undefined;
  private state: 'disconnected' | 'connecting' | 'connected' | 'reconnecting' = 'disconnected';

  constructor(readonly apiKey: string, readonly sessionId: string, private readonly options: SessionOptions = {}) {
    super();
  }

  get isConnected(): boolean {
    return this.state === 'connected' || this.state === 'reconnecting';
  }

  /** OpenTok.js: connect(token, completionHandler). Also returns a promise. */
  connect(token: string, callback?: Completion): Promise<void> {
    const p = this.doConnect(token);
    p.then(() => callback?.(), (e: OTError) => callback?.(e));
    return callback ? p.catch(() => undefined) : p;
  }

  private async doConnect(token: string): Promise<void> {
    if (this.state !== 'disconnected') throw { code: 1015, name: 'OT_ILLEGAL_STATE', message: 'connect() while connected or connecting' } satisfies OTError;
    this.state = 'connecting';
    const client = new ProtocolClient({
      url: this.options.serverUrl ?? defaultUrl(), apiKey: this.apiKey, sessionId: this.sessionId, token,
      connectionEventsSuppressed: this.options.connectionEventsSuppressed, createSocket: this.options.createSocket,
    }, {
      event: (f) => this.onEvent(f),
      reconnecting: () => { this.state = 'reconnecting'; this.fire('sessionReconnecting', {}); },
      reconnected: () => { this.state = 'connected'; this.fire('sessionReconnected', {}); },
      disconnected: (reason) => this.onEnd(reason),
    });
    this.client = client;
    let info;
    try {
      info = await client.connect();
    } catch (e) {
      this.state = 'disconnected';
      this.client = undefined;
      throw otError(e);
    }
    this.connection = this.connectionOf(info.connection);
    this.capabilities = info.capabilities;
    this.state = 'connected';
    this.fire('sessionConnected', {});
    for (const c of info.connections) this.fire('connectionCreated', { connection: this.connectionOf(c) });
    for (const s of info.streams) this.fire('streamCreated', { stream: this.streamOf(s) });
  }

  disconnect(): void {
    void this.client?.disconnect();
  }

  /** OpenTok.js: signal({type, data, to, retryAfterReconnect}, completionHandler). */
  signal(o: SignalOptions, callback?: Completion): Promise<void> {
    const p = this.request({ type: 'signal', signalType: o.type ?? '', data: o.data ?? '', ...(o.to ? { to: o.to.connectionId } : {}) }, o.retryAfterReconnect ?? true)
      .then(() => undefined);
    p.then(() => callback?.(), (e: OTError) => callback?.(e));
    return callback ? p.catch(() => undefined) : p;
  }

  forceDisconnect(connection: Connection, callback?: Completion): Promise<void> {
    return this.moderate({ type: 'forceDisconnect', connectionId: connection.connectionId }, callback);
  }

  forceUnpublish(stream: Stream, callback?: Completion): Promise<void> {
    return this.moderate({ type: 'forceUnpublish', streamId: stream.streamId }, callback);
  }

  forceMuteStream(stream: Stream, callback?: Completion): Promise<void> {
    return this.moderate({ type: 'forceMuteStream', streamId: stream.streamId }, callback);
  }

  forceMuteAll(excludedStreams: Stream[] = [], callback?: Completion): Promise<void> {
    return this.moderate({ type: 'forceMuteAll', excludedStreamIds: excludedStreams.map((s) => s.streamId) }, callback);
  }

  disableForceMute(callback?: Completion): Promise<void> {
    return this.moderate({ type: 'disableForceMute' }, callback);
  }

  /** A request on the session's protocol client; rejects with an OTError. For media.ts. */
  async request(body: WireRequest, retryAfterReconnect = true): Promise<Record<string, unknown>> {
    if (!this.client) throw { code: 1010, name: 'OT_NOT_CONNECTED', message: 'not connected' } satisfies OTError;
    try {
      return await this.client.request(body, retryAfterReconnect);
    } catch (e) {
      throw otError(e);
    }
  }

  private moderate(body: WireRequest, callback?: Completion): Promise<void> {
    const p = this.request(body).then(() => undefined);
    p.then(() => callback?.(), (e: OTError) => callback?.(e));
    return callback ? p.catch(() => undefined) : p;
  }

  protected fire(type: string, fields: object, cancelable = false): void {
    this.emit(type, makeEvent(type, this, fields, cancelable));
  }

  private connectionOf(c: WireConnection): Connection {
    const known = this.connections.get(c.id);
    if (known) return known;
    const conn: Connection = { connectionId: c.id, creationTime: c.creationTime, data: c.data };
    this.connections.set(c.id, conn);
    return conn;
  }

  private streamOf(s: WireStream): Stream {
    const known = this.streams.get(s.id);
    if (known) return known;
    const stream: Stream = {
      streamId: s.id, connection: this.connections.get(s.connectionId) ?? { connectionId: s.connectionId, creationTime: 0, data: '' },
      creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio, hasVideo: s.hasVideo, videoType: s.videoType,
      videoDimensions: { ...s.videoDimensions },
    };
    this.streams.set(s.id, stream);
    return stream;
  }

  private onEvent(f: Record<string, unknown>): void {
    switch (f['type']) {
      case 'connectionCreated':
        this.fire('connectionCreated', { connection: this.connectionOf(f['connection'] as WireConnection) });
        return;
      case 'connectionDestroyed': {
        const c = f['connection'] as WireConnection;
        const connection = this.connectionOf(c);
        this.connections.delete(c.id);
        this.fire('connectionDestroyed', { connection, reason: String(f['reason']) });
        return;
      }
      case 'streamCreated':
        this.fire('streamCreated', { stream: this.streamOf(f['stream'] as WireStream) });
        return;
      case 'streamDestroyed': {
        const s = f['stream'] as WireStream;
        const stream = this.streamOf(s);
        this.streams.delete(s.id);
        this.fire('streamDestroyed', { stream, reason: String(f['reason']) }, true);
        return;
      }
      case 'streamPropertyChanged': {
        const stream = this.streams.get(String(f['streamId']));
        if (!stream) return;
        const prop = String(f['changedProperty']);
        (stream as unknown as Record<string, unknown>)[prop] = f['newValue'];
        this.fire('streamPropertyChanged', { stream, changedProperty: prop, oldValue: f['oldValue'], newValue: f['newValue'] });
        return;
      }
      case 'signal': {
        const from = f['from'] === null ? null : this.connections.get(String(f['from'])) ?? null;
        const type = String(f['signalType'] ?? '');
        const fields = { data: String(f['data'] ?? ''), from };
        this.emit('signal', makeEvent('signal', this, fields));
        if (type) this.emit(`signal:${type}`, makeEvent(`signal:${type}`, this, fields));
        return;
      }
      case 'muteForced':
        this.fire('muteForced', { active: f['active'] === true });
        return;
      case 'streamInterrupted':
      case 'streamRestored': {
        const stream = this.streams.get(String(f['streamId']));
        if (stream) this.fire(String(f['type']), { stream });
        return;
      }
      case 'keyframeRequested':
        this.fire('keyframeRequested', { streamId: String(f['streamId']) });
        return;
      default:
    }
  }

  private onEnd(reason: EndReason): void {
    this.state = 'disconnected';
    this.client = undefined;
    this.fire('sessionDisconnected', { reason }, true);
    this.connections.clear();
    this.streams.clear();
  }
}
