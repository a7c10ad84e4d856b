/**
 * The WebRTC edge (docs/protocol.md §16): browsers' media over WebRTC, bridged to the media
 * router without transcoding. One PeerConnection (node-datachannel, libdatachannel: ICE,
 * DTLS-SRTP) per published stream and one per subscription, like OpenTok.js. The browser
 * offers, the edge answers, no trickle: the answer carries every host candidate (and the
 * configured public address).
 *
 * - publish: the browser's RTP becomes media frames (mapping.ts) handed to `deliver`, which
 *   the registry feeds to the router as that connection (every check of a bot's frames applies);
 *   keyframe requests for the stream go to the browser as a PLI.
 * - subscribe: a MediaSink (the router's Consumer writes to it as to a socket) turns media frames
 *   into RTP; the browser's PLI / FIR become keyframe requests, its NACKs are answered from the
 *   retransmission ring, its receiver reports and REMB are kept (stats, the path's bitrate); a
 *   Sender Report per track per second lets it synchronise audio and video.
 *
 * The edge knows nothing of sessions' rules: the registry checks roles and streams, and tells
 * the edge when to close (rtcClose, unpublish, unsubscribe, the connection's or the stream's end).
 */
import { randomBytes } from 'node:crypto';
import type * as Ndc from 'node-datachannel';
import type { MediaKindName, WireError, WireTracks } from '../../wire';
import type { MediaSink } from '../media/consumer';
import { silentLog, type Logger } from '../logger';
import { MediaToRtp, RtpToMedia, type MediaToRtpStats, type RtpToMediaStats } from './mapping';
import { buildPli, buildRemb, buildSr, nextRembBitrate, ntpFromUnixMs, parseRtcp, type RtcpMessage } from './rtcp';
import { isRtcp } from './rtp';
import { addPublicCandidates, parseOffer, type Offer, type OfferMedia } from './sdp';

type NdcModule = typeof Ndc;

export interface WebRtcOptions {
  /** default true; false: rtcPublish / rtcSubscribe fail with 4419 */
  enabled?: boolean;
  /** announced in answers besides the host candidates (1:1 NAT, a host behind a load balancer) */
  publicIp?: string;
  /** UDP ports of the peer connections, [min, max] inclusive (default: the system's) */
  portRange?: [number, number];
  /** local address the ICE sockets bind to (default: every interface) */
  bindAddress?: string;
  /** peer connections at once on this server; past it negotiations fail with 4418 (default 2000) */
  maxPeerConnections?: number;
  /** ICE gathering must complete within this many ms (default 5000) */
  gatheringTimeoutMs?: number;
  /**
   * The most video bit/s a browser may publish (REMB sent every second, lowered while its
   * packets are lost; default 2,500,000). Without it a browser stays at its start rate
   * (~300 kbit/s).
   */
  maxVideoBitrate?: number;
}

/** Why a negotiation failed: the request's result is a 4418 with this message. */
export class RtcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RtcError';
  }
}

export interface EdgeKey {
  sessionId: string;
  connectionId: string;
  streamId: string;
}

export type EdgeSide = 'publish' | 'subscribe';

export interface PeerStats {
  side: EdgeSide;
  sessionId: string;
  connectionId: string;
  streamId: string;
  state: string;
  /** publish: per kind, what came from the browser */
  received: Partial<Record<MediaKindName, RtpToMediaStats>>;
  /** subscribe: per kind, what went to the browser */
  sent: Partial<Record<MediaKindName, MediaToRtpStats>>;
  /** publish: frames the router refused (the stream muted, or another check) */
  refused: number;
  rtcpIn: number;
  rtcpMalformed: number;
  pliIn: number;
  firIn: number;
  nackIn: number;
  pliOut: number;
  /** subscribe: media frames dropped because the track was not open (yet) */
  notOpen: number;
  /** subscribe: the browser's last receiver report, per kind: fraction lost (0..255 /256) and jitter */
  lastReport: Partial<Record<MediaKindName, { fractionLost: number; jitter: number; cumulativeLost: number }>>;
  /** subscribe: the browser's last REMB estimate (bit/s) */
  rembBitrate?: number;
  /** publish: REMB packets sent to the browser, and the last estimate (bit/s) */
  rembOut: number;
  rembOutBitrate?: number;
}

