/**
 * Media links between the nodes of a cluster (docs/cluster.md, "Media across nodes"). Media
 * never goes through Redis: each node listens on an internal address (announced in Redis) and
 * the nodes open WebSockets to each other, authenticated with the cluster secret shared by the
 * nodes (HMAC-SHA256 over a nonce of each side: both ends prove they know it; a peer that does
 * not is refused with close 4401).
 *
 * On a link, text messages are control messages (LinkControl: forward a stream on a channel,
 * stop, keyframe request, interrupted / restored) and binary messages are media frames exactly
 * as clients send them, after a 4-byte channel number (big-endian) that names the session's
 * stream on that link. This file is the transport only: sockets, handshake, framing, counters,
 * keepalive; what is forwarded is media-relay.ts's business.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import WebSocket, { WebSocketServer } from 'ws';
import type { LinkStats } from './media-stats';

export type { LinkStats } from './media-stats';
import { MAX_MEDIA_FRAME_BYTES } from '../../wire';
import type { MediaSink } from '../media/consumer';

/** The WebSocket subprotocol of a media link. */
export const LINK_PROTOCOL = 'convene.link.v1';
/** Bytes before the media frame in a binary message: the channel number. */
export const LINK_HEADER_BYTES = 4;
/** Close codes of a link. */
export const LinkClose = { AUTH_FAILED: 4401, PROTOCOL: 4400, SHUTDOWN: 1001 } as const;

const AUTH_TIMEOUT_MS = 5000;
const MAX_LINK_MESSAGE = LINK_HEADER_BYTES + MAX_MEDIA_FRAME_BYTES;
/** A link whose peer answered no ping for two periods is cut (a peer gone without a FIN). */
const PING_MS = 2000;
/** Dials to one node are at most this often (a node down: its address refuses). */
const REDIAL_MS = 500;

/** Control messages (text). `ch`: the channel, chosen by the node that asks for the stream. */
export type LinkControl =
  /** subscriber's node → publisher's node: forward stream `st` of session `s` on channel `ch` (the kinds asked; again to change them) */
  | { t: 'fwd'; ch: number; s: string; st: string; a: boolean; v: boolean }
  /** subscriber's node → publisher's node: stop forwarding channel `ch` */
  | { t: 'stop'; ch: number }
  /** subscriber's node → publisher's node: a keyframe of channel `ch`'s video */
  | { t: 'kf'; ch: number }
  /** publisher's node: forwarding channel `ch`; `int`: its publisher is in its grace window now */
  | { t: 'fwdok'; ch: number; int: boolean }
  /** publisher's node: it cannot forward channel `ch` (the stream is not published there) */
  | { t: 'nofwd'; ch: number; why: string }
  /** publisher's node: channel `ch`'s publisher lost its socket (grace window) / came back */
  | { t: 'int'; ch: number }
  | { t: 'rest'; ch: number };

/** What the relay hears from the links. */
export interface LinkHandler {
  up(link: Link): void;
  control(link: Link, msg: LinkControl): void;
  media(link: Link, ch: number, frame: Uint8Array): void;
  down(link: Link): void;
}


/** One authenticated link to another node. */
export class Link {
  framesOut = 0;
  bytesOut = 0;
  framesIn = 0;
  bytesIn = 0;
  /** channels this node forwards on the link (publisher's side): channel → session and stream */
  readonly outbound = new Map<number, { sessionId: string; streamId: string }>();
  alive = true;
  /** unique on this node: the peer and a serial (two links to one node can exist for a moment) */
  readonly id: string;
  private static serial = 0;

