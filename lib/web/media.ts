/**
 * Media for the browser client, in the shape of OpenTok.js: OT.initPublisher(target, properties),
 * session.publish(publisher), session.subscribe(stream, target, properties),
 * session.unsubscribe / unpublish / getSubscribersForStream, publisher.publishAudio / Video,
 * subscriber.getStats(callback). One RTCPeerConnection per published stream and per
 * subscription, negotiated with the server's WebRTC edge over the session's protocol
 * (rtcPublish / rtcSubscribe / rtcClose, docs/protocol.md revision 1.2): the browser offers,
 * the server answers; ICE host candidates, gathered before the offer goes.
 *
 * Browser-only (DOM, WebRTC): type-checked by tsconfig.web.json, bundled by esbuild.
 */
import type { WireStream } from '../wire';
import { Emitter, makeEvent, type OTEvent } from './emitter';
import { Session, type Completion, type OTError, type SessionOptions, type Stream } from './session';

export interface PublisherProperties {
  name?: string;
  publishAudio?: boolean;
  publishVideo?: boolean;
  /** false: no microphone; a MediaStreamTrack: that track; default: the microphone */
  audioSource?: boolean | MediaStreamTrack | null;
  /** false: no camera; a MediaStreamTrack: that track; default: the camera */
  videoSource?: boolean | MediaStreamTrack | null;
  /** "640x480" style, default "640x480" */
  resolution?: string;
  frameRate?: number;
  insertMode?: 'replace' | 'append';
  width?: number | string;
  height?: number | string;
}

export interface SubscriberProperties {
  subscribeToAudio?: boolean;
  subscribeToVideo?: boolean;
  insertMode?: 'replace' | 'append';
  width?: number | string;
  height?: number | string;
}

/** OpenTok.js's subscriber.getStats() fields. */
export interface SubscriberStats {
  timestamp: number;
  audio: { packetsReceived: number; packetsLost: number; bytesReceived: number; audioLevel: number; totalAudioEnergy: number };
  video: { packetsReceived: number; packetsLost: number; bytesReceived: number; frameRate: number; framesDecoded: number; width: number; height: number };
}

type PubEvent<T extends string, F extends object = object> = OTEvent<T, Publisher, F>;
export interface PublisherEvents {
  accessAllowed: PubEvent<'accessAllowed'>;
  accessDenied: PubEvent<'accessDenied', { message: string }>;
  videoElementCreated: PubEvent<'videoElementCreated', { element: HTMLVideoElement }>;
  streamCreated: PubEvent<'streamCreated', { stream: Stream }>;
  streamDestroyed: PubEvent<'streamDestroyed', { stream: Stream; reason: string }>;
  destroyed: PubEvent<'destroyed'>;
}

type SubEvent<T extends string, F extends object = object> = OTEvent<T, Subscriber, F>;
export interface SubscriberEvents {
  videoElementCreated: SubEvent<'videoElementCreated', { element: HTMLVideoElement }>;
  connected: SubEvent<'connected'>;
  disconnected: SubEvent<'disconnected'>;
  destroyed: SubEvent<'destroyed', { reason: string }>;
  audioLevelUpdated: SubEvent<'audioLevelUpdated', { audioLevel: number }>;
}

function elementOf(target: HTMLElement | string | null | undefined): HTMLElement | null {
  if (!target) return null;
  return typeof target === 'string' ? document.getElementById(target) : target;
}

/** The page's video element for `stream`; none without a DOM (the client under Node, with a WebRTC module's globals). */
function videoElement(target: HTMLElement | null, stream: MediaStream, muted: boolean, o: { insertMode?: string; width?: number | string; height?: number | string }): HTMLVideoElement | undefined {
  if (typeof document === 'undefined') return undefined;
  const v = document.createElement('video');
  v.autoplay = true;
  v.playsInline = true;
  v.muted = muted;
  v.srcObject = stream;
  if (o.width !== undefined) v.style.width = typeof o.width === 'number' ? `${o.width}px` : o.width;
  if (o.height !== undefined) v.style.height = typeof o.height === 'number' ? `${o.height}px` : o.height;
  if (target) {
    if (o.insertMode === 'append') target.appendChild(v);
    else target.replaceChildren(v);
  }
  void v.play().catch(() => undefined); // autoplay policies: muted video plays; sound may wait for a gesture
  return v;
}

/** Waits until ICE gathering completes (host candidates: quick), at most `ms`. */
function gathered(pc: RTCPeerConnection, ms = 3000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      pc.removeEventListener('icegatheringstatechange', check);
      clearTimeout(timer);
      resolve();
    };
    const check = (): void => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** Keeps only Opus and VP8 (the codecs the server forwards) on a transceiver. */