export interface EdgeStats {
  /** peer connections held now */
  peerConnections: number;
  /** made since start */
  created: number;
  /** native peer connections that reported 'closed' (created - nativeClosed = still alive in libdatachannel) */
  nativeClosed: number;
  /** negotiations that failed (4418) */
  failed: number;
  peers: PeerStats[];
}

export interface PublishHooks {
  /** A media frame from the browser: into the router as the publishing connection. */
  deliver(frame: Uint8Array): WireError | undefined;
}

export interface SubscribeHooks {
  /** The browser asks for a keyframe (PLI / FIR): router.requestKeyframe. */
  keyframe(): void;
  /** The peer connection ended by itself (ICE failed, the browser closed it): the subscription goes. */
  gone(): void;
}

export interface SubscribeAnswer {
  sdp: string;
  /** the kinds that will flow: asked for and offered */
  kinds: { audio: boolean; video: boolean };
  /** the RTP sink while the peer connection is connected (the router's consumers call it per frame) */
  sink: () => MediaSink | undefined;
}

const DEFAULT_MAX_PEERS = 2000;
const DEFAULT_GATHERING_MS = 5000;
const SR_INTERVAL_MS = 1000;
const DEFAULT_MAX_VIDEO_BITRATE = 2_500_000;
const MIN_VIDEO_BITRATE = 100_000;

/** One peer connection: a stream's publish side or one subscription. */
class Peer {
  state = 'new';
  closed = false;
  readonly tracks = new Map<MediaKindName, Ndc.Track>();
  readonly incoming = new Map<MediaKindName, RtpToMedia>();
  readonly outgoing = new Map<MediaKindName, MediaToRtp>();
  /** our SSRC as the sender of RTCP feedback (publish side) */
  readonly rtcpSsrc: number;
  readonly stats: PeerStats;
  /** publish: the REMB estimate sent to the browser (bit/s), once its video flows */
  rembBitrate = 0;
  /** subscribe: called when the peer connection ends by itself (not when the edge closes it) */
  onGone: (() => void) | undefined;

  constructor(readonly side: EdgeSide, readonly key: EdgeKey, readonly pc: Ndc.PeerConnection, readonly offer: Offer) {
    this.rtcpSsrc = randomBytes(4).readUInt32BE(0);
    this.stats = {
      side, ...key, state: 'new', received: {}, sent: {}, refused: 0, rtcpIn: 0, rtcpMalformed: 0, pliIn: 0, firIn: 0, nackIn: 0,
      pliOut: 0, notOpen: 0, lastReport: {}, rembOut: 0,
    };
  }

  get id(): string {
    return peerId(this.side, this.key);
  }
}

function peerId(side: EdgeSide, k: EdgeKey): string {
  return `${side}\u0000${k.sessionId}\u0000${k.connectionId}\u0000${k.streamId}`;
}

export class WebRtcEdge {
  private readonly peers = new Map<string, Peer>();
  private created = 0;
  private nativeClosed = 0;
  private failed = 0;
  private srTimer: NodeJS.Timeout | undefined;
  private readonly maxPeers: number;
  private readonly gatheringMs: number;

  private constructor(private readonly ndc: NdcModule, private readonly opts: WebRtcOptions, private readonly log: Logger) {
    this.maxPeers = opts.maxPeerConnections ?? DEFAULT_MAX_PEERS;
    this.gatheringMs = opts.gatheringTimeoutMs ?? DEFAULT_GATHERING_MS;
  }

