#!/usr/bin/env node
/*
 * bench/media-video: the video part of `npm run bench:media` (issue 18, "Measure"), through the
 * public Node API. Client processes are bench/media-video-client.js, driven one command at a
 * time; the Convene server runs in a process of its own (bench/server-proc.js).
 *
 *   node bench/media-video.js [--quick] [--runs 3] [--write] [--only floor,latency,cost,forward] [--clients convene,wrtc] [--json]
 *   node bench/media-video.js --render [--write]   the table again from bench/media-video-results.json
 *
 * At 360p30 (640x360) and 720p30 (1280x720), the same moving pattern everywhere (bench/video-pattern.js):
 *   floor    libvpx's own tools on this machine: `vpxenc` (Debian's vpx-tools) encodes 150 frames
 *            of the pattern with the native core's settings (realtime deadline, cpu-used -6, CBR at
 *            the core's default bitrate, one thread, no lag, the same rate-control and keyframe
 *            settings: see native/src/media/vp8_codec.c), `vpxdec` decodes the result; CPU time
 *            from the shell's `times` (user + system of the children), as % of a core at 30 fps.
 *   latency  one process: a session publishes a VideoSource, another (same session id) subscribes
 *            it (I420): capture (timestampUs) → the subscriber's `for await`, p50 / p99.
 *   cost     one process, N sessions (one session id): idle → each publishing one stream →
 *            unpublished → each subscribing one stream published by a feeder process (one
 *            encoder there, N decoders here). Process CPU (every thread) − idle, ÷ N, and the
 *            same per frame × 30 (the cost of a full 30 fps stream, whatever rate was reached);
 *            RSS after gc, Δ ÷ N.
 *   forward  bench/media-forward.js --video (server forwarding with video-sized frames).
 * Client processes are pinned to core 0 (`taskset`), the server to core 1, as for audio.
 *
 * Side by side (issue 21): at 360p the latency and cost runs are made with the peer too,
 * bench/wrtc-peer-client.js --video (convene/web on @roamhq/wrtc through the server's WebRTC
 * edge: RTCVideoSource.onFrame with the same pattern, libwebrtc's VP8 at the bitrate its
 * congestion control sets, RTCVideoSink), alternating with Convene's runs; in its cost run the
 * stream subscribed comes from the same Convene feeder. Its latency: the publisher's onFrame
 * of the frame the sink recognised (video-pattern.js's matcher) → the sink's onframe.
 *
 * Each run is a fresh process; cells are medians over the runs (min–max), with the load
 * average (uptime) at the start of each run. --write puts the table into docs/benchmarks.md
 * (block media-video) and the raw figures into bench/media-video-results.json.
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { mintSessionId } = require('../dist/server/index.js');
const { BENCH_PROJECT, median, sleep, startClientProcess, startServerProcess, writeDocBlock } = require('./common.js');
const { frames: patternFrames } = require('./video-pattern.js');

const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const QUICK = flag('quick');
const RUNS = Number(arg('runs', QUICK ? '1' : '3'));
const ONLY = arg('only', 'floor,latency,cost,forward').split(',');
const JSON_OUT = flag('json');
const CLIENTS = arg('clients', 'convene,wrtc').split(',');
for (const c of CLIENTS) if (!['convene', 'wrtc'].includes(c)) throw new Error(`--clients: unknown client ${c} (convene, wrtc)`);
const RESULTS = path.join(__dirname, 'media-video-results.json');

const FPS = 30;
/** N streams per cost run: what one shared core carries without falling far behind */
const SIZES = [
  { name: '360p30', w: 640, h: 360, costN: 4, peer: true }, // peer: the wrtc client runs at this size too
  { name: '720p30', w: 1280, h: 720, costN: 2 },
];
const CFG = QUICK
  ? { floorFrames: 60, latSeconds: 3, costSeconds: 2, idleSeconds: 1, warm: 1 }
  : { floorFrames: 150, latSeconds: 8, costSeconds: 5, idleSeconds: 3, warm: 2 };

/** The native core's default bitrate (native/src/media/vp8_codec.c, cv_vp8_default_bitrate_kbps): 0.08 bit per pixel. */
const defaultKbps = (w, h, fps) => Math.max(60, Math.min(4000, Math.floor((w * h * fps * 0.08) / 1000)));

