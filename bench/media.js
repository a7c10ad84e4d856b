#!/usr/bin/env node
/*
 * bench/media: the client side of audio (issue 17, "Measure"), then the server's forwarding
 * (bench/media-forward.js). Side by side (issue 21), two clients run the same scenarios in the
 * same run: `convene`, bench/media-client.js (the native core through the Node API), and
 * `wrtc`, the peer: bench/wrtc-peer-client.js (convene/web on @roamhq/wrtc through the
 * server's WebRTC edge, what a Node developer would use instead). Each client process is
 * driven one command at a time; the Convene server runs in a process of its own
 * (bench/server-proc.js).
 *
 *   node bench/media.js [--quick] [--runs 3] [--write] [--only latency,cost,scale,forward,video] [--clients convene,wrtc] [--json]
 *   node bench/media.js --render [--write]   the tables again from bench/media-results.json
 *
 * Scenarios:
 *   latency  `pairs` pairs of sessions in one process (one session id per pair), each
 *            publishing and subscribing the other's stream; markers every 200 ms: latency
 *            from captureFrame to the subscriber's frame (native hand-over and JavaScript), p50 / p99.
 *   cost     one process, N sessions (one session id each): idle → publishing (one stream each)
 *            → unpublished → subscribing one stream each, published by a feeder process:
 *            process CPU and per-thread CPU, RSS after gc, per stream = (phase − idle) / N.
 *   scale    the client process pinned to core 0 (`taskset -c 0`), the server to core 1; N
 *            sessions in pairs, each publishing and subscribing one stream: N ramps up while
 *            the run holds real time (see holds()).
 *   forward  bench/media-forward.js (server forwarding cost beside a bare ws relay).
 *   video    bench/media-video.js (issue 18: encode / decode CPU and memory per video stream
 *            beside libvpx's own tools, glass-to-glass latency, forwarding of video frames).
 *
 * Runs alternate between the clients (run 1 of each, then run 2 ...) so that both see the same
 * load on the shared machine. In `cost`, the streams subscribed come from a Convene feeder for
 * both clients (the same Opus stream to decode). Each run is a fresh process; figures are
 * medians over the runs, with the load average (uptime) seen at the start of each scenario. --write puts the tables into docs/benchmarks.md
 * (block media-client; media-forward writes its own) and the raw figures into
 * bench/media-results.json.
 */
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { mintSessionId } = require('../dist/server/index.js');
const { BENCH_PROJECT, median, sleep, startClientProcess, startServerProcess, writeDocBlock } = require('./common.js');

const argv = process.argv.slice(2);
const flag = (n) => argv.includes(`--${n}`);
const arg = (n, d) => { const i = argv.indexOf(`--${n}`); return i >= 0 ? argv[i + 1] : d; };
const QUICK = flag('quick');
const RUNS = Number(arg('runs', QUICK ? '1' : '3'));
const ONLY = arg('only', 'latency,cost,scale,forward,video').split(',');
const JSON_OUT = flag('json');
const CLIENTS = arg('clients', 'convene,wrtc').split(',');
for (const c of CLIENTS) if (!['convene', 'wrtc'].includes(c)) throw new Error(`--clients: unknown client ${c} (convene, wrtc)`);
/** the raw figures of the last full run with --write (re-rendered by --render) */
const RESULTS = path.join(__dirname, 'media-results.json');

const CFG = QUICK
  ? { latPairs: 2, latSeconds: 3, costN: 10, costSeconds: 2, scaleSteps: [4, 8], scaleSeconds: 2, warm: 1 }
  : { latPairs: 5, latSeconds: 10, costN: 50, costSeconds: 5, scaleSteps: [20, 40, 60, 80, 100, 120, 140, 150, 160, 180, 200, 240, 280, 320], scaleSeconds: 5, warm: 2 };

/** frames each scale publisher is fed ahead of real time: 100 ms against the shared machine's scheduling hiccups */
const SCALE_LEAD = 5;

