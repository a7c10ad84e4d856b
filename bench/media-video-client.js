#!/usr/bin/env node
/*
 * bench/media-video-client: a process of Convene sessions that publish and subscribe video
 * through the public Node API (VideoSource, session.publish, session.subscribe with a video
 * format, videoFrames), driven by bench/media-video.js one command at a time: a JSON line on
 * stdin, a JSON line back on stdout (as bench/media-client.js does for audio).
 *
 *   node --expose-gc bench/media-video-client.js
 *
 * Commands ({ cmd, ... }):
 *   prepare   { width, height }        computes the pattern's frames now (so that their memory
 *                                      is not counted as the streams')
 *   connect   { url, sids, epochMs }   one session per entry of sids (a sid twice: a pair);
 *                                      epochMs: the wall clock the capture times count from
 *                                      (shared by every process of the run)
 *   publish   { width, height, fps, count }  the first `count` sessions (default: all) publish a
 *                                      VideoSource fed the moving pattern (bench/video-pattern.js)
 *                                      at `fps`, each frame's timestampUs its capture time
 *   subscribe { format }               every session without a publisher subscribes the first
 *                                      stream of its sid that is not its own (waits for it),
 *                                      video only, and reads videoFrames()
 *   unpublish {}                       every publisher goes, feeding stops
 *   measure   { seconds }              counters over a window (below)
 *   rss       {}                       RSS after gc
 *   quit      {}
 *
 * Feeding: one timer for the process (every 5 ms); each source gets the newest frame due by
 * the wall clock (a frame a tick came too late for is skipped and counted, as a camera would).
 * A subscriber measures, per frame, the time from its capture (timestampUs, epochMs + µs, on
 * the publisher's side) to its arrival in the `for await` loop: glass to glass, short of a
 * real camera and screen.
 */
'use strict';
const { performance } = require('node:perf_hooks');
const { initSession, VideoSource } = require('../dist/index.js');
const { mintToken } = require('../dist/mint.js');
const C = require('./common.js');
const { BENCH_PROJECT, pct, wallMs, settle, sleep, threadsCpu } = C;
const { frames: patternFrames } = require('./video-pattern.js');


let epochMs = 0;
const sessions = []; // { session, sid, remote: Stream[], onRemote, publishing }
const producers = []; // { source, publisher, session, n, skipped }
const subscribers = []; // { sub, it, c }
let feedTimer;
let fps = 30;
let feedT0 = 0;
let cycle = [];
let captureErrors = 0;

async function connect(cmd) {
  epochMs = cmd.epochMs;
  let next = 0;
  async function worker() {
    while (next < cmd.sids.length) {
      const i = next++;
      const session = initSession(BENCH_PROJECT.apiKey, cmd.sids[i], { serverUrl: cmd.url, connectionEventsSuppressed: true });
      const entry = { session, sid: cmd.sids[i], remote: [], onRemote: undefined, publishing: false };
      session.on('streamCreated', (e) => { entry.remote.push(e.stream); entry.onRemote?.(); });
      session.on('streamDestroyed', (e) => { entry.remote = entry.remote.filter((x) => x.streamId !== e.stream.streamId); });
      await session.connect(await mintToken(BENCH_PROJECT, cmd.sids[i], `v${i}`));
      sessions[i] = entry;
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, cmd.sids.length) }, worker));
  return { sessions: sessions.length };
}

function feed() {
  const due = Math.floor(((wallMs() - feedT0) * fps) / 1000); // frames due so far (0-based index of the newest)
  for (const p of producers) {
    if (!p.publisher || p.n > due) continue;
    p.skipped += due - p.n;
    p.n = due;
    try {
      p.source.captureFrame({ format: 'I420', width: p.source.width, height: p.source.height, data: cycle[p.n % cycle.length], timestampUs: Math.round((wallMs() - epochMs) * 1000) });
    } catch { captureErrors++; }
    p.n++;
  }
}

