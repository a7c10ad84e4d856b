/**
 * Session: the OpenTok.js `Session` shape over the native core. Events arrive in batches
 * from the core's service thread; this turns them into typed events with stable
 * Connection and Stream objects.
 */
import { OTError, otError } from './errors';
import { K, loadNative, type NativeConn, type NativeSession, type NativeStream } from './native';
import type {
  Capabilities, Connection, ConnectionStatus, PublisherProperties, SessionEvents, SessionOptions,
  SignalEvent, SignalOptions, Stream, SubscriberProperties,
} from './types';
import { Publisher } from './publisher';
import { Subscriber } from './subscriber';
import { Subscriptions } from './subscriptions';
import { EventDispatcher } from './dispatcher';
import { makeEvent } from './events';
import { SignalIterators, type SignalIterator } from './signal-iterators';
import { complete, type CompletionHandler } from './completion';

const SIGNAL_TYPE_RE = /^[A-Za-z0-9\-_~]*$/;

/** Session events that have a default action (see types.ts, SessionEvents). */
const CANCELABLE = new Set<string>(['sessionDisconnected', 'streamDestroyed']);

interface Pending {
  resolve(): void;
  reject(e: OTError): void;
}

export class Session extends EventDispatcher<SessionEvents> {
  readonly sessionId: string;
  readonly apiKey: string;
  /** this client's connection, once connected */
  connection: Connection | undefined;
  /** undefined before the session connects */
  capabilities: Capabilities | undefined;
  connectionStatus: ConnectionStatus = 'disconnected';
  private readonly native: NativeSession;
  private readonly connections = new Map<string, Connection>();
  private readonly streams = new Map<string, Stream>();
  private readonly pending = new Map<number, Pending>();
  private readonly publishers = new Map<number, Publisher>();
  private nextReq = 1;
  private nextPub = 1;
  private connectWaiter: Pending | undefined;
  /** the connect attempt was cancelled (disconnect or abort): its late events are dropped */
  private cancelled = false;
  private readonly selfEvents: boolean;
  /** publishers of this connection whose streamDestroyed was prevented: sessionDisconnected's default action destroys them */
  private readonly keptPublishers = new Set<Publisher>();
  private readonly iterators = new SignalIterators();
  private readonly subs: Subscriptions;