const hasTaskset = (() => { try { execFileSync('taskset', ['-c', '0', 'true']); return os.cpus().length >= 2; } catch { return false; } })();
const pinned = (core) => (a) => (hasTaskset ? ['taskset', ['-c', String(core), ...a]] : [a[0], a.slice(1)]);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const log = (...a) => { if (!JSON_OUT) console.error('[bench:media]', ...a); };

const SCRIPTS = { convene: 'media-client.js', wrtc: 'wrtc-peer-client.js' };
/** A client process (`kind`: convene, bench/media-client.js; wrtc, bench/wrtc-peer-client.js), pinned to `core` if given: call(cmd) → its JSON reply. */
function startClient(core, kind = 'convene') {
  const wrap = core === undefined ? undefined : pinned(core);
  return startClientProcess([process.execPath, '--expose-gc', path.join(__dirname, SCRIPTS[kind])], 'media-client', wrap);
}

const sid = () => mintSessionId(BENCH_PROJECT).sessionId;
const pairsOf = (n) => { const out = []; for (let i = 0; i < n / 2; i++) { const s = sid(); out.push(s, s); } return out; };

async function latencyRun(url, kind) {
  const c = startClient(0, kind);
  try {
    await c.call({ cmd: 'connect', url, sids: pairsOf(CFG.latPairs * 2) });
    await c.call({ cmd: 'publish', markerEvery: 10, lead: 2 });
    await c.call({ cmd: 'subscribe' });
    await sleep(CFG.warm * 1000);
    return await c.call({ cmd: 'measure', seconds: CFG.latSeconds });
  } finally { await c.quit(); }
}

async function costRun(url, kind) {
  const N = CFG.costN;
  const sids = Array.from({ length: N }, sid);
  const c = startClient(0, kind);
  let feeder;
  try {
    const rss0 = (await c.call({ cmd: 'rss' })).rss;
    await c.call({ cmd: 'connect', url, sids });
    await sleep(500);
    const rss1 = (await c.call({ cmd: 'rss' })).rss;
    const idle = await c.call({ cmd: 'measure', seconds: CFG.costSeconds });
    await c.call({ cmd: 'publish', markerEvery: 50, lead: 2 });
    await sleep(CFG.warm * 1000);
    const pub = await c.call({ cmd: 'measure', seconds: CFG.costSeconds });
    const rss2 = (await c.call({ cmd: 'rss' })).rss;
    await c.call({ cmd: 'unpublish' });
    const rss3 = (await c.call({ cmd: 'rss' })).rss;
    feeder = startClient(); // a Convene feeder for either client, not pinned: it competes with nothing measured but the server
    await feeder.call({ cmd: 'connect', url, sids });
    await feeder.call({ cmd: 'publish', markerEvery: 50, lead: 2 });
    await c.call({ cmd: 'subscribe' });
    await sleep(CFG.warm * 1000);
    const sub = await c.call({ cmd: 'measure', seconds: CFG.costSeconds });
    const rss4 = (await c.call({ cmd: 'rss' })).rss;
    return {
      N,
      idlePct: idle.cpuPct,
      sessionKB: (rss1 - rss0) / N / 1024,
      pubPct: (pub.cpuPct - idle.cpuPct) / N, pubMainPct: (pub.mainPct - idle.mainPct) / N, pubOthersPct: (pub.othersPct - idle.othersPct) / N,
      pubKB: (rss2 - rss1) / N / 1024,
      subPct: (sub.cpuPct - idle.cpuPct) / N, subMainPct: (sub.mainPct - idle.mainPct) / N, subOthersPct: (sub.othersPct - idle.othersPct) / N,
      subKB: (rss4 - rss3) / N / 1024,
      subDelivered: sub.framesPerSub.total / (sub.framesPerSub.expected * N),
      pubThreads: pub.byName, subThreads: sub.byName,
    };
  } finally {
    await c.quit();
    if (feeder) await feeder.quit();
  }
}

