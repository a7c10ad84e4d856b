/**
 * A real partition: the server runs in its own network namespace behind a veth pair, and
 * the link is taken down so the kernel drops packets (no RST, no FIN). Needs root and
 * iproute2; skipped otherwise, with the reason.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { mintSessionId } from '../lib/server';
import { mintToken } from '../lib/mint';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return "iproute2's 'ip netns' is not available";
  }
  return undefined;
}

const reason = why();
if (reason) console.warn(`netns partition test skipped: ${reason}`);

const id = `${process.pid % 10000}`;
const NS = `cvns${id}`;
const HOST_IF = `cvh${id}`;
const NS_IF = `cvn${id}`;
const SUBNET = 10 + (process.pid % 200);
const SERVER_IP = `10.79.${SUBNET}.2`;
const project = { apiKey: 'netns', apiSecret: 'netns-secret-0123456789' };
let server: ChildProcess | undefined;

const ip = (...args: string[]): void => { execFileSync('ip', args, { stdio: 'pipe' }); };

describe.skipIf(reason !== undefined)('partition with network namespaces', () => {
  beforeAll(async () => {
    ip('netns', 'add', NS);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `10.79.${SUBNET}.1/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${SERVER_IP}/30`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    server = spawn('ip', ['netns', 'exec', NS, process.execPath, join(__dirname, '..', 'dist', 'cli.js'), 'server', '--host', SERVER_IP, '--port', '4100',
      '--api-key', project.apiKey, '--api-secret', project.apiSecret, '--keepalive-interval', '500', '--keepalive-timeout', '1500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 10000);
      server!.stdout!.on('data', (d) => { out += String(d); if (out.includes('listening on')) { clearTimeout(t); resolve(); } });
    });
  }, 20_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    try { ip('netns', 'del', NS); } catch { /* already gone */ }
    try { ip('link', 'del', HOST_IF); } catch { /* went with the namespace */ }
  });

  it('the kernel drops packets for 3 s: both clients reconnect, nobody saw anyone leave, signals arrive once', async () => {
    const { sessionId } = mintSessionId(project);
    const url = `ws://${SERVER_IP}:4100`;
    const a: Session = initSession(project.apiKey, sessionId, { serverUrl: url, connectTimeout: 1000, reconnectBackoff: { base: 100, factor: 2, cap: 500 } });
    const b: Session = initSession(project.apiKey, sessionId, { serverUrl: url, connectTimeout: 1000, reconnectBackoff: { base: 100, factor: 2, cap: 500 } });
    await a.connect(await mintToken(project, sessionId, 'a'));
    await b.connect(await mintToken(project, sessionId, 'b'));
    const seen = { destroyed: 0, reconnecting: 0, reconnected: 0 };
    for (const s of [a, b]) {
      s.on('connectionDestroyed', () => { seen.destroyed++; });
      s.on('sessionReconnecting', () => { seen.reconnecting++; });
      s.on('sessionReconnected', () => { seen.reconnected++; });
    }
    const atB: string[] = [];
    b.on('signal', (e) => { if (e.from?.connectionId === a.connection?.connectionId) atB.push(e.data); });
    ip('link', 'set', HOST_IF, 'down');
    const during = a.signal({ data: 'during the partition' });
    await new Promise((r) => setTimeout(r, 3000));
    ip('link', 'set', HOST_IF, 'up');
    const end = Date.now() + 15000;
    while (seen.reconnected < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    await during;
    await a.signal({ data: 'after' });
    while (atB.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual({ destroyed: 0, reconnecting: 2, reconnected: 2 });
    expect(atB).toEqual(['during the partition', 'after']);
    for (const s of [a, b]) {
      const gone = new Promise((r) => s.once('sessionDisconnected', r));
      s.disconnect();
      await gone;
    }
  }, 40_000);
});