  constructor(readonly peer: string, readonly dir: 'in' | 'out', private readonly ws: WebSocket) {
    this.id = `${peer}#${++Link.serial}`;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: LinkControl): void {
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  sendMedia(ch: number, frame: Uint8Array): void {
    if (!this.open) return;
    const b = Buffer.allocUnsafe(LINK_HEADER_BYTES + frame.byteLength);
    b.writeUInt32BE(ch, 0);
    b.set(frame, LINK_HEADER_BYTES);
    this.ws.send(b);
    this.framesOut++;
    this.bytesOut += b.byteLength;
  }

  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** Where a consumer of channel `ch` writes (a Consumer's MediaSink: its queue bounds what waits). */
  sink(ch: number): MediaSink | undefined {
    if (!this.open) return undefined;
    return { sendMedia: (f) => this.sendMedia(ch, f), bufferedBytes: () => this.bufferedBytes() };
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** Keepalive: a peer that did not answer the last ping is cut. */
  ping(): void {
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    if (this.open) this.ws.ping();
  }

  stats(): LinkStats {
    return {
      peer: this.peer, dir: this.dir, framesOut: this.framesOut, bytesOut: this.bytesOut, framesIn: this.framesIn,
      bytesIn: this.bytesIn, bufferedBytes: this.bufferedBytes(), channelsOut: this.outbound.size,
    };
  }
}

export interface MediaLinksOptions {
  nodeId: string;
  /** the cluster secret: a peer must prove it knows it (HMAC), and this node proves it to the peer */
  secret: string;
  /** where to listen: HOST:PORT (port 0: any free port) */
  listen: { host: string; port: number };
  /** the address announced to the other nodes (default: the listening host, or this machine's first non-loopback IPv4 when it listens on every address, and the bound port) */
  announce?: string | undefined;
  /** a node's announced address (Redis); undefined when it has none */
  lookup: (node: string) => Promise<string | undefined>;
  /** tells the other nodes this node's address (Redis) */
  publish: (address: string) => Promise<void>;
  handler: LinkHandler;
  log: (line: string, event?: string) => void;
}

const mac = (secret: string, label: string, nonce: string, a: string, b: string): string =>
  createHmac('sha256', secret).update(`convene-media-link\n${label}\n${nonce}\n${a}\n${b}`).digest('hex');

function sameMac(a: unknown, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function parse(data: WebSocket.RawData): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data.toString()) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The links of one node: its listener, the links it opened and those opened to it. */
export class MediaLinks {
  private readonly links = new Map<string, Set<Link>>();
  private readonly dialing = new Set<string>();
  private readonly lastDial = new Map<string, number>();
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;
  /** the address announced to the other nodes */
  address = '';
  /** peers refused (wrong or missing secret, bad handshake) */
  refused = 0;

  constructor(private readonly opts: MediaLinksOptions) {
    if (opts.secret.length < 16) throw new RangeError('the cluster secret must be at least 16 characters');
  }

  /** Listens, and announces the address (a failed announcement is retried by `announce()`). */
  async start(): Promise<void> {
    const { host, port } = this.opts.listen;
    this.http = createServer((_req, res) => { res.writeHead(426).end(); });
    this.wss = new WebSocketServer({
      server: this.http, maxPayload: MAX_LINK_MESSAGE, perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(LINK_PROTOCOL) ? LINK_PROTOCOL : false),
    });
    this.wss.on('connection', (ws) => this.accept(ws));
    this.wss.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      this.http!.once('error', reject);
      this.http!.listen(port, host, () => { this.http!.off('error', reject); resolve(); });
    });
    const bound = (this.http.address() as AddressInfo).port;
    this.address = this.opts.announce ?? `${announceHost(host)}:${bound}`;
    this.pinger = setInterval(() => { for (const set of this.links.values()) for (const l of set) l.ping(); }, PING_MS);
    this.pinger.unref();
    await this.announce();
  }

  /** (Again) tells the other nodes this node's address; false when Redis is away. */
  async announce(): Promise<boolean> {
    try {
      await this.opts.publish(this.address);
      return true;
    } catch {
      return false;
    }
  }

  /** An open link to `peer`, or undefined while there is none (one is being opened: `handler.up` tells). */
  linkTo(peer: string): Link | undefined {
    for (const l of this.links.get(peer) ?? []) if (l.open) return l;
    const last = this.lastDial.get(peer) ?? 0;
    if (!this.dialing.has(peer) && Date.now() - last >= REDIAL_MS && !this.closed) void this.dial(peer);
    return undefined;
  }

  private async dial(peer: string): Promise<void> {
    this.dialing.add(peer);
    this.lastDial.set(peer, Date.now());
    try {
      const address = await this.opts.lookup(peer);
      if (!address || this.closed) return;
      await this.connect(peer, address);
    } catch {
      // Redis away (new links wait), or the node is gone: tried again on the next need
    } finally {
      this.dialing.delete(peer);
    }
  }

