/**
 * The server's operator log (README, "Server logs"): JSON lines on standard error from
 * `convene server` (start, clients connected / resumed / left, authentication failures,
 * limits, Redis outages), --log-level, never a token or a secret; and servers started
 * from code stay silent unless asked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, reportInternal, silentLog } from '../lib/server/logger';
import { startServer } from '../lib/server/server';
import { TestClient } from './helpers/client';
import { buildIfStale, cleanEnv, cleanUp, exitOf, jsonLines, ROOT, run, tempDir, waitLine, type Running } from './helpers/cli';
import { freePort, haveRedis, RedisProcess } from './helpers/cluster';
import { OpenTok, call } from './helpers/server';

beforeAll(buildIfStale, 90_000);

const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  cleanUp();
});

type Line = Record<string, unknown>;

/** Waits for a log line of `event` (matching `pred`) on the process's standard error. */
async function logged(r: Running, event: string, pred: (l: Line) => boolean = () => true, timeoutMs = 10_000): Promise<Line> {
  const started = Date.now();
  for (;;) {
    const found = jsonLines(r.err()).find((l) => l['event'] === event && pred(l));
    if (found) return found;
    if (r.proc.exitCode !== null || Date.now() - started > timeoutMs) {
      throw new Error(`no '${event}' log line:\n${r.err()}`);
    }
    await new Promise((res) => setTimeout(res, 20));
  }
}

