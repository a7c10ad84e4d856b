#!/usr/bin/env node
/*
 * bench/media-client: a process of Convene sessions that publish and subscribe audio through
 * the public Node API (AudioSource, session.publish, session.subscribe, audioFrames), driven by
 * bench/media.js one command at a time: a JSON line on stdin, a JSON line back on stdout.
 *
 *   node --expose-gc bench/media-client.js
 *
 * Commands ({ cmd, ... }):
 *   connect  { url, sids }            one session per entry of sids (a sid twice: a pair)
 *   publish  { markerEvery, lead }    every session publishes an AudioSource fed in real time
 *   subscribe {}                      every session subscribes the first stream of its sid
 *                                     that is not its own (waits for it)
 *   unpublish {}                      every publisher goes, feeding stops
 *   measure  { seconds }              counters over a window (below)
 *   rss      {}                       RSS after gc
 *   quit     {}
 *
 * What is published: 48 kHz mono, 20 ms frames of a 400 Hz tone at 10 % of full scale (never
 * silent, so Opus DTX never skips a frame), and every `markerEvery`-th frame a 1 kHz burst at
 * 60 % (the marker). Feeding: one timer for the process; at each tick (every 5 ms) each source
 * is topped up to (frames due by the wall clock) + `lead` frames, so the native queue holds
 * about `lead` frames (the margin against the timer's lateness). When the queue holds more than
 * `lead` + 3 frames the core is behind real time: the due frames are skipped (counted), as a
 * live source would drop them, so that the latency does not ratchet up.
 *
 * What a subscriber checks (48 kHz mono, 10 ms frames, the default format): each frame's peak,
 * sampled every 4th sample: a marker frame after a non-marker one is an onset; its latency is
 * measured from the captureFrame call of the publisher's latest marker, to the frame's
 * `timestamp` (the native core handed it over) and to its arrival in the `for await` loop.
 * A frame whose peak is under 1/30 of the tone's is silent: the publisher's queue ran dry
 * (an underrun; the core then encodes zeros).
 */
'use strict';
const { initSession, AudioSource } = require('../dist/index.js');
const { mintToken } = require('../dist/mint.js');
const C = require('./common.js');
const { BENCH_PROJECT, pct, wallMs, settle, sleep, threadsCpu, countAudioFrame } = C;

const RATE = 48000;
const FRAME = 960; // 20 ms

function toneFrame(freq, amplitude) {
  const f = new Int16Array(FRAME);
  for (let i = 0; i < FRAME; i++) f[i] = Math.round(Math.sin((2 * Math.PI * freq * i) / RATE) * amplitude * 32767);
  return f;
}
const BACKGROUND = toneFrame(400, 0.1); // 400 Hz: 8 whole periods per frame, no click at the seams
const MARKER = toneFrame(1000, 0.6); // 20 whole periods

const sessions = []; // { session, sid, remote: Stream[], onRemote }
const producers = []; // { source, publisher, pushed, markers: number[], queuedAhead: number[] }
const subscribers = []; // { sub, producer, counters }
let feedTimer;
let feedT0 = 0;
let lead = 2;
let markerEvery = 25;
let lateMax = 0; // worst lateness of a feeding tick in the window (ms)
let captureErrors = 0;

async function connect({ url, sids }) {
  const P = BENCH_PROJECT;
  // a few at a time: the server and the core take connection storms, but this is not the storm bench
  let next = 0;
  async function worker() {
    while (next < sids.length) {
      const i = next++;
      const session = initSession(P.apiKey, sids[i], { serverUrl: url, connectionEventsSuppressed: true });
      const entry = { session, sid: sids[i], remote: [], onRemote: undefined };
      session.on('streamCreated', (e) => { entry.remote.push(e.stream); entry.onRemote?.(); });
      await session.connect(await mintToken(P, sids[i], `m${i}`));
      sessions[i] = entry;
    }
  }
  await Promise.all(Array.from({ length: Math.min(16, sids.length) }, worker));
  return { sessions: sessions.length };
}

function feed() {
  const now = wallMs();
  const due = Math.floor((now - feedT0) / 20) + 1 + lead;
  // the tick is due every 5 ms; lateness is how far past that it ran
  for (const p of producers) {
    if (!p.publisher) continue;
    if (p.pushed < due && p.source.queuedDuration > (lead + 3) * 20) {
      // the core fell behind real time (its media thread stalled past 100 ms and restarted its
      // schedule): a live source does not wait, it drops what the publisher cannot take
      p.skipped += due - p.pushed;
      p.pushed = due;
    }
    while (p.pushed < due) {
      const marker = p.pushed % markerEvery === 0;
      if (marker) { p.queuedAhead.push(p.source.queuedDuration); p.markers.push(wallMs()); }
      p.source.captureFrame({ data: marker ? MARKER : BACKGROUND, sampleRate: RATE, channels: 1, samplesPerChannel: FRAME }).catch(() => { captureErrors++; });
      p.pushed++;
    }
    if (p.markers.length > 64) { p.markers.splice(0, 32); }
  }
}

function startFeeding() {
  if (feedTimer) return;
  let last = wallMs();
  feedTimer = setInterval(() => {
    const t = wallMs();
    lateMax = Math.max(lateMax, t - last - 5);
    last = t;
    feed();
  }, 5);
}