  /**
   * The edge, or why there is none: disabled by the options, or node-datachannel's native
   * library does not load on this platform (the server runs on without WebRTC: 4419).
   */
  static create(opts: WebRtcOptions = {}, log: Logger = silentLog): WebRtcEdge | { disabled: string } {
    if (opts.enabled === false) return { disabled: 'WebRTC is disabled on this server' };
    const range = opts.portRange;
    if (range && !(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 1 && range[0] <= range[1] && range[1] <= 65535)) {
      throw new RangeError(`webrtc.portRange must be [min, max] with 1 <= min <= max <= 65535, got [${range.join(', ')}]`);
    }
    let ndc: NdcModule;
    try {
      ndc = require('node-datachannel') as NdcModule;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      log.warn({ event: 'webrtcUnavailable', message: why }, 'node-datachannel does not load: WebRTC disabled');
      return { disabled: `WebRTC is not available on this server (node-datachannel: ${why.split('\n')[0]})` };
    }
    return new WebRtcEdge(ndc, opts, log);
  }

  /** Peer connections held now. */
  get peerConnectionCount(): number {
    return this.peers.size;
  }

  stats(): EdgeStats {
    return {
      peerConnections: this.peers.size, created: this.created, nativeClosed: this.nativeClosed, failed: this.failed,
      peers: [...this.peers.values()].map((p) => this.peerStats(p)),
    };
  }

  private peerStats(p: Peer): PeerStats {
    const s = { ...p.stats, state: p.state, received: {}, sent: {} } as PeerStats;
    if (p.rembBitrate > 0) s.rembOutBitrate = p.rembBitrate;
    for (const [k, t] of p.incoming) s.received[k] = t.stats();
    for (const [k, t] of p.outgoing) s.sent[k] = t.stats();
    return s;
  }

  // ---- publish ----

  /**
   * A browser's offer to send a stream's media. Resolves with the answer; rejects with an
   * RtcError (the offer cannot be answered, or ICE gathering did not complete). A second
   * publish of the same stream replaces the first peer connection.
   */
  async publish(key: EdgeKey, sdp: string, tracks: WireTracks, hooks: PublishHooks): Promise<string> {
    const parsed = parseOffer(sdp, 'send');
    if (!parsed.ok) throw this.fail(`SDP offer refused: ${parsed.reason}`);
    const peer = this.open('publish', key, parsed.offer);
    for (const m of media(parsed.offer)) {
      const t = this.addTrack(peer, m, 'RecvOnly');
      const rx = new RtpToMedia(m.kind, tracks[m.kind], m.payloadType, m.audioLevelId);
      if (m.ssrc !== undefined) rx.ssrc = m.ssrc;
      peer.incoming.set(m.kind, rx);
      t.onMessage((msg) => this.fromPublisher(peer, rx, msg, hooks));
    }
    if (peer.incoming.has('video')) this.startSenderReports(); // the per-second RTCP: REMB to this browser
    return this.answer(peer, sdp);
  }

  private fromPublisher(peer: Peer, rx: RtpToMedia, msg: Buffer, hooks: PublishHooks): void {
    if (peer.closed) return;
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (isRtcp(bytes)) {
      peer.stats.rtcpIn++; // sender reports, SDES: nothing to act on
      return;
    }
    const frame = rx.toMediaFrame(bytes);
    if (frame && hooks.deliver(frame)) peer.stats.refused++;
  }

  /** A keyframe request for a stream published over WebRTC: a PLI to the browser. False when the stream has no such peer. */
  requestKeyframe(sessionId: string, connectionId: string, streamId: string): boolean {
    const peer = this.peers.get(peerId('publish', { sessionId, connectionId, streamId }));
    if (!peer) return false;
    const rx = peer.incoming.get('video');
    const track = peer.tracks.get('video');
    if (rx?.ssrc !== undefined && track?.isOpen()) {
      sendTo(track, buildPli(peer.rtcpSsrc, rx.ssrc));
      peer.stats.pliOut++;
    }
    return true;
  }

  // ---- subscribe ----

