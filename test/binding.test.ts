/**
 * The native binding itself (native/binding, lib/client/native.ts): the event numbering both
 * sides share, the raw NativeSession called with bad arguments (a TypeError, never a crash), and
 * environment teardown while events flow (worker_threads terminated mid-stream).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_KINDS, K, loadNative, type NativeModule, type NativeSession } from '../lib/client/native';
import { ensureDist } from './helpers/dist';
import { API_KEY, startFixture, type Fixture } from './helpers/server';

let native: NativeModule;
beforeAll(() => { native = loadNative(); });

describe('event numbering', () => {
  it('is defined by the addon once: TypeScript handles exactly the kinds the addon numbers', () => {
    const addon = native.EVENTS;
    expect(Object.isFrozen(addon)).toBe(true);
    expect(Object.keys(addon).sort()).toEqual([...EVENT_KINDS].sort());
    const numbers = Object.values(addon);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(Number.isInteger(n) && n >= 0).toBe(true);
    for (const k of EVENT_KINDS) expect(K[k]).toBe(addon[k]);
    expect(native.EVENT_STRIDE).toBe(7); // [target, kind, a..e]: the layout native.ts documents
  });

  it('every kind the session handles is one the addon defines', () => {
    const src = readFileSync(join(__dirname, '..', 'lib', 'client', 'session.ts'), 'utf8');
    const used = new Set([...src.matchAll(/\bK\.(\w+)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(0);
    for (const k of used) expect(Object.keys(native.EVENTS)).toContain(k);
    // and none the addon emits goes unhandled
    for (const k of Object.keys(native.EVENTS)) expect(used).toContain(k);
  });
});

describe('raw NativeSession: arguments are checked at the C++ entry', () => {
  const made: NativeSession[] = [];
  afterEach(() => { for (const s of made.splice(0)) s.close(); });
  function make(options: object = {}): NativeSession {
    const s = new native.NativeSession(API_KEY, '1_x', { serverUrl: 'ws://127.0.0.1:9', ...options });
    s.onEvent = () => {};
    made.push(s);
    return s;
  }
  // The raw object, typed loosely: these calls are wrong on purpose.
  type Loose = Record<string, (...args: unknown[]) => unknown>;
  const Ctor = (): new (...args: unknown[]) => NativeSession => native.NativeSession as unknown as new (...args: unknown[]) => NativeSession;

  it('constructor: wrong types throw TypeError naming the argument or option', () => {
    const C = Ctor();
    expect(() => new C()).toThrow(TypeError);
    expect(() => new C(1, '1_x', {})).toThrow(/apiKey must be a string/);
    expect(() => new C(API_KEY, null, {})).toThrow(/sessionId must be a string/);
    expect(() => new C(API_KEY, '1_x', 'opts')).toThrow(/options must be an object/);
    expect(() => (C as unknown as (...a: unknown[]) => unknown)(API_KEY, '1_x', {})).toThrow(); // called without new
    const bad: Array<[object, RegExp]> = [
      [{ serverUrl: 5 }, /serverUrl must be a string/],
      [{ serverUrl: 'http://x' }, /serverUrl must be a ws/],
      [{ connectionEventsSuppressed: 'yes' }, /connectionEventsSuppressed must be a boolean/],
      [{ connectTimeout: '5000' }, /connectTimeout/],
      [{ connectTimeout: Number.NaN }, /connectTimeout/],
      [{ connectTimeout: 1e20 }, /connectTimeout/],
      [{ connectTimeout: -1e20 }, /connectTimeout/],
      [{ caFile: {} }, /caFile must be a string/],
      [{ tlsVerify: 0 }, /tlsVerify must be a boolean/],
      [{ rejoin: 1 }, /rejoin must be a boolean/],
      [{ rejoinTimeout: '1' }, /rejoinTimeout/],
      [{ reconnectBackoff: 5 }, /reconnectBackoff/],
      [{ reconnectBackoff: { base: 'x' } }, /reconnectBackoff/],
      [{ reconnectBackoff: { cap: 1e300 } }, /reconnectBackoff/],
      [{ keepalive: 5 }, /keepalive/],
      [{ keepalive: { interval: 'x' } }, /keepalive/],
      [{ maxQueued: -1e20 }, /maxQueued/],
      [{ maxQueued: [] }, /maxQueued/],
    ];
    for (const [opts, re] of bad) {
      expect(() => new C(API_KEY, '1_x', opts), JSON.stringify(opts)).toThrow(TypeError);
      expect(() => new C(API_KEY, '1_x', opts), JSON.stringify(opts)).toThrow(re);
    }
    // absent options may be undefined or null; good ones pass
    make({ connectTimeout: undefined, caFile: null, keepalive: { interval: 1000 }, reconnectBackoff: { base: 100 }, rejoin: true });
  });

  it('a throwing getter in the options propagates as it is (never overwritten)', () => {
    const C = Ctor();
    const opts = { get connectTimeout(): number { throw new RangeError('getter boom'); } };
    expect(() => new C(API_KEY, '1_x', opts)).toThrow(RangeError);
    expect(() => new C(API_KEY, '1_x', { keepalive: { get interval(): number { throw new RangeError('inner boom'); } } })).toThrow(/inner boom/);
  });

  it('methods: wrong types throw TypeError; the session stays usable', () => {
    const s = make() as unknown as Loose;
    const calls: Array<[string, unknown[], RegExp]> = [
      ['connect', [], /token must be a string/],
      ['connect', [5], /token must be a string/],
      ['disconnect', ['yes'], /releaseOnly must be a boolean/],
      ['signal', ['1', 't', 'd', null, true], /req must be an integer/],
      ['signal', [1.5, 't', 'd', null, true], /req must be an integer/],
      ['signal', [-1, 't', 'd', null, true], /req must be an integer/],
      ['signal', [1, 5, 'd', null, true], /type must be a string/],
      ['signal', [1, 't', {}, null, true], /data must be a string/],
      ['signal', [1, 't', 'd', 5, true], /to must be a string or null/],
      ['signal', [1, 't', 'd', null, 'yes'], /retryAfterReconnect must be a boolean/],
      ['moderate', [1, 'forceMuteAll', null, 'ids'], /ids must be an array of strings/],
      ['moderate', [1, 'forceMuteAll', null, [1]], /ids must be an array of strings/],
      ['moderate', [1, 'forceMuteAll', null, new Array(1e9)], /ids must be an array of strings/],
      ['moderate', [1, 7, null, []], /op must be a string/],
      ['moderate', [1, 'forceUnpublish', undefined, []], /target must be a string or null/],
      ['publish', [1, 'n', 1, true, 'camera'], /hasAudio must be a boolean/],
      ['publish', [1, 'n', true, true, 'bogus'], /videoType must be one of 'camera', 'screen', 'custom'/],
      ['publish', [Number.POSITIVE_INFINITY, 'n', true, true, 'camera'], /pubId must be an integer/],
      ['unpublish', ['x'], /pubId must be an integer/],
      ['setPublish', [1, 'both', true], /what must be one of 'audio', 'video'/],
      ['setPublish', [1, 'audio', 'on'], /on must be a boolean/],
      ['getPublish', [1, 5], /what must be one of/],
    ];
    for (const [m, args, re] of calls) {
      let thrown: unknown;
      try { s[m]!(...args); } catch (e) { thrown = e; }
      expect(thrown, `${m}(${args.map((a) => typeof a).join(', ')})`).toBeInstanceOf(TypeError);
      expect((thrown as Error).message, `${m}`).toMatch(re);
    }
    const hostile = ['a', 'b'];
    Object.defineProperty(hostile, 1, { get() { throw new RangeError('element boom'); } });
    expect(() => s['moderate']!(1, 'forceMuteAll', null, hostile)).toThrow(RangeError);
    // good arguments still work: not connected, so statuses, no throw
    expect(s['signal']!(1, 't', 'd', null, true)).not.toBe(0);
    expect(s['unpublish']!(1)).toBe(1113); // OTC_SESSION_PUBLISHER_NOT_FOUND
    expect(s['getPublish']!(1, 'audio')).toBe(-1);
    expect(s['disconnect']!(true)).toBe(0);
  });

  it('a method called on the wrong object throws; after close() calls return statuses', () => {
    const s = make();
    expect(() => (s.connect as unknown as (this: unknown, t: string) => number).call({}, 'tok')).toThrow();
    expect(() => (s.connect as unknown as (this: unknown, t: string) => number).call(undefined, 'tok')).toThrow();
    s.close();
    s.close(); // idempotent
    expect(s.connect('tok')).not.toBe(0);
    expect(s.signal(1, 't', 'd', null, true)).not.toBe(0);
    expect(s.publish(1, 'n', true, true, 'camera')).not.toBe(0);
    expect(s.disconnect()).toBe(0);
  });
});

describe('raw NativeSession against a server', () => {
  let fx: Fixture;
  beforeEach(async () => { fx = await startFixture(); });
  afterEach(async () => { await fx.close(); });

  it('a publisher id in use is refused (it would orphan the first publisher\'s callbacks)', async () => {
    const sid = await fx.newSession();
    const s = new native.NativeSession(API_KEY, sid, { serverUrl: fx.url });
    const kinds: number[] = [];
    let onKind: ((k: number) => void) | undefined;
    s.onEvent = (kind) => { kinds.push(kind); onKind?.(kind); };
    const until = (k: number): Promise<void> => new Promise((resolve) => {
      if (kinds.includes(k)) return resolve();
      onKind = (got) => { if (got === k) resolve(); };
    });
    try {
      expect(s.connect(fx.token(sid))).toBe(0);
      await until(K.Connected);
      expect(s.publish(1, 'cam', true, true, 'camera')).toBe(0);
      expect(() => s.publish(1, 'again', true, true, 'camera')).toThrow(/pubId 1 is in use/);
      await until(K.PubCreated);
      expect(s.getPublish(1, 'audio')).toBe(1);
      expect(s.unpublish(1)).toBe(0);
      expect(s.publish(1, 'cam', true, false, 'screen')).toBe(0); // free again once unpublished
      s.disconnect();
      await until(K.Disconnected);
    } finally {
      s.close();
    }
  });
});

describe('environment teardown', () => {
  beforeAll(async () => { await ensureDist(); }, 120_000);
  let fx: Fixture;
  beforeEach(async () => { fx = await startFixture(); });
  afterEach(async () => { await fx.close(); });

  // glibc: freed memory is overwritten (no tcache, which skips that), so that a use after free
  // of the binding's objects shows (a hang or an abort) instead of reading stale bytes.
  const PERTURB = { ...process.env, MALLOC_PERTURB_: '165', GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0' };
  function runNode(script: string, timeoutMs = 20000): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: PERTURB });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += String(d); });
    child.stderr.on('data', (d) => { err += String(d); });
    return new Promise((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve({ code: -1, signal: 'timeout', out, err }); }, timeoutMs);
      child.on('exit', (code, signal) => { clearTimeout(t); resolve({ code, signal, out, err }); });
    });
  }

  it('workers terminated while their sessions are flooded with events: no crash, the process exits by itself', async () => {
    const sid = await fx.newSession();
    const DIST = JSON.stringify(join(__dirname, '..', 'dist', 'index.js'));
    const tokens = JSON.stringify(Array.from({ length: 11 }, () => fx.token(sid)));
    // Each worker connects two sessions that keep signalling each other (every signal received
    // is answered, plus a standing burst). Once events flow, its JavaScript thread stays busy
    // inside an event handler, so that events keep arriving for it (the main session ticks
    // into the same session) while a pump call is queued and not yet run; then it is
    // terminated. That call is still queued when the worker's environment is torn down. The main
    // thread's session signals all along: its pump must be unaffected.
    const script = `
      const { Worker } = require('node:worker_threads');
      const { initSession } = require(${DIST});
      const tokens = ${tokens};
      const opts = { serverUrl: ${JSON.stringify(fx.url)} };
      const worker = (i) => \`
        const { parentPort } = require('node:worker_threads');
        const { initSession } = require(\${JSON.stringify(${DIST})});
        const tokens = \${JSON.stringify(tokens.slice(1 + 2 * i, 3 + 2 * i))};
        const sessions = tokens.map(() => initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, \${JSON.stringify(opts)}));
        let seen = 0;
        const fire = (s) => s.signal({ type: 'flood', data: 'x'.repeat(200) }).catch(() => {});
        for (const s of sessions) s.on('signal:flood', () => {
          if (++seen === 100) {
            parentPort.postMessage('flowing');
            for (const end = Date.now() + 10000; Date.now() < end;); // busy until terminated
          }
          fire(s);
        });
        Promise.all(sessions.map((s, k) => s.connect(tokens[k]))).then(() => {
          for (const s of sessions) for (let n = 0; n < 20; n++) fire(s);
        });
      \`;
      (async () => {
        const main = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, opts);
        let mainSeen = 0;
        main.on('signal', () => { mainSeen++; });
        await main.connect(tokens[0]);
        const ticker = setInterval(() => main.signal({ type: 'tick' }).catch(() => {}), 5);
        for (let round = 0; round < 5; round++) {
          const w = new Worker(worker(round), { eval: true });
          w.on('error', (e) => { console.error('worker error', e); });
          await new Promise((resolve) => w.once('message', resolve));
          await new Promise((resolve) => setTimeout(resolve, 20)); // let ticks reach the busy worker
          await w.terminate();
          console.log('terminated', round);
        }
        clearInterval(ticker);
        await Promise.all([new Promise((resolve) => main.once('signal:last', resolve)), main.signal({ type: 'last' })]);
        console.log('main still receives', mainSeen > 0);
        main.disconnect();
      })();
    `;
    const r = await runNode(script, 60000);
    expect(r.err).toBe('');
    expect(r.signal).toBeNull();
    expect(r.out.match(/terminated \d/g)).toHaveLength(5);
    expect(r.out).toContain('main still receives true');
    expect(r.code).toBe(0); // exits by itself: nothing left holding the loop
  }, 90_000);
});