async function startCli(args: string[], env = cleanEnv()): Promise<{ srv: Running; url: string; apiUrl: string }> {
  const srv = run(['server', '--port', '0', ...args], env);
  const m = await waitLine(srv, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
  return { srv, url: m[1]!, apiUrl: `http://127.0.0.1:${m[2]}` };
}

async function connectClient(url: string, apiKey: string, sessionId: string, token: string): Promise<TestClient> {
  const c = new TestClient(url, { apiKey, sessionId, token });
  clients.push(c);
  await c.connect();
  return c;
}

describe('convene server logs', () => {
  it('start, connected, resumed, left, authentication failures; never a token, resume token or secret', async () => {
    const secret = `secret-${randomBytes(16).toString('hex')}`;
    const { srv, url, apiUrl } = await startCli(['--api-key', 'LK', '--api-secret', secret]);
    expect(await logged(srv, 'started')).toMatchObject({ level: 'info', url, apiUrl, cluster: false, nodeId: null });
    // the line tools parse stays on standard output
    expect(srv.err()).not.toMatch(/^listening on/m);

    const ot = new OpenTok('LK', secret, { apiUrl });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    const token = ot.generateToken(sid);
    const c = await connectClient(url, 'LK', sid, token);
    expect(await logged(srv, 'connected', (l) => l['connectionId'] === c.connectionId)).toMatchObject({ level: 'info', sessionId: sid, role: 'publisher', remote: '127.0.0.1' });

    c.drop();
    expect(await logged(srv, 'dropped', (l) => l['connectionId'] === c.connectionId)).toMatchObject({ sessionId: sid, graceWindowMs: 30_000 });
    expect((await c.resume()).type).toBe('resumed');
    expect(await logged(srv, 'resumed', (l) => l['connectionId'] === c.connectionId)).toMatchObject({ sessionId: sid });
    await c.request('disconnect');
    expect(await logged(srv, 'left', (l) => l['connectionId'] === c.connectionId)).toMatchObject({ reason: 'clientDisconnected', sessionId: sid });

    // a token signed with another secret, and garbage
    const forged = new OpenTok('LK', 'not-the-secret').generateToken(sid);
    const f = new TestClient(url, { apiKey: 'LK', sessionId: sid, token: forged });
    clients.push(f);
    expect((await f.connect()).type).toBe('error');
    expect(await logged(srv, 'authFailed')).toMatchObject({ level: 'warn', code: 1004, apiKey: 'LK', sessionId: sid, msg: 'token signature is invalid' });
    const g = new TestClient(url, { apiKey: 'nobody', sessionId: sid, token });
    clients.push(g);
    await g.connect();
    await logged(srv, 'authFailed', (l) => l['apiKey'] === 'nobody');
    // the REST API with the wrong secret
    const wrong = new OpenTok('LK', 'not-the-secret', { apiUrl });
    await expect(call<{ sessionId: string }>((cb) => wrong.createSession({}, cb))).rejects.toThrow();
    expect(await logged(srv, 'restAuthFailed')).toMatchObject({ level: 'warn', status: 403, method: 'POST', path: '/session/create' });

    srv.proc.kill('SIGTERM');
    expect((await exitOf(srv)).code).toBe(0);
    await logged(srv, 'stopped');
    const log = srv.err();
    for (const [what, s] of [['secret', secret], ['token', token], ['forged token', forged], ['resume token', c.resumeToken]] as const) {
      expect(s.length, what).toBeGreaterThan(20);
      expect(log.includes(s), `${what} in the log`).toBe(false);
      expect(srv.out().includes(s), `${what} on standard output`).toBe(false);
    }
    // every line of standard error is one JSON object with a level, a time and an event
    for (const line of log.trim().split('\n')) {
      expect(JSON.parse(line), line).toMatchObject({ level: expect.any(String), time: expect.any(String), event: expect.any(String) });
    }
  });

  it('limits hit: signal rate (bounded: not one line per refused signal), connection limit, flood', async () => {
    const dir = tempDir();
    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ projects: [{ apiKey: 'LK', apiSecret: 'LS' }], signalsPerSecond: 1, signalBurst: 1, maxConnectionsPerSession: 1 }));
    const { srv, url, apiUrl } = await startCli(['--config', config]);
    const ot = new OpenTok('LK', 'LS', { apiUrl });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    const c = await connectClient(url, 'LK', sid, ot.generateToken(sid));
    const results = await Promise.all(Array.from({ length: 20 }, () => c.request('signal', { signalType: 'a', data: 'x' })));
    const refused = results.filter((r) => (r['error'] as { code?: number } | undefined)?.code === 1429).length;
    expect(refused).toBeGreaterThan(10);
    expect(await logged(srv, 'limit')).toMatchObject({ level: 'warn', limit: 'signalRate', connectionId: c.connectionId, sessionId: sid });
    expect(jsonLines(srv.err()).filter((l) => l['event'] === 'limit').length).toBeLessThan(refused);

    const full = new TestClient(url, { apiKey: 'LK', sessionId: sid, token: ot.generateToken(sid) });
    clients.push(full);
    expect(await full.connect()).toMatchObject({ type: 'error', code: 1027 });
    expect(await logged(srv, 'connectionLimit')).toMatchObject({ level: 'warn', code: 1027, sessionId: sid });

    // 5 x 1 + 100 frames a second at most
    const flood = new TestClient(url, { apiKey: 'LK', sessionId: sid, token: '' });
    clients.push(flood);
    await flood.open();
    for (let i = 0; i < 300; i++) flood.sendRaw({ type: 'ping' });
    expect(await flood.waitClose()).toBe(1008);
    expect(await logged(srv, 'flood')).toMatchObject({ level: 'warn', code: 4429 });
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });

  it('--log-level warn keeps warnings only; CONVENE_LOG_LEVEL=silent nothing; a bad level exits 2', async () => {
    const { srv, url, apiUrl } = await startCli(['--api-key', 'LK', '--api-secret', 'LS', '--log-level', 'warn']);
    const ot = new OpenTok('LK', 'LS', { apiUrl });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    await connectClient(url, 'LK', sid, ot.generateToken(sid));
    await connectClient(url, 'LK', sid, 'garbage');
    await logged(srv, 'authFailed');
    expect(jsonLines(srv.err()).map((l) => l['level'])).toEqual(['warn']);

    const quiet = await startCli(['--api-key', 'LK', '--api-secret', 'LS'], cleanEnv({ CONVENE_LOG_LEVEL: 'silent' }));
    await connectClient(quiet.url, 'LK', sid, 'garbage');
    quiet.srv.proc.kill('SIGTERM');
    expect((await exitOf(quiet.srv)).code).toBe(0);
    expect(quiet.srv.err()).toBe('');

    for (const [args, env] of [[['--log-level', 'loud'], cleanEnv()], [[], cleanEnv({ CONVENE_LOG_LEVEL: 'verbose' })]] as const) {
      const bad = run(['server', '--port', '0', ...args], env);
      expect(await exitOf(bad)).toEqual({ code: 2, signal: null });
      expect(bad.err()).toMatch(/--log-level must be one of trace, debug, info, warn, error, fatal, silent/);
    }
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });

  it.skipIf(!haveRedis)('a cluster node logs its node id, a Redis outage and the recovery', async () => {
    const redis = new RedisProcess(await freePort());
    await redis.start();
    try {
      const { srv } = await startCli(['--api-key', 'LK', '--api-secret', 'LS', '--redis', redis.url]);
      const nodeId = srv.out().match(/^cluster node (\S+) on /m)![1];
      expect(await logged(srv, 'started')).toMatchObject({ cluster: true, nodeId, node: nodeId });
      await redis.stop();
      expect(await logged(srv, 'redisUnavailable')).toMatchObject({ level: 'warn', node: nodeId });
      await redis.start();
      expect(await logged(srv, 'redisRecovered', () => true, 15_000)).toMatchObject({ level: 'info', node: nodeId });
      // one line per outage, not one per retry
      expect(jsonLines(srv.err()).filter((l) => l['event'] === 'redisUnavailable')).toHaveLength(1);
      srv.proc.kill('SIGTERM');
      await exitOf(srv);
    } finally {
      await redis.stop();
    }
  }, 30_000);
});

