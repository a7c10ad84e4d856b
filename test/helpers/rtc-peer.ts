/**
 * A "browser" for the WebRTC edge tests: a node-datachannel PeerConnection in the test process
 * that offers (sendonly or recvonly audio / video, with SSRCs and the audio level extension, as
 * a browser's offer has them), waits for its ICE gathering (no trickle), applies the server's
 * answer and sends / records raw RTP and RTCP on its tracks.
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerConnection, Track } from 'node-datachannel';
import { isRtcp, parseRtp, type RtpPacket } from '../../lib/server/webrtc/rtp';
import { parseRtcp, type RtcpMessage } from '../../lib/server/webrtc/rtcp';
import { until } from './events';

export type Kind = 'audio' | 'video';

export const OPUS_PT = 111;
export const VP8_PT = 96;
export const AUDIO_LEVEL_ID = 1;

export interface PeerOptions {
  audio?: boolean;
  video?: boolean;
  /** our SSRCs when sending */
  ssrc?: Partial<Record<Kind, number>>;
}

export class BrowserPeer {
  readonly pc: PeerConnection;
  readonly tracks = new Map<Kind, Track>();
  /** RTP received, per kind, in arrival order */
  readonly rtp: Record<Kind, RtpPacket[]> = { audio: [], video: [] };
  /** RTCP messages received (from the server) */
  readonly rtcp: RtcpMessage[] = [];
  offer = '';
  state = 'new';
  readonly ssrc: Record<Kind, number>;

  constructor(readonly direction: 'SendOnly' | 'RecvOnly', opts: PeerOptions = {}) {
    this.pc = new nodeDataChannel.PeerConnection('browser', { iceServers: [] });
    this.pc.onStateChange((s) => { this.state = s; });
    this.ssrc = { audio: opts.ssrc?.audio ?? 0x1111, video: opts.ssrc?.video ?? 0x2222 };
    if (opts.audio ?? true) {
      const a = new nodeDataChannel.Audio('0', direction);
      a.addOpusCodec(OPUS_PT);
      a.parseSdpLine(`a=extmap:${AUDIO_LEVEL_ID} urn:ietf:params:rtp-hdrext:ssrc-audio-level`);
      if (direction === 'SendOnly') a.addSSRC(this.ssrc.audio, 'browser', 'bstream', 'baudio');
      this.add('audio', this.pc.addTrack(a));
    }
    if (opts.video ?? true) {
      const v = new nodeDataChannel.Video('1', direction);
      v.addVP8Codec(VP8_PT);
      if (direction === 'SendOnly') v.addSSRC(this.ssrc.video, 'browser', 'bstream', 'bvideo');
      this.add('video', this.pc.addTrack(v));
    }
  }

  private add(kind: Kind, t: Track): void {
    this.tracks.set(kind, t);
    t.onClosed(() => {});
    t.onMessage((msg) => {
      const b = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength).slice();
      if (isRtcp(b)) {
        this.rtcp.push(...parseRtcp(b).messages);
        return;
      }
      const r = parseRtp(b);
      if (r.ok) this.rtp[kind].push(r.packet);
    });
  }

  /** Makes the offer, with every host candidate. */
  async makeOffer(): Promise<string> {
    this.pc.setLocalDescription();
    await until('ICE gathering', () => this.pc.gatheringState() === 'complete');
    this.offer = this.pc.localDescription()?.sdp ?? '';
    return this.offer;
  }

  async applyAnswer(sdp: string): Promise<void> {
    this.pc.setRemoteDescription(sdp, 'answer');
    await until('the browser peer to connect', () => this.state === 'connected' && [...this.tracks.values()].every((t) => t.isOpen()), 10_000);
  }

  send(kind: Kind, packet: Uint8Array): void {
    (this.tracks.get(kind) as Track).sendMessageBinary(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
  }

  close(): void {
    for (const t of this.tracks.values()) {
      try { t.close(); } catch { /* closed */ }
    }
    try { this.pc.close(); } catch { /* closed */ }
  }
}
