/**
 * End to end through the native core: the TypeScript Session against the real server.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initSession, OTError, type Session } from '../lib/index';
import { API_KEY } from './helpers/server';
import { next } from './helpers/events';
import { runNode, type NodeRun } from './helpers/node';
import { useFixtureSessions } from './helpers/sessions';

const fixture = useFixtureSessions();
const session = fixture.session.bind(fixture);

describe('Session over the native core', () => {
  it('connects, sees others, signals, publishes and disconnects with OpenTok.js payloads', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const connected = next(a, 'sessionConnected');
    await a.connect(fixture.fx.token(sid, { data: 'name=a' }));
    await connected;
    expect(a.connectionStatus).toBe('connected');
    expect(a.connection).toMatchObject({ data: 'name=a' });
    expect(a.capabilities).toEqual({ forceDisconnect: 0, forceUnpublish: 0, forceMute: 0, publish: 1, subscribe: 1 });

    const b = session(sid);
    const created = next<{ connection: { connectionId: string; data: string } }>(a, 'connectionCreated');
    await b.connect(fixture.fx.token(sid, { data: 'name=b' }));
    const cc = await created;
    expect(cc.connection.data).toBe('name=b');
    expect(cc.connection.connectionId).toBe(b.connection!.connectionId);

    const gotAll = next<{ type: string; data: string; from: unknown }>(b, 'signal:chat');
    await a.signal({ type: 'chat', data: 'hello' });
    const s1 = await gotAll;
    expect(s1).toMatchObject({ type: 'chat', data: 'hello' });
    expect((s1.from as { connectionId: string }).connectionId).toBe(a.connection!.connectionId);
    const dm = next<{ data: string; from: { connectionId: string } }>(a, 'signal');
    await b.signal({ type: 'dm', data: 'psst', to: a.connection! });
    const d = await dm;
    expect(d.data).toBe('psst');
    expect(d.from).toBe(cc.connection); // identity: the same Connection object as connectionCreated

    const streamAtB = next<{ stream: { streamId: string; name: string; hasAudio: boolean } }>(b, 'streamCreated');
    const pub = await a.publish({ name: 'cam', hasAudio: true, hasVideo: true, videoType: 'screen' });
    expect(pub.stream?.name).toBe('cam');
    expect(pub.stream?.videoType).toBe('screen');
    const sc = await streamAtB;
    expect(sc.stream).toMatchObject({ streamId: pub.stream!.streamId, name: 'cam', hasAudio: true, videoType: 'screen' });
    const changed = next<{ changedProperty: string; oldValue: boolean; newValue: boolean; stream: unknown }>(b, 'streamPropertyChanged');
    pub.publishAudio(false);
    const ch = await changed;
    expect(ch).toMatchObject({ changedProperty: 'hasAudio', oldValue: true, newValue: false });
    expect(ch.stream).toBe(sc.stream);

    const destroyed = next<{ connection: unknown; reason: string }>(b, 'connectionDestroyed');
    const disc = next<{ reason: string }>(a, 'sessionDisconnected');
    a.disconnect();
    expect((await disc).reason).toBe('clientDisconnected');
    const cd = await destroyed;
    expect(cd.reason).toBe('clientDisconnected');
  });

  it('rejects bad input with coded errors', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    await expect(a.signal({ data: 'x' })).rejects.toMatchObject({ code: 1010, name: 'OT_NOT_CONNECTED' });
    await expect(a.connect('garbage-token')).rejects.toMatchObject({ code: 1004, name: 'OT_AUTHENTICATION_ERROR' });
    expect(a.connectionStatus).toBe('disconnected');
    await a.connect(fixture.fx.token(sid));
    await expect(a.signal({ type: 'x'.repeat(129) })).rejects.toMatchObject({ code: 1414 });
    await expect(a.signal({ type: 'bad type!' })).rejects.toMatchObject({ code: 1461 });
    await expect(a.signal({ data: 'x'.repeat(8193) })).rejects.toMatchObject({ code: 1413 });
    const sub = session(sid);
    await sub.connect(fixture.fx.token(sid, { role: 'subscriber' }));
    const e = await sub.publish({ name: 'no' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OTError);
    expect(e).toMatchObject({ code: 1500 });
    await expect(sub.signal({ data: 'no' })).rejects.toMatchObject({ code: 1550 });
    await expect(a.forceDisconnect(sub.connection!)).rejects.toMatchObject({ code: 1520 });
    const bad = session('2_garbage');
    await expect(bad.connect(fixture.fx.token(sid))).rejects.toMatchObject({ code: 1005 });
  });

  it('completion handlers are called, never synchronously', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    let sync = true;
    const err = await new Promise<unknown>((resolve) => { a.signal({ data: 'x' }, resolve); sync = false; });
    expect(sync).toBe(false);
    expect(err).toMatchObject({ code: 1010 });
    await new Promise<void>((resolve, reject) => a.connect(fixture.fx.token(sid), (e) => (e ? reject(e) : resolve())));
  });

  it('many sessions in one process', async () => {
    const sid = await fixture.fx.newSession();
    const N = 100;
    const sessions = Array.from({ length: N }, () => session(sid, { connectionEventsSuppressed: true }));
    await Promise.all(sessions.map((s) => s.connect(fixture.fx.token(sid))));
    let got = 0;
    const all = new Promise<void>((resolve) => sessions.forEach((s) => s.on('signal', () => { if (++got === N) resolve(); })));
    await sessions[0]!.signal({ data: 'to everyone' });
    await all;
    expect(got).toBe(N);
    await Promise.all(sessions.map((s) => { const p = next(s, 'sessionDisconnected'); s.disconnect(); return p; }));
  });

  it('moderation: forceDisconnect, forceMuteStream', async () => {
    const sid = await fixture.fx.newSession();
    const mod = session(sid);
    await mod.connect(fixture.fx.token(sid, { role: 'moderator' }));
    const a = session(sid);
    await a.connect(fixture.fx.token(sid));
    const pub = await a.publish({ name: 'a' });
    const muted = next<{ active: boolean }>(a, 'muteForced');
    await mod.forceMuteStream(pub.stream!);
    expect((await muted).active).toBe(true);
    const gone = next<{ reason: string }>(a, 'sessionDisconnected');
    const dropped = next<{ reason: string }>(mod, 'connectionDestroyed');
    await mod.forceDisconnect(a.connection!);
    expect((await gone).reason).toBe('forceDisconnected');
    expect((await dropped).reason).toBe('forceDisconnected');
  });

  it('a script that connects, signals and disconnects exits by itself', async () => {
    const sid = await fixture.fx.newSession();
    const script = `
      const { initSession } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))});
      const s = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      s.connect(${JSON.stringify(fixture.fx.token(sid))}).then(() => s.signal({ data: 'bye' })).then(() => { s.disconnect(); console.log('done'); });
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    const code = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 8000);
      child.on('exit', (c) => { clearTimeout(t); resolve(c); });
    });
    expect(out).toContain('done');
    expect(code).toBe(0);
  });
});

describe('Session lifetime and threads', () => {
  const runScript = (script: string, timeoutMs = 10000): Promise<NodeRun> => runNode(['-e', script], {}, timeoutMs);
  const DIST = JSON.stringify(join(__dirname, '..', 'dist', 'index.js'));

  it('works in worker_threads, and a worker terminated with open sessions leaves the process healthy', async () => {
    const sid = await fixture.fx.newSession();
    const token = JSON.stringify(fixture.fx.token(sid));
    const script = `
      const { Worker } = require('node:worker_threads');
      const code = \`
        const { parentPort } = require('node:worker_threads');
        const { initSession } = require(${DIST.replace(/\\/g, '\\\\')});
        const s = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: ${JSON.stringify(fixture.fx.url)} });
        s.connect(${token}).then(() => parentPort.postMessage(s.connection.connectionId));
      \`;
      const workers = [new Worker(code, { eval: true }), new Worker(code, { eval: true })];
      let n = 0;
      for (const w of workers) w.on('message', async (id) => {
        console.log('worker connected', id);
        if (++n === 2) { await workers[0].terminate(); console.log('terminated one'); await workers[1].terminate(); console.log('terminated both'); }
      });
    `;
    const r = await runScript(script);
    expect(r.err).toBe('');
    expect(r.out.match(/worker connected/g)).toHaveLength(2);
    expect(r.out).toContain('terminated both');
    expect(r.code).toBe(0);
  });

  it('an exception in an event handler is uncaught in the usual way; later events still arrive', async () => {
    const sid = await fixture.fx.newSession();
    const script = `
      const { initSession } = require(${DIST});
      const s = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      let seen = 0;
      process.on('uncaughtException', (e) => { console.log('uncaught', e.message); });
      s.on('signal', (e) => { seen++; if (e.data === 'boom') throw new Error('handler failed'); if (e.data === 'after') { console.log('seen', seen); s.disconnect(); } });
      s.connect(${JSON.stringify(fixture.fx.token(sid))}).then(async () => { await s.signal({ data: 'boom' }); await s.signal({ data: 'after' }); });
    `;
    const r = await runScript(script);
    expect(r.out).toContain('uncaught handler failed');
    expect(r.out).toContain('seen 2');
    expect(r.code).toBe(0);
  });

  it('a session that never connected does not keep the process alive; a connected one does until disconnect', async () => {
    const sid = await fixture.fx.newSession();
    const idle = await runScript(`
      const { initSession } = require(${DIST});
      initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      console.log('created');
    `);
    expect(idle).toMatchObject({ code: 0 });
    const failed = await runScript(`
      const { initSession } = require(${DIST});
      const s = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: 'ws://127.0.0.1:1' });
      s.connect('x').catch((e) => console.log('failed', e.code));
    `);
    expect(failed.out).toContain('failed 1006');
    expect(failed.code).toBe(0);
  });
});

describe('modern extras and the rest of the API', () => {
  it('await using, signals() iterator, AbortSignal on connect', async () => {
    const sid = await fixture.fx.newSession();
    const b = session(sid);
    await b.connect(fixture.fx.token(sid));
    {
      await using a = session(sid);
      await a.connect(fixture.fx.token(sid));
      const it = b.signals('chat');
      await a.signal({ type: 'chat', data: 'one' });
      await a.signal({ type: 'other', data: 'skip' });
      await a.signal({ type: 'chat', data: 'two' });
      const got: string[] = [];
      for await (const s of it) {
        got.push(s.data);
        if (got.length === 2) break;
      }
      expect(got).toEqual(['one', 'two']);
      const left = next<{ reason: string }>(b, 'connectionDestroyed');
      void left;
    } // a disconnects here
    const d = await new Promise<{ reason: string }>((resolve) => b.once('connectionDestroyed', (e) => resolve(e)));
    expect(d.reason).toBe('clientDisconnected');

    const ctl = new AbortController();
    const c = initSession(API_KEY, sid, { serverUrl: 'ws://127.0.0.1:9', connectTimeout: 5000 });
    const p = c.connect(fixture.fx.token(sid), { signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(c.connectionStatus).toBe('disconnected');
  });

  it('signals() iterators are not listeners: off() leaves them running, and they end when the session ends', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const b = session(sid);
    await a.connect(fixture.fx.token(sid));
    await b.connect(fixture.fx.token(sid));
    const all = b.signals();
    const chat = b.signals('chat');
    b.off(); // OpenTok.js: removes every handler; the iterators must keep working
    await a.signal({ type: 'chat', data: 'one' });
    await a.signal({ type: 'x', data: 'two' });
    expect((await chat.next()).value?.data).toBe('one');
    expect((await all.next()).value?.data).toBe('one');
    expect((await all.next()).value?.data).toBe('two');
    const waiting = chat.next(); // nothing more of type chat: ends with the session
    b.disconnect();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await all.next()).toEqual({ value: undefined, done: true });
  });

  it('forceUnpublish, forceMuteAll and disableForceMute; streamDestroyed reasons', async () => {
    const sid = await fixture.fx.newSession();
    const mod = session(sid);
    await mod.connect(fixture.fx.token(sid, { role: 'moderator' }));
    const a = session(sid);
    await a.connect(fixture.fx.token(sid));
    const created = next<{ stream: { streamId: string } }>(mod, 'streamCreated');
    const pub = await a.publish({ name: 'a' });
    const st = (await created).stream;
    const gone = next<{ stream: unknown; reason: string }>(mod, 'streamDestroyed');
    const mine = new Promise<{ reason: string }>((r) => pub.once('streamDestroyed', r));
    await mod.forceUnpublish(st);
    expect((await mine).reason).toBe('forceUnpublished');
    const g = await gone;
    expect(g.reason).toBe('forceUnpublished');
    expect(g.stream).toBe(st);
    expect(pub.stream).toBeUndefined();
    const muted = next<{ active: boolean }>(a, 'muteForced');
    await mod.forceMuteAll();
    expect((await muted).active).toBe(true);
    const unmuted = next<{ active: boolean }>(a, 'muteForced');
    await mod.disableForceMute();
    expect((await unmuted).active).toBe(false);
  });

  it('loads as ESM with named exports', async () => {
    const script = `import { initSession, OTError } from ${JSON.stringify(join(__dirname, '..', 'dist', 'index.js'))}; console.log(typeof initSession, typeof OTError);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += String(d); });
    await new Promise((r) => child.on('exit', r));
    expect(out.trim()).toBe('function function');
  });

  it('convene join prints events as JSON lines and sends stdin lines as signals', async () => {
    const sid = await fixture.fx.newSession();
    const peer = session(sid);
    await peer.connect(fixture.fx.token(sid, { data: 'peer' }));
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'cli.js'), 'join', '--server-url', fixture.fx.url, '--api-key', API_KEY, '--session', sid, '--token', fixture.fx.token(sid, { data: 'cli' })], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: Array<Record<string, unknown>> = [];
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += String(d);
      let i;
      while ((i = buf.indexOf('\n')) >= 0) { lines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>); buf = buf.slice(i + 1); }
    });
    const got = next<{ type: string; data: string }>(peer, 'signal');
    const waitLine = async (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      for (let k = 0; k < 100; k++) { const l = lines.find(pred); if (l) return l; await new Promise((r) => setTimeout(r, 50)); }
      throw new Error(`no such line in ${JSON.stringify(lines)}`);
    };
    await waitLine((l) => l['event'] === 'sessionConnected');
    // its own connection first (OpenTok.js: "including your own"), then the peer already there
    expect(await waitLine((l) => l['event'] === 'connectionCreated')).toMatchObject({ connection: { data: 'cli' } });
    expect(await waitLine((l) => l['event'] === 'connectionCreated' && (l['connection'] as { data: string }).data === 'peer')).toBeTruthy();
    child.stdin.write('chat:hello from stdin\n');
    expect(await got).toMatchObject({ type: 'chat', data: 'hello from stdin' });
    await peer.signal({ type: 'x', data: 'to cli' });
    expect(await waitLine((l) => l['event'] === 'signal' && l['data'] === 'to cli')).toMatchObject({ type: 'x', from: { data: 'peer' } });
    child.stdin.end();
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(lines.at(-1)).toMatchObject({ event: 'sessionDisconnected', reason: 'clientDisconnected' });
  });
});