function preferCodecs(t: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
  const caps = (t.direction === 'sendonly' ? RTCRtpSender : RTCRtpReceiver).getCapabilities(kind);
  if (!caps || typeof t.setCodecPreferences !== 'function') return;
  const want = kind === 'audio' ? 'audio/opus' : 'video/vp8';
  const codecs = caps.codecs.filter((c) => c.mimeType.toLowerCase() === want);
  if (codecs.length > 0) t.setCodecPreferences(codecs);
}

export class Publisher extends Emitter<PublisherEvents> {
  element: HTMLVideoElement | undefined;
  stream: Stream | undefined;
  session: WebSession | undefined;
  private media: MediaStream | undefined;
  private pc: RTCPeerConnection | undefined;
  private ready: Promise<void>;
  private audioOn: boolean;
  private videoOn: boolean;

  constructor(target: HTMLElement | string | null | undefined, readonly properties: PublisherProperties = {}, callback?: Completion) {
    super();
    this.audioOn = properties.publishAudio ?? true;
    this.videoOn = properties.publishVideo ?? true;
    this.ready = this.acquire(elementOf(target)).then(
      () => { this.fire('accessAllowed', {}); callback?.(); },
      (e: unknown) => {
        const message = e instanceof Error ? e.message : String(e);
        this.fire('accessDenied', { message });
        const err: OTError = { code: 1500, name: 'OT_USER_MEDIA_ACCESS_DENIED', message };
        callback?.(err);
        throw err;
      },
    );
    this.ready.catch(() => undefined);
  }

  /** The MediaStream being published (camera and microphone, or the tracks given). */
  get mediaStream(): MediaStream | undefined {
    return this.media;
  }

  private async acquire(target: HTMLElement | null): Promise<void> {
    const p = this.properties;
    const tracks: MediaStreamTrack[] = [];
    const [w, h] = (p.resolution ?? '640x480').split('x').map(Number);
    const wantAudio = p.audioSource !== false && p.audioSource !== null;
    const wantVideo = p.videoSource !== false && p.videoSource !== null;
    const constraints: MediaStreamConstraints = {
      audio: wantAudio && !(p.audioSource instanceof MediaStreamTrack),
      video: wantVideo && !(p.videoSource instanceof MediaStreamTrack) ? { width: w, height: h, frameRate: p.frameRate ?? 30 } : false,
    };
    if (constraints.audio || constraints.video) tracks.push(...(await navigator.mediaDevices.getUserMedia(constraints)).getTracks());
    if (p.audioSource instanceof MediaStreamTrack) tracks.push(p.audioSource);
    if (p.videoSource instanceof MediaStreamTrack) tracks.push(p.videoSource);
    this.media = new MediaStream(tracks);
    for (const t of this.media.getAudioTracks()) t.enabled = this.audioOn;
    for (const t of this.media.getVideoTracks()) t.enabled = this.videoOn;
    this.element = videoElement(target, this.media, true, p);
    if (this.element) this.fire('videoElementCreated', { element: this.element });
  }

  /** Called by WebSession.publish. */
  async start(session: WebSession): Promise<Stream> {
    await this.ready;
    const media = this.media as MediaStream;
    const video = media.getVideoTracks()[0];
    const settings = video?.getSettings();
    const r = await session.request({
      type: 'publish', name: this.properties.name ?? '', hasAudio: this.audioOn && media.getAudioTracks().length > 0,
      hasVideo: this.videoOn && !!video, videoType: 'camera',
      ...(settings?.width && settings.height ? { videoDimensions: { width: settings.width, height: settings.height } } : {}),
    });
    const wire = r['stream'] as WireStream;
    this.session = session;
    const stream = session.streamFor(wire);
    this.stream = stream;
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    for (const t of media.getTracks()) {
      const tr = pc.addTransceiver(t, { direction: 'sendonly', streams: [media] });
      preferCodecs(tr, t.kind as 'audio' | 'video');
    }
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = await session.request({ type: 'rtcPublish', streamId: stream.streamId, sdp: pc.localDescription?.sdp ?? '' });
    await pc.setRemoteDescription({ type: 'answer', sdp: String(answer['sdp']) });
    this.fire('streamCreated', { stream });
    return stream;
  }

  publishAudio(on: boolean): void {
    this.audioOn = on;
    for (const t of this.media?.getAudioTracks() ?? []) t.enabled = on;
    if (this.stream && this.session) void this.session.request({ type: 'updateStream', streamId: this.stream.streamId, hasAudio: on }).catch(() => undefined);
  }

  publishVideo(on: boolean): void {
    this.videoOn = on;
    for (const t of this.media?.getVideoTracks() ?? []) t.enabled = on;
    if (this.stream && this.session) void this.session.request({ type: 'updateStream', streamId: this.stream.streamId, hasVideo: on }).catch(() => undefined);
  }