const hasTaskset = (() => { try { execFileSync('taskset', ['-c', '0', 'true']); return os.cpus().length >= 2; } catch { return false; } })();
const pinned = (core) => (a) => (hasTaskset ? ['taskset', ['-c', String(core), ...a]] : [a[0], a.slice(1)]);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const log = (...a) => { if (!JSON_OUT) console.error('[bench:media video]', ...a); };
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');

/** A video client process (`kind`: convene, bench/media-video-client.js; wrtc, bench/wrtc-peer-client.js --video), pinned to `core` if given: call(cmd) → its JSON reply. */
function startClient(core, kind = 'convene') {
  const argv = [process.execPath, '--expose-gc', ...(kind === 'wrtc' ? [path.join(__dirname, 'wrtc-peer-client.js'), '--video'] : [path.join(__dirname, 'media-video-client.js')])];
  return startClientProcess(argv, 'media-video-client', core === undefined ? undefined : pinned(core));
}

const sid = () => mintSessionId(BENCH_PROJECT).sessionId;

// ---- the floor: libvpx's own tools ----

function hasVpxTools() {
  try { execFileSync('vpxenc', ['--help'], { stdio: 'ignore' }); } catch (e) { if (e.code === 'ENOENT') return false; }
  try { execFileSync('vpxdec', ['--help'], { stdio: 'ignore' }); } catch (e) { if (e.code === 'ENOENT') return false; }
  return true;
}

/**
 * Runs `cmd` (pinned to core 0) under GNU time when there is one (CPU and peak RSS), else under
 * bash's `times` (CPU only): { cpuS: user + system seconds, maxRssKB }.
 */
function childCost(cmd) {
  const pin = hasTaskset ? 'taskset -c 0 ' : '';
  if (fs.existsSync('/usr/bin/time')) {
    const out = execFileSync('bash', ['-c', `/usr/bin/time -f 'TIME %U %S %M' ${pin}${cmd} 2>&1 >/dev/null | grep '^TIME'`]).toString().trim().split(/\s+/);
    return { cpuS: Number(out[1]) + Number(out[2]), maxRssKB: Number(out[3]) };
  }
  const out = execFileSync('bash', ['-c', `${pin}${cmd} >/dev/null 2>&1; times`]).toString().trim().split('\n');
  const secs = (x) => { const m = /(\d+)m([\d.]+)s/.exec(x); return m ? Number(m[1]) * 60 + Number(m[2]) : NaN; };
  const [u, sy] = out[out.length - 1].split(/\s+/);
  return { cpuS: secs(u) + secs(sy), maxRssKB: NaN };
}

/** The settings of native/src/media/vp8_codec.c (cv_vp8_encoder_new), as vpxenc flags. */
function vpxencArgs(w, h, yuv, ivf, frames, kbps) {
  return [
    'vpxenc', '--codec=vp8', '--i420', `-w ${w}`, `-h ${h}`, `--fps=${FPS}/1`, '--timebase=1/90000', `--limit=${frames}`,
    '--rt', '--cpu-used=-6', '--end-usage=cbr', `--target-bitrate=${kbps}`, '--lag-in-frames=0', '--threads=1',
    '--min-q=2', '--max-q=56', '--undershoot-pct=100', '--overshoot-pct=15', '--buf-initial-sz=500', '--buf-optimal-sz=600', '--buf-sz=1000',
    '--drop-frame=30', '--kf-min-dist=0', `--kf-max-dist=${3 * FPS}`, '--error-resilient=1', '--noise-sensitivity=0', '--static-thresh=1',
    '--max-intra-rate=300', '-q', `-o ${ivf}`, yuv,
  ].join(' ');
}