/**
 * A scale step holds real time when every subscriber got ≥ 99 % of its frames, nothing was
 * dropped, lost or concealed, no frame was silent (no publisher underran), and the 99th
 * percentile of the marker latency (to JavaScript) stayed under 200 ms.
 */
function holds(m) {
  const why = [];
  if (m.framesPerSub.min < 0.99 * m.framesPerSub.expected) why.push(`a subscriber got ${m.framesPerSub.min}/${m.framesPerSub.expected} frames`);
  if (m.dropped > 0) why.push(`${m.dropped} dropped`);
  if (m.lost + m.concealed > 0) why.push(`${m.lost} lost, ${m.concealed} concealed`);
  if (m.silent > 0) why.push(`${m.silent} silent frames (publisher underrun)`);
  if (m.skipped > 0) why.push(`${m.skipped} frames skipped (a publisher behind real time)`);
  if (m.captureErrors > 0) why.push(`${m.captureErrors} captureFrame errors`);
  if (!(m.lat.jsP99 < 250)) why.push(`latency p99 ${fmt(m.lat.jsP99)} ms`);
  return why;
}

async function scaleStep(url, n, kind) {
  const c = startClient(0, kind);
  try {
    const t0 = Date.now();
    await c.call({ cmd: 'connect', url, sids: pairsOf(n) });
    await c.call({ cmd: 'publish', markerEvery: 25, lead: SCALE_LEAD });
    await c.call({ cmd: 'subscribe' });
    const setupS = (Date.now() - t0) / 1000;
    await sleep(CFG.warm * 1000);
    const m = await c.call({ cmd: 'measure', seconds: CFG.scaleSeconds });
    return { n, setupS, load: loadavg(), why: holds(m), m };
  } finally { await c.quit(); }
}

