/**
 * ConveneServer: one HTTP(S) port serving the WebSocket protocol and the REST API.
 * Owns the registry, the sockets and the keepalive sweep.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { ProjectStore, type Project } from './projects';
import { MAX_CONNECTION_DATA_CHARS, MAX_SIGNAL_DATA_BYTES, MAX_SIGNAL_TYPE_BYTES } from '../wire';
import { Cluster } from './cluster/cluster';
import { Registry, type RegistryLimits } from './registry';
import { handleRest } from './rest';
import { WebAssets } from './web-assets';
import { ClientSocket, type SocketConfig, type SocketHost } from './socket';
import { DeadlineWheel } from './deadline-wheel';
import type { Connection } from './connection';
import { createLogger, LogThrottle, silentLog, type Logger, type LogLevel } from './logger';
import { WebRtcEdge, type WebRtcOptions } from './webrtc/edge';
import { MediaRelay } from './cluster/media-relay';
import type { MediaRelayView } from './cluster/media-stats';

/** Highest maxFrameBytes accepted. */
const WS_MAX_PAYLOAD = 1024 * 1024;
/** A socket still waiting for complete request headers: its timer until the request or upgrade. */
const PRE_REQUEST_TIMER = Symbol('convene.preRequestTimer');
type TimedSocket = Socket & { [PRE_REQUEST_TIMER]?: NodeJS.Timeout };

export interface ServerOptions {
  /** Projects (api key / secret pairs) this server accepts. At least one. */
  projects: Project[];
  host?: string;
  /** 0 picks a free port. Default 4100. */
  port?: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  graceWindowMs?: number;
  handshakeTimeoutMs?: number;
  /**
   * Application keepalive (docs/protocol.md section 7): a peer not heard from for this long is
   * pinged (default 25 s; clients ping at most this far apart).
   */
  keepaliveIntervalMs?: number;
  /**
   * A peer heard from not at all for this long is closed (4002; default 40 s). Between pings
   * the kernel watches the path: every socket gets TCP keepalive probes after
   * tcpKeepaliveIdleMs(keepaliveTimeoutMs) of silence, so a black-holed client is found dead
   * within about 20 s without the application waking up for it.
   */
  keepaliveTimeoutMs?: number;
  /**
   * Largest client frame; the WebSocket layer refuses a larger one from its header, before
   * reading it (close 1009). At least largestClientFrameBytes() (protocol.ts) for clients to send every frame they need.
   */
  maxFrameBytes?: number;
  maxConnectionsPerSession?: number;
  /** Open TCP connections per client IP address (WebSocket and REST alike); 0 = no limit. Default 256. */
  maxConnectionsPerAddress?: number;
  /**
   * A new TCP connection (TLS included) must have sent complete HTTP request headers (the
   * WebSocket upgrade or a REST request) within this many ms, or it is closed. Default 5000.
   */
  headersTimeoutMs?: number;
  signalsPerSecond?: number;
  signalBurst?: number;
  maxReplayEvents?: number;
  maxReplayBytes?: number;
  /**
   * Bytes waiting in a socket to be sent to a client that does not read them: past half, its
   * frames are no longer read; past it, the socket is dropped (close 4003). Default 8 MiB.
   */
  maxSendBufferBytes?: number;
  /**
   * Media (v1.1): a subscriber's frames go to its socket only while fewer bytes than this wait
   * in it; past it they wait in the subscriber's queue. Default 65536.
   */
  mediaSendBufferBytes?: number;
  /** Media: frames one subscriber's queue holds per track; past it the oldest is dropped (counted). Default 25 (500 ms of audio). */
  /**
   * Development mode: the project whose tokens `/dev/join` mints for the room page (a person
   * joins from a browser without a server SDK). Never set it in production: anyone who can
   * reach the server could join any session of that project.
   */
  devProject?: Project;
  /** where the browser files (room page, /convene.js) are; default dist/web */
  webDir?: string;
  mediaQueueFrames?: number;
  /** video bytes a subscriber's track may hold behind a congested socket; past it they go, to the next keyframe (default 512 KiB; protocol §15.4) */
  mediaVideoQueueBytes?: number;
  /** close(): sockets still open this long after serverRotation are dropped. Default 5000. */
  shutdownTimeoutMs?: number;
  /**
   * redis://HOST:PORT: join a cluster of nodes sharing their sessions through this Redis
   * (docs/cluster.md). Without it everything stays in this process.
   */
  redis?: string;
  /**
   * Cluster: the secret the nodes share to open media links to each other (at least 16
   * characters; docs/cluster.md, "Media across nodes"). Without it a subscriber gets media only
   * from publishers of its own node (4501 otherwise).
   */
  clusterSecret?: string;
  /**
   * Cluster: HOST:PORT where this node listens for the other nodes' media links, and the
   * address it announces to them (Redis). Default: this server's host, any free port (listening
   * on 0.0.0.0, the machine's first non-loopback IPv4 is announced).
   */
  clusterMediaAddress?: string;
  /** Where the operator log goes (README, "Server logs"). Default: nothing is logged. */
  logger?: Logger;
  /** Without `logger`: log JSON lines at this level to standard error. */
  logLevel?: LogLevel;
  /**
   * Revision 1.2: browsers' media over WebRTC (docs/protocol.md section 16): on by default;
   * `publicIp` announced besides the host candidates, `portRange` [min, max] for the UDP ports.
   */
  webrtc?: WebRtcOptions;
}