/** vpxenc then vpxdec on CFG.floorFrames frames of the pattern at `kbps` (default: the core's default bitrate). */
async function floorRun(size, kbps = defaultKbps(size.w, size.h, FPS)) {
  const yuv = path.join(os.tmpdir(), `convene-vbench-${process.pid}-${size.name}.yuv`);
  const ivf = yuv.replace(/\.yuv$/, '.ivf');
  try {
    const cycle = patternFrames(size.w, size.h);
    const fd = fs.openSync(yuv, 'w');
    for (let i = 0; i < CFG.floorFrames; i++) fs.writeSync(fd, cycle[i % cycle.length]);
    fs.closeSync(fd);
    const enc = childCost(vpxencArgs(size.w, size.h, yuv, ivf, CFG.floorFrames, kbps));
    const outKbps = (fs.statSync(ivf).size * 8) / (CFG.floorFrames / FPS) / 1000; // IVF headers included (32 + 12 per frame)
    const dec = childCost(`vpxdec --codec=vp8 -t 1 --noblit ${ivf}`);
    const perStream = (s) => (s / CFG.floorFrames) * FPS * 100; // % of a core for a 30 fps stream
    return {
      encPct: perStream(enc.cpuS), decPct: perStream(dec.cpuS), encMsPerFrame: (enc.cpuS / CFG.floorFrames) * 1000, decMsPerFrame: (dec.cpuS / CFG.floorFrames) * 1000, kbps: outKbps,
      encRssKB: enc.maxRssKB, decRssKB: dec.maxRssKB,
    };
  } finally {
    fs.rmSync(yuv, { force: true });
    fs.rmSync(ivf, { force: true });
  }
}

// ---- Convene through the Node API ----

async function latencyRun(url, size, kind) {
  const c = startClient(0, kind);
  try {
    const s = sid();
    await c.call({ cmd: 'connect', url, sids: [s, s], epochMs: Date.now() });
    await c.call({ cmd: 'publish', width: size.w, height: size.h, fps: FPS, count: 1 });
    await c.call({ cmd: 'subscribe', format: 'I420' });
    await sleep(CFG.warm * 1000);
    return await c.call({ cmd: 'measure', seconds: CFG.latSeconds });
  } finally { await c.quit(); }
}

async function costRun(url, size, kind) {
  const N = size.costN;
  const s = sid();
  const epochMs = Date.now();
  const c = startClient(0, kind);
  let feeder;
  try {
    await c.call({ cmd: 'prepare', width: size.w, height: size.h }); // the pattern's memory is the bench's, not the streams'
    const rss0 = (await c.call({ cmd: 'rss' })).rss;
    await c.call({ cmd: 'connect', url, sids: Array(N).fill(s), epochMs });
    const rss1 = (await c.call({ cmd: 'rss' })).rss;
    const idle = await c.call({ cmd: 'measure', seconds: CFG.idleSeconds });
    await c.call({ cmd: 'publish', width: size.w, height: size.h, fps: FPS });
    await sleep(CFG.warm * 1000);
    const pub = await c.call({ cmd: 'measure', seconds: CFG.costSeconds });
    const rss2 = (await c.call({ cmd: 'rss' })).rss;
    await c.call({ cmd: 'unpublish' });
    const rss3 = (await c.call({ cmd: 'rss' })).rss;
    feeder = startClient(); // Convene's for either client; not pinned: one encoder, competing with nothing measured but the server
    await feeder.call({ cmd: 'connect', url, sids: [s], epochMs });
    await feeder.call({ cmd: 'publish', width: size.w, height: size.h, fps: FPS });
    await c.call({ cmd: 'subscribe', format: 'I420' });
    await sleep(CFG.warm * 1000);
    const sub = await c.call({ cmd: 'measure', seconds: CFG.costSeconds });
    const rss4 = (await c.call({ cmd: 'rss' })).rss;
    const feed = await feeder.call({ cmd: 'measure', seconds: 0.1 });
    return {
      N,
      idlePct: idle.cpuPct,
      pubPct: (pub.cpuPct - idle.cpuPct) / N, pubMainPct: (pub.mainPct - idle.mainPct) / N, pubOthersPct: (pub.othersPct - idle.othersPct) / N,
      pubFps: pub.encodedFps / N, pubKbps: pub.kbpsPerPub, pubSkipped: pub.skipped,
      pubPer30: ((pub.cpuPct - idle.cpuPct) / pub.encodedFps) * FPS,
      pubKB: (rss2 - rss1) / N / 1024,
      subPct: (sub.cpuPct - idle.cpuPct) / N, subMainPct: (sub.mainPct - idle.mainPct) / N, subOthersPct: (sub.othersPct - idle.othersPct) / N,
      subFps: sub.receivedFps / N, subMinFps: sub.minSubFps, subDropped: sub.dropped, subDecodeErrors: sub.decodeErrors,
      subPer30: ((sub.cpuPct - idle.cpuPct) / sub.receivedFps) * FPS,
      subKB: (rss4 - rss3) / N / 1024,
      subLat: sub.lat, feederKbps: feed.kbpsPerPub,
      ...(pub.sentSizes ? { pubSentSizes: pub.sentSizes, subReceivedSizes: sub.receivedSizes, subIdentified: sub.identified } : {}), // the peer's: what libwebrtc sent and delivered
    };
  } finally {
    await c.quit();
    if (feeder) await feeder.quit();
  }
}