  constructor(apiKey: string, sessionId: string, options: SessionOptions = {}) {
    super();
    if (typeof apiKey !== 'string' || apiKey === '') throw otError(1011, 'apiKey must be a non-empty string');
    if (typeof sessionId !== 'string' || sessionId === '') throw otError(1011, 'sessionId must be a non-empty string');
    if (options.serverUrl !== undefined && !/^wss?:\/\//.test(options.serverUrl)) throw otError(1011, 'serverUrl must be a ws:// or wss:// URL');
    this.apiKey = apiKey;
    this.sessionId = sessionId;
    const { NativeSession } = loadNative();
    this.native = new NativeSession(apiKey, sessionId, { ...options });
    this.native.onEvent = (kind, a, b, c, d, e) => this.onNative(kind, a, b, c, d, e);
    this.subs = new Subscriptions(this, this.native);
    this.selfEvents = options.connectionCreatedForSelf !== false && options.connectionEventsSuppressed !== true;
  }

  /** True while connected (also while reconnecting: the connection is kept). */
  isConnected(): boolean {
    return this.connectionStatus === 'connected' || this.connectionStatus === 'reconnecting';
  }

  /** The local Publisher of a stream, if this client publishes it. */
  getPublisherForStream(stream: { streamId: string } | undefined): Publisher | undefined {
    const id = stream?.streamId;
    if (typeof id !== 'string') return undefined;
    for (const [, pub] of this.publishers) if (pub.stream?.streamId === id) return pub;
    return undefined;
  }

  /** Emits an OpenTok.js event object; returns it (to check isDefaultPrevented). */
  private fire<T extends keyof SessionEvents & string>(type: T, fields: object): SessionEvents[T][0] {
    const event = makeEvent(type, this, fields, CANCELABLE.has(type)) as unknown as SessionEvents[T][0];
    (this.emit as (t: string, e: unknown) => boolean)(type, event);
    return event;
  }

  /**
   * A call without completion handler failed and nobody awaited or caught its promise: the
   * error goes to the exception listeners; with none, a warning is logged.
   */
  private unhandled = (e: OTError): void => {
    if (this.listenerCount('exception') > 0) {
      this.fire('exception', { code: e.code, name: e.name, title: e.name, message: e.message, error: e });
      return;
    }
    process.emitWarning(`${e.name} (${e.code}): ${e.message} (no completion handler, no 'exception' listener)`, { type: 'ConveneWarning', code: e.name });
  };

  // ---- connect / disconnect ----

  /** Connects with a token; resolves once connected (sessionConnected has fired). */
  connect(token: string, handlerOrOptions?: CompletionHandler | { signal?: AbortSignal }): Promise<void> {
    const handler = typeof handlerOrOptions === 'function' ? handlerOrOptions : undefined;
    const abort = typeof handlerOrOptions === 'object' ? handlerOrOptions.signal : undefined;
    const p = new Promise<void>((resolve, reject) => {
      if (typeof token !== 'string' || token === '') return reject(otError(1004, 'token must be a non-empty string'));
      if (this.connectionStatus !== 'disconnected') return reject(otError(1015, `connect: the session is ${this.connectionStatus}`));
      if (abort?.aborted) return reject(abortError(abort));
      const st = this.native.connect(token);
      if (st !== 0) return reject(otError(st === 1015 ? 1015 : 1006, `connect failed (status ${st})`));
      this.cancelled = false;
      this.connectionStatus = 'connecting';
      const waiter: Pending = { resolve, reject };
      this.connectWaiter = waiter;
      abort?.addEventListener('abort', () => {
        if (this.connectWaiter === waiter) this.cancelConnect(abortError(abort));
      }, { once: true });
    });
    return complete(p, handler, this.unhandled);
  }

  /**
   * Disconnects; sessionDisconnected fires (reason clientDisconnected). While connecting, it
   * cancels the attempt instead: connect fails (OT_CONNECT_FAILED), no sessionDisconnected.
   */
  disconnect(): void {
    if (this.connectionStatus === 'disconnected') return;
    if (this.connectionStatus === 'connecting' && this.connectWaiter) {
      this.cancelConnect(otError(1006, 'connect cancelled: disconnect() was called before the session connected'));
      return;
    }
    this.native.disconnect();
  }

  /**
   * Ends a connect attempt from this side. The core drops the attempt with no callback (it
   * never connected), so the session's hold on the event loop is released here. Events of the
   * attempt that were already on their way are dropped (see onNative).
   */
  private cancelConnect(error: Error): void {
    const w = this.connectWaiter;
    this.connectWaiter = undefined;
    this.cancelled = true;
    this.native.disconnect();
    this.native.disconnect(true);
    this.connectionStatus = 'disconnected';
    w?.reject(error as OTError);
  }

  // ---- signals ----

  /** Sends a signal to everyone, or to `to`; resolves when the server accepted it. */
  signal(options: SignalOptions = {}, handler?: CompletionHandler): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      const type = options.type ?? '';
      const data = options.data ?? '';
      if (typeof type !== 'string' || typeof data !== 'string') return reject(otError(1011, 'signal type and data must be strings'));
      if (Buffer.byteLength(type) > 128) return reject(otError(1414, 'signal type is longer than 128 bytes'));
      if (!SIGNAL_TYPE_RE.test(type)) return reject(otError(1461, 'signal type may only contain A-Z a-z 0-9 - _ ~'));
      if (Buffer.byteLength(data) > 8192) return reject(otError(1413, 'signal data is longer than 8192 bytes'));
      const to = options.to?.connectionId;
      if (options.to !== undefined && typeof to !== 'string') return reject(otError(1011, "'to' must be a Connection or have a connectionId"));
      const req = this.nextReq++;
      const st = this.native.signal(req, type, data, to ?? null, options.retryAfterReconnect !== false);
      if (st === 1550) return reject(otError(1010, 'the session is reconnecting and retryAfterReconnect is false: signal not sent', 'OT_NOT_CONNECTED'));
      if (st !== 0) return reject(otError(st === 1010 ? 1010 : st, st === 1010 ? 'the session is not connected' : `signal failed (status ${st})`));
      this.pending.set(req, { resolve, reject });
    });
    return complete(p, handler, this.unhandled);
  }

  /** Async iterator over signals (of one type, if given) until the session disconnects. */
  signals(type?: string): SignalIterator {
    return this.iterators.open(type);
  }

  // ---- publishing ----

  /**
   * Publishes a stream (its media from the Publisher's audioSource / videoSource): a Publisher
   * (from OT.initPublisher), or the properties to make one. Resolves with the Publisher once its stream exists; with a
   * completion handler (OpenTok.js), the handler gets the outcome and the promise resolves with
   * the Publisher either way.
   */
  publish(publisher?: Publisher | PublisherProperties, handler?: CompletionHandler): Promise<Publisher>;
  publish(handler: CompletionHandler): Promise<Publisher>;
  publish(target: Publisher | PublisherProperties | CompletionHandler = {}, handler?: CompletionHandler): Promise<Publisher> {
    if (typeof target === 'function') { handler = target; target = {}; }
    let pub: Publisher | undefined;
    let bad: OTError | undefined;
    try {
      pub = target instanceof Publisher ? target : new Publisher(target ?? {});
    } catch (e) {
      bad = e as OTError;
    }
    const p = new Promise<Publisher>((resolve, reject) => {
      if (bad || !pub) return reject(bad);
      if (pub.isDestroyed) return reject(otError(1011, 'publish: the publisher was destroyed'));
      if (pub.session) return reject(otError(1015, 'publish: the publisher is already published'));
      if (this.connectionStatus !== 'connected') return reject(otError(1010, 'publish: the session is not connected'));
      if (pub.audioSource?.isPublished) return reject(otError(1015, 'publish: its audioSource is already published by another publisher'));
      if (pub.videoSource?.isPublished) return reject(otError(1015, 'publish: its videoSource is already published by another publisher'));
      const id = this.nextPub++;
      const p2 = pub;
      p2.attach(this, { native: this.native, id, onCreated: () => resolve(p2), onFailed: reject });
      const v = p2.videoSource;
      const st = this.native.publish(id, p2.name, p2.publishingAudio, p2.publishingVideo, p2.videoType, p2.audioSource?.queueMs ?? 0,
        v?.width ?? 0, v?.height ?? 0, v?.fps ?? 0);
      if (st !== 0) { p2.failed(otError(1500, `publish failed (status ${st})`)); return; }
      this.publishers.set(id, p2);
      p2.bindSource();
    });
    return complete(p, handler, this.unhandled, pub as Publisher); // pub is undefined only when p rejects
  }

  /** Stops publishing; the Publisher's streamDestroyed fires (its default action destroys it). */
  unpublish(publisher: Publisher): void {
    const id = publisher?.id;
    if (!id || this.publishers.get(id) !== publisher) return;
    this.publishers.delete(id);
    if (!publisher.ended('clientDisconnected')) this.keptPublishers.add(publisher);
    this.native.unpublish(id);
  }

  // ---- subscribing ----

  /**
   * Subscribes to a stream of the session (from streamCreated): resolves with the Subscriber
   * once the server has subscribed it. `properties.audio` chooses the PCM format of its frames
   * (default 48 kHz mono, 10 ms), `properties.video` the pixel format of its video frames
   * (default I420); `audio: false` / `video: false` leave one kind out. OpenTok.js's (stream, targetElement, properties, handler)
   * form is accepted too: the target is ignored.
   */
  subscribe(stream: Stream, properties?: SubscriberProperties, handler?: CompletionHandler): Promise<Subscriber>;
  subscribe(stream: Stream, targetElement: string | null | undefined, properties?: SubscriberProperties, handler?: CompletionHandler): Promise<Subscriber>;
  subscribe(stream: Stream, a?: unknown, b?: unknown, c?: unknown): Promise<Subscriber> {
    const targetForm = a === null || typeof a === 'string' || (a === undefined && b !== undefined && typeof b !== 'function');
    const properties = (targetForm ? b : a) as SubscriberProperties | undefined;
    const handler = (targetForm ? c : b) as CompletionHandler | undefined;
    const p = this.subs.subscribe(stream, properties ?? {}, this.connectionStatus);
    return complete(p, handler, this.unhandled, undefined as unknown as Subscriber);
  }

  /** Stops a subscription: its iterators end, its `destroyed` fires (reason 'unsubscribed'). */
  unsubscribe(subscriber: Subscriber): void {
    this.subs.unsubscribe(subscriber, 'unsubscribed');
  }

  /** This session's Subscribers of a stream (OpenTok.js). */
  getSubscribersForStream(stream: { streamId: string } | undefined): Subscriber[] {
    return this.subs.forStream(stream?.streamId);
  }

  /** A stream of the session by id, while it exists. @internal */
  streamById(id: string): Stream | undefined {
    return this.streams.get(id);
  }

  // ---- moderation ----

  forceDisconnect(connection: { connectionId: string }, handler?: CompletionHandler): Promise<void> {
    return this.moderate('forceDisconnect', connection?.connectionId, [], handler);
  }
  forceUnpublish(stream: { streamId: string }, handler?: CompletionHandler): Promise<void> {
    return this.moderate('forceUnpublish', stream?.streamId, [], handler);
  }
  forceMuteStream(stream: { streamId: string }, handler?: CompletionHandler): Promise<void> {
    return this.moderate('forceMuteStream', stream?.streamId, [], handler);
  }
  forceMuteAll(excludedStreams: Array<{ streamId: string }> = [], handler?: CompletionHandler): Promise<void> {
    return this.moderate('forceMuteAll', null, excludedStreams.map((s) => s.streamId), handler);
  }
  disableForceMute(handler?: CompletionHandler): Promise<void> {
    return this.moderate('disableForceMute', null, [], handler);
  }

  private moderate(op: string, target: string | null | undefined, ids: string[], handler?: CompletionHandler): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      if (target === undefined || (target !== null && typeof target !== 'string')) return reject(otError(1011, `${op}: missing target`));
      const req = this.nextReq++;
      const st = this.native.moderate(req, op, target, ids);
      if (st !== 0) return reject(otError(st === 1010 ? 1010 : 1011, `${op} failed (status ${st})`));
      this.pending.set(req, { resolve, reject });
    });
    return complete(p, handler, this.unhandled);
  }

  /** `await using session = initSession(...)`: disconnects and frees the native session. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.connectionStatus !== 'disconnected') {
      const gone = new Promise<void>((r) => super.once('sessionDisconnected', () => r()));
      this.disconnect();
      await gone;
    }
    this.native.close();
  }

  // ---- events from the core ----

  private intern(c: NativeConn): Connection {
    let conn = this.connections.get(c.connectionId);
    if (!conn) {
      conn = Object.freeze({ connectionId: c.connectionId, creationTime: c.creationTime, data: c.data });
      this.connections.set(c.connectionId, conn);
    }
    return conn;
  }

  private streamOf(s: NativeStream): Stream {
    let stream = this.streams.get(s.streamId);
    if (!stream) {
      const owner = this.connections.get(s.connectionId) ?? this.intern({ connectionId: s.connectionId, creationTime: 0, data: '' });
      stream = {
        streamId: s.streamId, connection: owner, creationTime: s.creationTime, name: s.name, hasAudio: s.hasAudio,
        hasVideo: s.hasVideo, videoType: s.videoType, videoDimensions: { ...s.videoDimensions }, frameRate: undefined,
      };
      this.streams.set(s.streamId, stream);
    }
    return stream;
  }

  /** One event from the native core (layout: K in ./native). */
  private onNative(kind: number, a: unknown, b: unknown, c: unknown, d: unknown, e: unknown): void {
    // A cancelled connect attempt: what it sent before the core saw the cancel is dropped.
    if (this.cancelled && this.connectionStatus === 'disconnected' && kind !== K.Done && kind !== K.Disconnected) return;
    switch (kind) {
      case K.Signal: {
        // the hot path: the sender is known from its connectionCreated unless those are suppressed
        const fromId = c as string | null;
        let from: Connection | null = null;
        if (fromId !== null) {
          from = this.connections.get(fromId)
            ?? this.intern({ connectionId: fromId, creationTime: (d as number | undefined) ?? 0, data: (e as string | undefined) ?? '' });
        }
        const event: SignalEvent = makeEvent(a as string, this, { data: b as string, from });
        this.iterators.push(event);
        this.emit('signal', event);
        this.emit(`signal:${event.type}`, event);
        return;
      }
      case K.Done: {
        const p = this.pending.get(a as number);
        if (!p) return;
        this.pending.delete(a as number);
        if (b === 0) p.resolve();
        else p.reject(otError(b as number, c as string));
        return;
      }
      case K.Connected: {
        // rejoined as a new connection: the lost one is no longer a connection of the session
        if (this.connection && this.connection.connectionId !== a) this.connections.delete(this.connection.connectionId);
        this.connection = this.intern({ connectionId: a as string, creationTime: b as number, data: c as string });
        const bits = d as number;
        const mod = bits & 4 ? 1 : 0;
        this.capabilities = {
          forceDisconnect: mod, forceUnpublish: mod, forceMute: bits & 2 ? 1 : 0, publish: bits & 1 ? 1 : 0,
          subscribe: e === 'publisheronly' ? 0 : 1,
        };
        this.connectionStatus = 'connected';
        const w = this.connectWaiter;
        this.connectWaiter = undefined;
        this.fire('sessionConnected', {});
        // OpenTok.js: connectionCreated fires for every connection, "including your own"
        if (this.selfEvents && this.connection) this.fire('connectionCreated', { connection: this.connection });
        w?.resolve();
        return;
      }
      case K.Disconnected: {
        const reason = a as string;
        const was = this.connectionStatus;
        this.connectionStatus = 'disconnected';
        for (const [, p] of this.pending) p.reject(otError(1010, 'the session disconnected before the request completed'));
        this.pending.clear();
        for (const [id, pub] of this.publishers) {
          if (!pub.ended(reason)) this.keptPublishers.add(pub);
          this.native.unpublish(id);
        }
        const kept = [...this.keptPublishers].filter((pub) => pub.session === undefined);
        this.keptPublishers.clear();
        this.publishers.clear();
        this.subs.sessionGone(reason as SessionEvents['sessionDisconnected'][0]['reason']);
        this.streams.clear();
        this.connections.clear();
        this.connection = undefined;
        this.capabilities = undefined;
        this.iterators.end();
        if (was === 'disconnected') return;
        const event = this.fire('sessionDisconnected', { reason });
        // the default action (OpenTok.js): the session's publishers are destroyed
        if (!event.isDefaultPrevented()) for (const pub of kept) pub.sessionEnded(reason);
        return;
      }
      case K.Error: {
        const err = otError(a as number, b as string);
        if (this.connectionStatus === 'connecting' && this.connectWaiter) {
          // the connect call reports it: to its handler, its promise, or (neither) exception
          const w = this.connectWaiter;
          this.connectWaiter = undefined;
          this.connectionStatus = 'disconnected';
          this.native.disconnect(true);
          w.reject(err);
          return;
        }
        if (this.listenerCount('exception') > 0) this.fire('exception', { code: err.code, name: err.name, title: err.name, message: err.message, error: err });
        return;
      }
      case K.ConnectionCreated: {
        const connection = this.intern({ connectionId: a as string, creationTime: b as number, data: c as string });
        if (connection === this.connection && this.selfEvents) return; // already announced after sessionConnected
        this.fire('connectionCreated', { connection });
        return;
      }
      case K.ConnectionDropped: {
        const connection = this.intern({ connectionId: a as string, creationTime: b as number, data: c as string });
        this.connections.delete(connection.connectionId);
        this.fire('connectionDestroyed', { connection, reason: d as SessionEvents['connectionDestroyed'][0]['reason'] });
        return;
      }
      case K.StreamReceived:
        this.fire('streamCreated', { stream: this.streamOf(a as NativeStream) });
        return;
      case K.StreamDropped: {
        const stream = this.streamOf(a as NativeStream);
        this.streams.delete(stream.streamId);
        const reason = b as SessionEvents['streamDestroyed'][0]['reason'];
        this.fire('streamDestroyed', { stream, reason });
        // the default action (OpenTok.js): the stream's subscribers are destroyed. Here they
        // are, prevented or not: nothing arrives for a stream that is gone.
        this.subs.streamGone(stream.streamId, reason);
        return;
      }
      case K.StreamAudio:
      case K.StreamVideo: {
        const stream = this.streams.get(a as string);
        if (!stream) return;
        const prop = kind === K.StreamAudio ? 'hasAudio' : 'hasVideo';
        const oldValue = stream[prop];
        stream[prop] = b as boolean;
        this.fire('streamPropertyChanged', { stream, changedProperty: prop, oldValue, newValue: b as boolean });
        return;
      }
      case K.StreamDims: {
        const stream = this.streams.get(a as string);
        if (!stream) return;
        const oldValue = stream.videoDimensions;
        stream.videoDimensions = { width: b as number, height: c as number };
        this.fire('streamPropertyChanged', { stream, changedProperty: 'videoDimensions', oldValue, newValue: stream.videoDimensions });
        return;
      }
      case K.StreamVideoType: {
        const stream = this.streams.get(a as string);
        if (stream) stream.videoType = b as Stream['videoType'];
        return;
      }
      case K.Reconnecting:
        this.connectionStatus = 'reconnecting';
        this.fire('sessionReconnecting', {});
        return;
      case K.Reconnected:
        this.connectionStatus = 'connected';
        this.fire('sessionReconnected', {});
        return;
      case K.MuteForced: {
        // The core turned off the audio of the publishers the moderator muted: tell them.
        if (a === true) {
          for (const [id, pub] of this.publishers) {
            if (pub.publishingAudio && this.native.getPublish(id, 'audio') === 0) pub.forceMuted();
          }
        }
        this.fire('muteForced', { active: a as boolean });
        return;
      }
      case K.PubCreated: {
        const s = b as NativeStream;
        const mine = s.connectionId === this.connection?.connectionId && this.connection;
        this.publishers.get(a as number)?.created(this.intern(mine
          ? { connectionId: s.connectionId, creationTime: mine.creationTime, data: mine.data }
          : { connectionId: s.connectionId, creationTime: 0, data: '' }), s);
        return;
      }
      case K.PubDestroyed: {
        const pub = this.publishers.get(a as number);
        if (!pub) return;
        this.publishers.delete(a as number);
        if (!pub.ended(c as string)) this.keptPublishers.add(pub);
        this.native.unpublish(a as number);
        return;
      }
      case K.SignalUndelivered: {
        // the addressee is usually gone: described by its id, not added back to the connections
        const id = b as string;
        const to = this.connections.get(id) ?? Object.freeze({ connectionId: id, creationTime: 0, data: '' });
        const code = c as number;
        const error = otError(code, d as string, code === 1560 ? 'CONVENE_SIGNAL_UNDELIVERED' : undefined);
        this.fire('signalUndelivered', { to, signalType: a as string, error });
        return;
      }
      case K.PubAudioSpace:
        this.publishers.get(a as number)?.audioSpace();
        return;
      case K.SubAudio:
        this.subs.get(a as number)?.audio(b as Int16Array[], c as Float64Array, d as number);
        return;
      case K.SubVideo:
        this.subs.get(a as number)?.video(b as Uint8Array[], c as Float64Array, d as number);
        return;
      case K.SubVideoEnabled:
      case K.SubVideoDisabled:
        this.subs.get(a as number)?.videoState(kind === K.SubVideoEnabled, b as number);
        return;
      case K.SubConnected:
      case K.SubDisconnected:
      case K.SubError:
        this.subs.onEvent(kind, a as number, b as number, c as string);
        return;
      case K.PubError: {
        const pub = this.publishers.get(a as number);
        if (!pub) return;
        this.publishers.delete(a as number);
        const code = b as number;
        pub.failed(otError(code === 1010 ? 1010 : 1500, c as string, code === 1010 ? undefined : 'OT_PERMISSION_DENIED'));
        this.native.unpublish(a as number);
        return;
      }
    }
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : Object.assign(new Error('connect aborted'), { name: 'AbortError' });
}


