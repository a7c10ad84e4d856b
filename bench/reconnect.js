#!/usr/bin/env node
/*
 * bench/reconnect: time from the network coming back to sessionReconnected, p50 and p99,
 * for 1 session and for N sessions (default 1000) cut at once. Uses the built package
 * (npm run build && npm run build:native). Loopback only.
 *
 *   node bench/reconnect.js [--sessions 1000] [--outage 1000] [--runs 3]
 */
'use strict';
const { parseArgs } = require('node:util');
const { initSession } = require('../dist/index.js');
const { startServer, mintSessionId } = require('../dist/server/index.js');
const { FaultProxy } = require('../dist/tools/fault-proxy.js');
const { mintToken } = require('../dist/mint.js');

const { values } = parseArgs({ options: { sessions: { type: 'string' }, outage: { type: 'string' }, runs: { type: 'string' } } });
const MANY = Number(values.sessions ?? 1000);
const OUTAGE = Number(values.outage ?? 1000);
const RUNS = Number(values.runs ?? 3);

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function scenario(n, backoff) {
  const project = { apiKey: 'bench', apiSecret: 'bench-secret-0123456789' };
  const server = await startServer({ projects: [project], port: 0, maxConnectionsPerSession: n + 10, maxConnectionsPerAddress: 0, signalsPerSecond: 0 });
  const proxy = await new FaultProxy(server.port).start();
  const { sessionId } = mintSessionId(project);
  const token = await mintToken(project, sessionId);
  const sessions = [];
  for (let i = 0; i < n; i++) sessions.push(initSession(project.apiKey, sessionId, { serverUrl: proxy.url, connectionEventsSuppressed: true, reconnectBackoff: backoff }));
  await Promise.all(sessions.map((s) => s.connect(token)));
  const samples = [];
  for (let run = 0; run < RUNS; run++) {
    const back = sessions.map((s) => new Promise((r) => s.once('sessionReconnected', () => r(process.hrtime.bigint()))));
    await proxy.refuse(OUTAGE); // cut everything, refuse new connections for OUTAGE ms
    const t0 = process.hrtime.bigint();
    const times = await Promise.all(back);
    for (const t of times) samples.push(Number(t - t0) / 1e6);
  }
  await Promise.all(sessions.map((s) => new Promise((r) => { s.once('sessionDisconnected', r); s.disconnect(); })));
  await proxy.close();
  await server.close();
  samples.sort((a, b) => a - b);
  return { n, runs: RUNS, p50: pct(samples, 50), p99: pct(samples, 99), max: samples[samples.length - 1] };
}

(async () => {
  const results = [];
  for (const [label, backoff] of [['default (250 ms ×2, cap 5 s)', undefined], ['tight (50 ms ×2, cap 200 ms)', { base: 50, factor: 2, cap: 200 }]]) {
    for (const n of [1, MANY]) {
      const r = await scenario(n, backoff);
      results.push({ backoff: label, ...r });
      console.log(`${label.padEnd(30)} sessions ${String(n).padStart(5)}  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  max ${r.max.toFixed(1)} ms`);
    }
  }
  console.log(JSON.stringify({ outageMs: OUTAGE, results }));
})().catch((e) => { console.error(e); process.exit(1); });
