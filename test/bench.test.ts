/**
 * The benchmark harness (bench/): its pure-JavaScript baseline client speaks protocol v1
 * correctly against the real server and the native client, a scenario runs end to end in its
 * own process for both clients, and the report computes ratios and targets from raw runs.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSession, type Stream } from '../lib/index';
import { mintToken } from '../lib/mint';
import { mintSessionId, startServer, type ConveneServer } from '../lib/server/index';

const requireJs = createRequire(__filename);
const root = join(__dirname, '..');

interface BaselineClient {
  connectionId: string;
  onSignal: (type: string, data: string, from: string | null) => void;
  connections: Map<string, { connectionId: string; data: string }>;
  signal(type: string, data: string, to?: string): Promise<void>;
  signalNoAck(type: string, data: string, to?: string): void;
  disconnect(): Promise<void>;
}
const baseline = requireJs('../bench/baseline-client.js') as {
  connect(o: { url: string; apiKey: string; sessionId: string; token: string }): Promise<BaselineClient>;
};
const { BENCH_PROJECT, writeDocBlock } = requireJs('../bench/common.js') as {
  BENCH_PROJECT: { apiKey: string; apiSecret: string };
  writeDocBlock(name: string, markdown: string, command?: string, mdPath?: string): void;
};
const report = requireJs('../bench/report.js') as {
  summarize(raw: unknown): Array<{ id: string; ratio: number | null; met: boolean | null; convene: { median: number; min: number; max: number } | null }>;
  writeReport(results: unknown, root: string): string;
};

let server: ConveneServer;
beforeAll(async () => {
  server = await startServer({ projects: [BENCH_PROJECT], port: 0, maxConnectionsPerSession: 5000, signalsPerSecond: 0 });
});
afterAll(async () => { await server.close(); });

async function joinBaseline(sessionId: string, data = ''): Promise<BaselineClient> {
  return baseline.connect({ url: server.url, apiKey: BENCH_PROJECT.apiKey, sessionId, token: await mintToken(BENCH_PROJECT, sessionId, data) });
}

describe('bench: the ws baseline client', () => {
  it('exchanges signals with the native client in one session, in order, with the right senders', async () => {
    const sid = mintSessionId(BENCH_PROJECT).sessionId;
    const js = await joinBaseline(sid, 'js');
    const native = initSession(BENCH_PROJECT.apiKey, sid, { serverUrl: server.url });
    await native.connect(await mintToken(BENCH_PROJECT, sid, 'native'));
    const nativeId = native.connection!.connectionId;
    for (let i = 0; i < 100 && !js.connections.has(nativeId); i++) await new Promise((r) => setTimeout(r, 10));
    expect(js.connections.get(nativeId)?.data).toBe('native');

    const atJs: string[] = [];
    js.onSignal = (type, data, from) => { if (type === 'n2j') { expect(from).toBe(nativeId); atJs.push(data); } };
    const atNative: string[] = [];
    native.on('signal:j2n', (e) => { expect(e.from?.connectionId).toBe(js.connectionId); atNative.push(e.data); });
    const N = 300;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      sends.push(js.signal('j2n', String(i), nativeId));
      sends.push(native.signal({ type: 'n2j', data: String(i), to: { connectionId: js.connectionId } }));
    }
    await Promise.all(sends);
    for (let i = 0; i < 200 && (atJs.length < N || atNative.length < N); i++) await new Promise((r) => setTimeout(r, 10));
    const expected = Array.from({ length: N }, (_, i) => String(i));
    expect(atJs).toEqual(expected);
    expect(atNative).toEqual(expected);

    // an invalid signal type is refused by the server with its code
    await expect(js.signal('bad type!', 'x')).rejects.toMatchObject({ code: 1461 });

    const gone = new Promise<void>((r) => native.once('connectionDestroyed', () => r()));
    await js.disconnect();
    await gone;
    await native[Symbol.asyncDispose]();
  });
});

function runScenario(name: string, client: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', join(root, 'bench', 'scenario.js'), name, client, JSON.stringify({ url: server.url, quick: true })],
      { timeout: 60_000 }, (err, stdout, stderr) => {
        if (err) return reject(new Error(`${name}/${client}: ${err.message}\n${stderr}`));
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>);
      });
  });
}

describe('bench: scenarios', () => {
  it.each(['convene', 'baseline'])('the round trip to oneself runs 2,000 times with %s', async (client) => {
    const r = await runScenario('rttSelf', client);
    expect(r.n).toBe(2000);
    expect(r.p50).toBeGreaterThan(0);
    expect(r.p99).toBeGreaterThanOrEqual(r.p50 ?? Infinity);
  });
});

/** bench/media-client.js (or `script`) in a child process: call(cmd) resolves with its JSON reply. */
function mediaClient(script = 'media-client.js', args: string[] = []): { call(cmd: Record<string, unknown>): Promise<Record<string, unknown>>; quit(): Promise<void> } {
  const child = spawn(process.execPath, ['--expose-gc', join(root, 'bench', script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: Array<(r: Record<string, unknown>) => void> = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(JSON.parse(line) as Record<string, unknown>);
    }
  });
  return {
    call: (cmd) => new Promise((resolve) => { waiting.push(resolve); child.stdin.write(`${JSON.stringify(cmd)}\n`); }),
    quit: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.stdin.write('{"cmd":"quit"}\n'); }),
  };
}

