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

  /**
   * Makes the offer once ICE gathering completed, without its candidates: the server then learns
   * this peer's address from its connectivity checks (peer reflexive). With candidates in the
   * offer, the server's checks and DTLS handshake (it answers `setup:active`) can reach this
   * libdatachannel peer before it has the answer, which then sometimes closes itself (state
   * closed before the answer is applied; a real browser waits for the answer). The server's
   * answer still carries all of the server's candidates.
   */
  async makeOffer(): Promise<string> {
    this.pc.setLocalDescription();
    await until('ICE gathering', () => this.pc.gatheringState() === 'complete');
    const sdp = this.pc.localDescription()?.sdp ?? '';
    this.offer = sdp.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
    return this.offer;
  }

  /**
   * Applies the server's answer. Its candidates are added one by one after the description:
   * libdatachannel (the test peer, not the server) sometimes throws "Got a remote candidate
   * without ICE transport" when the server's connectivity checks race an answer that carries
   * candidates; a candidate refused that way is retried.
   */
  async applyAnswer(sdp: string): Promise<void> {
    const lines = sdp.split(/\r?\n/);
    const mid = /^a=mid:(.*)$/m.exec(sdp)?.[1] ?? '0';
    const candidates = lines.filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
    this.pc.setRemoteDescription(lines.filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates').join('\r\n'), 'answer');
    for (const c of candidates) {
      for (let attempt = 0; ; attempt++) {
        try {
          this.pc.addRemoteCandidate(c, mid);
          break;
        } catch (e) {
          if (attempt >= 50) throw new Error(`${(e as Error).message} (state ${this.state}, ice ${this.pc.iceState()}, signaling ${this.pc.signalingState()})`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    }
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
