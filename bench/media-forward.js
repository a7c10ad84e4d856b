#!/usr/bin/env node
/*
 * bench/media-forward: the server's cost of forwarding media (protocol v1.1, section 15),
 * beside a bare `ws` relay that does nothing but forward each binary frame to every other
 * socket (the floor). P publishers each send a 92-byte audio frame (12-byte header, 80-byte
 * Opus payload: 32 kb/s mono, 20 ms) every 20 ms; S subscribers each take every stream. The
 * server (or relay) runs in a process of its own; its CPU (utime + stime from /proc) is read
 * over a window of --seconds, the subscribers count what they receive.
 *
 *   node bench/media-forward.js [--seconds 3] [--publishers 10] [--subs 20,50,100] [--runs 1] [--write]
 *   node bench/media-forward.js --video 2300,9213 [--fps 30] [--publishers 4] [--subs 25,50,100] ...
 *
 * --video B1,B2,...: video instead of audio, one sweep per frame size (bytes of VP8 payload
 * per frame: the core's default bitrate at 360p30 and 720p30 ÷ 30, see bench/media-video.js),
 * one packet per frame (marker set), a keyframe every --fps frames (a new subscriber waits
 * for one: the warm-up is 1.5 s); the table goes into block media-forward-video.
 *
 * With `taskset` and two cores or more, the server (or relay) is pinned to core 1 and this
 * load generator to core 0. --runs repeats the whole sweep; each row is the median of its runs
 * (by CPU per 1,000 frames/s), with the load average seen before each run. --write puts the
 * table into docs/benchmarks.md (block media-forward).
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const os = require('node:os');
const { readFileSync } = require('node:fs');
const WebSocket = require('ws');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};

// ---- the relay (the floor), in its own process: node bench/media-forward.js --relay ----
if (process.argv.includes('--relay')) {
  const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1', perMessageDeflate: false }, () => {
    process.stdout.write(`${JSON.stringify({ url: `ws://127.0.0.1:${wss.address().port}/` })}\n`);
  });
  const subs = new Set();
  wss.on('connection', (ws, req) => {
    if (!req.url.includes('pub')) subs.add(ws);
    ws.on('close', () => subs.delete(ws));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      for (const s of subs) if (s.bufferedAmount < 65536) s.send(data, { binary: true });
    });
  });
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  return;
}

const { BENCH_PROJECT, sleep, startServerProcess, writeDocBlock } = require('./common.js');
const { mintSessionId } = require('../dist/server/index.js');
const { mintToken } = require('../dist/mint.js');
const { encodeMediaFrame, MediaFlag } = require('../dist/wire/index.js');

const SECONDS = Number(arg('seconds', '3'));
/** video frame sizes (bytes), or undefined for audio */
const VIDEO = arg('video', undefined)?.split(',').map(Number);
const FPS = VIDEO ? Number(arg('fps', '30')) : 50;
const PUBLISHERS = Number(arg('publishers', VIDEO ? '4' : '10'));
const SUBS = arg('subs', VIDEO ? '25,50,100' : '20,50,100').split(',').map(Number);
const WARM_MS = VIDEO ? 1500 : 500;
const RUNS = Number(arg('runs', '1'));
const hasTaskset = (() => { try { execFileSync('taskset', ['-c', '0', 'true']); return os.cpus().length >= 2; } catch { return false; } })();
const pinned = (core) => (a) => (hasTaskset ? ['taskset', ['-c', String(core), ...a]] : [a[0], a.slice(1)]);
const TICKS = Number(require('node:child_process').execSync('getconf CLK_TCK').toString().trim()) || 100;

function cpuMsOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS; // utime, stime
}

function startRelay() {
  return new Promise((resolve, reject) => {
    const [cmd, args] = pinned(1)([process.execPath, __filename, '--relay']);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => { buf += d; const nl = buf.indexOf('\n'); if (nl >= 0) resolve({ child, ...JSON.parse(buf.slice(0, nl)) }); });
    child.once('exit', (code) => reject(new Error(`relay exited (${code})`)));
  });
}

/** A raw protocol client: connects, then `request` resolves with a result. */
async function conveneClient(url, sid, data) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const waiters = new Map();
  let lastSeq = 0;
  let nextId = 1;
  let onConnected;
  const connected = new Promise((r) => { onConnected = r; });
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(d.toString());
    if (f.type === 'connected') onConnected(f);
    if (typeof f.seq === 'number') { lastSeq = f.seq; if (f.seq % 16 === 0) ws.send(JSON.stringify({ type: 'ack', seq: f.seq })); }
    if (f.type === 'result') waiters.get(f.id)?.(f);
  });
  ws.send(JSON.stringify({ type: 'connect', v: 1, apiKey: BENCH_PROJECT.apiKey, sessionId: sid, token: await mintToken(BENCH_PROJECT, sid, data), sdk: { name: 'bench', version: '0' } }));
  await connected;
  const request = (type, fields) => new Promise((r) => { const id = nextId++; waiters.set(id, r); ws.send(JSON.stringify({ type, id, ack: lastSeq, ...fields })); });
  return { ws, request };
}

