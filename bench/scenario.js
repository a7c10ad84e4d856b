#!/usr/bin/env node
/*
 * bench/scenario: runs one scenario with one client in this (fresh) process and prints one
 * JSON line of raw figures. Started by bench/run.js:
 *
 *   node --expose-gc bench/scenario.js <scenario> <convene|baseline> '<json config>'
 *
 * config: { url, echoPort, quick } (idleScale: { sessions, seconds, serverPid, concurrency, fanin: false to skip the fan-in }). Scenarios: rtt, rttSelf, tcpEcho, tput1, tput100, fanin,
 * storm, idle. See docs/benchmarks.md for what each measures.
 */
'use strict';
const net = require('node:net');
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const { mintSessionId } = require('../dist/server/index.js');
const { mintToken } = require('../dist/mint.js');
const C = require('./common.js');

const [scenarioName, clientName, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson || '{}');
const quick = Boolean(config.quick);
const P = C.BENCH_PROJECT;

function loadClient(name) {
  if (name === 'convene') return require('./convene-client.js');
  if (name === 'baseline') return require('./baseline-client.js');
  throw new Error(`unknown client ${name}`);
}

const client = clientName === 'none' ? null : loadClient(clientName);

function newSession() {
  return mintSessionId(P).sessionId;
}

async function join(sessionId, data = '') {
  const token = await mintToken(P, sessionId, data);
  return client.connect({ url: config.url, apiKey: P.apiKey, sessionId, token });
}

/** Connects one client per (sessionId, token), at most `concurrency` connecting at once. */
async function connectMany(specs, concurrency) {
  const out = new Array(specs.length);
  let next = 0;
  async function worker() {
    while (next < specs.length) {
      const i = next++;
      out[i] = await client.connect({ url: config.url, apiKey: P.apiKey, sessionId: specs[i].sessionId, token: specs[i].token, connectionEventsSuppressed: specs[i].connectionEventsSuppressed });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, specs.length) }, worker));
  return out;
}

async function mintMany(sessionIds) {
  return Promise.all(sessionIds.map(async (sessionId) => ({ sessionId, token: await mintToken(P, sessionId) })));
}

function latencyStats(samples) {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of s) sum += x;
  return { n: s.length, p50: C.pct(s, 50), p99: C.pct(s, 99), mean: sum / s.length, max: s[s.length - 1] };
}

/**
 * Times `warm + n` round trips one after the other: `start(done)` begins one and arranges for
 * `done()` to be called when it is back. Returns latency stats of the last n.
 */
async function timeRoundTrips(start) {
  const n = quick ? 2000 : 10000;
  const warm = 200;
  const samples = [];
  for (let i = 0; i < warm + n; i++) {
    const t0 = performance.now();
    await new Promise((done) => start(done));
    if (i >= warm) samples.push(performance.now() - t0);
  }
  return latencyStats(samples);
}

/** A handler that calls the pending round trip's `done` once. */
function oneShot() {
  let wake = null;
  return {
    arm(done) { wake = done; },
    fire() { if (wake) { const w = wake; wake = null; w(); } },
  };
}

// ---- 1. round trip: A signals B, B answers ----
async function rtt() {
  const sid = newSession();
  const a = await join(sid);
  const b = await join(sid);
  b.onSignal = (type, data, from) => { if (type === 'ping') b.signalNoAck('pong', data, from); };
  const back = oneShot();
  a.onSignal = (type) => { if (type === 'pong') back.fire(); };
  const stats = await timeRoundTrips((done) => { back.arm(done); a.signalNoAck('ping', 'x', b.connectionId); });
  await Promise.all([a.disconnect(), b.disconnect()]);
  return stats;
}

// ---- 6a. the server answers directly: a signal to oneself ----
async function rttSelf() {
  const a = await join(newSession());
  const back = oneShot();
  a.onSignal = (type) => { if (type === 'echo') back.fire(); };
  const stats = await timeRoundTrips((done) => { back.arm(done); a.signalNoAck('echo', 'x', a.connectionId); });
  await a.disconnect();
  return stats;
}