  /**
   * A browser's offer to receive a stream's media (recvonly m-lines): `want` the kinds asked
   * for. Resolves with the answer and the RTP sink for the router's consumers; rejects with an
   * RtcError. A second subscribe to the same stream replaces the first peer connection.
   */
  async subscribe(key: EdgeKey, sdp: string, want: { audio: boolean; video: boolean }, hooks: SubscribeHooks): Promise<SubscribeAnswer> {
    const parsed = parseOffer(sdp, 'recv');
    if (!parsed.ok) throw this.fail(`SDP offer refused: ${parsed.reason}`);
    const kinds = { audio: want.audio && parsed.offer.audio !== undefined, video: want.video && parsed.offer.video !== undefined };
    if (!kinds.audio && !kinds.video) throw this.fail('SDP offer refused: no m-line for the kinds asked for (audio / video)');
    const peer = this.open('subscribe', key, parsed.offer);
    for (const m of media(parsed.offer)) {
      // an m-line of a kind not asked for is answered inactive-like: a track that sends nothing
      const ssrc = randomBytes(4).readUInt32BE(0) || 1;
      const t = this.addTrack(peer, m, 'SendOnly', ssrc, key.streamId);
      const tx = new MediaToRtp(m.kind, ssrc, m.payloadType, m.audioLevelId);
      if (kinds[m.kind]) peer.outgoing.set(m.kind, tx);
      t.onMessage((msg) => this.fromSubscriber(peer, m.kind, msg, hooks));
    }
    const sink: MediaSink = {
      sendMedia: (frame) => this.toSubscriber(peer, frame),
      bufferedBytes: () => 0, // RTP over UDP: nothing waits in the edge
    };
    peer.onGone = () => hooks.gone();
    const answer = await this.answer(peer, sdp);
    this.startSenderReports();
    return { sdp: answer, kinds, sink: () => (peer.state === 'connected' && !peer.closed ? sink : undefined) };
  }

  private toSubscriber(peer: Peer, frame: Uint8Array): void {
    const kind: MediaKindName = ((frame[0] ?? 0) & 0x0f) === 1 ? 'video' : 'audio';
    const tx = peer.outgoing.get(kind);
    const track = peer.tracks.get(kind);
    if (!tx || !track) return;
    if (!track.isOpen()) {
      peer.stats.notOpen++;
      return;
    }
    for (const p of tx.fromMediaFrame(frame)) sendTo(track, p);
  }

  /** RTCP from a browser subscriber, as it reached the track of `kind`. */
  private fromSubscriber(peer: Peer, kind: MediaKindName, msg: Buffer, hooks: SubscribeHooks): void {
    if (peer.closed) return;
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (!isRtcp(bytes)) return; // a recvonly browser sends no RTP
    peer.stats.rtcpIn++;
    const r = parseRtcp(bytes);
    peer.stats.rtcpMalformed += r.malformed;
    for (const m of r.messages) this.feedback(peer, kind, m, hooks);
  }

  /**
   * One feedback message. libdatachannel hands a compound to every track whose SSRC it names
   * (a receiver report on both): each track acts only on what names its own SSRC, so nothing
   * is done twice.
   */
  private feedback(peer: Peer, kind: MediaKindName, m: RtcpMessage, hooks: SubscribeHooks): void {
    const tx = peer.outgoing.get(kind);
    const track = peer.tracks.get(kind);
    if (!tx || !track) return;
    switch (m.type) {
      case 'pli':
        if (kind === 'video' && m.media === tx.ssrc) {
          peer.stats.pliIn++;
          hooks.keyframe();
        }
        return;
      case 'fir':
        if (kind === 'video' && m.entries.some((e) => e.ssrc === tx.ssrc)) {
          peer.stats.firIn++;
          hooks.keyframe();
        }
        return;
      case 'nack':
        if (m.media !== tx.ssrc) return;
        peer.stats.nackIn++;
        if (track.isOpen()) for (const p of tx.retransmit(m.lost)) sendTo(track, p);
        return;
      case 'rr':
      case 'sr':
        for (const b of m.reports) {
          if (b.ssrc === tx.ssrc) peer.stats.lastReport[kind] = { fractionLost: b.fractionLost, jitter: b.jitter, cumulativeLost: b.cumulativeLost };
        }
        return;
      case 'remb':
        if (m.ssrcs.includes(tx.ssrc)) peer.stats.rembBitrate = m.bitrate;
        return;
      default:
        return;
    }
  }