const med = (xs, f) => median(xs.map(f));
const range = (xs, f, d) => `${fmt(med(xs, f), d)} (${fmt(Math.min(...xs.map(f)), d)}–${fmt(Math.max(...xs.map(f)), d)})`;
const loads = (xs) => xs.map((x) => x.load.split(' ')[0]).join(' / ');

async function main() {
  if (flag('render')) {
    const md = render(JSON.parse(fs.readFileSync(RESULTS, 'utf8')));
    console.log(md);
    if (flag('write')) writeDocBlock('media-video', md, 'npm run bench:media');
    return;
  }
  const out = { date: new Date().toISOString(), quick: QUICK, runs: RUNS, taskset: hasTaskset, cfg: CFG, sizes: {} };
  for (const size of SIZES) out.sizes[size.name] = { w: size.w, h: size.h, kbps: defaultKbps(size.w, size.h, FPS), costN: size.costN };
  if (ONLY.includes('floor')) {
    if (!hasVpxTools()) {
      log('vpxenc / vpxdec not found (Debian: apt-get install vpx-tools): no floor');
    } else {
      for (const size of SIZES) {
        const rs = out.sizes[size.name].floor = [];
        for (let r = 0; r < RUNS; r++) {
          const load = loadavg();
          const x = await floorRun(size);
          log(`floor ${size.name} run ${r + 1}: vpxenc ${fmt(x.encPct, 1)} % (${fmt(x.encMsPerFrame, 2)} ms/frame, ${fmt(x.kbps)} kb/s), vpxdec ${fmt(x.decPct, 1)} %, load ${load}`);
          rs.push({ load, ...x });
        }
      }
    }
  }
  const server = await startServerProcess([], pinned(1));
  try {
    for (const size of SIZES) {
      const o = out.sizes[size.name];
      const kinds = CLIENTS.filter((k) => k === 'convene' || size.peer);
      // Convene's figures where they always were (o.latency, o.cost), the peer's in o.peer
      const slot = (kind) => (kind === 'convene' ? o : (o.peer ??= {}));
      if (ONLY.includes('latency')) {
        for (let r = 0; r < RUNS; r++) {
          for (const kind of kinds) {
            const load = loadavg();
            const m = await latencyRun(server.url, size, kind);
            log(`latency ${size.name} ${kind} run ${r + 1}: p50 ${fmt(m.lat.p50, 1)} p99 ${fmt(m.lat.p99, 1)} ms, ${fmt(m.minSubFps, 1)} fps received, ${m.lat.n} frames, ${m.skipped} skipped by the feeder, load ${load}`);
            (slot(kind).latency ??= []).push({ load, ...m.lat, fps: m.minSubFps, skipped: m.skipped, dropped: m.dropped });
          }
        }
      }
      if (ONLY.includes('cost')) {
        for (let r = 0; r < RUNS; r++) {
          for (const kind of kinds) {
            const load = loadavg();
            const m = await costRun(server.url, size, kind);
            log(`cost ${size.name} ${kind} run ${r + 1}: encode ${fmt(m.pubPct, 1)} %/stream (JS ${fmt(m.pubMainPct, 1)}) at ${fmt(m.pubFps, 1)} fps, ${fmt(m.pubKbps)} kb/s (${fmt(m.pubPer30, 1)} % per 30 fps), ${fmt(m.pubKB)} KB; decode ${fmt(m.subPct, 1)} %/stream (JS ${fmt(m.subMainPct, 1)}) at ${fmt(m.subFps, 1)} fps (${fmt(m.subPer30, 1)} % per 30 fps), ${fmt(m.subKB)} KB; idle ${fmt(m.idlePct, 1)} %${m.pubSentSizes ? `; sent ${JSON.stringify(m.pubSentSizes)}, received ${JSON.stringify(m.subReceivedSizes)}` : ''}, load ${load}`);
            (slot(kind).cost ??= []).push({ load, ...m });
          }
        }
      }
    }
  } finally {
    server.child.stdin.end();
  }
  // The publisher adapts its bitrate to its socket's backlog: on this shared machine it may
  // have run below the default. Its encoder's CPU depends on the bitrate, so the floor again
  // at the bitrate the publishers reached (median), when it is 10 % or more below the default.
  for (const size of SIZES) {
    const o = out.sizes[size.name];
    if (!o.floor || !o.cost) continue;
    const reached = Math.round(median(o.cost.map((x) => x.pubKbps)));
    if (!(reached < 0.9 * o.kbps) || reached < 30) continue;
    o.floorReached = [];
    for (let r = 0; r < RUNS; r++) {
      const load = loadavg();
      const x = await floorRun(size, reached);
      log(`floor ${size.name} at ${reached} kb/s run ${r + 1}: vpxenc ${fmt(x.encPct, 1)} %, load ${load}`);
      o.floorReached.push({ load, target: reached, ...x });
    }
  }
  if (JSON_OUT) console.log(JSON.stringify(out));
  const md = render(out);
  if (!JSON_OUT) console.log(md);
  if (flag('write') && !QUICK) {
    writeDocBlock('media-video', md, 'npm run bench:media');
    fs.writeFileSync(RESULTS, `${JSON.stringify(out, null, 1)}\n`);
  }
  if (ONLY.includes('forward')) {
    const bytes = SIZES.map((s) => Math.round((defaultKbps(s.w, s.h, FPS) * 1000) / 8 / FPS)).join(',');
    const fwd = [path.join(__dirname, 'media-forward.js'), '--video', bytes, '--fps', String(FPS), ...(QUICK ? ['--seconds', '1', '--subs', '10'] : ['--runs', String(RUNS)]), ...(flag('write') && !QUICK ? ['--write'] : [])];
    await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, fwd, { stdio: ['ignore', JSON_OUT ? 'ignore' : 'inherit', 'inherit'] });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`media-forward exited ${code}`))));
    });
  }
}