// ---- 6b. raw TCP echo (64 bytes) against an echo server in the server process ----
async function tcpEcho() {
  const sock = net.connect(config.echoPort, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
  const payload = Buffer.alloc(64, 0x61);
  const back = oneShot();
  let got = 0;
  sock.on('data', (d) => { got += d.length; if (got >= 64) { got -= 64; back.fire(); } });
  const stats = await timeRoundTrips((done) => { back.arm(done); sock.write(payload); });
  sock.destroy();
  return stats;
}

/**
 * The measuring window: turns counting on for `seconds`, and returns how long it really was (s)
 * with the process and main-thread CPU (ms) and the event-loop utilisation over it.
 */
async function measure(seconds, setCounting) {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = C.processCpuMs();
  const main0 = C.mainThreadCpuMs();
  const t0 = performance.now();
  setCounting(true);
  await C.sleep(seconds * 1000);
  setCounting(false);
  return {
    elapsed: (performance.now() - t0) / 1000,
    cpu: C.processCpuMs() - cpu0,
    main: C.mainThreadCpuMs() - main0,
    elu: performance.eventLoopUtilization(elu0).utilization,
  };
}

// ---- 2. throughput: senders keep a window of unacknowledged signals in flight ----
async function throughput(pairs, window) {
  const seconds = quick ? 1.5 : 5;
  const warmMs = 500;
  const duos = [];
  for (let i = 0; i < pairs; i++) {
    const sid = newSession();
    const [a, b] = await Promise.all([join(sid), join(sid)]);
    duos.push({ a, b });
  }
  let received = 0;
  let counting = false;
  let stopped = false;
  const data = 'd'.repeat(100);
  for (const { b } of duos) b.onSignal = () => { if (counting) received++; };
  const pumps = duos.map(({ a, b }) => C.windowedPump(() => a.signal('t', data, b.connectionId), window, () => stopped));
  await C.sleep(warmMs);
  const { elapsed, cpu, main } = await measure(seconds, (on) => { counting = on; });
  stopped = true;
  await Promise.all(pumps);
  await Promise.all(duos.flatMap(({ a, b }) => [a.disconnect(), b.disconnect()]));
  return {
    rate: received / elapsed,
    received,
    procCpuPer1k: (cpu / received) * 1000,
    mainCpuPer1k: (main / received) * 1000,
  };
}

// ---- 3. fan-in: 1,000 sessions each receiving 10 signals a second from another process ----
async function fanin() {
  const sessions = 1000;
  const groups = 10;
  const rate = 10; // signals per second per receiving session
  const warmMs = 2000;
  const seconds = quick ? 5 : 20;
  const sids = Array.from({ length: groups }, newSession);
  const specs = await mintMany(Array.from({ length: sessions }, (_, i) => sids[i % groups]));
  await C.settle();
  const rss0 = C.rssBytes();
  const clients = await connectMany(specs, 100);
  const meter = C.deliveryMeter(clients);
  const sender = await startSender(sids, rate);
  await C.sleep(warmMs);
  const { elapsed, cpu, main, elu } = await measure(seconds, (on) => { meter.counting = on; });
  await sender.stop();
  await C.settle();
  const rss = C.rssBytes();
  await Promise.all(clients.map((c) => c.disconnect()));
  const l = latencyStats(meter.lat);
  const { received } = meter;
  return {
    received,
    rate: received / elapsed,
    expectedRate: sessions * rate,
    mainCpuPer1k: (main / received) * 1000,
    procCpuPer1k: (cpu / received) * 1000,
    elu,
    p50: l.p50,
    p99: l.p99,
    rssPerSessionKB: (rss - rss0) / sessions / 1024,
  };
}

// ---- 4. connect storm: 1,000 sessions connecting at once ----
async function storm() {
  const n = 1000;
  const specs = await mintMany(Array.from({ length: n }, newSession));
  await C.settle();
  const t0 = performance.now();
  const clients = await Promise.all(specs.map((s) => client.connect({ url: config.url, apiKey: P.apiKey, sessionId: s.sessionId, token: s.token })));
  const ms = performance.now() - t0;
  await Promise.all(clients.map((c) => c.disconnect()));
  return { sessions: clients.length, ms };
}

// ---- 5. idle: 1,000 connected sessions doing nothing ----
async function idle() {
  const n = 1000;
  const seconds = quick ? 5 : 60;
  const specs = await mintMany(Array.from({ length: n }, newSession));
  await C.settle();
  const rss0 = C.rssBytes();
  const clients = await connectMany(specs, 200);
  await C.settle();
  const rss1 = C.rssBytes();
  const cpu0 = C.processCpuMs();
  const main0 = C.mainThreadCpuMs();
  await C.sleep(seconds * 1000);
  const cpu = C.processCpuMs() - cpu0;
  const main = C.mainThreadCpuMs() - main0;
  await C.settle();
  const rss2 = C.rssBytes();
  await Promise.all(clients.map((c) => c.disconnect()));
  return {
    sessions: n,
    seconds,
    rssPerSessionKB: (Math.max(rss1, rss2) - rss0) / n / 1024,
    procCpuPct: (cpu / (seconds * 1000)) * 100,
    mainCpuPct: (main / (seconds * 1000)) * 100,
  };
}

// ---- idleScale: `config.sessions` idle sessions (bench/scale.js) ----
/** utime + stime (ms) of another process, from /proc (NaN when it is gone). */
function otherProcessCpuMs(pid) {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch { return NaN; }
}

/**
 * The sender process of bench/sender.js, one connection per session of `sessionIds`, each
 * session getting `rate` signals a second; resolves once it is connected.
 */
async function startSender(sessionIds, rate) {
  const sender = spawn(process.execPath, [require.resolve('./sender.js'), JSON.stringify({ url: config.url, sessionIds, rate })],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    sender.stdout.once('data', resolve);
    sender.once('exit', (code) => reject(new Error(`sender exited (${code})`)));
  });
  return { stop: () => { sender.stdin.end(); return new Promise((r) => sender.once('exit', r)); } };
}