  /** The stream went (unpublish, forceUnpublish, session end): the peer connection closes; the camera stays until destroy(). */
  stopPublishing(reason: string): void {
    this.pc?.close();
    this.pc = undefined;
    const stream = this.stream;
    this.stream = undefined;
    this.session = undefined;
    if (stream) this.fire('streamDestroyed', { stream, reason });
  }

  destroy(): void {
    if (this.stream && this.session) void this.session.unpublish(this);
    this.stopPublishing('clientDisconnected');
    for (const t of this.media?.getTracks() ?? []) t.stop();
    this.element?.remove();
    this.fire('destroyed', {});
  }

  private fire(type: string, fields: object): void {
    this.emit(type, makeEvent(type, this, fields));
  }
}

export class Subscriber extends Emitter<SubscriberEvents> {
  element: HTMLVideoElement | undefined;
  readonly id = `sub-${Math.random().toString(36).slice(2)}`;
  private pc: RTCPeerConnection | undefined;
  private media: MediaStream | undefined;
  private levelTimer: ReturnType<typeof setInterval> | undefined;
  private destroyed = false;

  constructor(readonly session: WebSession, readonly stream: Stream, private readonly target: HTMLElement | null, readonly properties: SubscriberProperties = {}) {
    super();
  }

  /** The MediaStream of the tracks received (complete once the subscribe completion handler ran); undefined before start and after the end. */
  get mediaStream(): MediaStream | undefined {
    return this.media;
  }

  async start(): Promise<void> {
    const audio = (this.properties.subscribeToAudio ?? true) && this.stream.hasAudio !== undefined;
    const video = this.properties.subscribeToVideo ?? true;
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const media = new MediaStream();
    this.media = media;
    let shown = false;
    pc.ontrack = (e) => {
      media.addTrack(e.track);
      if (!shown) {
        shown = true;
        this.element = videoElement(this.target, media, false, this.properties);
        if (this.element) this.fire('videoElementCreated', { element: this.element });
      }
    };
    if (audio) preferCodecs(pc.addTransceiver('audio', { direction: 'recvonly' }), 'audio');
    if (video) preferCodecs(pc.addTransceiver('video', { direction: 'recvonly' }), 'video');
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const r = await this.session.request({ type: 'rtcSubscribe', streamId: this.stream.streamId, sdp: pc.localDescription?.sdp ?? '', audio, video });
    if (this.destroyed) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: String(r['sdp']) });
    this.levelTimer = setInterval(() => void this.pollLevel(), 100);
  }

  /** OpenTok.js: getStats(callback(error, stats)); also a promise. */
  getStats(callback?: (error: OTError | undefined, stats?: SubscriberStats) => void): Promise<SubscriberStats> {
    const p = this.collectStats();
    p.then((s) => callback?.(undefined, s), (e: OTError) => callback?.(e));
    return p;
  }

  private async collectStats(): Promise<SubscriberStats> {
    if (!this.pc) throw { code: 1010, name: 'OT_NOT_CONNECTED', message: 'the subscriber is not connected' } satisfies OTError;
    const out: SubscriberStats = {
      timestamp: Date.now(),
      audio: { packetsReceived: 0, packetsLost: 0, bytesReceived: 0, audioLevel: 0, totalAudioEnergy: 0 },
      video: { packetsReceived: 0, packetsLost: 0, bytesReceived: 0, frameRate: 0, framesDecoded: 0, width: 0, height: 0 },
    };
    const report = await this.pc.getStats();
    report.forEach((s: Record<string, unknown>) => {
      if (s['type'] !== 'inbound-rtp') return;
      const k = s['kind'] === 'video' ? out.video : out.audio;
      k.packetsReceived = Number(s['packetsReceived'] ?? 0);
      k.packetsLost = Number(s['packetsLost'] ?? 0);
      k.bytesReceived = Number(s['bytesReceived'] ?? 0);
      if (s['kind'] === 'video') {
        out.video.frameRate = Number(s['framesPerSecond'] ?? 0);
        out.video.framesDecoded = Number(s['framesDecoded'] ?? 0);
        out.video.width = Number(s['frameWidth'] ?? 0);
        out.video.height = Number(s['frameHeight'] ?? 0);
      } else {
        out.audio.audioLevel = Number(s['audioLevel'] ?? 0);
        out.audio.totalAudioEnergy = Number(s['totalAudioEnergy'] ?? 0);
      }
    });
    return out;
  }

  private async pollLevel(): Promise<void> {
    if (this.listenerCount('audioLevelUpdated') === 0 || !this.pc) return;
    const s = await this.collectStats().catch(() => undefined);
    if (s) this.fire('audioLevelUpdated', { audioLevel: s.audio.audioLevel });
  }

  subscribeToAudio(on: boolean): this {
    for (const r of this.pc?.getReceivers() ?? []) if (r.track.kind === 'audio') r.track.enabled = on;
    return this;
  }

  subscribeToVideo(on: boolean): this {
    for (const r of this.pc?.getReceivers() ?? []) if (r.track.kind === 'video') r.track.enabled = on;
    return this;
  }

  /** streamInterrupted / streamRestored (the publisher's link dropped and came back). */
  onInterruption(restored: boolean): void {
    this.fire(restored ? 'connected' : 'disconnected', {});
  }

  end(reason: string): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.levelTimer) clearInterval(this.levelTimer);
    this.pc?.close();
    this.pc = undefined;
    this.media = undefined;
    this.element?.remove();
    this.fire('destroyed', { reason });
  }

  private fire(type: string, fields: object): void {
    this.emit(type, makeEvent(type, this, fields));
  }
}