async function scaleRun(url, kind) {
  const steps = [];
  let best = 0;
  let fails = 0;
  for (const n of CFG.scaleSteps) {
    const s = await scaleStep(url, n, kind);
    log(`scale ${kind} N=${n}: ${s.why.length ? `fails (${s.why.join('; ')})` : 'holds'}; cpu ${s.m.cpuPct.toFixed(0)} %, main ${s.m.mainPct.toFixed(0)} %, lat p50/p99 ${fmt(s.m.lat.jsP50, 1)}/${fmt(s.m.lat.jsP99, 1)} ms, feeder late ≤ ${fmt(s.m.lateMax)} ms, setup ${fmt(s.setupS, 1)} s, load ${s.load}`);
    steps.push(s);
    if (s.why.length === 0) { best = n; fails = 0; } else if (++fails >= 2) break; // two failures in a row: past the knee
  }
  return { best, steps };
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');
const med = (xs, f) => median(xs.map(f));
const range = (xs, f, d) => `${fmt(med(xs, f), d)} (${fmt(Math.min(...xs.map(f)), d)}–${fmt(Math.max(...xs.map(f)), d)})`;

async function main() {
  if (flag('render')) { // re-render the last full run's figures (bench/media-results.json) without measuring
    const out = JSON.parse(require('node:fs').readFileSync(RESULTS, 'utf8'));
    const md = render(out);
    console.log(md);
    if (flag('write')) writeDocBlock('media-client', md, 'npm run bench:media');
    return;
  }
  const out = { date: new Date().toISOString(), quick: QUICK, runs: RUNS, taskset: hasTaskset, clients: CLIENTS };
  // Convene's figures where they always were (out.latency, .cost, .scale), the peer's in out.peer
  const slot = (kind) => (kind === 'convene' ? out : (out.peer ??= {}));
  const audioClient = ['latency', 'cost', 'scale'].some((x) => ONLY.includes(x));
  const server = audioClient ? await startServerProcess([], pinned(1)) : undefined;
  const url = server?.url;
  if (audioClient) try {
    if (ONLY.includes('latency')) {
      for (let r = 0; r < RUNS; r++) {
        for (const kind of CLIENTS) {
          const load = loadavg();
          const m = await latencyRun(url, kind);
          log(`latency ${kind} run ${r + 1}: js p50 ${fmt(m.lat.jsP50, 1)} p99 ${fmt(m.lat.jsP99, 1)}, native p50 ${fmt(m.lat.nativeP50, 1)}, queued ahead ${fmt(m.lat.aheadP50)} ms, n ${m.lat.n}, load ${load}`);
          (slot(kind).latency ??= []).push({ load, ...m.lat, silent: m.silent, dropped: m.dropped, concealed: m.concealed });
        }
      }
    }
    if (ONLY.includes('cost')) {
      for (let r = 0; r < RUNS; r++) {
        for (const kind of CLIENTS) {
          const load = loadavg();
          const m = await costRun(url, kind);
          log(`cost ${kind} run ${r + 1}: pub ${fmt(m.pubPct, 2)} %/stream (JS ${fmt(m.pubMainPct, 2)}) ${fmt(m.pubKB)} KB, sub ${fmt(m.subPct, 2)} %/stream (JS ${fmt(m.subMainPct, 2)}) ${fmt(m.subKB)} KB, session ${fmt(m.sessionKB)} KB, idle ${fmt(m.idlePct, 1)} %, delivered ${fmt(m.subDelivered * 100, 1)} %, load ${load}`);
          (slot(kind).cost ??= []).push({ load, ...m });
        }
      }
    }
    if (ONLY.includes('scale')) {
      for (let r = 0; r < RUNS; r++) for (const kind of CLIENTS) (slot(kind).scale ??= []).push(await scaleRun(url, kind));
    }
  } finally {
    server.child.stdin.end();
  }
  if (JSON_OUT && audioClient) console.log(JSON.stringify(out));
  const md = render(out);
  if (!JSON_OUT && audioClient) console.log(md);
  if (flag('write') && !QUICK && audioClient) {
    writeDocBlock('media-client', md, 'npm run bench:media');
    require('node:fs').writeFileSync(RESULTS, `${JSON.stringify(out, null, 1)}\n`);
  }
  if (ONLY.includes('forward')) {
    const fwd = [path.join(__dirname, 'media-forward.js'), ...(QUICK ? ['--seconds', '1', '--subs', '10'] : ['--runs', String(RUNS)]), ...(flag('write') && !QUICK ? ['--write'] : [])];
    await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, fwd, { stdio: ['ignore', JSON_OUT ? 'ignore' : 'inherit', 'inherit'] });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`media-forward exited ${code}`))));
    });
  }
  if (ONLY.includes('video')) {
    const video = [path.join(__dirname, 'media-video.js'), ...(QUICK ? ['--quick'] : ['--runs', String(RUNS)]), '--clients', CLIENTS.join(','), ...(flag('write') ? ['--write'] : [])];
    await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, video, { stdio: ['ignore', JSON_OUT ? 'ignore' : 'inherit', 'inherit'] });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`media-video exited ${code}`))));
    });
  }
}

/** Convene ÷ peer of a figure's medians, and whether it is at most `max` (the issue's "at most half"). */
function ratioCell(xs, ys, f, max = 0.5) {
  if (!xs || !ys) return { cell: '–', met: '–' };
  const r = med(xs, f) / med(ys, f);
  if (!Number.isFinite(r)) return { cell: '–', met: '–' };
  return { cell: `Convene ÷ peer = ${fmt(r, 2)}`, met: r <= max ? 'yes' : '**no**' };
}

/** The largest step of each scale run that held: what one whole core would hold, from the process CPU per session there. */
function extrapolated(S) {
  const per = S.map((run) => run.steps.filter((s) => s.why.length === 0).pop()).filter(Boolean).map((s) => s.m.cpuPct / s.n);
  return { per, sessions: per.length ? 100 / median(per) : NaN };
}