/** Machine-wide softirq time in ms (all CPUs, /proc/stat; USER_HZ 100): where the kernel's TCP keepalive probes are paid. */
function softirqMs() {
  const f = require('node:fs').readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  return Number(f[7]) * 10;
}

async function idleScale() {
  const n = Number(config.sessions ?? 1000);
  const seconds = Number(config.seconds ?? 10);
  // the idle window: a whole keepalive interval (25 s by default), so that every session pings once in it
  const idleSeconds = Number(config.idleSeconds ?? seconds);
  const serverCpu = () => (config.serverPid ? otherProcessCpuMs(config.serverPid) : NaN);
  const sids = Array.from({ length: n }, newSession);
  const specs = await mintMany(sids);
  await C.settle();
  const rss0 = C.rssBytes();
  const connectCpu0 = C.processCpuMs();
  const connectSrv0 = serverCpu();
  const t0 = performance.now();
  const clients = await connectMany(specs.map((s) => ({ ...s, connectionEventsSuppressed: true })), Number(config.concurrency ?? 500));
  const connectMs = performance.now() - t0;
  const connectCpu = C.processCpuMs() - connectCpu0;
  const connectSrv = serverCpu() - connectSrv0;
  await C.sleep(1000); // let the connect burst's timers and garbage settle
  await C.settle();
  const rss1 = C.rssBytes();
  const cpu0 = C.processCpuMs();
  const srv0 = serverCpu();
  const sirq0 = softirqMs();
  await C.sleep(idleSeconds * 1000);
  const cpu = C.processCpuMs() - cpu0;
  const srv = serverCpu() - srv0;
  const softirqPct = ((softirqMs() - sirq0) / (idleSeconds * 1000)) * 100;
  await C.settle();
  const rss2 = C.rssBytes();

  // Fan-in at N: FANIN_SESSIONS of the N sessions (spread over them) each get FANIN_RATE
  // broadcast signals a second from a sender in another process, while the others stay idle.
  // CPU per 1,000 signals received, the idle CPU of the same length of time subtracted.
  if (config.fanin === false) {
    await Promise.all(clients.map((c) => c.disconnect()));
    return { sessions: n, seconds, connectMs, connectCpuClientMsPerSession: connectCpu / n, connectCpuServerMsPerSession: connectSrv / n,
      rssPerSessionKB: (Math.max(rss1, rss2) - rss0) / n / 1024, procCpuPct: (cpu / (idleSeconds * 1000)) * 100, serverCpuPct: (srv / (idleSeconds * 1000)) * 100, softirqPct, idleSeconds };
  }
  const FANIN_SESSIONS = Math.min(500, n);
  const FANIN_RATE = 10;
  const step = Math.floor(n / FANIN_SESSIONS);
  const targets = Array.from({ length: FANIN_SESSIONS }, (_, i) => i * step);
  const meter = C.deliveryMeter(targets.map((i) => clients[i]));
  const sender = await startSender(targets.map((i) => sids[i]), FANIN_RATE);
  await C.sleep(2000);
  const fSrv0 = serverCpu();
  const f = await measure(seconds, (on) => { meter.counting = on; });
  const fSrv = serverCpu() - fSrv0;
  await sender.stop();
  const l = latencyStats(meter.lat);
  const idleCpuRate = cpu / (idleSeconds * 1000);
  const idleSrvRate = srv / (idleSeconds * 1000);
  const t1 = performance.now();
  await Promise.all(clients.map((c) => c.disconnect()));
  return {
    sessions: n,
    seconds,
    connectMs,
    connectCpuClientMsPerSession: connectCpu / n,
    connectCpuServerMsPerSession: connectSrv / n,
    disconnectMs: performance.now() - t1,
    rssPerSessionKB: (Math.max(rss1, rss2) - rss0) / n / 1024,
    procCpuPct: idleCpuRate * 100,
    serverCpuPct: idleSrvRate * 100,
    softirqPct,
    idleSeconds,
    fanin: {
      sessions: FANIN_SESSIONS,
      rate: meter.received / f.elapsed,
      expectedRate: FANIN_SESSIONS * FANIN_RATE,
      procCpuPer1k: ((f.cpu - idleCpuRate * f.elapsed * 1000) / meter.received) * 1000,
      serverCpuPer1k: ((fSrv - idleSrvRate * f.elapsed * 1000) / meter.received) * 1000,
      p50: l.p50,
      p99: l.p99,
    },
  };
}

const scenarios = {
  rtt, rttSelf, tcpEcho, fanin, storm, idle, idleScale,
  tput1: () => throughput(1, 64),
  tput100: () => throughput(100, 8),
};

async function main() {
  const fn = scenarios[scenarioName];
  if (!fn) throw new Error(`unknown scenario ${scenarioName}`);
  const result = await fn();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Let a client that holds the loop open show itself: exit explicitly after a grace period.
  setTimeout(() => process.exit(0), 2000).unref();
}
main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
