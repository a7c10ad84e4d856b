/**
 * The command line as a new user meets it: --help on every command, --version, the
 * development project found by session / token / join without retyping it, session ids
 * checked by token, the URL forms join takes, and join with piped standard input.
 */
import { readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './helpers/client';
import { buildIfStale, cleanEnv, cleanUp, exitOf, jsonLines, ROOT, run, tempDir, waitLine, type Running } from './helpers/cli';
import { OpenTok, call, type OpenTokSdk } from './helpers/server';

beforeAll(buildIfStale, 90_000);

const clients: TestClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  cleanUp();
});

/** A server with project K/S; its URL, port and a session id made through the SDK. */
async function serverWithSession(args: string[] = []): Promise<{ srv: Running; url: string; port: string; sid: string; ot: OpenTokSdk }> {
  const srv = run(['server', '--port', '0', '--api-key', 'K', '--api-secret', 'S', ...args]);
  const m = await waitLine(srv, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
  const ot = new OpenTok('K', 'S', { apiUrl: `http://127.0.0.1:${m[2]}` });
  const sid = (await call<{ sessionId: string }>((cb) => ot.createSession({}, cb))).sessionId;
  return { srv, url: m[1]!, port: m[2]!, sid, ot };
}

describe('--help and --version', () => {
  const commands = ['server', 'demo', 'join', 'session', 'token'];
  for (const command of commands) {
    for (const flag of ['--help', '-h']) {
      it(`convene ${command} ${flag} prints that command's usage and exits 0, running nothing`, async () => {
        // with other options around it too: help wins, nothing starts
        const r = run([command, ...(command === 'server' ? ['--port', '0'] : []), flag]);
        expect(await exitOf(r)).toEqual({ code: 0, signal: null });
        expect(r.out()).toMatch(new RegExp(`^usage: convene ${command}\\b`));
        expect(r.out()).not.toMatch(/^listening on|^usage: convene <command>/m);
        expect(r.err()).toBe('');
      });
    }
  }

  it('convene help COMMAND prints the same usage; help of an unknown command exits 2', async () => {
    const env = cleanEnv();
    const a = run(['help', 'token'], env);
    const b = run(['token', '--help'], env);
    expect(await exitOf(a)).toEqual({ code: 0, signal: null });
    await exitOf(b);
    expect(a.out()).toBe(b.out());
    expect(a.out()).toMatch(/--role subscriber\|publisher/);
    const bad = run(['help', 'nope']);
    expect((await exitOf(bad)).code).toBe(2);
    expect(bad.err()).toMatch(/unknown command 'nope'/);
  });

  it('the general usage lists every command and points at COMMAND --help', async () => {
    const r = run(['--help']);
    expect(await exitOf(r)).toEqual({ code: 0, signal: null });
    for (const c of commands) expect(r.out()).toMatch(new RegExp(`^  ${c}\\s`, 'm'));
    expect(r.out()).toMatch(/convene <command> --help/);
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = run([flag]);
      expect(await exitOf(r)).toEqual({ code: 0, signal: null });
      expect(r.out()).toBe(`${version}\n`);
    }
  });

  it('server --help documents --log-level', async () => {
    const r = run(['server', '--help']);
    await exitOf(r);
    expect(r.out()).toMatch(/--log-level/);
  });
});

