/**
 * A UDP relay between a test "browser" peer and the server's WebRTC edge that loses chosen
 * packets on the way to the browser: the answer's candidates are replaced by the relay's
 * address; STUN, DTLS and SRTP pass through. SRTP leaves the RTP header in clear, so a packet
 * is chosen by its SSRC and its rank among that SSRC's packets.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export class LossyRelay {
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private browser: RemoteInfo | undefined;
  private server: { address: string; port: number } | undefined;
  /** SSRC → ranks (0-based) of its RTP packets to lose on the way to the browser */
  private readonly lose = new Map<number, Set<number>>();
  private readonly seen = new Map<number, number>();
  lost = 0;

  /** Rewrites the server's answer so that the browser talks to the relay. */
  async install(answer: string): Promise<string> {
    const m = /a=candidate:\S+ 1 UDP \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host/i.exec(answer);
    if (!m) throw new Error('no IPv4 host candidate in the answer');
    this.server = { address: m[1] as string, port: Number(m[2]) };
    await new Promise<void>((r) => this.front.bind(0, this.server!.address, r));
    await new Promise<void>((r) => this.back.bind(0, this.server!.address, r));
    this.front.on('message', (msg, from) => {
      this.browser = from;
      this.back.send(msg, this.server!.port, this.server!.address);
    });
    this.back.on('message', (msg) => {
      if (this.browser && !this.drop(msg)) this.front.send(msg, this.browser.port, this.browser.address);
    });
    const port = this.front.address().port;
    let first = true;
    return answer.split(/\r?\n/).filter((l) => {
      if (!l.startsWith('a=candidate:')) return true;
      const keep = first;
      first = false;
      return keep;
    }).map((l) => (l.startsWith('a=candidate:') ? `a=candidate:1 1 UDP 2114977791 ${this.server!.address} ${port} typ host` : l)).join('\r\n');
  }

  /** The browser's offer without its candidates: the server learns its address from the relay's checks (peer reflexive). */
  static offerThroughRelay(offer: string): string {
    return offer.split(/\r?\n/).filter((l) => !l.startsWith('a=candidate:')).join('\r\n');
  }

  /** Loses the `ranks`-th RTP packets (0-based) of `ssrc` on the way to the browser. */
  loseRtp(ssrc: number, ranks: number[]): void {
    this.lose.set(ssrc, new Set(ranks));
  }

  private drop(msg: Buffer): boolean {
    // RTP (not RTCP, not DTLS / STUN): version 2, payload type outside RTCP's 192..223
    if (msg.length < 12 || msg[0]! >> 6 !== 2 || (msg[1]! >= 192 && msg[1]! <= 223)) return false;
    const ssrc = msg.readUInt32BE(8);
    const ranks = this.lose.get(ssrc);
    if (!ranks) return false;
    const rank = this.seen.get(ssrc) ?? 0;
    this.seen.set(ssrc, rank + 1);
    if (!ranks.has(rank)) return false;
    this.lost++;
    return true;
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}
