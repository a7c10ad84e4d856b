/**
 * What the cluster tests run: a real redis-server on a free port, server nodes as processes
 * of their own (so that one can be killed with SIGKILL), and a round-robin TCP proxy in front
 * of the nodes (any TCP load balancer).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server on loopback (lib/tools/redis-server.ts). */
export { RedisServer as RedisProcess, freePort } from '../../lib/tools/redis-server';
export { RoundRobinProxy } from '../../lib/tools/round-robin-proxy';

export { until } from './events';

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