  /** A Sender Report per outgoing track per second (RFC 3550 §6.4.1): browsers pair audio and video clocks with it. */
  private startSenderReports(): void {
    if (this.srTimer) return;
    this.srTimer = setInterval(() => {
      let any = false;
      const now = Date.now();
      for (const peer of this.peers.values()) {
        if (peer.side === 'publish') {
          if (peer.incoming.has('video')) any = true;
          if (peer.state === 'connected') this.sendRemb(peer);
          continue;
        }
        any = true;
        if (peer.state !== 'connected') continue;
        for (const [kind, tx] of peer.outgoing) {
          const info = tx.senderInfo(now);
          const track = peer.tracks.get(kind);
          if (info && track?.isOpen()) sendTo(track, buildSr(tx.ssrc, ntpFromUnixMs(now), info.rtpTime, info.packets, info.octets));
        }
      }
      if (!any) this.stopSenderReports();
    }, SR_INTERVAL_MS);
    this.srTimer.unref();
  }

  /**
   * Publish side, once a second: how much video the browser may send (REMB), from the loss of
   * its video packets over the second (nextRembBitrate). Browsers answer REMB (goog-remb, which
   * libdatachannel offers with VP8) by raising their encoder's rate up to it.
   */
  private sendRemb(peer: Peer): void {
    const rx = peer.incoming.get('video');
    const track = peer.tracks.get('video');
    if (!rx || rx.ssrc === undefined || !track?.isOpen()) return;
    const max = this.opts.maxVideoBitrate ?? DEFAULT_MAX_VIDEO_BITRATE;
    const loss = rx.takeLoss();
    peer.rembBitrate = peer.rembBitrate === 0 ? max : nextRembBitrate(peer.rembBitrate, loss, Math.min(MIN_VIDEO_BITRATE, max), max);
    sendTo(track, buildRemb(peer.rtcpSsrc, peer.rembBitrate, [rx.ssrc]));
    peer.stats.rembOut++;
  }

  private stopSenderReports(): void {
    if (this.srTimer) clearInterval(this.srTimer);
    this.srTimer = undefined;
  }

  // ---- the peer connections ----

  private fail(message: string): RtcError {
    this.failed++;
    return new RtcError(message);
  }

  private open(side: EdgeSide, key: EdgeKey, offer: Offer): Peer {
    this.close(key, side); // a second offer for the same stream replaces the first
    if (this.peers.size >= this.maxPeers) throw this.fail(`this server holds ${this.maxPeers} peer connections already: try later`);
    const config: Ndc.RtcConfig = { iceServers: [] };
    if (this.opts.portRange) {
      config.portRangeBegin = this.opts.portRange[0];
      config.portRangeEnd = this.opts.portRange[1];
    }
    if (this.opts.bindAddress) config.bindAddress = this.opts.bindAddress;
    const pc = new this.ndc.PeerConnection(`convene-${side}`, config);
    this.created++;
    const peer = new Peer(side, key, pc, offer);
    this.peers.set(peer.id, peer);
    // the state callback must be set for node-datachannel to release the peer connection once closed
    pc.onStateChange((state) => {
      peer.state = state;
      if (state === 'closed') this.nativeClosed++;
      if ((state === 'failed' || state === 'closed') && !peer.closed) {
        this.log.info({ event: 'rtcPeerEnded', side, ...key, state }, `WebRTC ${side} peer connection ${state}`);
        this.drop(peer);
        peer.onGone?.();
      }
    });
    return peer;
  }

