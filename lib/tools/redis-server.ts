/**
 * A throwaway redis-server for tests and benchmarks of a cluster: on a free loopback port,
 * without persistence (unless `dir` is given: then SAVE writes a snapshot there and a restart
 * loads it). start() again after stop() restarts it on the same port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export class RedisServer {
  proc: ChildProcess | undefined;
  port = 0;

  /** `port` 0: a free one, chosen on the first start */
  constructor(port = 0, private readonly dir?: string) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const snapshot = this.dir ? ['--dir', this.dir, '--dbfilename', 'convene-test.rdb'] : [];
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...snapshot], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => { out += d; if (/Ready to accept connections/.test(out)) resolve(); });
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
    return this;
  }

  /** Kills it (SIGKILL: nothing saved). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGKILL'); });
  }
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