async function publish(cmd) {
  fps = cmd.fps;
  cycle = patternFrames(cmd.width, cmd.height);
  const count = cmd.count ?? sessions.length;
  feedT0 = wallMs();
  await Promise.all(sessions.slice(0, count).map(async (s) => {
    const source = new VideoSource({ width: cmd.width, height: cmd.height, fps: cmd.fps });
    const publisher = await s.session.publish({ name: 'vbench', videoSource: source, publishAudio: false });
    s.publishing = true;
    producers.push({ source, publisher, session: s.session, n: Math.floor(((wallMs() - feedT0) * fps) / 1000), skipped: 0 });
  }));
  if (!feedTimer) feedTimer = setInterval(feed, 5);
  return { publishers: producers.length };
}

async function subscribe(cmd) {
  await Promise.all(sessions.filter((s) => !s.publishing).map(async (s) => {
    if (s.remote.length === 0) await new Promise((r) => { s.onRemote = r; });
    const sub = await s.session.subscribe(s.remote[0], { audio: false, video: { format: cmd.format ?? 'I420' } });
    const entry = { sub, c: { frames: 0, lat: [] } };
    subscribers.push(entry);
    (async () => {
      for await (const f of sub.videoFrames()) {
        entry.c.frames++;
        entry.c.lat.push(wallMs() - epochMs - f.timestampUs / 1000);
      }
    })().catch(() => {});
  }));
  return { subscribers: subscribers.length };
}

async function unpublish() {
  for (const p of producers) if (p.publisher) { p.session.unpublish(p.publisher); p.publisher = undefined; }
  for (const s of sessions) s.publishing = false;
  clearInterval(feedTimer);
  feedTimer = undefined;
  await sleep(300);
  return {};
}

function counters() {
  let encoded = 0; let keyframes = 0; let kbps = 0; let rendered = 0; let dropped = 0; let decodeErrors = 0; let lost = 0;
  for (const p of producers) if (p.publisher) { const st = p.source.stats; encoded += st.framesEncoded; keyframes += st.keyframesSent; kbps += st.bitrateKbps; }
  for (const s of subscribers) {
    const st = s.sub.stats;
    rendered += st.media.videoFramesRendered; dropped += st.video.framesDropped; decodeErrors += st.media.videoDecodeErrors; lost += st.media.videoPacketsLost;
  }
  return { encoded, keyframes, kbps, rendered, dropped, decodeErrors, lost };
}

async function measure({ seconds }) {
  for (const s of subscribers) s.c = { frames: 0, lat: [] };
  for (const p of producers) p.skipped = 0;
  const k0 = counters();
  const cpu0 = process.cpuUsage();
  const th0 = threadsCpu();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const th1 = threadsCpu();
  const k1 = counters();
  const pubs = producers.filter((p) => p.publisher).length;
  const lat = [].concat(...subscribers.map((s) => s.c.lat)).sort((a, b) => a - b);
  const frames = subscribers.map((s) => s.c.frames);
  return {
    wallMs: wall,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    mainPct: ((th1.main - th0.main) / wall) * 100,
    othersPct: ((th1.others - th0.others) / wall) * 100,
    publishers: pubs,
    subscribers: subscribers.length,
    encodedFps: (k1.encoded - k0.encoded) / (wall / 1000), // all publishers
    keyframes: k1.keyframes - k0.keyframes,
    kbpsPerPub: pubs ? k1.kbps / pubs : 0,
    receivedFps: frames.reduce((a, b) => a + b, 0) / (wall / 1000), // all subscribers
    minSubFps: frames.length ? Math.min(...frames) / (wall / 1000) : 0,
    rendered: k1.rendered - k0.rendered,
    dropped: k1.dropped - k0.dropped,
    decodeErrors: k1.decodeErrors - k0.decodeErrors,
    lost: k1.lost - k0.lost,
    skipped: producers.reduce((n, p) => n + p.skipped, 0),
    captureErrors,
    lat: { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] ?? NaN },
  };
}

async function rss() {
  await settle(600);
  return { rss: process.memoryUsage.rss() };
}

async function prepare(cmd) {
  cycle = patternFrames(cmd.width, cmd.height);
  return { frames: cycle.length };
}

const handlers = { prepare, connect, publish, subscribe, unpublish, measure, rss };

C.serveCommands(handlers, { quit: async () => { clearInterval(feedTimer); for (const s of sessions) s?.session.disconnect(); await sleep(200); } });
