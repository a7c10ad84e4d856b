#!/usr/bin/env node
/*
 * bench/cluster: aggregate fan-out through 1, 2 and 3 server nodes sharing sessions on Redis.
 *
 *   node bench/cluster.js [--nodes 1,2,3] [--seconds 5] [--sessions 10] [--receivers 300] [--window 8] [--load 20000]
 *
 * Two rows per node count: saturated (senders keep `window` broadcasts in flight, each
 * completing on its node's result) and paced (`load` deliveries a second in all).
 *
 * Each node is its own process (bench/server-proc.js --redis). Receivers (Convene sessions) and
 * senders (one ws baseline client per session id, broadcasting with `window` signals in flight,
 * data = send time) run in this process, spread over the nodes round robin, so every broadcast
 * crosses nodes. Reports signals delivered per second and delivery latency p50/p99, and writes
 * the cluster block of docs/benchmarks.md. Needs redis-server on PATH.
 */
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const { mintSessionId } = require('../dist/server/index.js');
const { mintToken } = require('../dist/mint.js');
const { BENCH_PROJECT: P, pct, wallMs, sleep, windowedPump, startServerProcess } = require('./common.js');
const convene = require('./convene-client.js');
const baseline = require('./baseline-client.js');

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,2,3' }, seconds: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '10' }, receivers: { type: 'string', default: '300' },
    window: { type: 'string', default: '8' }, 'no-write': { type: 'boolean', default: false },
    load: { type: 'string', default: '20000' },
  },
});

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; if (/Ready to accept connections/.test(out)) resolve(); });
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return { proc, url: `redis://127.0.0.1:${port}` };
}

async function run(nodeCount, redisUrl, load) {
  const nodes = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startServerProcess(['--redis', redisUrl]));
  const sessions = Number(values.sessions);
  const receiversN = Number(values.receivers);
  const window = Number(values.window);
  const sids = Array.from({ length: sessions }, () => mintSessionId(P).sessionId);
  const receivers = [];
  for (let i = 0; i < receiversN; i++) {
    const sessionId = sids[i % sessions];
    const url = nodes[i % nodeCount].url;
    receivers.push(await convene.connect({ url, apiKey: P.apiKey, sessionId, token: await mintToken(P, sessionId) }));
  }
  let counting = false;
  let delivered = 0;
  const lat = [];
  for (const r of receivers) {
    r.onSignal = (type, data) => {
      if (type !== 'f' || !counting) return;
      delivered++;
      lat.push(wallMs() - Number(data));
    };
  }
  const senders = [];
  for (let i = 0; i < sessions; i++) {
    const sessionId = sids[i];
    senders.push(await baseline.connect({ url: nodes[(i + 1) % nodeCount].url, apiKey: P.apiKey, sessionId, token: await mintToken(P, sessionId, 'sender') }));
  }
  let stopped = false;
  let pumps;
  if (load > 0) {
    // paced: `load` deliveries a second in all (each broadcast reaches receivers/sessions)
    const broadcastsPerSecond = load / (receiversN / sessions);
    const start = performance.now();
    let sent = 0;
    const timer = setInterval(() => {
      const due = Math.floor(((performance.now() - start) / 1000) * broadcastsPerSecond);
      while (sent < due) senders[sent++ % sessions].signalNoAck('f', String(wallMs()));
    }, 5);
    pumps = [new Promise((resolve) => { const t = setInterval(() => { if (stopped) { clearInterval(timer); clearInterval(t); resolve(); } }, 5); })];
  } else {
    pumps = senders.map((s) => windowedPump(() => s.signal('f', String(wallMs())), window, () => stopped));
  }
  await sleep(1000);
  counting = true;
  const t0 = performance.now();
  await sleep(Number(values.seconds) * 1000);
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(pumps);
  await Promise.all([...receivers, ...senders].map((c) => c.disconnect()));
  for (const n of nodes) n.child.stdin.end();
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  lat.sort((a, b) => a - b);
  await sleep(300); // let the paced mode's last signals land before the next row
  return { nodes: nodeCount, mode: load > 0 ? `paced ${load}/s` : 'saturated', deliveredPerSecond: delivered / elapsed, p50: pct(lat, 50), p99: pct(lat, 99) };
}

function markdown(rows) {
  const lines = [
    `Generated by \`npm run bench:cluster\` on ${new Date().toISOString().slice(0, 10)}: ${values.receivers} Convene sessions in ${values.sessions} session ids, spread over the nodes round robin; one ws sender per session id on another node than its first receivers, broadcasting with ${values.window} signals in flight; ${values.seconds} s per row after 1 s warm-up. Nodes, Redis and both clients share this machine's ${require('node:os').cpus().length} cores.`,
    '',
    '| nodes | load | signals delivered/s | latency p50 | latency p99 |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.nodes} | ${r.mode} | ${Math.round(r.deliveredPerSecond).toLocaleString('en-US')} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms |`),
  ];
  return lines.join('\n');
}

async function main() {
  const redis = await startRedis();
  const rows = [];
  try {
    for (const load of [0, Number(values.load)]) {
      for (const n of values.nodes.split(',').map(Number)) {
        const r = await run(n, redis.url, load);
        process.stderr.write(`${JSON.stringify(r)}\n`);
        rows.push(r);
      }
    }
  } finally {
    redis.proc.kill('SIGKILL');
  }
  if (values['no-write']) return;
  const mdPath = path.join(__dirname, '..', 'docs', 'benchmarks.md');
  const START = '<!-- cluster:start (generated by npm run bench:cluster) -->';
  const END = '<!-- cluster:end -->';
  const md = fs.readFileSync(mdPath, 'utf8');
  const block = `${START}\n${markdown(rows)}\n${END}`;
  const a = md.indexOf(START);
  const b = md.indexOf(END);
  fs.writeFileSync(mdPath, a >= 0 && b > a ? md.slice(0, a) + block + md.slice(b + END.length) : `${md.trimEnd()}\n\n${block}\n`);
}
main().catch((e) => { console.error(e); process.exit(1); });