interface MediaMeasure {
  ok: boolean;
  publishers: number;
  subscribers: number;
  framesPerSub: { expected: number; min: number; total: number };
  onsets: number;
  captureErrors: number;
  lat: { n: number; jsP50: number; jsP99: number; nativeP50: number };
}

describe('bench: the media client', () => {
  it('publishes and subscribes audio in pairs through the public API, finds the markers and times them', async () => {
    const c = mediaClient();
    try {
      const sid = mintSessionId(BENCH_PROJECT).sessionId;
      expect(await c.call({ cmd: 'connect', url: server.url, sids: [sid, sid] })).toMatchObject({ ok: true, sessions: 2 });
      expect(await c.call({ cmd: 'publish', markerEvery: 5, lead: 2 })).toMatchObject({ ok: true, publishers: 2 });
      expect(await c.call({ cmd: 'subscribe' })).toMatchObject({ ok: true, subscribers: 2 });
      await new Promise((r) => setTimeout(r, 500));
      const m = await c.call({ cmd: 'measure', seconds: 1.5 }) as unknown as MediaMeasure;
      expect(m.ok).toBe(true);
      expect(m.publishers).toBe(2);
      expect(m.captureErrors).toBe(0);
      // both subscribers receive the other's audio (10 ms frames) and its 100 ms-apart markers
      expect(m.framesPerSub.min).toBeGreaterThan(0);
      expect(m.onsets).toBeGreaterThan(0);
      expect(m.lat.n).toBeGreaterThan(0);
      expect(m.lat.nativeP50).toBeGreaterThan(0);
      expect(m.lat.jsP99).toBeGreaterThanOrEqual(m.lat.jsP50);
      expect(await c.call({ cmd: 'unpublish' })).toMatchObject({ ok: true });
      expect(await c.call({ cmd: 'nonsense' })).toMatchObject({ ok: false });
    } finally {
      await c.quit();
    }
  });
});

interface VideoMeasure {
  ok: boolean;
  publishers: number;
  subscribers: number;
  encodedFps: number;
  receivedFps: number;
  decodeErrors: number;
  captureErrors: number;
  kbpsPerPub: number;
  lat: { n: number; p50: number; p99: number };
}

