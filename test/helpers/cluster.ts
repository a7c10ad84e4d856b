/**
 * What the cluster tests run: a real redis-server on a free port, server nodes as processes
 * of their own (so that one can be killed with SIGKILL), and a round-robin TCP proxy in front
 * of the nodes (any TCP load balancer).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

export class RedisProcess {
  proc: ChildProcess | undefined;
  /** `dir`: where a SAVE writes its snapshot, and where a restart loads it from */
  constructor(readonly port: number, private readonly dir?: string) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  async start(): Promise<void> {
    const snapshot = this.dir ? ['--dir', this.dir, '--dbfilename', 'convene-test.rdb'] : [];
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...snapshot], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      this.proc!.stdout!.on('data', (d: Buffer) => { out += d; if (/Ready to accept connections/.test(out)) resolve(); });
      this.proc!.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
  }
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGKILL'); });
  }
}

export { RoundRobinProxy } from '../../lib/tools/round-robin-proxy';

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A `convene server` process joined to a cluster; resolves once it listens. */
export class NodeProcess {
  proc: ChildProcess | undefined;
  url = '';
  port = 0;
  constructor(private readonly args: string[]) {}
  async start(): Promise<this> {
    const proc = spawn(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli.js'), 'server', '--port', '0', ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr!.on('data', () => {}); // cluster notices (nodes swept, Redis errors)
    this.url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => { out += d; const m = /listening on (ws:\/\/\S+)/.exec(out); if (m) resolve(m[1] as string); });
      proc.once('exit', (code) => reject(new Error(`node exited (${code}): ${out}`)));
    });
    this.port = Number(new URL(this.url).port);
    return this;
  }
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill(signal); });
  }
}
