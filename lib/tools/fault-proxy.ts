/**
 * A TCP fault proxy for tests: clients connect to the proxy, which forwards to the server
 * and can, for a given time, cut every connection (RST), black-hole traffic (bytes vanish,
 * sockets stay open), refuse new connections, or delay traffic.
 */
import net from 'node:net';

type Mode = 'pass' | 'blackhole' | 'refuse';

interface Pair { client: net.Socket; server: net.Socket }

export class FaultProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private mode: Mode = 'pass';
  private delayMs = 0;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private accept(client: net.Socket): void {
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    const pair: Pair = { client, server: upstream };
    this.pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk) => {
      if (this.mode === 'blackhole') return; // the bytes vanish; nobody is told
      if (this.delayMs > 0) setTimeout(() => to.write(chunk), this.delayMs);
      else to.write(chunk);
    });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /** Resets every open connection (like a router dropping state). */
  cut(): number {
    const n = this.pairs.size;
    for (const p of [...this.pairs]) {
      p.client.resetAndDestroy();
      p.server.resetAndDestroy();
    }
    this.pairs.clear();
    return n;
  }

  /** Bytes vanish in both directions for `ms` (connections stay open), then flow again. */
  async blackhole(ms: number): Promise<void> {
    this.mode = 'blackhole';
    await new Promise((r) => setTimeout(r, ms));
    this.mode = 'pass';
  }

  /** New connections are reset at once for `ms`; existing ones are cut at the start. */
  async refuse(ms: number): Promise<void> {
    this.mode = 'refuse';
    this.cut();
    await new Promise((r) => setTimeout(r, ms));
    this.mode = 'pass';
  }

  /** Adds latency to every chunk (0 to stop). */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
