#!/usr/bin/env node
/*
 * bench/connect-floor: what one connection costs a bare `ws` server on this machine, the floor
 * under Convene's connect CPU (issue 16, "10,000 connected in under 3 s"). A `ws` server (no
 * compression, like Convene's) in a process of its own answers each client's first message
 * with one ~300-byte text message, as Convene answers `connect` with `connected`; N `ws`
 * clients (500 at a time) in this process open, send one ~500-byte message (a connect frame
 * with a token), wait for the answer. Prints wall time and the CPU per connection of each
 * process. TCP keepalive is set on the server's sockets with --keepalive, as Convene does.
 *
 *   node bench/connect-floor.js [--sessions 10000] [--keepalive]
 */
'use strict';
const { spawn } = require('node:child_process');
const { parseArgs } = require('node:util');
const WebSocket = require('ws');

const { values } = parseArgs({ options: { sessions: { type: 'string', default: '10000' }, keepalive: { type: 'boolean', default: false }, server: { type: 'boolean', default: false } } });

if (values.server) {
  const http = require('node:http');
  const srv = http.createServer();
  if (values.keepalive) srv.on('connection', (s) => s.setKeepAlive(true, 10_000));
  const wss = new WebSocket.WebSocketServer({ server: srv, perMessageDeflate: false });
  const answer = JSON.stringify({ type: 'connected', connection: { id: 'x'.repeat(36), data: '', creationTime: Date.now() }, padding: 'y'.repeat(180) });
  wss.on('connection', (ws) => ws.on('message', () => ws.send(answer)));
  srv.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: srv.address().port })}\n`));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
  return;
}

const cpuMs = (pid) => {
  const f = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

(async () => {
  const n = Number(values.sessions);
  const child = spawn('/bin/sh', ['-c', `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'sh', process.execPath, __filename, '--server', ...(values.keepalive ? ['--keepalive'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const { port } = await new Promise((r) => child.stdout.once('data', (d) => r(JSON.parse(String(d)))));
  const frame = JSON.stringify({ type: 'connect', id: 1, apiKey: '12345678', sessionId: `2_${'s'.repeat(120)}`, token: `T1==${'t'.repeat(300)}` });
  const sockets = [];
  const one = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    ws.once('open', () => ws.send(frame));
    ws.once('message', () => { sockets.push(ws); resolve(); });
    ws.once('error', reject);
  });
  const s0 = cpuMs(child.pid);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 500 }, async () => { while (next < n) { next++; await one(); } }));
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const s = cpuMs(child.pid) - s0;
  console.log(JSON.stringify({ sessions: n, keepalive: values.keepalive, connectMs: Math.round(wall), clientCpuMsPerSession: (c.user + c.system) / 1000 / n, serverCpuMsPerSession: s / n }));
  for (const ws of sockets) ws.terminate();
  child.stdin.end();
})();