let payload = new Uint8Array(80).fill(0x55);
// every frame's payload starts with its send time (performance.now(), float64): the subscribers,
// in this same process, take the delay through the forwarder from it (every 8th frame)
let stamp = new DataView(payload.buffer);
const frame = VIDEO
  ? (track, i) => encodeMediaFrame({ kind: 'video', flags: MediaFlag.marker | (i % FPS === 0 ? MediaFlag.keyframe : 0), track, sequence: i & 0xffff, timestamp: ((i * 90000) / FPS) >>> 0, audioLevel: 0 }, payload)
  : (track, i) => encodeMediaFrame({ kind: 'audio', flags: 0, track, sequence: i & 0xffff, timestamp: (i * 960) >>> 0, audioLevel: 50 }, payload);

/** Every 8th frame a subscriber gets while counting: the delay since its send time (ms). */
let counting = false;
function sampleDelay(c, d) {
  if (!counting || (c.n & 7) !== 0) return;
  const at = d.length - payload.length; // the payload ends the frame, whatever the header
  c.delays.push(performance.now() - d.readDoubleBE(at));
}

/** Sets up P publishers and S subscribers on `kind` ('convene' | 'relay'); returns senders and counters. */
async function setup(kind, url, subs) {
  const pubs = [];
  const counters = [];
  const sockets = [];
  if (kind === 'relay') {
    for (let p = 0; p < PUBLISHERS; p++) {
      const ws = new WebSocket(`${url}pub`, { perMessageDeflate: false });
      await new Promise((r) => ws.once('open', r));
      pubs.push({ ws, track: p + 1 });
      sockets.push(ws);
    }
    for (let s = 0; s < subs; s++) {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      await new Promise((r) => ws.once('open', r));
      const c = { n: 0, bytes: 0, delays: [] };
      ws.on('message', (d) => { c.n++; c.bytes += d.length; sampleDelay(c, d); });
      counters.push(c);
      sockets.push(ws);
    }
    return { pubs, counters, sockets };
  }
  const sid = mintSessionId(BENCH_PROJECT).sessionId;
  const streams = [];
  for (let p = 0; p < PUBLISHERS; p++) {
    const c = await conveneClient(url, sid, `pub${p}`);
    const r = await c.request('publish', VIDEO ? { hasAudio: false, hasVideo: true, videoType: 'camera' } : { hasAudio: true, hasVideo: false });
    pubs.push({ ws: c.ws, track: VIDEO ? r.tracks.video : r.tracks.audio });
    streams.push(r.stream.id);
    sockets.push(c.ws);
  }
  for (let s = 0; s < subs; s++) {
    const c = await conveneClient(url, sid, `sub${s}`);
    for (const streamId of streams) await c.request('subscribe', { streamId, audio: !VIDEO, video: !!VIDEO });
    const k = { n: 0, bytes: 0, delays: [] };
    c.ws.on('message', (d, isBinary) => { if (isBinary) { k.n++; k.bytes += d.length; sampleDelay(k, d); } });
    counters.push(k);
    sockets.push(c.ws);
  }
  return { pubs, counters, sockets };
}

async function measure(kind, url, pid, subs) {
  const { pubs, counters, sockets } = await setup(kind, url, subs);
  let i = 0;
  let sent = 0;
  // paced on the wall clock: a late tick sends what is due (a timer of 33.3 ms is not exact)
  const tStart = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - tStart) * FPS) / 1000) + 1;
    while (i < due) {
      stamp.setFloat64(0, performance.now());
      for (const p of pubs) p.ws.send(frame(p.track, i));
      i++;
      sent += pubs.length;
    }
  }, Math.min(20, Math.floor(1000 / FPS)));
  await sleep(WARM_MS); // warm up
  counting = true;
  const cpu0 = cpuMsOf(pid);
  const sent0 = sent;
  const got0 = counters.reduce((n, c) => n + c.n, 0);
  const bytes0 = counters.reduce((n, c) => n + c.bytes, 0);
  const t0 = Date.now();
  await sleep(SECONDS * 1000);
  const cpu1 = cpuMsOf(pid);
  const sent1 = sent;
  const got1 = counters.reduce((n, c) => n + c.n, 0);
  const bytes1 = counters.reduce((n, c) => n + c.bytes, 0);
  const t1 = Date.now();
  counting = false;
  clearInterval(timer);
  for (const ws of sockets) ws.terminate();
  await sleep(300);
  const secs = (t1 - t0) / 1000;
  const inFps = (sent1 - sent0) / secs;
  const expectedOut = inFps * subs;
  const outFps = (got1 - got0) / secs;
  const cpuPct = ((cpu1 - cpu0) / (t1 - t0)) * 100;
  const outMBps = (bytes1 - bytes0) / secs / 1e6;
  const delays = counters.flatMap((c) => c.delays).sort((a, b) => a - b);
  const pct = (q) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] : NaN);
  return { kind, subs, inFps, outFps, outMBps, delivered: outFps / expectedOut, cpuPct, perK: cpuPct / (outFps / 1000), perMB: cpuPct / outMBps, delayP50: pct(0.5), delayP99: pct(0.99) };
}