async function publish(cmd) {
  lead = cmd.lead ?? 2;
  markerEvery = cmd.markerEvery ?? 25;
  feedT0 = wallMs();
  await Promise.all(sessions.map(async (s) => {
    const source = new AudioSource({ sampleRate: RATE, channels: 1 });
    const publisher = await s.session.publish({ name: 'bench', audioSource: source, publishVideo: false });
    // start this source on the common schedule, `lead` frames ahead
    producers.push({ source, publisher, pushed: Math.floor((wallMs() - feedT0) / 20), markers: [], queuedAhead: [], skipped: 0, session: s.session });
  }));
  startFeeding();
  return { publishers: producers.length };
}

function newCounters() {
  return { frames: 0, silent: 0, onsets: 0, latNative: [], latJs: [] };
}

async function subscribe() {
  await Promise.all(sessions.map(async (s) => {
    if (s.remote.length === 0) await new Promise((r) => { s.onRemote = r; });
    const stream = s.remote[0];
    const sub = await s.session.subscribe(stream, { audio: { sampleRate: RATE, channels: 1 } });
    const producer = producers.find((p) => p.session !== s.session && p.publisher && p.publisher.stream && p.publisher.stream.streamId === stream.streamId);
    const entry = { sub, producer, c: newCounters(), wasMarker: false };
    subscribers.push(entry);
    (async () => {
      for await (const f of sub.audioFrames()) {
        const at = wallMs();
        const t0 = countAudioFrame(entry, f.data, f.timestamp);
        if (!Number.isNaN(t0)) { entry.c.latNative.push(f.timestamp - t0); entry.c.latJs.push(at - t0); }
      }
    })().catch(() => {});
  }));
  return { subscribers: subscribers.length };
}

async function unpublish() {
  for (const p of producers) if (p.publisher) { p.session.unpublish(p.publisher); p.publisher = undefined; }
  clearInterval(feedTimer);
  feedTimer = undefined;
  await sleep(300);
  return {};
}

function subStats() {
  let dropped = 0; let concealed = 0; let lost = 0; let decodeErrors = 0;
  for (const s of subscribers) {
    const st = s.sub.stats;
    dropped += st.framesDropped; concealed += st.media.framesConcealed; lost += st.media.framesLost; decodeErrors += st.media.decodeErrors;
  }
  return { dropped, concealed, lost, decodeErrors };
}

async function measure({ seconds }) {
  for (const s of subscribers) s.c = newCounters();
  for (const p of producers) { p.queuedAhead = []; p.skipped = 0; }
  lateMax = 0;
  const st0 = subStats();
  const cpu0 = process.cpuUsage();
  const th0 = threadsCpu();
  const t0 = wallMs();
  const elu0 = require('node:perf_hooks').performance.eventLoopUtilization();
  await sleep(seconds * 1000);
  const t1 = wallMs();
  const cpu = process.cpuUsage(cpu0);
  const th1 = threadsCpu();
  const elu = require('node:perf_hooks').performance.eventLoopUtilization(elu0).utilization;
  const st1 = subStats();
  const wall = t1 - t0;
  const latNative = [].concat(...subscribers.map((s) => s.c.latNative)).sort((a, b) => a - b);
  const latJs = [].concat(...subscribers.map((s) => s.c.latJs)).sort((a, b) => a - b);
  const ahead = [].concat(...producers.map((p) => p.queuedAhead)).sort((a, b) => a - b);
  const frames = subscribers.map((s) => s.c.frames);
  const expected = (wall / 10) | 0; // 10 ms frames per subscriber
  const byName = {};
  for (const k of Object.keys(th1.byName)) byName[k] = (th1.byName[k] - (th0.byName[k] ?? 0)) / wall * 100;
  return {
    wallMs: wall,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    mainPct: ((th1.main - th0.main) / wall) * 100,
    othersPct: ((th1.others - th0.others) / wall) * 100,
    byName,
    elu,
    publishers: producers.filter((p) => p.publisher).length,
    subscribers: subscribers.length,
    framesPerSub: { expected, min: frames.length ? Math.min(...frames) : 0, total: frames.reduce((a, b) => a + b, 0) },
    silent: subscribers.reduce((n, s) => n + s.c.silent, 0),
    onsets: subscribers.reduce((n, s) => n + s.c.onsets, 0),
    dropped: st1.dropped - st0.dropped,
    concealed: st1.concealed - st0.concealed,
    lost: st1.lost - st0.lost,
    decodeErrors: st1.decodeErrors - st0.decodeErrors,
    captureErrors,
    skipped: producers.reduce((n, p) => n + p.skipped, 0),
    lateMax,
    lat: {
      n: latJs.length,
      nativeP50: pct(latNative, 50), nativeP99: pct(latNative, 99),
      jsP50: pct(latJs, 50), jsP99: pct(latJs, 99), jsMax: latJs[latJs.length - 1] ?? NaN,
      aheadP50: pct(ahead, 50),
    },
  };
}

async function rss() {
  await settle(600);
  return { rss: process.memoryUsage.rss() };
}

const handlers = { connect, publish, subscribe, unpublish, measure, rss };

C.serveCommands(handlers, { quit: async () => { for (const s of sessions) s?.session.disconnect(); await sleep(200); } });