/** A Session that publishes and subscribes over WebRTC (what OT.initSession returns in the browser). */
export class WebSession extends Session {
  private readonly publishers = new Set<Publisher>();
  private readonly subscribers = new Set<Subscriber>();

  constructor(apiKey: string, sessionId: string, options?: SessionOptions) {
    super(apiKey, sessionId, options);
    this.on('streamDestroyed', (e) => {
      for (const s of this.getSubscribersForStream(e.stream)) { this.subscribers.delete(s); s.end(e.reason); }
      for (const p of this.publishers) if (p.stream?.streamId === e.stream.streamId) { this.publishers.delete(p); p.stopPublishing(e.reason); }
    });
    this.on('streamInterrupted', (e) => { for (const s of this.getSubscribersForStream(e.stream)) s.onInterruption(false); });
    this.on('streamRestored', (e) => { for (const s of this.getSubscribersForStream(e.stream)) s.onInterruption(true); });
    this.on('sessionDisconnected', (e) => {
      for (const s of this.subscribers) s.end(e.reason);
      this.subscribers.clear();
      for (const p of this.publishers) p.stopPublishing(e.reason);
      this.publishers.clear();
    });
  }

  /** The Stream object for a stream of this session (shared with the session's own table). */
  streamFor(wire: WireStream): Stream {
    return this.streams.get(wire.id) ?? {
      streamId: wire.id, connection: this.connection ?? { connectionId: wire.connectionId, creationTime: 0, data: '' },
      creationTime: wire.creationTime, name: wire.name, hasAudio: wire.hasAudio, hasVideo: wire.hasVideo, videoType: wire.videoType,
      videoDimensions: { ...wire.videoDimensions },
    };
  }

  /** OpenTok.js: publish(publisher, completionHandler). Returns the publisher. */
  publish(publisher: Publisher, callback?: Completion): Publisher {
    this.publishers.add(publisher);
    publisher.start(this).then(() => callback?.(), (e: OTError) => {
      this.publishers.delete(publisher);
      callback?.(e);
    });
    return publisher;
  }

  async unpublish(publisher: Publisher): Promise<void> {
    const stream = publisher.stream;
    this.publishers.delete(publisher);
    if (!stream) return;
    await this.request({ type: 'rtcClose', streamId: stream.streamId }).catch(() => undefined);
    await this.request({ type: 'unpublish', streamId: stream.streamId }).catch(() => undefined);
    publisher.stopPublishing('clientDisconnected');
  }

  /** OpenTok.js: subscribe(stream, targetElement, properties, completionHandler). */
  subscribe(stream: Stream, target?: HTMLElement | string | null, properties?: SubscriberProperties, callback?: Completion): Subscriber {
    const sub = new Subscriber(this, stream, elementOf(target), properties);
    this.subscribers.add(sub);
    sub.start().then(() => callback?.(), (e: OTError) => {
      this.subscribers.delete(sub);
      sub.end('subscribeFailed');
      callback?.(e);
    });
    return sub;
  }

  async unsubscribe(subscriber: Subscriber): Promise<void> {
    if (!this.subscribers.delete(subscriber)) return;
    subscriber.end('clientDisconnected');
    await this.request({ type: 'rtcClose', streamId: subscriber.stream.streamId }).catch(() => undefined);
    await this.request({ type: 'unsubscribe', streamId: subscriber.stream.streamId }).catch(() => undefined);
  }

  getSubscribersForStream(stream: Stream): Subscriber[] {
    return [...this.subscribers].filter((s) => s.stream.streamId === stream.streamId);
  }

  getPublisherForStream(stream: Stream): Publisher | undefined {
    return [...this.publishers].find((p) => p.stream?.streamId === stream.streamId);
  }
}