const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function sweep() {
  const rows = [];
  const load = os.loadavg()[0];
  const convene = await startServerProcess([], pinned(1));
  for (const s of SUBS) rows.push({ load, ...(await measure('convene', convene.url, convene.child.pid, s)) });
  convene.child.stdin.end();
  const relay = await startRelay();
  for (const s of SUBS) rows.push({ load, ...(await measure('relay', relay.url, relay.child.pid, s)) });
  relay.child.stdin.end();
  return rows;
}

/** RUNS sweeps; each row: the run with the median CPU per 1,000 frames/s out. */
async function medianRows() {
  const all = [];
  for (let r = 0; r < RUNS; r++) all.push(await sweep());
  return all[0].map((_, i) => {
    const rs = all.map((run) => run[i]).sort((a, b) => a.perK - b.perK);
    return { ...rs[(rs.length - 1) >> 1], loads: all.map((run) => run[i].load), perKs: rs.map((x) => x.perK), perMBs: all.map((run) => run[i].perMB).sort((a, b) => a - b) };
  });
}

/** The video table: one block of rows per frame size. */
async function videoMain() {
  const lines = [
    `${PUBLISHERS} publishers × one ${FPS} frame/s video stream, one packet per frame (a 12-byte header and the payload below: the native core's default VP8 bitrate at that size ÷ ${FPS}; a keyframe flag every ${FPS} frames), every subscriber takes every stream; ${SECONDS} s per row after ${WARM_MS / 1000} s of warm-up; server and relay in a process of their own${hasTaskset ? ' pinned to core 1, the load generator to core 0 (`taskset`)' : ''}, CPU from /proc (user + system); ${RUNS} run(s), each row the median run by CPU per 1,000 frames/s (min–max beside it); ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0].model}, **2 cores shared with other work: figures are indicative** (load average, 1 min, before each run in the last column).`,
    '',
    '| payload (bytes / frame) | forwarder | subscribers | frames in /s | frames out /s | MB/s out | delivered | server CPU (% of a core) | CPU % per 1,000 frames/s out | CPU % per MB/s out | load |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const summary = [];
  for (const bytes of VIDEO) {
    payload = new Uint8Array(bytes).fill(0x55);
    stamp = new DataView(payload.buffer);
    const rows = await medianRows();
    for (const r of rows) {
      lines.push(`| ${fmt(bytes)} | ${r.kind === 'convene' ? 'Convene server' : 'bare ws relay (floor)'} | ${r.subs} | ${fmt(r.inFps)} | ${fmt(r.outFps)} | ${fmt(r.outMBps, 1)} | ${fmt(r.delivered * 100, 1)} % | ${fmt(r.cpuPct, 1)} | ${fmt(r.perK, 2)}${r.perKs.length > 1 ? ` (${fmt(r.perKs[0], 2)}–${fmt(r.perKs[r.perKs.length - 1], 2)})` : ''} | ${fmt(r.perMB, 2)} | ${r.loads.map((x) => fmt(x, 1)).join(' / ')} |`);
    }
    const at = (kind) => {
      const rs = rows.filter((r) => r.kind === kind && r.delivered >= 0.98 && r.delivered <= 1.02);
      const r = rs[rs.length - 1] ?? rows.filter((x) => x.kind === kind).pop();
      return { tracks: ((100 / r.perK) * 1000) / FPS, mbps: 100 / r.perMB, from: r.subs };
    };
    const c = at('convene');
    const f = at('relay');
    summary.push(`${fmt(bytes)}-byte frames: one core, extrapolated linearly from the largest row delivered in real time (98–102 %), forwards about **${fmt(c.tracks)} subscribed ${FPS} frame/s video tracks (${fmt(c.mbps)} MB/s)** through Convene (from the ${c.from}-subscriber row), ${fmt(f.tracks)} (${fmt(f.mbps)} MB/s) through the bare relay.`);
  }
  lines.push('', ...summary);
  const md = lines.join('\n');
  console.log(md);
  if (process.argv.includes('--write')) writeDocBlock('media-forward-video', md, 'npm run bench:media');
  process.exit(0);
}

async function main() {
  // the load generator on core 0 (every thread), the server / relay on core 1
  if (hasTaskset) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  if (VIDEO) return videoMain();
  const rows = await medianRows();

  const lines = [
    `${PUBLISHERS} publishers × one 50 frame/s audio stream (92-byte frames), every subscriber takes every stream; ${SECONDS} s per row after 0.5 s of warm-up; server and relay in a process of their own${hasTaskset ? ' pinned to core 1, the load generator to core 0 (`taskset`)' : ''}, CPU from /proc (user + system); ${RUNS} run(s), each row the median run by CPU per 1,000 frames/s (min–max beside it); ${new Date().toISOString().slice(0, 10)}, ${os.cpus()[0].model}, **2 cores shared with other work: figures are indicative** (load average, 1 min, before each run in the last column).`,
    '',
    '| forwarder | subscribers | frames in /s | frames out /s | delivered | server CPU (% of a core) | CPU % per 1,000 frames/s out | send → subscriber p50 / p99 (ms) | load |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.kind === 'convene' ? 'Convene server' : 'bare ws relay (floor)'} | ${r.subs} | ${fmt(r.inFps)} | ${fmt(r.outFps)} | ${fmt(r.delivered * 100, 1)} % | ${fmt(r.cpuPct, 1)} | ${fmt(r.perK, 2)}${r.perKs.length > 1 ? ` (${fmt(r.perKs[0], 2)}–${fmt(r.perKs[r.perKs.length - 1], 2)})` : ''} | ${fmt(r.delayP50, 2)} / ${fmt(r.delayP99, 2)} | ${r.loads.map((x) => fmt(x, 1)).join(' / ')} |`),
  ];
  const best = (kind) => {
    const rs = rows.filter((r) => r.kind === kind && r.delivered >= 0.99 && r.delivered <= 1.01); // in real time: no loss, no backlog
    const r = rs[rs.length - 1] ?? rows.filter((x) => x.kind === kind)[0];
    const maxOut = (100 / r.perK) * 1000;
    return { maxOut, maxSubs: maxOut / 50, from: r.subs };
  };
  const c = best('convene');
  const f = best('relay');
  // the delay the Convene server adds over the bare relay (same load generator, same sockets), at each size
  const added = SUBS.map((n) => {
    const cv = rows.find((r) => r.kind === 'convene' && r.subs === n);
    const rl = rows.find((r) => r.kind === 'relay' && r.subs === n);
    return { n, ms: cv && rl ? cv.delayP99 - rl.delayP99 : NaN };
  });
  const worst = Math.max(...added.map((a) => a.ms).filter(Number.isFinite));
  lines.push('', `Issue 21's server targets: **${c.maxOut >= 100000 ? 'met' : 'not met'}**: at least 100,000 forwarded frames/s per core (${fmt(c.maxOut)}); **${c.maxOut * 1.5 >= f.maxOut ? 'met' : 'not met'}**: within 1.5× the bare relay's cost (Convene ÷ relay per 1,000 frames/s = ${fmt(f.maxOut / c.maxOut, 2)}); p99 delay added over the relay's at the same load ${added.map((a) => `${fmt(a.ms, 2)} ms (${a.n} subscribers)`).join(', ')}: **${worst <= 1 ? 'met' : 'not met'}** (≤ 1 ms). The delay is measured from the send call to the subscriber's message event, both in the load generator (every 8th frame), so both columns include its own event loop.`);
  lines.push('', `One core, extrapolated linearly from the largest row delivered in real time (99–101 %: above 100 % the load generator fell behind and the window caught a backlog): Convene forwards about **${fmt(c.maxOut)} frames/s**, i.e. about **${fmt(c.maxSubs)} subscribed 50 frame/s audio tracks** (from the ${c.from}-subscriber row); the bare relay about ${fmt(f.maxOut)} frames/s (${fmt(f.maxSubs)} tracks). LiveKit's published figure per vCPU: about 75,000 packets/s out, about 2,300 subscribed audio tracks (≈ 33 packets/s each). Packets (frames) per second: **${c.maxOut >= 75000 ? 'met' : 'not met'}** (Convene ÷ LiveKit = ${fmt(c.maxOut / 75000, 2)}); tracks: **${c.maxSubs >= 2300 ? 'met' : 'not met'}** (${fmt(c.maxSubs / 2300, 2)}): a Convene audio track is 50 frames/s (20 ms Opus frames, DTX off while there is sound).`);
  const md = lines.join('\n');
  console.log(md);
  if (process.argv.includes('--write')) writeDocBlock('media-forward', md, 'npm run bench:media');
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
