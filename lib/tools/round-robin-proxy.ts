/**
 * A round-robin TCP load balancer for tests and benchmarks of a cluster: each new connection
 * goes to the next node in turn; a node that refuses the connection (dead) is skipped, as a
 * load balancer with health checks would. It can also cut every connection to one node (the
 * node stays up) and keep new connections away from some nodes.
 */
import net from 'node:net';

export class RoundRobinProxy {
  private server: net.Server | undefined;
  private next = 0;
  private readonly sockets = new Set<net.Socket>();
  /** client sockets by the node port they go to */
  private readonly byPort = new Map<number, Set<net.Socket>>();
  /** node ports new connections are not sent to */
  readonly avoid = new Set<number>();
  port = 0;

  constructor(private readonly ports: number[], private readonly host = '127.0.0.1') {}

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  private pick(): number {
    for (let i = 0; i < this.ports.length; i++) {
      const port = this.ports[this.next++ % this.ports.length] as number;
      if (!this.avoid.has(port)) return port;
    }
    return this.ports[this.next++ % this.ports.length] as number;
  }

  private accept(client: net.Socket, tries = 0): void {
    client.pause();
    this.track(client);
    const port = this.pick();
    const upstream = net.connect(port, this.host);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.track(upstream);
      const group = this.byPort.get(port) ?? new Set<net.Socket>();
      this.byPort.set(port, group);
      group.add(client);
      client.on('close', () => group.delete(client));
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    });
    upstream.once('error', () => {
      if (!connected && tries + 1 < this.ports.length && !client.destroyed) this.accept(client, tries + 1); // a dead node: the next
      else client.destroy();
    });
  }

  private track(s: net.Socket): void {
    if (this.sockets.has(s)) return;
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
  }

  /** Cuts every connection going to a node (the node stays up); returns how many. */
  cut(port: number): number {
    const group = this.byPort.get(port) ?? new Set<net.Socket>();
    const n = group.size;
    for (const s of [...group]) s.destroy();
    return n;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