  /** Opens a link to `peer` at `address`; resolves once it is authenticated (rejects if not). */
  connect(peer: string, address: string): Promise<Link> {
    const me = this.opts.nodeId;
    const secret = this.opts.secret;
    const ws = new WebSocket(`ws://${address}/`, LINK_PROTOCOL, { maxPayload: MAX_LINK_MESSAGE, perMessageDeflate: false, handshakeTimeout: AUTH_TIMEOUT_MS });
    const nonce = randomBytes(16).toString('hex');
    return new Promise<Link>((resolve, reject) => {
      let step: 'hello' | 'ok' = 'hello';
      const fail = (why: string): void => {
        ws.terminate();
        reject(new Error(`media link to node ${peer} at ${address}: ${why}`));
      };
      const timer = setTimeout(() => fail('no handshake'), AUTH_TIMEOUT_MS);
      ws.on('error', (e) => { clearTimeout(timer); reject(e); });
      ws.on('close', (code, reason) => { clearTimeout(timer); reject(new Error(`media link to node ${peer} closed (${code} ${reason.toString()})`)); });
      const onMessage = (data: WebSocket.RawData, binary: boolean): void => {
        const m = binary ? undefined : parse(data);
        if (step === 'hello') {
          if (m?.['t'] !== 'hello' || typeof m['nonce'] !== 'string') return fail('no hello');
          if (m['node'] !== peer) return fail(`the node there is ${String(m['node'])}, not ${peer}`);
          ws.send(JSON.stringify({ t: 'auth', node: me, nonce, mac: mac(secret, 'auth', m['nonce'], me, peer) }));
          step = 'ok';
          return;
        }
        clearTimeout(timer);
        ws.off('message', onMessage);
        if (m?.['t'] !== 'ok' || !sameMac(m['mac'], mac(secret, 'ok', nonce, peer, me))) {
          this.refused++;
          this.opts.log(`convene: media link to node ${peer}: it does not know the cluster secret`, 'mediaLinkRefused');
          return fail('the peer does not know the cluster secret');
        }
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        resolve(this.adopt(new Link(peer, 'out', ws), ws));
      };
      ws.on('message', onMessage);
    });
  }

  /** A node opens a link to this one: it must prove it knows the secret. */
  private accept(ws: WebSocket): void {
    const me = this.opts.nodeId;
    const secret = this.opts.secret;
    const nonce = randomBytes(16).toString('hex');
    ws.on('error', () => {});
    const refuse = (why: string): void => {
      this.refused++;
      this.opts.log(`convene: media link refused: ${why}`, 'mediaLinkRefused');
      ws.close(LinkClose.AUTH_FAILED, 'cluster link authentication failed');
      setTimeout(() => ws.terminate(), 1000).unref();
    };
    const timer = setTimeout(() => refuse('no authentication in time'), AUTH_TIMEOUT_MS);
    ws.once('close', () => clearTimeout(timer));
    ws.once('message', (data, binary) => {
      clearTimeout(timer);
      const m = binary ? undefined : parse(data);
      const peer = m?.['node'];
      if (m?.['t'] !== 'auth' || typeof peer !== 'string' || typeof m['nonce'] !== 'string' || !sameMac(m['mac'], mac(secret, 'auth', nonce, peer, me))) {
        return refuse('the peer does not know the cluster secret');
      }
      ws.send(JSON.stringify({ t: 'ok', mac: mac(secret, 'ok', m['nonce'], me, peer) }));
      ws.removeAllListeners('close');
      this.adopt(new Link(peer, 'in', ws), ws);
    });
    ws.send(JSON.stringify({ t: 'hello', v: 1, node: me, nonce }));
  }

  private adopt(link: Link, ws: WebSocket): Link {
    const handler = this.opts.handler;
    let set = this.links.get(link.peer);
    if (!set) this.links.set(link.peer, (set = new Set()));
    set.add(link);
    ws.on('pong', () => { link.alive = true; });
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, binary: boolean) => {
      link.alive = true;
      if (binary) {
        if (data.byteLength <= LINK_HEADER_BYTES) return;
        link.framesIn++;
        link.bytesIn += data.byteLength;
        handler.media(link, data.readUInt32BE(0), new Uint8Array(data.buffer, data.byteOffset + LINK_HEADER_BYTES, data.byteLength - LINK_HEADER_BYTES));
        return;
      }
      const m = parse(data);
      if (!m || typeof m['t'] !== 'string' || typeof m['ch'] !== 'number') return link.close(LinkClose.PROTOCOL, 'bad control message');
      handler.control(link, m as unknown as LinkControl);
    });
    ws.on('close', () => {
      set.delete(link);
      if (set.size === 0 && this.links.get(link.peer) === set) this.links.delete(link.peer);
      handler.down(link);
    });
    handler.up(link);
    return link;
  }

  /** Every link now. */
  all(): Link[] {
    return [...this.links.values()].flatMap((set) => [...set]);
  }

  stats(): LinkStats[] {
    return this.all().map((l) => l.stats());
  }

  close(): void {
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    for (const set of [...this.links.values()]) for (const l of [...set]) l.close(LinkClose.SHUTDOWN, 'node shutting down');
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    this.http?.close();
    this.http?.closeAllConnections();
  }
}

/** The host other nodes reach: the listening one, or (listening on every address) this machine's first non-loopback IPv4. */
function announceHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return host.includes(':') ? `[${host}]` : host;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
