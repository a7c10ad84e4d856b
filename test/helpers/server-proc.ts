/**
 * A Convene server in a child process (from dist/), so that its memory can be measured
 * apart from the test's clients. One request at a time over stdin/stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { ServerOptions } from '../../lib/server';
import { DIST, ensureDist } from './dist';

export interface ServerStat {
  /** resident set size of the server process, bytes */
  rss: number;
  /** the connection asked about: undefined when gone */
  conn?: { state: string; attached: boolean; lastSeq: number };
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** the process's RSS (after a full GC when `gc`) and, given a session and connection id, that connection's state */
  stat(sessionId?: string, connectionId?: string, gc?: boolean): Promise<ServerStat>;
  close(): Promise<void>;
}

const SCRIPT = `
const { startServer } = require(${JSON.stringify(join(DIST, 'server', 'index.js'))});
const readline = require('node:readline');
(async () => {
  const server = await startServer(JSON.parse(process.argv[1]));
  process.stdout.write(JSON.stringify({ url: server.url }) + '\\n');
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const [gc, sid, cid] = line.split(' ');
    if (gc === 'gc' && global.gc) global.gc();
    const c = sid && cid ? server.registry.findConnection(sid, cid) : undefined;
    const conn = c ? { state: c.state, attached: c.currentTransport !== undefined, lastSeq: c.lastSeq } : undefined;
    process.stdout.write(JSON.stringify({ rss: process.memoryUsage().rss, conn }) + '\\n');
  });
  rl.on('close', () => { server.kill().then(() => process.exit(0)); });
})().catch((e) => { console.error(e); process.exit(1); });
`;

export async function startServerProcess(options: ServerOptions): Promise<ServerProcess> {
  await ensureDist();
  // a small young generation: the RSS measured is what the server keeps, not garbage of the load
  const child = spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '-e', SCRIPT, JSON.stringify({ port: 0, ...options })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (): Promise<string> => new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the server process did not answer')), 10_000);
    waiting.push((line) => { clearTimeout(t); resolve(line); });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await Promise.race([next(), exited.then(() => { throw new Error('the server process exited'); })]);
  const { url } = JSON.parse(first) as { url: string };
  return {
    url,
    child,
    async stat(sessionId, connectionId, gc = false) {
      const answer = next();
      child.stdin!.write(`${gc ? 'gc' : '-'} ${sessionId ?? ''} ${connectionId ?? ''}\n`);
      return JSON.parse(await answer) as ServerStat;
    },
    async close() {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
