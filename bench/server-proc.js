#!/usr/bin/env node
/*
 * bench/server-proc: the Convene server and a raw TCP echo server, in their own process so
 * that the client process under measurement does not pay for them. Prints one JSON line
 * { url, echoPort } on stdout when both listen; exits when stdin closes.
 */
'use strict';
const net = require('node:net');
const { startServer } = require('../dist/server/index.js');
const { BENCH_PROJECT } = require('./common.js');

async function main() {
  // --redis URL: run as a cluster node (bench/cluster.js)
  const at = process.argv.indexOf('--redis');
  const redis = at > 0 ? process.argv[at + 1] : undefined;
  // --cluster-secret S: media links between the nodes (bench/cluster.js, media part)
  const sec = process.argv.indexOf('--cluster-secret');
  const clusterSecret = sec > 0 ? process.argv[sec + 1] : undefined;
  const server = await startServer({
    projects: [BENCH_PROJECT],
    port: 0,
    redis,
    clusterSecret,
    maxConnectionsPerSession: 5000,
    maxConnectionsPerAddress: 0, // every bench client comes from 127.0.0.1
    signalsPerSecond: 0, // the benchmarks measure clients, not the rate limiter
  });
  const echo = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
  });
  await new Promise((r) => echo.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ url: server.url, echoPort: echo.address().port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    echo.close();
    server.kill();
    process.exit(0);
  });
}
main().catch((e) => { console.error(e); process.exit(1); });
