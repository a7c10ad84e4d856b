#!/usr/bin/env node
/*
 * bench/run: `npm run bench`. Starts the server once (its own process), runs every scenario
 * against Convene (native core) and the pure-JavaScript `ws` baseline, each run in a fresh
 * process, and writes bench/results.json, docs/benchmarks.md (the generated section) and
 * docs/benchmarks.svg.
 *
 *   node bench/run.js [--quick] [--runs N] [--only rtt,fanin] [--clients convene,baseline] [--no-write]
 *   node bench/run.js --report-only   (rewrites the report from bench/results.json's raw runs)
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const { startServerProcess, runScenarioProcess } = require('./common.js');
const { writeReport } = require('./report.js');

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    clients: { type: 'string', default: 'convene,baseline' },
    'no-write': { type: 'boolean', default: false },
    'report-only': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const clients = values.clients.split(',');
const ALL = ['rtt', 'tput1', 'tput100', 'fanin', 'storm', 'idle', 'rttSelf', 'tcpEcho'];
const scenarios = values.only ? values.only.split(',') : ALL;

function runScenario(name, client, config) {
  return runScenarioProcess(name, client, config);
}

function machine() {
  const cpus = os.cpus();
  let lws = 'unknown';
  let jansson = 'unknown';
  try { lws = execFileSync('pkg-config', ['--modversion', 'libwebsockets'], { encoding: 'utf8' }).trim().replace(/-$/, ''); } catch {}
  try { jansson = execFileSync('pkg-config', ['--modversion', 'jansson'], { encoding: 'utf8' }).trim(); } catch {}
  const pkg = (name) => { try { return require(`${name}/package.json`).version; } catch { return 'unknown'; } };
  let commit = 'unknown';
  try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim(); } catch {}
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    libwebsockets: lws,
    jansson,
    ws: pkg('ws'),
    commit,
  };
}

async function main() {
  if (values['report-only']) {
    const root = path.join(__dirname, '..');
    const previous = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8'));
    delete previous.summary;
    process.stderr.write(`${writeReport(previous, root)}\n`);
    return;
  }
  const started = Date.now();
  const server = await startServerProcess();
  const config = { url: server.url, echoPort: server.echoPort, quick };
  const raw = {};
  try {
    for (const name of scenarios) {
      raw[name] = {};
      const who = name === 'tcpEcho' ? ['none'] : clients;
      for (const c of who) raw[name][c] = [];
      for (let r = 0; r < runs; r++) {
        const order = r % 2 === 0 ? who : [...who].reverse(); // alternate to cancel drift
        for (const c of order) {
          const res = await runScenario(name, c, config);
          raw[name][c].push(res);
          process.stderr.write(`${name} ${c} run ${r + 1}/${runs}: ${JSON.stringify(res)}\n`);
        }
      }
    }
  } finally {
    server.child.stdin.end();
  }
  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    runs,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    raw,
  };
  if (!values['no-write']) {
    const root = path.join(__dirname, '..');
    const summary = writeReport(results, root);
    process.stderr.write(`\n${summary}\n`);
  }
  process.stderr.write(`bench: ${results.seconds} s\n`);
}

main().catch((e) => { console.error(e); process.exit(1); });