describe('bench: the video media client', () => {
  it('publishes the moving pattern through VideoSource, a second session subscribes and times capture → for await', async () => {
    const c = mediaClient('media-video-client.js');
    try {
      const sid = mintSessionId(BENCH_PROJECT).sessionId;
      expect(await c.call({ cmd: 'prepare', width: 320, height: 180 })).toMatchObject({ ok: true, frames: 30 });
      expect(await c.call({ cmd: 'connect', url: server.url, sids: [sid, sid], epochMs: Date.now() })).toMatchObject({ ok: true, sessions: 2 });
      expect(await c.call({ cmd: 'publish', width: 320, height: 180, fps: 15, count: 1 })).toMatchObject({ ok: true, publishers: 1 });
      expect(await c.call({ cmd: 'subscribe', format: 'I420' })).toMatchObject({ ok: true, subscribers: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const m = await c.call({ cmd: 'measure', seconds: 1.5 }) as unknown as VideoMeasure;
      expect(m).toMatchObject({ ok: true, publishers: 1, subscribers: 1, captureErrors: 0, decodeErrors: 0 });
      expect(m.encodedFps).toBeGreaterThan(0);
      expect(m.receivedFps).toBeGreaterThan(0);
      expect(m.kbpsPerPub).toBeGreaterThan(0);
      expect(m.lat.n).toBeGreaterThan(0);
      expect(m.lat.p50).toBeGreaterThan(0); // after its capture, on the shared wall clock
      expect(m.lat.p99).toBeGreaterThanOrEqual(m.lat.p50);
      expect(await c.call({ cmd: 'unpublish' })).toMatchObject({ ok: true });
      expect(await c.call({ cmd: 'nonsense' })).toMatchObject({ ok: false });
    } finally {
      await c.quit();
    }
  });

  it('the pattern moves (consecutive frames differ) and is a seamless 30-frame cycle', () => {
    const { frames } = requireJs('../bench/video-pattern.js') as { frames(w: number, h: number): Uint8Array[] };
    const f = frames(64, 48);
    expect(f.length).toBe(30);
    for (const x of f) expect(x.length).toBe(64 * 48 * 1.5);
    const diff = (a: Uint8Array, b: Uint8Array): number => { let n = 0; for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++; return n / a.length; };
    for (let i = 1; i < 30; i++) expect(diff(f[i - 1] as Uint8Array, f[i] as Uint8Array)).toBeGreaterThan(0.5);
    // the step from the last frame back to the first is one more step of the scroll, as large as the others
    expect(Math.abs(diff(f[29] as Uint8Array, f[0] as Uint8Array) - diff(f[0] as Uint8Array, f[1] as Uint8Array))).toBeLessThan(0.1);
  });
});

interface PeerVideoMeasure extends VideoMeasure {
  identified: number;
  sentSizes: Record<string, number>;
  receivedSizes: Record<string, number>;
}

const pattern = requireJs('../bench/video-pattern.js') as {
  matcher(w: number, h: number): (data: Uint8Array, fw: number, fh: number) => { index: number; err: number };
};

describe('bench: the wrtc peer client (@roamhq/wrtc through the WebRTC edge)', () => {
  it('audio in pairs within the peer process: every subscriber hears the other\'s markers, timed', async () => {
    const c = mediaClient('wrtc-peer-client.js');
    try {
      const sid = mintSessionId(BENCH_PROJECT).sessionId;
      expect(await c.call({ cmd: 'connect', url: server.url, sids: [sid, sid] })).toMatchObject({ ok: true, sessions: 2 });
      expect(await c.call({ cmd: 'publish', markerEvery: 5, lead: 2 })).toMatchObject({ ok: true, publishers: 2 });
      expect(await c.call({ cmd: 'subscribe' })).toMatchObject({ ok: true, subscribers: 2 });
      await new Promise((r) => setTimeout(r, 500));
      const m = await c.call({ cmd: 'measure', seconds: 1.5 }) as unknown as MediaMeasure;
      expect(m).toMatchObject({ ok: true, publishers: 2, subscribers: 2, captureErrors: 0 });
      expect(m.framesPerSub.min).toBeGreaterThan(0);
      expect(m.onsets).toBeGreaterThan(0);
      expect(m.lat.n).toBeGreaterThan(0);
      expect(m.lat.jsP50).toBeGreaterThan(0);
      expect(m.lat.jsP99).toBeGreaterThanOrEqual(m.lat.jsP50);
      expect(await c.call({ cmd: 'unpublish' })).toMatchObject({ ok: true });
      expect(await c.call({ cmd: 'nonsense' })).toMatchObject({ ok: false });
    } finally {
      await c.quit();
    }
  });

  it('audio between the peer and a Convene bot (bench/media-client.js): each hears the other\'s markers', async () => {
    const peer = mediaClient('wrtc-peer-client.js');
    const bot = mediaClient('media-client.js');
    try {
      const sid = mintSessionId(BENCH_PROJECT).sessionId;
      for (const c of [peer, bot]) {
        expect(await c.call({ cmd: 'connect', url: server.url, sids: [sid] })).toMatchObject({ ok: true, sessions: 1 });
        expect(await c.call({ cmd: 'publish', markerEvery: 5, lead: 2 })).toMatchObject({ ok: true, publishers: 1 });
      }
      for (const c of [peer, bot]) expect(await c.call({ cmd: 'subscribe' })).toMatchObject({ ok: true, subscribers: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const [atPeer, atBot] = await Promise.all([peer, bot].map((c) => c.call({ cmd: 'measure', seconds: 1.5 }))) as unknown as MediaMeasure[];
      // the peer (wrtc's sink) hears the bot's markers, and the bot (the native core) the peer's
      for (const m of [atPeer!, atBot!]) {
        expect(m).toMatchObject({ ok: true, publishers: 1, subscribers: 1, captureErrors: 0 });
        expect(m.framesPerSub.min).toBeGreaterThan(0);
        expect(m.onsets).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all([peer.quit(), bot.quit()]);
    }
  });

  it('360p video: the peer publishes the moving pattern, it subscribes itself (timed), and a Convene bot receives the pattern', async () => {
    const c = mediaClient('wrtc-peer-client.js', ['--video']);
    const sid = mintSessionId(BENCH_PROJECT).sessionId;
    const bot = initSession(BENCH_PROJECT.apiKey, sid, { serverUrl: server.url });
    try {
      expect(await c.call({ cmd: 'connect', url: server.url, sids: [sid, sid], epochMs: Date.now() })).toMatchObject({ ok: true, sessions: 2 });
      const streamAtBot = new Promise<Stream>((r) => bot.on('streamCreated', (e) => r(e.stream)));
      await bot.connect(await mintToken(BENCH_PROJECT, sid, 'bot'));
      expect(await c.call({ cmd: 'publish', width: 640, height: 360, fps: 30, count: 1 })).toMatchObject({ ok: true, publishers: 1 });
      expect(await c.call({ cmd: 'subscribe', format: 'I420' })).toMatchObject({ ok: true, subscribers: 1 });
      const sub = await bot.subscribe(await streamAtBot, { audio: false, video: { format: 'I420' } });
      const identify = pattern.matcher(640, 360);
      const atBot = { frames: 0, identified: 0, indexes: new Set<number>() };
      const reading = (async () => {
        for await (const f of sub.videoFrames()) {
          atBot.frames++;
          const { index } = identify(f.data, f.width, f.height);
          if (index >= 0) { atBot.identified++; atBot.indexes.add(index); }
          if (atBot.frames >= 30) break;
        }
      })();
      await new Promise((r) => setTimeout(r, 500));
      const m = await c.call({ cmd: 'measure', seconds: 1.5 }) as unknown as PeerVideoMeasure;
      expect(m).toMatchObject({ ok: true, publishers: 1, subscribers: 1, captureErrors: 0 });
      expect(m.encodedFps).toBeGreaterThan(0);
      expect(m.kbpsPerPub).toBeGreaterThan(0);
      expect(m.receivedFps).toBeGreaterThan(0);
      expect(m.identified).toBeGreaterThan(0); // the peer's own subscriber sees the pattern
      expect(m.lat.n).toBeGreaterThan(0);
      expect(m.lat.p50).toBeGreaterThan(0);
      expect(Object.keys(m.receivedSizes).length).toBeGreaterThan(0);
      await reading;
      // the native core decodes the peer's VP8: the pattern's frames, several of them (it moves)
      expect(atBot.identified).toBeGreaterThan(atBot.frames / 2);
      expect(atBot.indexes.size).toBeGreaterThan(5);
      expect(await c.call({ cmd: 'unpublish' })).toMatchObject({ ok: true });
    } finally {
      await c.quit();
      await bot[Symbol.asyncDispose]();
    }
  });

  it('the pattern matcher names each frame of the cycle, a scaled-down one too, and no flat picture', () => {
    const { frames } = requireJs('../bench/video-pattern.js') as { frames(w: number, h: number): Uint8Array[] };
    const identify = pattern.matcher(160, 96);
    const cycle = frames(160, 96);
    expect(cycle.map((f) => identify(f, 160, 96).index)).toEqual(cycle.map((_, i) => i));
    // frame 27 at half size (2x2 averages), as a sender's scaler would make it
    const f = cycle[27] as Uint8Array;
    const half = new Uint8Array(80 * 48 * 1.5);
    const avg = (plane: number, stride: number, x: number, y: number): number => Math.round(((f[plane + 2 * y * stride + 2 * x] as number) + (f[plane + 2 * y * stride + 2 * x + 1] as number) + (f[plane + (2 * y + 1) * stride + 2 * x] as number) + (f[plane + (2 * y + 1) * stride + 2 * x + 1] as number)) / 4);
    for (let y = 0; y < 48; y++) for (let x = 0; x < 80; x++) half[y * 80 + x] = avg(0, 160, x, y);
    for (let y = 0; y < 24; y++) for (let x = 0; x < 40; x++) half[80 * 48 + y * 40 + x] = avg(160 * 96, 80, x, y);
    expect(identify(half, 80, 48).index).toBe(27);
    expect(identify(new Uint8Array(160 * 96 * 1.5).fill(128), 160, 96).index).toBe(-1);
  });

  it('360p video the other way: a Convene bot (bench/media-video-client.js) publishes the pattern, the peer receives and recognises it', async () => {
    const bot = mediaClient('media-video-client.js');
    const peer = mediaClient('wrtc-peer-client.js', ['--video']);
    try {
      const sid = mintSessionId(BENCH_PROJECT).sessionId;
      const epochMs = Date.now();
      expect(await bot.call({ cmd: 'connect', url: server.url, sids: [sid], epochMs })).toMatchObject({ ok: true, sessions: 1 });
      expect(await bot.call({ cmd: 'publish', width: 640, height: 360, fps: 30 })).toMatchObject({ ok: true, publishers: 1 });
      expect(await peer.call({ cmd: 'prepare', width: 640, height: 360 })).toMatchObject({ ok: true, frames: 30 });
      expect(await peer.call({ cmd: 'connect', url: server.url, sids: [sid], epochMs })).toMatchObject({ ok: true, sessions: 1 });
      expect(await peer.call({ cmd: 'subscribe', format: 'I420' })).toMatchObject({ ok: true, subscribers: 1 });
      await new Promise((r) => setTimeout(r, 500));
      const m = await peer.call({ cmd: 'measure', seconds: 1.5 }) as unknown as PeerVideoMeasure;
      expect(m).toMatchObject({ ok: true, publishers: 0, subscribers: 1 });
      expect(m.receivedFps).toBeGreaterThan(0);
      expect(m.identified).toBeGreaterThan(0);
      expect(m.receivedSizes['640x360']).toBeGreaterThan(0);
    } finally {
      await Promise.all([peer.quit(), bot.quit()]);
    }
  });
});

describe('bench: report', () => {
  const raw = {
    rtt: { convene: [{ p50: 0.1, p99: 1 }, { p50: 0.3, p99: 2 }, { p50: 0.2, p99: 3 }], baseline: [{ p50: 0.1, p99: 4 }] },
    fanin: { convene: [{ mainCpuPer1k: 4 }], baseline: [{ mainCpuPer1k: 10 }] },
    storm: { convene: [{ ms: 2500 }], baseline: [{ ms: 100 }] },
    idle: { convene: [{ rssPerSessionKB: 12 }], baseline: [{ rssPerSessionKB: 11 }] },
  };

  it('takes medians with min–max, the ratio Convene ÷ baseline, and says whether each target is met', () => {
    type Row = ReturnType<typeof report.summarize>[number];
    const rows = new Map(report.summarize(raw).map((x) => [x.id, x]));
    const row = (id: string): Row => {
      const r = rows.get(id);
      if (!r) throw new Error(`no row ${id}`);
      return r;
    };
    expect(row('rtt.p50').convene).toEqual({ median: 0.2, min: 0.1, max: 0.3, runs: 3 });
    expect(row('rtt.p50').ratio).toBeCloseTo(2);
    expect(row('rtt.p50').met).toBe(false); // 0.2 > 0.1
    expect(row('rtt.p99').met).toBe(true); // 2 <= 4
    expect(row('fanin.mainCpuPer1k').met).toBe(true); // 4 <= 10 / 2
    expect(row('storm.ms').met).toBe(false); // 2,500 ms is not under 2 s, whatever the baseline
    expect(row('idle.rssPerSessionKB').met).toBe(false); // under 30 KB but above the baseline
    expect(rows.has('tput1.rate')).toBe(false); // no runs, no row
  });

  it('writeDocBlock replaces a block found by its name, whatever command its start marker names', () => {
    const md = join(mkdtempSync(join(tmpdir(), 'convene-bench-')), 'benchmarks.md');
    writeFileSync(md, '# B\n\n<!-- media-forward:start (generated by npm run bench:media) -->\nold\n<!-- media-forward:end -->\n\nafter\n');
    writeDocBlock('media-forward', 'new', 'npm run bench:media', md);
    writeDocBlock('media-forward', 'newer', undefined, md);
    expect(readFileSync(md, 'utf8')).toBe('# B\n\n<!-- media-forward:start (generated by npm run bench:media-forward) -->\nnewer\n<!-- media-forward:end -->\n\nafter\n');
  });

  it('writes results.json, the svg and only the generated part of benchmarks.md', () => {
    const dir = mkdtempSync(join(tmpdir(), 'convene-bench-'));
    mkdirSync(join(dir, 'bench'));
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs', 'benchmarks.md'), '# Benchmarks\n\nhand-written intro\n');
    const results = { date: '2026-11-23T00:00:00.000Z', mode: 'quick', runs: 1, seconds: 1, machine: { cpu: 'x', cores: 2, memoryGiB: 1, os: 'Linux', node: 'v20', libwebsockets: '4.1.6', jansson: '2.14', ws: '8', commit: 'abc' }, raw };
    report.writeReport(results, dir);
    report.writeReport(results, dir); // a second run replaces the block, it does not add one
    const md = readFileSync(join(dir, 'docs', 'benchmarks.md'), 'utf8');
    expect(md).toContain('hand-written intro');
    expect(md.match(/bench:start/g)).toHaveLength(1);
    expect(md).toContain('| Round trip A→B→A, p50 | ms | lower | 0.200 (0.100–0.300) | 0.100 | 2.00 | ≤ baseline | **no** |');
    const json = JSON.parse(readFileSync(join(dir, 'bench', 'results.json'), 'utf8')) as { summary: unknown[]; raw: unknown };
    expect(json.raw).toEqual(raw);
    expect(json.summary.length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, 'docs', 'benchmarks.svg'), 'utf8')).toMatch(/^<svg[\s\S]*2\.00×[\s\S]*<\/svg>\n$/);
  });
});