/**
 * The TCP keepalive idle time for a server whose keepalive timeout is `timeoutMs`: Node probes
 * 10 times 1 s apart after it, so a silent path is found dead after idle + 10 s: 20 s at most
 * (sooner than a long application timeout), never later than the timeout itself.
 */
export function tcpKeepaliveIdleMs(timeoutMs: number): number {
  return Math.max(1000, Math.min(timeoutMs, 20_000) - 10_000);
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4100,
  graceWindowMs: 30_000,
  handshakeTimeoutMs: 10_000,
  keepaliveIntervalMs: 25_000,
  keepaliveTimeoutMs: 40_000,
  maxFrameBytes: 65_536,
  maxConnectionsPerSession: 1000,
  maxConnectionsPerAddress: 256,
  headersTimeoutMs: 5000,
  signalsPerSecond: 1000,
  signalBurst: 2000,
  maxReplayEvents: 10_000,
  maxReplayBytes: 8 * 1024 * 1024,
  maxSendBufferBytes: 8 * 1024 * 1024,
  mediaSendBufferBytes: 64 * 1024,
  mediaQueueFrames: 25,
  mediaVideoQueueBytes: 512 * 1024,
  shutdownTimeoutMs: 5000,
} as const;

export class ConveneServer implements SocketHost {
  readonly projects: ProjectStore;
  readonly registry: Registry;
  readonly config: SocketConfig;
  accepting = true;
  private readonly http: HttpServer;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<ClientSocket>();
  /** open TCP connections per remote address (maxConnectionsPerAddress) */
  private readonly perAddress = new Map<string, number>();
  private sweep: NodeJS.Timeout | undefined;
  /**
   * The keepalive: every socket at its next check (ping or timeout), swept every period. A dead
   * socket is noticed within keepaliveTimeoutMs + one period (at most 1 s, a tenth of the
   * timeout when shorter); a silent peer is pinged every keepaliveIntervalMs (+ one period).
   */
  private readonly keepalivePeriodMs: number;
  /** TCP keepalive idle time of every accepted socket (tcpKeepaliveIdleMs). */
  private readonly tcpKeepaliveIdleMs: number;
  private readonly keepaliveWheel: DeadlineWheel<ClientSocket>;
  private readonly opts: Required<Omit<ServerOptions, 'tls' | 'projects' | 'redis' | 'logger' | 'logLevel' | 'webrtc' | 'devProject' | 'webDir' | 'clusterSecret' | 'clusterMediaAddress'>>
    & Pick<ServerOptions, 'tls' | 'redis' | 'clusterSecret' | 'clusterMediaAddress'>;
  /** cluster with a secret: the media links to the other nodes */
  private relay: MediaRelay | undefined;
  /** cluster with a secret: the media links' counters and address (undefined otherwise) */
  get mediaRelay(): MediaRelayView | undefined {
    return this.relay;
  }
  /** the WebRTC edge (revision 1.2), or why this server has none */
  readonly webrtc: WebRtcEdge | { disabled: string };
  /** set by listen() when the server is a cluster node */
  cluster: Cluster | undefined;
  private stopped: Promise<number> | undefined;
  /** the operator log (silent unless options.logger or options.logLevel) */
  log: Logger;
  private readonly limitLog = new LogThrottle<Connection>();

