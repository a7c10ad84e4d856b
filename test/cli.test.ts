/**
 * The `convene` command line, run as a real process from dist/ (built here when stale):
 * start, serve REST and WebSocket, SIGTERM shutdown (docs/protocol.md section 12), the
 * development project, and bad flags.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client';
import { buildIfStale, cleanEnv, cleanUp, exitOf, run, tempDir, waitLine } from './helpers/cli';
import { OpenTok, call, type OpenTokSdk } from './helpers/server';

beforeAll(buildIfStale, 90_000);

const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  cleanUp();
});

async function joinClient(url: string, apiKey: string, ot: OpenTokSdk, sessionId: string): Promise<TestClient> {
  const c = new TestClient(url, { apiKey, sessionId, token: ot.generateToken(sessionId) });
  clients.push(c);
  const hello = await c.connect();
  expect(hello.type).toBe('connected');
  return c;
}

describe('convene server', () => {
  it('listens, serves REST and WebSocket, and on SIGTERM tells clients serverRotation, closes 1001 and exits 0', async () => {
    const r = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S']);
    const m = await waitLine(r, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    const url = m[1]!;
    expect(Number(m[2])).toBeGreaterThan(0);
    expect(r.out()).toContain(`REST API at http://127.0.0.1:${m[2]}`);
    expect(r.out()).not.toMatch(/development project/);

    const ot = new OpenTok('K', 'S', { apiUrl: `http://127.0.0.1:${m[2]}` });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({ mediaMode: 'routed' }, cb))).sessionId;
    const a = await joinClient(url, 'K', ot, sid);
    const b = await joinClient(url, 'K', ot, sid);
    await call((cb) => ot.signal(sid, null, { type: 'hi', data: 'from rest' }, cb));
    for (const x of [a, b]) expect(await x.waitFor((f) => f.type === 'signal', 2000, true)).toMatchObject({ data: 'from rest', from: null });
    // the secret matters
    const wrong = new OpenTok('K', 'not-S', { apiUrl: `http://127.0.0.1:${m[2]}` });
    await expect(call<{ sessionId: string }>((cb) => wrong.createSession({}, cb))).rejects.toThrow(/Invalid API key or secret/);

    r.proc.kill('SIGTERM');
    for (const x of [a, b]) {
      expect(await x.waitFor((f) => f.type === 'sessionDisconnected', 5000, true)).toMatchObject({ reason: 'serverRotation' });
      expect(await x.waitClose()).toBe(1001);
      expect(x.eventsOf('connectionDestroyed')).toEqual([]);
    }
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });
    expect(r.err()).toMatch(/SIGTERM/);
    // the port is free again
    const after = await fetch(`http://127.0.0.1:${m[2]}/health`).then(() => 'answered', () => 'refused');
    expect(after).toBe('refused');
  });

  it('--max-per-address, --headers-timeout and --max-send-buffer reach the server', async () => {
    const bad = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S', '--max-send-buffer', '10']);
    expect(await exitOf(bad)).toEqual({ code: 2, signal: null });
    expect(bad.err()).toMatch(/maxSendBufferBytes' must be at least 65536/);
    const r = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S', '--max-per-address', '1', '--headers-timeout', '300']);
    const m = await waitLine(r, /^listening on ws:\/\/127\.0\.0\.1:(\d+)$/m);
    const port = Number(m[1]);
    const held = await new Promise<Socket>((resolve) => { const s = netConnect(port, '127.0.0.1', () => resolve(s)); });
    const closedAt = Date.now();
    // the second socket from this address is refused with 429 while the first is open
    const refused = await new Promise<string>((resolve) => {
      let text = '';
      const s = netConnect(port, '127.0.0.1');
      s.on('data', (d) => { text += String(d); });
      s.on('close', () => resolve(text));
    });
    expect(refused).toMatch(/^HTTP\/1\.1 429 /);
    // the first, which never sends its headers, is closed after the headers timeout (300 ms, not 5 s)
    await new Promise<void>((resolve) => (held.destroyed ? resolve() : held.on('close', () => resolve())));
    expect(Date.now() - closedAt).toBeLessThan(4000);
    r.proc.kill('SIGTERM');
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM with no clients exits 0 too', async () => {
    const r = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S']);
    await waitLine(r, /^listening on ws:\/\/127\.0\.0\.1:\d+$/m);
    r.proc.kill('SIGTERM');
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });
  });

  it('without --api-key prints a development project that works', async () => {
    const r = run(['server', '--port', '0']);
    const m = await waitLine(r, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    const dev = r.out().match(/^development project: api key (\S+)\s+api secret (\S+)$/m);
    expect(dev).not.toBeNull();
    const [, key, secret] = dev!;
    expect(secret!.length).toBeGreaterThanOrEqual(16);
    const ot = new OpenTok(key!, secret!, { apiUrl: `http://127.0.0.1:${m[2]}` });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    const c = await joinClient(m[1]!, key!, ot, sid);
    expect(c.hello!['role']).toBe('publisher');
    r.proc.kill('SIGTERM');
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });

    // a new secret each time
    const r2 = run(['server', '--port', '0']);
    await waitLine(r2, /^listening on /m);
    const dev2 = r2.out().match(/^development project: api key (\S+)\s+api secret (\S+)$/m);
    expect(dev2?.[2]).not.toBe(secret);
    r2.proc.kill('SIGTERM');
    expect((await exitOf(r2)).code).toBe(0);
  });

  it('on SIGTERM does not wait for a client that never answers its close frame past --shutdown-timeout', async () => {
    const r = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S', '--shutdown-timeout', '300']);
    const m = await waitLine(r, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    const ot = new OpenTok('K', 'S', { apiUrl: `http://127.0.0.1:${m[2]}` });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    const stuck = await joinClient(m[1]!, 'K', ot, sid);
    const fine = await joinClient(m[1]!, 'K', ot, sid);
    const sock = (stuck.ws as unknown as { _socket: Socket })._socket;
    sock.pause(); // reads nothing from now on, so never answers the server's close frame
    const started = Date.now();
    r.proc.kill('SIGTERM');
    expect(await fine.waitClose()).toBe(1001);
    expect(await exitOf(r, 5000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.err()).toMatch(/did not finish closing within 300 ms/);
    // what the server sent before it went is all there
    sock.resume();
    expect(await stuck.waitFor((f) => f.type === 'sessionDisconnected', 2000, true)).toMatchObject({ reason: 'serverRotation' });
    expect(await stuck.waitClose()).toBe(1001);
  });

  it('reads projects and the port from a config file', async () => {
    const dir = tempDir();
    const file = join(dir, 'convene.json');
    writeFileSync(file, JSON.stringify({ port: 0, projects: [{ apiKey: 'C1', apiSecret: 'S1' }, { apiKey: 'C2', apiSecret: 'S2' }] }));
    const r = run(['server', '--config', file]);
    const m = await waitLine(r, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    expect(r.out()).not.toMatch(/development project/);
    for (const [key, secret] of [['C1', 'S1'], ['C2', 'S2']] as const) {
      const ot = new OpenTok(key, secret, { apiUrl: `http://127.0.0.1:${m[2]}` });
      const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
      await joinClient(m[1]!, key, ot, sid);
    }
    r.proc.kill('SIGTERM');
    expect((await exitOf(r)).code).toBe(0);

    for (const [content, re] of [['[1,2]', /must hold a JSON object/], ['null', /must hold a JSON object/], ['{"projects":{}}', /'projects' must be an array/], ['{', /cannot read config file/]] as const) {
      writeFileSync(file, content);
      const bad = run(['server', '--config', file]);
      expect(await exitOf(bad), content).toEqual({ code: 2, signal: null });
      expect(bad.err()).toMatch(re);
    }
  });

  it('empty CONVENE_* variables count as unset', async () => {
    const r = run(['server', '--port', '0'], { ...cleanEnv(), CONVENE_API_KEY: '', CONVENE_API_SECRET: '' });
    await waitLine(r, /^listening on /m);
    expect(r.out()).toMatch(/^development project: api key /m);
    r.proc.kill('SIGTERM');
    expect((await exitOf(r)).code).toBe(0);
  });

  it('takes the project and port from the environment', async () => {
    const r = run(['server'], { ...cleanEnv(), CONVENE_API_KEY: 'EK', CONVENE_API_SECRET: 'ES', CONVENE_PORT: '0' });
    const m = await waitLine(r, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    expect(r.out()).not.toMatch(/development project/);
    const ot = new OpenTok('EK', 'ES', { apiUrl: `http://127.0.0.1:${m[2]}` });
    const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
    await joinClient(m[1]!, 'EK', ot, sid);
    r.proc.kill('SIGTERM');
    expect((await exitOf(r)).code).toBe(0);
  });
});

describe('bad command lines exit 2 with a message', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a port that is not a number', ['server', '--port', 'abc'], /--port must be a whole number >= 0, got 'abc'/],
    ['a negative port', ['server', '--port', '-1'], /--port/],
    ['an empty port', ['server', '--port', ''], /--port must be a whole number >= 0, got ''/],
    ['a hex port', ['server', '--port', '0x10'], /--port must be a whole number/],
    ['a port in exponent notation', ['server', '--port', '1e3'], /--port must be a whole number/],
    ['a bad shutdown timeout', ['server', '--port', '0', '--shutdown-timeout', 'soon'], /--shutdown-timeout must be a whole number/],
    ['a port out of range', ['server', '--port', '70000', '--api-key', 'K', '--api-secret', 'S'], /cannot start the server/],
    ['an unknown flag', ['server', '--nope'], /nope/],
    ['a key without a secret', ['server', '--port', '0', '--api-key', 'K'], /--api-key and --api-secret go together/],
    ['a bad grace window', ['server', '--grace-window', '1.5'], /--grace-window/],
    ['a missing config file', ['server', '--config', '/nonexistent/convene.json'], /cannot read config file/],
    ['an unknown command', ['serve'], /unknown command 'serve'/],
  ];
  for (const [what, args, re] of cases) {
    it(what, async () => {
      const r = run(args);
      expect(await exitOf(r)).toEqual({ code: 2, signal: null });
      expect(r.err()).toMatch(re);
      expect(r.out()).not.toMatch(/listening on/);
    });
  }

  it('help prints the usage and exits 0', async () => {
    const r = run(['help']);
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });
    expect(r.out()).toMatch(/usage: convene <command>/);
  });

  it('a port in use exits 2', async () => {
    const first = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S']);
    const m = await waitLine(first, /^listening on ws:\/\/127\.0\.0\.1:(\d+)$/m);
    const second = run(['server', '--port', m[1]!, '--api-key', 'K', '--api-secret', 'S']);
    expect(await exitOf(second)).toEqual({ code: 2, signal: null });
    expect(second.err()).toMatch(/cannot start the server.*EADDRINUSE/);
    first.proc.kill('SIGTERM');
    expect((await exitOf(first)).code).toBe(0);
  });
});

describe('convene session / convene token', () => {
  it('create a session on a running server and mint tokens that connect with their role and data', async () => {
    const srv = run(['server', '--port', '0', '--api-key', 'K9', '--api-secret', 'S9']);
    const m = await waitLine(srv, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    const s = run(['session', '--server-url', m[1]!, '--api-key', 'K9', '--api-secret', 'S9', '--media-mode', 'routed']);
    expect(await exitOf(s)).toEqual({ code: 0, signal: null });
    const sid = s.out().trim();
    expect(sid).toMatch(/^2_/);
    const t = run(['token', '--api-key', 'K9', '--api-secret', 'S9', '--session', sid, '--role', 'moderator', '--data', 'who=cli']);
    expect(await exitOf(t)).toEqual({ code: 0, signal: null });
    const c = new TestClient(m[1]!, { apiKey: 'K9', sessionId: sid, token: t.out().trim() });
    clients.push(c);
    const hello = await c.connect();
    expect(hello).toMatchObject({ type: 'connected', role: 'moderator', connection: { data: 'who=cli' } });

    const bad = run(['session', '--server-url', m[1]!, '--api-key', 'K9', '--api-secret', 'wrong']);
    expect((await exitOf(bad)).code).toBe(2);
    expect(bad.err()).toMatch(/403/);
    const noRole = run(['token', '--api-key', 'K9', '--api-secret', 'S9', '--session', sid, '--role', 'king']);
    expect((await exitOf(noRole)).code).toBe(2);
    expect(noRole.err()).toMatch(/--role must be one of/);
    const noSession = run(['token', '--api-key', 'K9', '--api-secret', 'S9']);
    expect((await exitOf(noSession)).code).toBe(2);
    srv.proc.kill('SIGTERM');
    expect((await exitOf(srv)).code).toBe(0);
  });
});