describe('servers started from code', () => {
  /** Runs a script that starts a server, refuses a REST call and a bad token, and stops it. */
  async function scriptStderr(extraOptions: string): Promise<string> {
    const script = `
      const { startServer } = require(${JSON.stringify(join(ROOT, 'dist', 'server', 'index.js'))});
      const WebSocket = require('ws');
      (async () => {
        const s = await startServer({ projects: [{ apiKey: 'K', apiSecret: 'S' }], port: 0 ${extraOptions} });
        await fetch(s.apiUrl + '/session/create', { method: 'POST' });
        const ws = new WebSocket(s.url, ['convene.v1']);
        await new Promise((r) => ws.on('open', r));
        ws.send(JSON.stringify({ type: 'connect', v: 1, apiKey: 'K', sessionId: 'x', token: 'y' }));
        await new Promise((r) => ws.on('close', r));
        await s.close();
      })();`;
    const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += String(d); });
    const code = await new Promise((r) => child.on('exit', r));
    expect(code, err).toBe(0);
    return err;
  }

  it('are silent by default', async () => {
    expect(await scriptStderr('')).toBe('');
  });

  it('log to standard error with logLevel', async () => {
    const events = jsonLines(await scriptStderr(", logLevel: 'info'")).map((l) => l['event']);
    expect(events).toEqual(expect.arrayContaining(['started', 'restAuthFailed', 'authFailed', 'stopped']));
  });

  it('log to a given logger', async () => {
    let text = '';
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { text += String(chunk); cb(); } });
    const server = await startServer({ projects: [{ apiKey: 'K', apiSecret: 'S' }], port: 0, logger: createLogger('debug', sink) });
    await server.close();
    expect(jsonLines(text).map((l) => l['event'])).toEqual(['started', 'stopping', 'stopped']);
  });

  it('unexpected errors go to the log as internalError, and to standard error when the logger is the silent default', () => {
    let text = '';
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { text += String(chunk); cb(); } });
    reportInternal(createLogger('info', sink), 'request failed', new Error('boom'));
    expect(jsonLines(text)).toEqual([expect.objectContaining({ event: 'internalError', level: 'error', what: 'request failed', message: 'boom' })]);
    expect(String(jsonLines(text)[0]?.['stack'])).toContain('boom');
    const seen: unknown[][] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => { seen.push(args); });
    try {
      reportInternal(silentLog, 'request failed', new Error('boom'));
    } finally {
      spy.mockRestore();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toBe('convene: request failed');
  });
});