  constructor(options: ServerOptions) {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'number' && (!Number.isFinite(v) || v < 0)) throw new RangeError(`option '${k}' must be a number >= 0`);
    }
    if (o.keepaliveIntervalMs <= 0 || o.keepaliveTimeoutMs <= 0) throw new RangeError('keepalive interval and timeout must be > 0');
    if (o.headersTimeoutMs <= 0) throw new RangeError('headersTimeoutMs must be > 0');
    if (o.maxSendBufferBytes < 65_536) throw new RangeError("option 'maxSendBufferBytes' must be at least 65536");
    if (o.clusterSecret !== undefined && o.clusterSecret.length < 16) throw new RangeError("option 'clusterSecret' must be at least 16 characters");
    if (o.clusterMediaAddress !== undefined) parseHostPort(o.clusterMediaAddress);
    if (o.maxFrameBytes < 1 || o.maxFrameBytes > WS_MAX_PAYLOAD) throw new RangeError(`option 'maxFrameBytes' must be between 1 and ${WS_MAX_PAYLOAD}`);
    this.opts = o;
    this.log = options.logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLog);
    this.projects = new ProjectStore(options.projects);
    this.webrtc = WebRtcEdge.create(options.webrtc, this.log);
    const limits: RegistryLimits = {
      maxConnectionsPerSession: o.maxConnectionsPerSession,
      signalsPerSecond: o.signalsPerSecond,
      signalBurst: o.signalBurst,
      maxReplayEvents: o.maxReplayEvents,
      maxReplayBytes: o.maxReplayBytes,
    };
    this.registry = new Registry({ limits, graceWindowMs: o.graceWindowMs,
      media: { sendBufferBytes: o.mediaSendBufferBytes, queueFrames: o.mediaQueueFrames, videoQueueBytes: o.mediaVideoQueueBytes },
      onConnectionGone: (conn, reason) => this.log.info({ event: 'left', sessionId: conn.sessionId, connectionId: conn.id, reason }, `client left (${reason})`),
      onLimit: (conn, limit) => this.logLimit(conn, limit), log: this.log, webrtc: this.webrtc });
    this.config = {
      maxFrameBytes: o.maxFrameBytes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      keepaliveTimeoutMs: o.keepaliveTimeoutMs,
      maxFramesPerSecond: o.signalsPerSecond > 0 ? 5 * o.signalsPerSecond + 100 : 1_000_000,
      maxSendBufferBytes: o.maxSendBufferBytes,
    };
    const web = new WebAssets({ devProject: options.devProject, dir: options.webDir, serverUrl: () => this.url });
    this.tcpKeepaliveIdleMs = tcpKeepaliveIdleMs(o.keepaliveTimeoutMs);
    this.keepalivePeriodMs = Math.max(20, Math.min(o.keepaliveIntervalMs, o.keepaliveTimeoutMs / 10, 1000));
    this.keepaliveWheel = new DeadlineWheel(this.keepalivePeriodMs, Date.now());
    const onRequest = (req: Parameters<typeof handleRest>[0], res: Parameters<typeof handleRest>[1]): void => {
      if (web.handle(req, res)) return;
      void handleRest(req, res, { projects: this.projects, registry: this.registry, publicUrl: () => this.url, log: this.log });
    };
    // Idle and slow sockets before the upgrade are closed within seconds (Node's own header
    // timeout is checked every connectionsCheckingInterval; the socket timers below are exact).
    const httpOpts = {
      headersTimeout: o.headersTimeoutMs, requestTimeout: Math.max(30_000, o.headersTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, o.headersTimeoutMs),
    };
    this.http = options.tls
      ? createHttpsServer({ ...httpOpts, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: o.headersTimeoutMs }, onRequest)
      : createHttpServer(httpOpts, onRequest);
    this.http.on('connection', (socket: Socket) => this.onTcpConnection(socket, !options.tls));
    if (options.tls) this.http.on('secureConnection', (socket: Socket) => this.armPreRequestTimer(socket));
    this.http.on('request', (req: { socket: Socket }) => this.disarmPreRequestTimer(req.socket));
    this.http.on('upgrade', (req: { socket: Socket }) => this.disarmPreRequestTimer(req.socket));
    this.wss = new WebSocketServer({
      server: this.http,
      // a frame over the limit is refused from its header, before its payload is read (1009)
      maxPayload: o.maxFrameBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has('convene.v1') ? 'convene.v1' : false),
    });
    this.wss.on('connection', (ws, req) => {
      const sock = new ClientSocket(ws, this);
      sock.log = this.log.child({ remote: req.socket.remoteAddress });
      this.sockets.add(sock);
      this.keepaliveWheel.schedule(sock, sock.nextKeepaliveCheck());
    });
    this.wss.on('error', () => { /* errors of the listening socket surface through http */ });
  }

  /**
   * A new TCP connection: counted against its address's limit (refused with 429 over it), and,
   * over plain HTTP, given headersTimeoutMs to send its request headers.
   */
  private onTcpConnection(socket: Socket, plain: boolean): void {
    const addr = socket.remoteAddress ?? '';
    const max = this.opts.maxConnectionsPerAddress;
    const n = (this.perAddress.get(addr) ?? 0) + 1;
    if (max > 0 && n > max) {
      const body = JSON.stringify({ code: 429, message: `too many connections from ${addr} (at most ${max})` });
      if (plain) {
        socket.end(`HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        setTimeout(() => socket.destroy(), 1000).unref();
      } else {
        socket.destroy();
      }
      return;
    }
    this.perAddress.set(addr, n);
    // the kernel probes a silent path (Node sets 1 s between probes, 10 probes)
    socket.setKeepAlive(true, this.tcpKeepaliveIdleMs);
    socket.once('close', () => {
      const left = (this.perAddress.get(addr) ?? 1) - 1;
      if (left > 0) this.perAddress.set(addr, left);
      else this.perAddress.delete(addr);
    });
    if (plain) this.armPreRequestTimer(socket);
  }

  private armPreRequestTimer(socket: TimedSocket): void {
    const timer = setTimeout(() => socket.destroy(), this.opts.headersTimeoutMs);
    timer.unref();
    socket[PRE_REQUEST_TIMER] = timer;
    socket.once('close', () => clearTimeout(timer));
  }

  private disarmPreRequestTimer(socket: TimedSocket): void {
    clearTimeout(socket[PRE_REQUEST_TIMER]);
    socket[PRE_REQUEST_TIMER] = undefined;
  }

  /** Open TCP connections from an address (maxConnectionsPerAddress). */
  connectionsFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Starts listening; resolves once the port is bound. */
  async listen(): Promise<this> {
    if (this.opts.redis && !this.cluster) {
      this.cluster = await Cluster.connect({
        url: this.opts.redis, graceWindowMs: this.opts.graceWindowMs,
        onEntry: (entry) => this.registry.receiveEntry(entry), onResync: () => this.registry.resync(),
        log: (line, event) => this.logCluster(line, event),
      });
      this.registry.attachCluster(this.cluster, (on) => {
        if (!on) for (const sock of [...this.sockets]) sock.releaseHeld();
      });
      if (this.opts.clusterSecret !== undefined) {
        const cluster = this.cluster;
        const listen = this.opts.clusterMediaAddress ? parseHostPort(this.opts.clusterMediaAddress) : { host: this.opts.host, port: 0 };
        const relay = this.registry.attachMediaRelay((host) => new MediaRelay({
          cluster, secret: this.opts.clusterSecret as string, listen, host, log: (line, event) => this.logCluster(line, event),
        }));
        try {
          await relay.start();
        } catch (e) {
          cluster.close();
          throw new Error(`cannot listen for media links on ${listen.host}:${listen.port}: ${(e as Error).message}`);
        }
        this.relay = relay;
      }
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      this.http.once('error', onError);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    this.sweep = setInterval(() => this.keepaliveSweep(), this.keepalivePeriodMs);
    if (this.cluster) this.log = this.log.child({ node: this.cluster.nodeId });
    this.log.info({ event: 'started', url: this.url, apiUrl: this.apiUrl, cluster: this.cluster !== undefined, nodeId: this.cluster?.nodeId ?? null, projects: this.projects.list().length }, 'server started');
    return this;
  }

  get port(): number {
    return (this.http.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  get host(): string {
    return this.opts.host;
  }

  /** The URL clients use: ws://host:port or wss://host:port. */
  get url(): string {
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `${this.opts.tls ? 'wss' : 'ws'}://${host}:${this.port}`;
  }

  /** The URL of the REST API (what the opentok SDK takes as apiUrl). */
  get apiUrl(): string {
    return this.url.replace(/^ws/, 'http');
  }

  /** Cluster back-pressure: clients' requests wait while a node applies too far behind. */
  get throttled(): boolean {
    return this.registry.throttled;
  }

  limitsFrame(): Record<string, number> {
    const o = this.opts;
    return {
      maxSignalTypeBytes: MAX_SIGNAL_TYPE_BYTES,
      maxSignalDataBytes: MAX_SIGNAL_DATA_BYTES,
      maxConnectionDataChars: MAX_CONNECTION_DATA_CHARS,
      maxFrameBytes: this.config.maxFrameBytes,
      maxConnectionsPerSession: o.maxConnectionsPerSession,
      signalsPerSecond: o.signalsPerSecond,
      signalBurst: o.signalBurst,
      maxReplayEvents: o.maxReplayEvents,
      maxReplayBytes: o.maxReplayBytes,
    };
  }

  /** A client hit a limit: logged at most once per connection every 10 s, with the count left out. */
  private logLimit(conn: Connection, limit: 'signalRate' | 'replayBuffer'): void {
    const held = this.limitLog.take(conn);
    if (held === undefined) return;
    this.log.warn({ event: 'limit', limit, sessionId: conn.sessionId, connectionId: conn.id, ...(held > 0 ? { alsoSince: held } : {}) }, `client hit the ${limit} limit`);
  }

  /** What the cluster layer reports: Redis outages and recovery, nodes swept. */
  private logCluster(line: string, event: string | undefined): void {
    const msg = line.replace(/^convene: /, '');
    if (event === 'redisRecovered') this.log.info({ event }, msg);
    else this.log.warn({ event: event ?? 'cluster' }, msg);
  }

  forget(sock: ClientSocket): void {
    this.sockets.delete(sock);
    this.keepaliveWheel.remove(sock);
  }

  /** Visits the sockets whose keepalive check has come (not every socket: lib/server/deadline-wheel.ts). */
  private keepaliveSweep(): void {
    const now = Date.now();
    this.keepaliveWheel.advance(now, (sock) => sock.keepalive(now));
  }

  /**
   * Graceful shutdown: refuse new handshakes, send serverRotation to every connected
   * client, close every socket (1001) and the port. Idempotent. Resolves with the number of
   * sockets that had not finished closing by `shutdownTimeoutMs` and were dropped.
   */
  close(): Promise<number> {
    if (this.stopped) return this.stopped;
    this.log.info({ event: 'stopping', clients: this.sockets.size }, 'shutting down');
    this.accepting = false;
    if (this.sweep) clearInterval(this.sweep);
    this.stopped = (async () => {
      for (const sock of [...this.sockets]) sock.rotate();
      // In a cluster the other nodes' clients see this node's clients leave (those were told
      // serverRotation: they end their session); alone, nobody is left to tell.
      if (this.cluster) for (const conn of [...this.registry.allConnections()]) this.registry.destroy(conn, 'networkDisconnected');
      for (const conn of [...this.registry.allConnections()]) conn.markClosed();
      // A client that never answers its close frame would hold the process for ws' 30 s close
      // timeout: everyone was told (serverRotation, 1001), so drop what is left after the deadline.
      const until = Date.now() + this.opts.shutdownTimeoutMs;
      while (this.wss.clients.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      const dropped = this.wss.clients.size;
      for (const client of this.wss.clients) client.terminate();
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        this.http.close(() => resolve());
        this.http.closeAllConnections();
      });
      this.registry.close();
      if (this.webrtc instanceof WebRtcEdge) this.webrtc.closeAll();
      this.relay?.close();
      this.cluster?.close();
      this.log.info({ event: 'stopped', dropped }, 'stopped');
      return dropped;
    })();
    return this.stopped;
  }

  /**
   * Cuts every client socket with no close handshake, as a network failure would (demos and
   * fault tests). Connections stay in their grace window and can be resumed.
   */
  dropAllSockets(): number {
    let n = 0;
    for (const client of this.wss.clients) {
      client.terminate();
      n++;
    }
    return n;
  }

  /** Like close() but drops every socket at once with no goodbye (tests: a crashed server). */
  async kill(): Promise<number> {
    this.accepting = false;
    if (this.sweep) clearInterval(this.sweep);
    for (const conn of [...this.registry.allConnections()]) conn.markClosed();
    for (const client of this.wss.clients) client.terminate();
    return this.close();
  }
}

/** Creates a server and starts listening. */
export async function startServer(options: ServerOptions): Promise<ConveneServer> {
  return new ConveneServer(options).listen();
}

/** HOST:PORT ([v6]:PORT too); throws a RangeError naming what is wrong. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new RangeError(`'${text}' is not HOST:PORT`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
