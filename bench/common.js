/* bench/common: what the benchmark processes share. */
'use strict';
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const BENCH_PROJECT = { apiKey: 'bench', apiSecret: 'bench-secret-0123456789abcdef' };

/** Nearest-rank percentile of a sorted array. */
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const TICK_MS = 1000 / 100; // USER_HZ on Linux

/** CPU time (ms) of this process's main thread (the JavaScript thread), from /proc. */
function mainThreadCpuMs() {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime
}

/** CPU time (ms) of the whole process (every thread). */
function processCpuMs() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Wall clock in ms with sub-millisecond precision, comparable across processes. */
function wallMs() {
  return performance.timeOrigin + performance.now();
}

function rssBytes() {
  return process.memoryUsage.rss();
}

async function settle(ms = 300) {
  for (let i = 0; i < 3; i++) {
    if (global.gc) global.gc();
    await new Promise((r) => setTimeout(r, ms / 3));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Keeps `window` sends in flight (each a promise, settled or failed) until stopped() is true;
 * resolves once the last one is back.
 */
function windowedPump(send, window, stopped) {
  return new Promise((resolve) => {
    let inflight = 0;
    const done = () => { inflight--; if (stopped()) { if (inflight === 0) resolve(); } else fill(); };
    const fill = () => { while (inflight < window && !stopped()) { inflight++; send().then(done, done); } };
    fill();
  });
}

/**
 * Starts bench/server-proc.js (with `args`) in a process of its own; resolves with the child and
 * the { url, echoPort } line it prints once listening. Closing its stdin stops it.
 */
function startServerProcess(args = []) {
  const { spawn } = require('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [require('node:path').join(__dirname, 'server-proc.js'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, ...JSON.parse(buf.slice(0, nl)) });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

/** A redis-server on a free loopback port, without persistence: { proc, url }. */
async function startRedis() {
  const net = require('node:net');
  const { spawn } = require('node:child_process');
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; if (/Ready to accept connections/.test(out)) resolve(); });
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return { proc, url: `redis://127.0.0.1:${port}` };
}

module.exports = {
  BENCH_PROJECT, pct, median, mainThreadCpuMs, processCpuMs, wallMs, rssBytes, settle, sleep, windowedPump, startServerProcess, startRedis,
};