describe('the development project file', () => {
  it('a server without a project writes it (0600); session, token and join use it with no key, secret or URL', async () => {
    const home = tempDir();
    const env = cleanEnv({ CONVENE_HOME: home });
    const file = join(home, 'dev-project.json');
    const srv = run(['server', '--port', '0'], env);
    const m = await waitLine(srv, /^listening on (ws:\/\/127\.0\.0\.1:(\d+))$/m);
    expect(srv.out()).toContain(`development project written to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const dev = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const printed = srv.out().match(/^development project: api key (\S+)\s+api secret (\S+)$/m)!;
    expect(dev).toMatchObject({ apiKey: printed[1], apiSecret: printed[2], url: m[1], apiUrl: `http://127.0.0.1:${m[2]}` });

    const s = run(['session'], env);
    expect(await exitOf(s)).toEqual({ code: 0, signal: null });
    const sid = s.out().trim();
    expect(sid).toMatch(/^2_/);
    const t = run(['token', '--session', sid, '--data', 'dev'], env);
    expect(await exitOf(t)).toEqual({ code: 0, signal: null });
    const c = new TestClient(m[1]!, { apiKey: dev['apiKey'] as string, sessionId: sid, token: t.out().trim() });
    clients.push(c);
    expect(await c.connect()).toMatchObject({ type: 'connected', connection: { data: 'dev' } });

    const t2 = run(['token', '--session', sid, '--data', 'joiner'], env);
    await exitOf(t2);
    const j = run(['join', '--session', sid, '--token', t2.out().trim()], env, 'hi:from join\n');
    expect(await exitOf(j)).toEqual({ code: 0, signal: null });
    expect(jsonLines(j.out())[0]).toMatchObject({ event: 'sessionConnected', connection: { data: 'joiner' } });
    expect(await c.waitFor((f) => f.type === 'signal', 5000, true)).toMatchObject({ signalType: 'hi', data: 'from join' });

    // flags and the environment come first: a project the server does not know is refused
    const flags = run(['session', '--api-key', 'other', '--api-secret', 'x'], env);
    expect((await exitOf(flags)).code).toBe(2);
    expect(flags.err()).toMatch(/403/);
    const fromEnv = run(['session'], { ...env, CONVENE_API_KEY: 'other', CONVENE_API_SECRET: 'x' });
    expect((await exitOf(fromEnv)).code).toBe(2);
    expect(fromEnv.err()).toMatch(/403/);
    const half = run(['session', '--api-key', 'other'], env);
    expect((await exitOf(half)).code).toBe(2);
    expect(half.err()).toMatch(/--api-key and --api-secret go together/);

    srv.proc.kill('SIGTERM');
    expect(await exitOf(srv)).toEqual({ code: 0, signal: null });
    expect(existsSync(file)).toBe(false); // its server is gone: so is the file
  });

  it('without a file, session and token say where the development server writes it', async () => {
    const home = tempDir();
    const env = cleanEnv({ CONVENE_HOME: home });
    for (const args of [['session'], ['token', '--session', 'x'], ['join', '--session', 'x', '--token', 'y']]) {
      const r = run(args, env);
      expect((await exitOf(r)).code, args[0]).toBe(2);
      expect(r.err(), args[0]).toContain(join(home, 'dev-project.json'));
    }
  });

  it('a stale file (its server gone) gives a hint; a corrupt one is named', async () => {
    const home = tempDir();
    const env = cleanEnv({ CONVENE_HOME: home });
    const file = join(home, 'dev-project.json');
    writeFileSync(file, JSON.stringify({ apiKey: 'convene-dev', apiSecret: 'x', url: 'ws://127.0.0.1:9', apiUrl: 'http://127.0.0.1:9', pid: 1 }), { mode: 0o600 });
    const s = run(['session'], env);
    expect((await exitOf(s)).code).toBe(2);
    expect(s.err()).toMatch(/cannot create a session at http:\/\/127\.0\.0\.1:9.*is its server still running/);
    writeFileSync(file, '{"apiKey":');
    const bad = run(['session'], env);
    expect((await exitOf(bad)).code).toBe(2);
    expect(bad.err()).toContain(`${file} is not JSON`);
  });

  it('XDG_STATE_HOME places it when CONVENE_HOME is not set', async () => {
    const state = tempDir();
    const env = cleanEnv({ XDG_STATE_HOME: state });
    delete env['CONVENE_HOME'];
    const srv = run(['server', '--port', '0'], env);
    await waitLine(srv, /^listening on /m);
    expect(srv.out()).toContain(`development project written to ${join(state, 'convene', 'dev-project.json')}`);
    expect(statSync(join(state, 'convene')).mode & 0o777).toBe(0o700);
    srv.proc.kill('SIGTERM');
    expect((await exitOf(srv)).code).toBe(0);
  });
});

describe('convene token checks --session', () => {
  const cases: Array<[string, (sid: string) => string[], RegExp]> = [
    ['garbage', () => ['--api-key', 'K', '--api-secret', 'S', '--session', 'garbage'], /--session 'garbage' is not a session id/],
    ['a session id with one character changed', (sid) => ['--api-key', 'K', '--api-secret', 'S', '--session', `${sid.slice(0, -3)}${sid.at(-3) === 'A' ? 'B' : 'A'}${sid.slice(-2)}`], /--session/],
    ['a session of another api key', (sid) => ['--api-key', 'K2', '--api-secret', 'S', '--session', sid], /--session was created for api key 'K', not for 'K2'/],
    ['a session made with another secret', (sid) => ['--api-key', 'K', '--api-secret', 'not-S', '--session', sid], /--session was not created with the api secret of 'K'/],
  ];
  it('refuses what no server holding the project would accept, with a clear message', async () => {
    const { srv, sid } = await serverWithSession();
    for (const [what, args, re] of cases) {
      const r = run(['token', ...args(sid)]);
      expect(await exitOf(r), what).toEqual({ code: 2, signal: null });
      expect(r.err(), what).toMatch(re);
      expect(r.out(), what).toBe('');
    }
    const ok = run(['token', '--api-key', 'K', '--api-secret', 'S', '--session', sid]);
    expect(await exitOf(ok)).toEqual({ code: 0, signal: null });
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });
});

describe('convene join', () => {
  it('takes the same URL forms as session: ws://, http://, with or without a path', async () => {
    const { srv, port, sid, ot } = await serverWithSession();
    for (const url of [`http://127.0.0.1:${port}`, `http://127.0.0.1:${port}/`, `ws://127.0.0.1:${port}/`]) {
      const j = run(['join', '--server-url', url, '--api-key', 'K', '--session', sid, '--token', ot.generateToken(sid)], cleanEnv(), '');
      expect(await exitOf(j), url).toEqual({ code: 0, signal: null });
      expect(jsonLines(j.out()).map((l) => l['event']), url).toEqual(['sessionConnected', 'connectionCreated', 'sessionDisconnected']);
    }
    const s = run(['session', '--server-url', `http://127.0.0.1:${port}/`, '--api-key', 'K', '--api-secret', 'S']);
    expect(await exitOf(s)).toEqual({ code: 0, signal: null });
    for (const url of ['ftp://127.0.0.1/', 'localhost:4100', 'http://']) {
      const bad = run(['join', '--server-url', url, '--api-key', 'K', '--session', sid, '--token', 't']);
      expect(await exitOf(bad), url).toEqual({ code: 2, signal: null });
      expect(bad.err(), url).toMatch(/--server-url must be a ws:\/\/, wss:\/\/, http:\/\/ or https:\/\/ URL/);
    }
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });

  it('at the end of piped input waits for the signals in flight: all delivered, no error reported', async () => {
    const { srv, url, sid, ot } = await serverWithSession();
    const peer = new TestClient(url, { apiKey: 'K', sessionId: sid, token: ot.generateToken(sid) });
    clients.push(peer);
    await peer.connect();
    const n = 200;
    const input = Array.from({ length: n }, (_, i) => `n:${i}\n`).join('');
    const j = run(['join', '--server-url', url, '--api-key', 'K', '--session', sid, '--token', ot.generateToken(sid)], cleanEnv(), input);
    expect(await exitOf(j)).toEqual({ code: 0, signal: null });
    const lines = jsonLines(j.out());
    expect(lines.filter((l) => l['event'] === 'error')).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ event: 'sessionDisconnected', reason: 'clientDisconnected' });
    // its signals were sent before it left: they all came before its connectionDestroyed
    await peer.waitFor((f) => f.type === 'connectionDestroyed', 5000, true);
    expect(peer.eventsOf('signal').map((f) => f['data'])).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });

  it('one error line per failure: a refused connect prints one line, exit 1', async () => {
    const { srv, url, sid } = await serverWithSession();
    const j = run(['join', '--server-url', url, '--api-key', 'K', '--session', sid, '--token', 'garbage'], cleanEnv(), '');
    expect(await exitOf(j)).toEqual({ code: 1, signal: null });
    const lines = jsonLines(j.out());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ event: 'error', code: 1004 });
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });

  it('one error line per signal refused (rate limit), each naming its line', async () => {
    const dir = tempDir();
    const config = join(dir, 'c.json');
    writeFileSync(config, JSON.stringify({ signalsPerSecond: 1, signalBurst: 2 }));
    const { srv, url, sid, ot } = await serverWithSession(['--config', config]);
    const sent = Array.from({ length: 50 }, (_, i) => `a:${i}`);
    const j = run(['join', '--server-url', url, '--api-key', 'K', '--session', sid, '--token', ot.generateToken(sid)], cleanEnv(), `${sent.join('\n')}\n`);
    expect(await exitOf(j)).toEqual({ code: 0, signal: null });
    const lines = jsonLines(j.out());
    const errors = lines.filter((l) => l['event'] === 'error' || l['event'] === 'exception');
    const delivered = lines.filter((l) => l['event'] === 'signal').map((l) => `a:${String(l['data'])}`);
    expect(errors.every((e) => e['code'] === 1429)).toBe(true);
    // every line either arrived or failed, once
    expect([...delivered, ...errors.map((e) => e['line'])].sort()).toEqual([...sent].sort());
    expect(errors.length).toBeGreaterThan(0);
    srv.proc.kill('SIGTERM');
    await exitOf(srv);
  });
});