function render(out) {
  const lines = [];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const P = out.peer ?? {};
  lines.push(`Generated by \`npm run bench:media\` on ${out.date.slice(0, 10)}${out.quick ? ' (quick)' : ''}, ${cpu}, ${os.cpus().length} cores **shared with other work** (load average at the start of each scenario below); ${out.runs} run(s) per scenario, each in a fresh process; cells: median (min–max). Client processes ${out.taskset ? 'pinned to core 0, the server to core 1 (`taskset`)' : 'not pinned (no taskset)'}. Audio: 48 kHz mono PCM, 20 ms frames in, 10 ms frames out (the default format).`);
  lines.push('');
  lines.push('Side by side (issue 21): **Convene**, the native core through the Node API (bench/media-client.js), and the **peer**, what a Node developer would use instead: the browser client (convene/web) under Node on `@roamhq/wrtc` (libwebrtc), through the server\'s WebRTC edge (bench/wrtc-peer-client.js: 10 ms chunks to `RTCAudioSource.onData` in real time, `RTCAudioSink` on the subscribed track). Same scenarios, same tone and markers, runs alternating between the two; in the cost scenario both subscribe streams published by a Convene feeder.');
  lines.push('');
  lines.push('| figure | Convene | peer (`@roamhq/wrtc`) | target | met |');
  lines.push('|---|---|---|---|---|');
  const row = (label, convene, peer, target = '–', met = '–') => lines.push(`| ${label} | ${convene ?? '–'} | ${peer ?? '–'} | ${target} | ${met} |`);
  const loadsOf = (xs) => xs.map((x) => x.load.split(' ')[0]).join(' / ');
  /** "Convene: …; peer: …" for the clients that ran */
  const both = (xs, ys, f) => [xs && `Convene: ${f(xs)}`, ys && `peer: ${f(ys)}`].filter(Boolean).join('; ');
  if (out.latency || P.latency) {
    const L = out.latency;
    const PL = P.latency;
    const lat = (xs, f) => xs && `${range(xs, f, 1)} ms`;
    const samples = (xs) => `${xs.map((x) => x.n).join(' / ')} samples, load ${loadsOf(xs)}`;
    row(`capture → subscriber's JavaScript, p50 (${CFG.latPairs} pairs, markers every 200 ms: Convene's captureFrame → \`for await\`, the peer's onData → its sink's ondata; ${both(L, PL, samples)})`, lat(L, (x) => x.jsP50), lat(PL, (x) => x.jsP50));
    row('same, p99', lat(L, (x) => x.jsP99), lat(PL, (x) => x.jsP99), '≤ 150 ms one way (ITU-T G.114\'s bound for good conversation)', L ? (med(L, (x) => x.jsP99) <= 150 ? 'yes' : '**no**') : '–');
    row('of which: captureFrame → native hand-over (frame `timestamp`), p50 / p99', L && `${fmt(med(L, (x) => x.nativeP50), 1)} / ${fmt(med(L, (x) => x.nativeP99), 1)} ms`, PL && '– (no such stage)');
    row('of which: queued ahead of the marker in the publisher, p50', L && `${fmt(med(L, (x) => x.aheadP50), 0)} ms (the feeder's 2-frame margin)`, PL && `${fmt(med(PL, (x) => x.aheadP50), 0)} ms (onData hands each chunk to the encoder at once)`);
  }
  if (out.cost || P.cost) {
    const C = out.cost;
    const PC = P.cost;
    const N = (C ?? PC)[0].N;
    const cpuCell = (xs, f, main, others) => xs && `${range(xs, f, 2)} % of a core (JS thread ${fmt(med(xs, main), 2)}, other threads ${fmt(med(xs, others), 2)})`;
    const pubCpu = ratioCell(C, PC, (x) => x.pubPct);
    const subCpu = ratioCell(C, PC, (x) => x.subPct);
    row(`client CPU per published stream (N = ${N}, process CPU − idle, ÷ N; load ${both(C, PC, loadsOf)})`, cpuCell(C, (x) => x.pubPct, (x) => x.pubMainPct, (x) => x.pubOthersPct), cpuCell(PC, (x) => x.pubPct, (x) => x.pubMainPct, (x) => x.pubOthersPct), `Convene ≤ ½ the peer's (${pubCpu.cell})`, pubCpu.met);
    row('client CPU per subscribed stream (same)', cpuCell(C, (x) => x.subPct, (x) => x.subMainPct, (x) => x.subOthersPct), cpuCell(PC, (x) => x.subPct, (x) => x.subMainPct, (x) => x.subOthersPct), `Convene ≤ ½ the peer's (${subCpu.cell})`, subCpu.met);
    const kb = (xs, f) => xs && `${range(xs, f, 0)} KB`;
    const pubMem = ratioCell(C, PC, (x) => x.pubKB);
    const subMem = ratioCell(C, PC, (x) => x.subKB);
    const lk = C ? (med(C, (x) => x.pubKB) <= 270 ? 'yes' : '**no**') : '–';
    row('memory per published stream (RSS after gc, Δ ÷ N)', kb(C, (x) => x.pubKB), kb(PC, (x) => x.pubKB), `≤ 270 KB (LiveKit Node SDK per audio source); Convene ≤ ½ the peer's (${pubMem.cell})`, `${lk} / ${pubMem.met}`);
    row('memory per subscribed stream (same)', kb(C, (x) => x.subKB), kb(PC, (x) => x.subKB), `Convene ≤ ½ the peer's (${subMem.cell})`, subMem.met);
    row(`memory per connected session, no media (same; with N = ${N} this includes the process's one-off costs: the idle scenario above gives the per-session figure at 1,000)`, kb(C, (x) => x.sessionKB), kb(PC, (x) => x.sessionKB));
  }
  if (out.scale || P.scale) {
    const S = out.scale;
    const PS = P.scale;
    const best = (xs) => xs && range(xs, (x) => x.best, 0);
    row(`sessions one client core holds, each publishing + subscribing one stream in real time (largest N that holds; ramp ${CFG.scaleSteps.join(', ')})`, best(S), best(PS), '≥ 150 (issue 21)', S ? (med(S, (x) => x.best) >= 150 ? 'yes' : '**no**') : '–');
    const ex = (xs) => { if (!xs) return undefined; const e = extrapolated(xs); return e.per.length ? `${fmt(e.sessions, 0)} (${e.per.map((x) => fmt(x, 2)).join(' / ')} % each)` : '–'; };
    row('same, extrapolated to a whole core from the process CPU per session of the largest step that held', ex(S), ex(PS));
    lines.push('');
    lines.push(`Scale ramp (every run): N sessions in pairs, one process on one core; "holds" = every subscriber got ≥ 99 % of its frames, none dropped / lost / concealed, no silent frame (publisher underrun), no frame skipped by a feeder (a publisher behind real time), marker latency p99 < 250 ms (which includes, for Convene, the ${SCALE_LEAD * 20} ms each publisher is fed ahead; the peer's chunks go to the encoder at once).`);
    lines.push('');
    lines.push('| client | run | N | process CPU (% of core 0) | JS thread | other threads | latency p50 / p99 (ms) | frames (min / expected) | result | load |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const [name, runs] of [['Convene', S], ['peer', PS]]) {
      (runs ?? []).forEach((run, i) => {
        for (const s of run.steps) {
          lines.push(`| ${name} | ${i + 1} | ${s.n} | ${fmt(s.m.cpuPct, 0)} | ${fmt(s.m.mainPct, 0)} | ${fmt(s.m.othersPct, 0)} | ${fmt(s.m.lat.jsP50, 1)} / ${fmt(s.m.lat.jsP99, 1)} | ${s.m.framesPerSub.min} / ${s.m.framesPerSub.expected} | ${s.why.length ? `fails: ${s.why.join('; ')}` : 'holds'} | ${s.load} |`);
        }
      });
    }
  }
  return lines.join('\n');
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