function render(out) {
  const lines = [];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  lines.push(`Generated by \`npm run bench:media\` on ${out.date.slice(0, 10)}${out.quick ? ' (quick)' : ''}, ${cpu}, ${os.cpus().length} cores **shared with other work** (load average, 1 min, at the start of each run in the cells); ${out.runs} run(s) per figure, each in a fresh process; cells: median (min–max). ${out.taskset ? 'vpxenc / vpxdec and the measured client process pinned to core 0, the server to core 1 (`taskset`)' : 'Nothing pinned (no taskset)'}. The moving pattern of bench/video-pattern.js, I420 in and out, ${FPS} fps; "% at 30 fps" = CPU per frame × 30 (the cost of a full-rate stream, whatever rate the shared core let through).`);
  lines.push('');
  lines.push('| figure | ' + Object.keys(out.sizes).map((k) => `${k} (${out.sizes[k].w}x${out.sizes[k].h}, ${out.sizes[k].kbps} kb/s)`).join(' | ') + ' | target | met |');
  lines.push('|---|' + Object.keys(out.sizes).map(() => '---|').join('') + '---|---|');
  const row = (label, cell, target = '–', met = '–') => lines.push(`| ${label} | ${Object.values(out.sizes).map((s) => cell(s) ?? '–').join(' | ')} | ${target} | ${met} |`);
  const S = Object.values(out.sizes);
  if (S.some((s) => s.floor)) {
    row('**floor**: `vpxenc` encode, same settings, % of a core at 30 fps', (s) => s.floor && `${range(s.floor, (x) => x.encPct, 1)} % (${fmt(med(s.floor, (x) => x.encMsPerFrame), 2)} ms/frame, ${fmt(med(s.floor, (x) => x.kbps))} kb/s; load ${loads(s.floor)})`);
    if (S.some((s) => s.floorReached)) row('**floor**: `vpxenc` again at the bitrate Convene\'s publishers reached (below)', (s) => s.floorReached && `${range(s.floorReached, (x) => x.encPct, 1)} % at ${s.floorReached[0].target} kb/s (load ${loads(s.floorReached)})`);
    row('**floor**: `vpxdec` decode, one thread', (s) => s.floor && `${range(s.floor, (x) => x.decPct, 1)} % (${fmt(med(s.floor, (x) => x.decMsPerFrame), 2)} ms/frame)`);
  }
  if (S.some((s) => s.cost)) {
    const ratio = (s, f, g, fl = s.floor) => (fl ? ` = ${fmt(med(s.cost, f) / med(fl, g), 1)}× the floor${fl === s.floorReached ? ' at that bitrate' : ''}` : '');
    row('Convene publisher: client process CPU per published stream (− idle, ÷ N), % of a core at 30 fps', (s) => s.cost && `${range(s.cost, (x) => x.pubPer30, 1)} %${ratio(s, (x) => x.pubPer30, (x) => x.encPct, s.floorReached ?? s.floor)} (N = ${s.costN}; load ${loads(s.cost)})`, '– (none stated: the floor beside it)');
    row('same, as measured: % of a core per stream, frames encoded /s, JS thread / other threads', (s) => s.cost && `${fmt(med(s.cost, (x) => x.pubPct), 1)} % at ${fmt(med(s.cost, (x) => x.pubFps), 1)} fps (JS ${fmt(med(s.cost, (x) => x.pubMainPct), 1)}, others ${fmt(med(s.cost, (x) => x.pubOthersPct), 1)}); bitrate reached ${s.cost.map((x) => fmt(x.pubKbps)).join(' / ')} kb/s`);
    row('Convene subscriber: client process CPU per subscribed stream (− idle, ÷ N), % of a core at 30 fps', (s) => s.cost && `${range(s.cost, (x) => x.subPer30, 1)} %${ratio(s, (x) => x.subPer30, (x) => x.decPct)}`, '– (none stated: the floor beside it)');
    row('same, as measured: % of a core per stream, frames received /s, JS thread / other threads', (s) => s.cost && `${fmt(med(s.cost, (x) => x.subPct), 1)} % at ${fmt(med(s.cost, (x) => x.subFps), 1)} fps (JS ${fmt(med(s.cost, (x) => x.subMainPct), 1)}, others ${fmt(med(s.cost, (x) => x.subOthersPct), 1)}); drops ${s.cost.map((x) => x.subDropped).join(' / ')}, decode errors ${s.cost.map((x) => x.subDecodeErrors).join(' / ')}; the feeder at ${fmt(med(s.cost, (x) => x.feederKbps))} kb/s`);
    const peak = (s, f) => (s.floor && Number.isFinite(med(s.floor, f)) ? `; vpx tool's whole peak RSS: ${fmt(med(s.floor, f) / 1024, 1)} MB` : '');
    row('memory per published video stream (RSS after gc, Δ ÷ N)', (s) => s.cost && `${range(s.cost, (x) => x.pubKB / 1024, 1)} MB${peak(s, (x) => x.encRssKB)}`);
    row('memory per subscribed video stream (same; includes the 4-frame native buffer and the iterator\'s 4 frames)', (s) => s.cost && `${range(s.cost, (x) => x.subKB / 1024, 1)} MB${peak(s, (x) => x.decRssKB)}`);
  }
  if (S.some((s) => s.latency)) {
    row('glass to glass on loopback: captureFrame (timestampUs) → subscriber\'s `for await`, p50 (1 publisher, 1 subscriber, one process)', (s) => s.latency && `${range(s.latency, (x) => x.p50, 1)} ms (${s.latency.map((x) => x.n).join(' / ')} frames at ${fmt(med(s.latency, (x) => x.fps), 1)} fps; load ${loads(s.latency)})`);
    row('same, p99', (s) => s.latency && `${range(s.latency, (x) => x.p99, 1)} ms`, '≤ 150 ms one way (ITU-T G.114: the audio section\'s target, applied to video)', S.map((s) => (s.latency ? (med(s.latency, (x) => x.p99) <= 150 ? 'yes' : '**no**') : '–')).join(' / '));
  }
  // the peer (issue 21): convene/web on @roamhq/wrtc through the WebRTC edge, same pattern, same scenarios
  const peerCost = (s) => s.peer?.cost;
  const vs = (s, f, fl) => { // " = r× Convene's, q× the floor"
    const c = s.cost && med(s.cost, f);
    const p = med(s.peer.cost, f);
    const parts = [c !== undefined && Number.isFinite(c / p) ? `Convene ÷ peer = ${fmt(c / p, 2)}` : '', fl && s.floor ? `${fmt(p / med(s.floor, fl), 1)}× the floor` : ''].filter(Boolean);
    return parts.length ? ` (${parts.join('; ')})` : '';
  };
  const sizes = (m) => (m ? Object.entries(m).map(([k, n]) => `${k}: ${n}`).join(', ') : '–');
  if (S.some(peerCost)) {
    row('**peer** (`@roamhq/wrtc`, libwebrtc\'s VP8) publisher: client process CPU per published stream (− idle, ÷ N), % of a core at 30 fps', (s) => peerCost(s) && `${range(s.peer.cost, (x) => x.pubPer30, 1)} %${vs(s, (x) => x.pubPer30, (x) => x.encPct)} (N = ${s.costN}; load ${loads(s.peer.cost)})`);
    row('same, as measured: % of a core per stream, frames encoded /s, JS thread / other threads; bitrate its congestion control reached; picture sizes its encoders sent at the end', (s) => peerCost(s) && `${fmt(med(s.peer.cost, (x) => x.pubPct), 1)} % at ${fmt(med(s.peer.cost, (x) => x.pubFps), 1)} fps (JS ${fmt(med(s.peer.cost, (x) => x.pubMainPct), 1)}, others ${fmt(med(s.peer.cost, (x) => x.pubOthersPct), 1)}); ${s.peer.cost.map((x) => fmt(x.pubKbps)).join(' / ')} kb/s; ${s.peer.cost.map((x) => sizes(x.pubSentSizes)).join(' / ')}`);
    row('**peer** subscriber: client process CPU per subscribed stream (− idle, ÷ N), % of a core at 30 fps (the same Convene feeder)', (s) => peerCost(s) && `${range(s.peer.cost, (x) => x.subPer30, 1)} %${vs(s, (x) => x.subPer30, (x) => x.decPct)}`);
    row('same, as measured: % of a core per stream, frames received /s, JS thread / other threads', (s) => peerCost(s) && `${fmt(med(s.peer.cost, (x) => x.subPct), 1)} % at ${fmt(med(s.peer.cost, (x) => x.subFps), 1)} fps (JS ${fmt(med(s.peer.cost, (x) => x.subMainPct), 1)}, others ${fmt(med(s.peer.cost, (x) => x.subOthersPct), 1)}); drops ${s.peer.cost.map((x) => x.subDropped).join(' / ')}; the feeder at ${fmt(med(s.peer.cost, (x) => x.feederKbps))} kb/s`);
    row('**peer** memory per published video stream (RSS after gc, Δ ÷ N)', (s) => peerCost(s) && `${range(s.peer.cost, (x) => x.pubKB / 1024, 1)} MB${vs(s, (x) => x.pubKB)}`);
    row('**peer** memory per subscribed video stream (same)', (s) => peerCost(s) && `${range(s.peer.cost, (x) => x.subKB / 1024, 1)} MB${vs(s, (x) => x.subKB)}`);
  }
  if (S.some((s) => s.peer?.latency)) {
    row('**peer** glass to glass on loopback: onFrame → its sink\'s onframe (the frame recognised in the pattern), p50 (1 publisher, 1 subscriber, one process)', (s) => s.peer?.latency && `${range(s.peer.latency, (x) => x.p50, 1)} ms (${s.peer.latency.map((x) => x.n).join(' / ')} frames at ${fmt(med(s.peer.latency, (x) => x.fps), 1)} fps; load ${loads(s.peer.latency)})`);
    row('**peer** same, p99', (s) => s.peer?.latency && `${range(s.peer.latency, (x) => x.p99, 1)} ms`);
  }
  return lines.join('\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