  private addTrack(peer: Peer, m: OfferMedia, dir: 'RecvOnly' | 'SendOnly', ssrc?: number, streamId?: string): Ndc.Track {
    let track: Ndc.Track;
    if (m.kind === 'audio') {
      const a = new this.ndc.Audio(m.mid, dir);
      a.addOpusCodec(m.payloadType);
      if (m.audioLevelId !== undefined) a.parseSdpLine(`a=extmap:${m.audioLevelId} urn:ietf:params:rtp-hdrext:ssrc-audio-level`);
      if (ssrc !== undefined) a.addSSRC(ssrc, 'convene', streamId, `${streamId}-audio`);
      track = peer.pc.addTrack(a);
    } else {
      const v = new this.ndc.Video(m.mid, dir);
      v.addVP8Codec(m.payloadType);
      if (ssrc !== undefined) v.addSSRC(ssrc, 'convene', streamId, `${streamId}-video`);
      track = peer.pc.addTrack(v);
    }
    // the closed callback must be set for node-datachannel to release the track
    track.onClosed(() => {});
    peer.tracks.set(m.kind, track);
    return track;
  }

  /** Applies the offer; resolves with the answer once ICE gathering completed (no trickle). */
  private async answer(peer: Peer, offer: string): Promise<string> {
    try {
      peer.pc.setRemoteDescription(offer, 'offer');
    } catch (e) {
      this.drop(peer);
      throw this.fail(`SDP offer refused: ${e instanceof Error ? e.message : String(e)}`);
    }
    await new Promise<void>((resolve, reject) => {
      if (peer.pc.gatheringState() === 'complete') return resolve();
      const timer = setTimeout(() => reject(this.fail(`ICE gathering did not complete within ${this.gatheringMs} ms`)), this.gatheringMs);
      peer.pc.onGatheringStateChange((s) => {
        if (s !== 'complete') return;
        clearTimeout(timer);
        resolve();
      });
    }).catch((e: unknown) => {
      this.drop(peer);
      throw e;
    });
    if (peer.closed) throw this.fail('the peer connection was closed during the negotiation');
    const local = peer.pc.localDescription();
    if (!local || local.type !== 'answer') {
      this.drop(peer);
      throw this.fail('no answer was produced for this offer');
    }
    return this.opts.publicIp ? addPublicCandidates(local.sdp, this.opts.publicIp) : local.sdp;
  }

  /** Closes one side (or both) of a stream for a connection. True when there was one. */
  close(key: EdgeKey, side?: EdgeSide): boolean {
    let any = false;
    for (const s of side ? [side] : (['publish', 'subscribe'] as const)) {
      const peer = this.peers.get(peerId(s, key));
      if (peer) {
        this.drop(peer);
        any = true;
      }
    }
    return any;
  }

  /** A connection ended: every peer connection it had. */
  closeConnection(sessionId: string, connectionId: string): void {
    for (const p of [...this.peers.values()]) if (p.key.sessionId === sessionId && p.key.connectionId === connectionId) this.drop(p);
  }

  /** A stream ended: its publish peer connection and every subscription's. */
  closeStream(sessionId: string, streamId: string): void {
    for (const p of [...this.peers.values()]) if (p.key.sessionId === sessionId && p.key.streamId === streamId) this.drop(p);
  }

  /** A session ended (or the server stops): every peer connection of it. */
  closeSession(sessionId: string): void {
    for (const p of [...this.peers.values()]) if (p.key.sessionId === sessionId) this.drop(p);
  }

  /** Server shutdown: every peer connection. */
  closeAll(): void {
    for (const p of [...this.peers.values()]) this.drop(p);
    this.stopSenderReports();
  }

  private drop(peer: Peer): void {
    if (peer.closed) return;
    peer.closed = true;
    if (this.peers.get(peer.id) === peer) this.peers.delete(peer.id);
    for (const t of peer.tracks.values()) {
      try { t.close(); } catch { /* already closed */ }
    }
    try {
      peer.pc.close();
    } catch (e) {
      this.log.warn({ event: 'rtcCloseFailed', message: e instanceof Error ? e.message : String(e) }, 'closing a peer connection failed');
    }
  }
}

function media(o: Offer): OfferMedia[] {
  return [o.audio, o.video].filter((m): m is OfferMedia => m !== undefined);
}

function sendTo(track: Ndc.Track, packet: Uint8Array): void {
  try {
    track.sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
  } catch {
    // the track closed meanwhile (the peer connection is going): nothing to do
  }
}
