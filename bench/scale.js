#!/usr/bin/env node
/*
 * bench/scale: `npm run bench:scale`. Idle sessions at scale (issue 16): N sessions, each in its
 * own Convene session and all idle (connectionEventsSuppressed), in ONE client process, against
 * the server in a process of its own. For each N and each client (the native core, the `ws`
 * baseline): time to connect all N and the CPU it took (client, server), memory per session,
 * CPU of the client process and of the server process while idle, and the fan-in at N: 500 of
 * the N sessions get 10 signals a second each from a sender process while the rest stay idle,
 * CPU per 1,000 signals received (the idle CPU subtracted) and delivery latency. Every process gets a raised fd limit (via `sh -c ulimit`); where the
 * hard limit cannot be raised (no CAP_SYS_RESOURCE: 20,000 on the bench machine) the largest size
 * is 19,000, not 20,000: one process cannot hold more sockets than its fd limit.
 *
 *   node bench/scale.js [--sizes 1000,5000,10000,19000] [--clients convene,baseline] [--seconds 10] [--idle-seconds 25]
 *                       [--write]   (replaces the generated block in docs/benchmarks.md)
 */
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const C = require('./common.js');

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000,10000,19000' },
    clients: { type: 'string', default: 'convene,baseline' },
    seconds: { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '25' },
    write: { type: 'boolean', default: false },
    label: { type: 'string', default: '' },
  },
});
const NOFILE = 65536;

/** `argv` under a shell that raises the fd limit first (soft and, as root, hard). */
function withFdLimit(argv) {
  const script = `ulimit -Hn ${NOFILE} 2>/dev/null; ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  return ['/bin/sh', ['-c', script, 'sh', ...argv]];
}

function startServer() {
  return C.startServerProcess([], withFdLimit);
}

function runOne(client, config) {
  return C.runScenarioProcess('idleScale', client, config, ['--expose-gc', '--max-old-space-size=4096'], withFdLimit);
}

function table(rows) {
  const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const lines = [
    '| client | sessions | connect all (s) | connect CPU client / server (ms per session) | KB / session | idle CPU client (% of a core) | idle CPU server (%) | machine softirq (%) | fan-in CPU client / server (ms per 1,000 signals) | fan-in p50 / p99 (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const fi = r.fanin ?? {};
    lines.push(`| ${r.client} | ${r.sessions.toLocaleString('en-US')} | ${f(r.connectMs / 1000, 2)} | ${f(r.connectCpuClientMsPerSession, 2)} / ${f(r.connectCpuServerMsPerSession, 2)} | ${f(r.rssPerSessionKB, 1)} | ${f(r.procCpuPct, 2)} | ${f(r.serverCpuPct, 2)} | ${f(r.softirqPct, 2)} | ${f(fi.procCpuPer1k, 1)} / ${f(fi.serverCpuPer1k, 1)} | ${f(fi.p50, 2)} / ${f(fi.p99, 2)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const sizes = values.sizes.split(',').map(Number);
  const clients = values.clients.split(',');
  const rows = [];
  for (const sessions of sizes) {
    for (const client of clients) {
      // a fresh server per run: the previous run's closes do not leak into this one's idle CPU
      const server = await startServer();
      try {
        await C.sleep(500);
        const r = await runOne(client, { url: server.url, sessions, seconds: Number(values.seconds), idleSeconds: Number(values['idle-seconds']), serverPid: server.child.pid });
        rows.push({ client, ...r });
        process.stderr.write(`${JSON.stringify({ client, ...r })}\n`);
      } catch (e) {
        process.stderr.write(`${e.message}\n`);
      } finally {
        server.child.stdin.end();
        await new Promise((r) => { server.child.once('exit', r); setTimeout(r, 3000); });
      }
    }
  }
  const md = table(rows);
  process.stdout.write(`${md}\n`);
  if (values.write) C.writeDocBlock(`scale${values.label ? `-${values.label}` : ''}`, md);
}
main().catch((e) => { console.error(e); process.exit(1); });
