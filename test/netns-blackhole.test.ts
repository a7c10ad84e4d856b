/**
 * A black hole, beside test/netns.test.ts: client `a` reaches the server through a router
 * network namespace whose two interfaces are made to drop every packet
 * (`tc qdisc replace dev X root pfifo limit 0`), so both TCP stacks keep retransmitting into
 * nothing, with no RST, no FIN and the links up. Client `b` reaches the server directly.
 *
 *   host (a, b) ── veth ── router ns ── veth ── server ns
 *        └───────────────── veth (direct, for b) ─────┘
 *
 * The server must notice the dead client within its keepalive timeout ±1 s (from the last
 * frame it heard), keep it in its grace window, and when the hole is lifted the client (the
 * native core through lib/client) resumes with nothing lost either way. Needs root, iproute2
 * and tc; skipped otherwise, with the reason.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSession, type Session } from '../lib/index';
import { mintSessionId } from '../lib/server';
import { mintToken } from '../lib/mint';
import { DIST, ensureDist } from './helpers/dist';

function why(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  for (const [cmd, args] of [['ip', ['netns', 'list']], ['tc', ['-V']]] as const) {
    try {
      execFileSync(cmd, [...args], { stdio: 'ignore' });
    } catch {
      return `'${cmd} ${args.join(' ')}' is not available`;
    }
  }
  return undefined;
}

const reason = why();
if (reason) console.warn(`netns black hole test skipped: ${reason}`);

const id = `${process.pid % 10000}`;
const ROUTER = `cvbr${id}`;
const SRV = `cvbs${id}`;
const NET = 10 + (process.pid % 200);
// host <-> router: 10.81.NET.0/30, router <-> server: 10.82.NET.0/30, host <-> server direct: 10.83.NET.0/30
const SERVER_VIA_ROUTER = `10.82.${NET}.2`;
const SERVER_DIRECT = `10.83.${NET}.2`;
const IF = { hostR: `cvbh${id}`, routerH: `cvbrh${id}`, routerS: `cvbrs${id}`, srvR: `cvbsr${id}`, hostS: `cvbd${id}`, srvH: `cvbsd${id}` };
const TIMEOUT = 3000;
const project = { apiKey: 'blackhole', apiSecret: 'blackhole-secret-0123456789' };

const sh = (cmd: string, ...args: string[]): void => { execFileSync(cmd, args, { stdio: 'pipe' }); };
const inNs = (ns: string, cmd: string, ...args: string[]): void => sh('ip', 'netns', 'exec', ns, cmd, ...args);

/** The server, with a watcher printing when a connection loses or regains its socket. */
const SCRIPT = `
const { startServer } = require(${JSON.stringify(join(DIST, 'server', 'index.js'))});
(async () => {
  const servers = [
    await startServer({
      projects: [${JSON.stringify(project)}], host: '0.0.0.0', port: 4100,
      keepaliveIntervalMs: 2000, keepaliveTimeoutMs: ${TIMEOUT}, graceWindowMs: 30000,
    }),
    // the defaults: rare application pings (25 s), the kernel's TCP keepalive between them
    await startServer({ projects: [${JSON.stringify(project)}], host: '0.0.0.0', port: 4101, graceWindowMs: 60000 }),
  ];
  const attached = new Map();
  setInterval(() => {
    for (const server of servers) {
      for (const c of server.registry.allConnections()) {
        const on = c.currentTransport !== undefined;
        if (attached.get(c.id) === true && !on) console.log(JSON.stringify({ ev: 'detached', id: c.id, at: Date.now(), lastHeardAt: c.lastHeardAt }));
        if (attached.get(c.id) === false && on) console.log(JSON.stringify({ ev: 'attached', id: c.id, at: Date.now() }));
        attached.set(c.id, on);
      }
    }
  }, 5);
  console.log(JSON.stringify({ ev: 'listening' }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface ServerEvent { ev: string; id?: string; at?: number; lastHeardAt?: number }

let server: ChildProcess | undefined;
const events: ServerEvent[] = [];

function setBlackHole(on: boolean): void {
  for (const dev of [IF.routerH, IF.routerS]) {
    if (on) inNs(ROUTER, 'tc', 'qdisc', 'replace', 'dev', dev, 'root', 'pfifo', 'limit', '0');
    else inNs(ROUTER, 'tc', 'qdisc', 'del', 'dev', dev, 'root');
  }
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(reason !== undefined)('black hole through a router namespace', () => {
  beforeAll(async () => {
    await ensureDist();
    sh('ip', 'netns', 'add', ROUTER);
    sh('ip', 'netns', 'add', SRV);
    // host <-> router
    sh('ip', 'link', 'add', IF.hostR, 'type', 'veth', 'peer', 'name', IF.routerH);
    sh('ip', 'link', 'set', IF.routerH, 'netns', ROUTER);
    sh('ip', 'addr', 'add', `10.81.${NET}.1/30`, 'dev', IF.hostR);
    sh('ip', 'link', 'set', IF.hostR, 'up');
    inNs(ROUTER, 'ip', 'addr', 'add', `10.81.${NET}.2/30`, 'dev', IF.routerH);
    inNs(ROUTER, 'ip', 'link', 'set', IF.routerH, 'up');
    // router <-> server
    inNs(ROUTER, 'ip', 'link', 'add', IF.routerS, 'type', 'veth', 'peer', 'name', IF.srvR);
    inNs(ROUTER, 'ip', 'link', 'set', IF.srvR, 'netns', SRV);
    inNs(ROUTER, 'ip', 'addr', 'add', `10.82.${NET}.1/30`, 'dev', IF.routerS);
    inNs(ROUTER, 'ip', 'link', 'set', IF.routerS, 'up');
    inNs(ROUTER, 'ip', 'link', 'set', 'lo', 'up');
    inNs(ROUTER, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    inNs(SRV, 'ip', 'addr', 'add', `${SERVER_VIA_ROUTER}/30`, 'dev', IF.srvR);
    inNs(SRV, 'ip', 'link', 'set', IF.srvR, 'up');
    inNs(SRV, 'ip', 'link', 'set', 'lo', 'up');
    inNs(SRV, 'ip', 'route', 'add', `10.81.${NET}.0/30`, 'via', `10.82.${NET}.1`);
    sh('ip', 'route', 'add', `10.82.${NET}.0/30`, 'via', `10.81.${NET}.2`);
    // host <-> server, direct
    sh('ip', 'link', 'add', IF.hostS, 'type', 'veth', 'peer', 'name', IF.srvH);
    sh('ip', 'link', 'set', IF.srvH, 'netns', SRV);
    sh('ip', 'addr', 'add', `10.83.${NET}.1/30`, 'dev', IF.hostS);
    sh('ip', 'link', 'set', IF.hostS, 'up');
    inNs(SRV, 'ip', 'addr', 'add', `${SERVER_DIRECT}/30`, 'dev', IF.srvH);
    inNs(SRV, 'ip', 'link', 'set', IF.srvH, 'up');

    server = spawn('ip', ['netns', 'exec', SRV, process.execPath, '-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: server.stdout! }).on('line', (line) => {
      try { events.push(JSON.parse(line) as ServerEvent); } catch { /* not ours */ }
    });
    await waitFor(() => events.some((e) => e.ev === 'listening'), 10_000, 'the server to listen');
  }, 30_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    for (const ns of [ROUTER, SRV]) {
      try { sh('ip', 'netns', 'del', ns); } catch { /* already gone */ }
    }
    for (const dev of [IF.hostR, IF.hostS]) {
      try { sh('ip', 'link', 'del', dev); } catch { /* went with the namespace */ }
    }
  });

  it(`the server notices the dead client within its keepalive timeout (${TIMEOUT} ms) ±1 s; after the hole the client resumes, nothing lost`, async () => {
    const { sessionId } = mintSessionId(project);
    const opts = { connectTimeout: 2000, reconnectBackoff: { base: 100, factor: 2, cap: 500 } };
    const a: Session = initSession(project.apiKey, sessionId, { ...opts, serverUrl: `ws://${SERVER_VIA_ROUTER}:4100` });
    const b: Session = initSession(project.apiKey, sessionId, { ...opts, serverUrl: `ws://${SERVER_DIRECT}:4100` });
    await a.connect(await mintToken(project, sessionId, 'a'));
    await b.connect(await mintToken(project, sessionId, 'b'));
    const aId = a.connection!.connectionId;
    const bId = b.connection!.connectionId;
    const seen = { destroyed: 0, reconnecting: 0, reconnected: 0 };
    for (const s of [a, b]) {
      s.on('connectionDestroyed', () => { seen.destroyed++; });
      s.on('sessionReconnecting', () => { seen.reconnecting++; });
      s.on('sessionReconnected', () => { seen.reconnected++; });
    }
    const atA: string[] = [];
    const atB: string[] = [];
    a.on('signal', (e) => { if (e.from?.connectionId === bId) atA.push(e.data); });
    b.on('signal', (e) => { if (e.from?.connectionId === aId) atB.push(e.data); });
    await a.signal({ data: 'before' });
    await waitFor(() => atB.length === 1, 5000, 'b to get "before"');

    const holeAt = Date.now();
    setBlackHole(true);
    let lifted = false;
    try {
      const during = a.signal({ data: 'during the black hole' });
      during.catch(() => { /* checked below */ });
      await b.signal({ data: 'to a, directed', to: a.connection! });
      await b.signal({ data: 'to everyone' });
      // server side: a is dropped once nothing was heard from it for the timeout
      await waitFor(() => events.some((e) => e.ev === 'detached' && e.id === aId), TIMEOUT + 4000, 'the server to drop a');
      const det = events.find((e) => e.ev === 'detached' && e.id === aId)!;
      const silentFor = det.at! - det.lastHeardAt!;
      expect(det.lastHeardAt!).toBeGreaterThan(0);
      expect(det.lastHeardAt!).toBeLessThanOrEqual(holeAt + 50);
      expect(silentFor, `dropped after ${silentFor} ms of silence`).toBeGreaterThanOrEqual(TIMEOUT);
      expect(silentFor, `dropped after ${silentFor} ms of silence`).toBeLessThanOrEqual(TIMEOUT + 1000);
      expect(det.at! - holeAt).toBeLessThanOrEqual(TIMEOUT + 1000 + 50);
      expect(seen.destroyed).toBe(0); // in its grace window: b saw nothing
      await new Promise((r) => setTimeout(r, 1500));
      setBlackHole(false);
      lifted = true;
      // client side: a resumes (same connection) and everything arrives once
      // (the native client notices the dead socket by its keepalive, or by the RST its
      // retransmissions get once the hole is lifted, and resumes)
      await waitFor(() => events.some((e) => e.ev === 'attached' && e.id === aId), 20_000, 'a to resume');
      await during;
      await a.signal({ data: 'after' });
      await waitFor(() => atB.length >= 3 && atA.length >= 2, 10_000, 'every signal');
      expect(atB).toEqual(['before', 'during the black hole', 'after']);
      expect(atA).toEqual(['to a, directed', 'to everyone']);
      expect(a.connection!.connectionId).toBe(aId);
      expect(seen.destroyed).toBe(0);
      expect(seen.reconnected).toBeGreaterThanOrEqual(1);
    } finally {
      if (!lifted) setBlackHole(false);
    }
    for (const s of [a, b]) {
      const gone = new Promise((r) => s.once('sessionDisconnected', r));
      s.disconnect();
      await gone;
    }
  }, 60_000);
  it('with the defaults (application pings every 25 s, timeout 40 s), the kernel\'s TCP keepalive finds the black hole: the client reconnects and the server drops it well before 40 s', async () => {
    const { sessionId } = mintSessionId(project);
    // no keepalive settings: the server's announced 25 s / 40 s, and the core's 15 s TCP keepalive
    const c: Session = initSession(project.apiKey, sessionId, { reconnectBackoff: { base: 100, factor: 2, cap: 500 }, serverUrl: `ws://${SERVER_VIA_ROUTER}:4101` });
    await c.connect(await mintToken(project, sessionId, 'c'));
    const cId = c.connection!.connectionId;
    let reconnectingAt = 0;
    c.on('sessionReconnecting', () => { reconnectingAt ||= Date.now(); });
    await new Promise((r) => setTimeout(r, 300));
    const holeAt = Date.now();
    setBlackHole(true);
    let lifted = false;
    try {
      await waitFor(() => reconnectingAt > 0, 30_000, 'the client to notice the black hole');
      await waitFor(() => events.some((e) => e.ev === 'detached' && e.id === cId), 30_000, 'the server to drop c');
      const det = events.find((e) => e.ev === 'detached' && e.id === cId)!;
      // the core: TCP keepalive (10 s of silence, 5 probes 1 s apart) and a 15 s user timeout
      expect(reconnectingAt - holeAt, 'client noticed after').toBeLessThanOrEqual(15_000 + 2000);
      // the server: Node's TCP keepalive (10 s idle, 10 probes 1 s apart): 20 s, not the 40 s of the application
      expect(det.at! - holeAt, 'server dropped after').toBeLessThanOrEqual(20_000 + 2000);
      setBlackHole(false);
      lifted = true;
      await waitFor(() => events.some((e) => e.ev === 'attached' && e.id === cId), 20_000, 'c to resume');
      expect(c.connection!.connectionId).toBe(cId);
    } finally {
      if (!lifted) setBlackHole(false);
    }
    const gone = new Promise((r) => c.once('sessionDisconnected', r));
    c.disconnect();
    await gone;
  }, 60_000);
});
