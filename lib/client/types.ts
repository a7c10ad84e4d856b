/** Public types of the client API: the shapes of OpenTok.js (see ../shared reference, section 2). */
import type { OTError } from './errors';

export type VideoType = 'camera' | 'screen' | 'custom';
export interface VideoDimensions { width: number; height: number }

/** A client's connection. The same object is handed out each time for the same id. */
export interface Connection {
  readonly connectionId: string;
  readonly creationTime: number;
  readonly data: string;
}

/** A stream. The same object each time for the same id; its properties follow updates. */
export interface Stream {
  readonly streamId: string;
  readonly connection: Connection;
  readonly creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: VideoType;
  videoDimensions: VideoDimensions;
  /** media is not part of this version */
  readonly frameRate: number | undefined;
}

/** 1 or 0, as in OpenTok.js. */
export interface Capabilities {
  forceDisconnect: 0 | 1;
  forceUnpublish: 0 | 1;
  forceMute: 0 | 1;
  publish: 0 | 1;
  subscribe: 0 | 1;
}

export type ConnectionStatus = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';
export type SessionDisconnectReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected' | 'serverRotation';
export type ConnectionDestroyedReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected';
export type StreamDestroyedReason = ConnectionDestroyedReason | 'forceUnpublished' | 'mediaStopped';

export interface SignalEvent { type: string; data: string; from: Connection | null }

export type StreamPropertyChangedEvent =
  | { stream: Stream; changedProperty: 'hasAudio' | 'hasVideo'; oldValue: boolean; newValue: boolean }
  | { stream: Stream; changedProperty: 'videoDimensions'; oldValue: VideoDimensions; newValue: VideoDimensions };

/** Event map of Session: name → listener arguments. `signal:<type>` listeners get a SignalEvent too. */
export interface SessionEvents {
  sessionConnected: [event: { target: unknown }];
  sessionDisconnected: [event: { reason: SessionDisconnectReason }];
  sessionReconnecting: [event: Record<string, never>];
  sessionReconnected: [event: Record<string, never>];
  connectionCreated: [event: { connection: Connection }];
  connectionDestroyed: [event: { connection: Connection; reason: ConnectionDestroyedReason }];
  streamCreated: [event: { stream: Stream }];
  streamDestroyed: [event: { stream: Stream; reason: StreamDestroyedReason }];
  streamPropertyChanged: [event: StreamPropertyChangedEvent];
  signal: [event: SignalEvent];
  muteForced: [event: { active: boolean }];
  exception: [event: { code: number; name: string; message: string; error: OTError }];
  signalUndelivered: [event: SignalUndeliveredEvent];
}

/**
 * A signal this session sent, that the server had accepted (its promise resolved), could not
 * be delivered to one addressee: that connection ended for good before receiving it. One
 * event per (signal, addressee). `to` is the addressee (it may already be destroyed).
 */
export interface SignalUndeliveredEvent {
  type: 'signalUndelivered';
  to: Connection;
  signalType: string;
  /** code 1560, name CONVENE_SIGNAL_UNDELIVERED */
  error: OTError;
}

export interface SessionOptions {
  /** ws:// or wss:// URL of the Convene server; default env CONVENE_SERVER_URL, else ws://127.0.0.1:4100 */
  serverUrl?: string;
  connectionEventsSuppressed?: boolean;
  /** handshake timeout in ms (default 10000) */
  connectTimeout?: number;
  /** wss://: PEM CA bundle to verify the server with */
  caFile?: string;
  /** wss://: set false to skip certificate verification (testing only) */
  tlsVerify?: boolean;
  /**
   * when resuming after a drop is impossible, join again as a new connection (default false);
   * connectionDestroyed/streamDestroyed then come for peers that left meanwhile
   */
  rejoin?: boolean;
  /** with rejoin: how long (ms) to keep trying while the server cannot be reached (default 60000) */
  rejoinTimeout?: number;
  /** reconnection delays in ms: base, growth factor, cap (default 250, 2, 5000), each with 50-100 % jitter */
  reconnectBackoff?: { base?: number; factor?: number; cap?: number };
  /**
   * How many signals/requests may be queued while the session reconnects (default 1000);
   * past it a signal fails with 1550. Requests already in flight when the connection
   * dropped do not count.
   */
  maxQueued?: number;
  /**
   * Keepalive in ms: ping every `interval`, take the connection for dead (and reconnect) when
   * nothing came for `timeout`. Default: the server's (10000 / 15000). Bots on good networks
   * may want e.g. {interval: 1000, timeout: 3000}. A missing one follows the 2:3 ratio.
   */
  keepalive?: { interval?: number; timeout?: number };
}

export interface SignalOptions {
  type?: string;
  data?: string;
  /** a Connection, or any object with its connectionId */
  to?: { connectionId: string };
  retryAfterReconnect?: boolean;
}

export interface PublishOptions {
  name?: string;
  hasAudio?: boolean;
  hasVideo?: boolean;
  videoType?: VideoType;
}

export type CompletionHandler = (error?: OTError) => void;
