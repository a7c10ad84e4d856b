#!/usr/bin/env node
/*
 * bench/sender: the fan-in load generator (its own process). One connection per session id,
 * each broadcasting a signal whose data is the send time (ms, wall clock) `rate` times a second,
 * spread evenly. Prints "ready" once connected; stops when stdin closes.
 */
'use strict';
const { mintToken } = require('../dist/mint.js');
const { BENCH_PROJECT: P, wallMs } = require('./common.js');
const { connect } = require('./baseline-client.js');

async function main() {
  const { url, sessionIds, rate } = JSON.parse(process.argv[2]);
  const senders = [];
  for (const sessionId of sessionIds) {
    senders.push(await connect({ url, apiKey: P.apiKey, sessionId, token: await mintToken(P, sessionId, 'sender') }));
  }
  const tickMs = 1000 / (rate * senders.length);
  let i = 0;
  const start = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    // catch up if the timer ran late, so each session gets `rate` signals a second
    const due = Math.floor((performance.now() - start) / tickMs);
    while (sent < due) {
      senders[i++ % senders.length].signalNoAck('f', String(wallMs()));
      sent++;
    }
  }, Math.max(1, Math.floor(tickMs)));
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.on('end', async () => {
    clearInterval(timer);
    await Promise.all(senders.map((s) => s.disconnect()));
    process.exit(0);
  });
}
main().catch((e) => { console.error(e); process.exit(1); });
