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
 *
 * Media part (--part media; both parts by default), nodes with a cluster secret (media links):
 * `streams` publishers (raw ws clients, one per session id, all on node 1) each send an audio
 * frame (92 bytes) every 20 ms and a video packet (1,012 bytes, a keyframe every 2 s) 30 times
 * a second; `media-subs` subscribers per stream on every node take both. Per row: frames
 * forwarded per second by each node (to its subscribers' sockets and links, as counted by
 * them), frames and bytes crossing each link per stream, and frames lost. Then the time to
 * media after SIGKILL of the publishers' node (3 nodes): from the kill to the first frame at
 * each subscriber of the other nodes, the publisher resuming on another node at once. Writes
 * the cluster-media block of docs/benchmarks.md.
 */
'use strict';
const { parseArgs } = require('node:util');
const { mintSessionId } = require('../dist/server/index.js');
const { mintToken } = require('../dist/mint.js');
const { BENCH_PROJECT: P, pct, wallMs, sleep, windowedPump, startServerProcess, startRedis, writeDocBlock, deliveryMeter } = require('./common.js');
const convene = require('./convene-client.js');
const baseline = require('./baseline-client.js');

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,2,3' }, seconds: { type: 'string', default: '5' },
    sessions: { type: 'string', default: '10' }, receivers: { type: 'string', default: '300' },
    window: { type: 'string', default: '8' }, 'no-write': { type: 'boolean', default: false },
    load: { type: 'string', default: '20000' },
    part: { type: 'string', default: 'signals,media' }, streams: { type: 'string', default: '10' },
    'media-subs': { type: 'string', default: '3' }, kills: { type: 'string', default: '3' },
  },
});

// ---- media part ----
const WebSocket = require('ws');
const { encodeMediaFrame } = require('../dist/wire/index.js');
const SECRET = 'bench-cluster-secret-0123456789';

/** A raw protocol client that can resume on another URL; counts binary frames and when they came. */
async function rawClient(url, sid, data) {
  const c = { sid, id: '', token: '', lastSeq: 0, nextId: 1, waiters: new Map(), frames: 0, firstAfter: undefined, mark: Infinity, ws: undefined, events: [] };
  c.open = async (u, hello) => {
    const ws = new WebSocket(u, { perMessageDeflate: false });
    c.ws = ws;
    c.ready = false; // no media before the handshake's answer
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const reply = new Promise((r) => { c.onHello = r; });
    ws.on('error', () => {});
    ws.on('message', (d, isBinary) => {
      if (isBinary) {
        c.frames++;
        if (c.firstAfter === undefined && performance.now() > c.mark) c.firstAfter = performance.now();
        return;
      }
      const f = JSON.parse(d.toString());
      if (f.type === 'connected' || f.type === 'resumed' || f.type === 'error') c.onHello(f);
      if (f.type === 'connected') { c.id = f.connection.id; c.token = f.resumeToken; }
      if (typeof f.seq === 'number' && f.seq > c.lastSeq) {
        c.lastSeq = f.seq;
        c.events.push(f.type);
        if (f.seq % 16 === 0) ws.send(JSON.stringify({ type: 'ack', seq: f.seq }));
      }
      if (f.type === 'result') c.waiters.get(f.id)?.(f);
    });
    ws.send(JSON.stringify(hello));
    const f = await reply;
    if (f.type === 'error') throw new Error(`${f.error?.message ?? JSON.stringify(f)}`);
    c.ready = true;
    return f;
  };
  await c.open(url, { type: 'connect', v: 1, apiKey: P.apiKey, sessionId: sid, token: await mintToken(P, sid, data), sdk: { name: 'bench', version: '0' } });
  c.request = (type, fields) => new Promise((r) => { const id = c.nextId++; c.waiters.set(id, r); c.ws.send(JSON.stringify({ type, id, ...fields })); });
  c.resume = (u) => c.open(u, { type: 'resume', v: 1, apiKey: P.apiKey, sessionId: sid, connectionId: c.id, resumeToken: c.token, lastSeq: c.lastSeq });
  c.close = () => { try { c.ws.terminate(); } catch { /* gone */ } };
  return c;
}

const AUDIO = new Uint8Array(80).fill(0x55);
const VIDEO = new Uint8Array(1000).fill(0x66);

/** Sends each publisher's audio (50/s) and video (30/s, a keyframe every 60) until stop(). */
function pumpMedia(pubs) {
  let i = 0;
  let v = 0;
  const start = performance.now();
  const timer = setInterval(() => {
    const t = performance.now() - start;
    while (i < Math.floor(t / 20)) {
      for (const p of pubs) if (p.c.ready && p.c.ws.readyState === 1) p.c.ws.send(encodeMediaFrame({ kind: 'audio', flags: 0, track: p.tracks.audio, sequence: i & 0xffff, timestamp: (i * 960) >>> 0, audioLevel: 50 }, AUDIO));
      i++;
    }
    while (v < Math.floor(t / 33.333)) {
      const flags = 0x01 | (v % 60 === 0 ? 0x02 : 0);
      for (const p of pubs) if (p.c.ready && p.c.ws.readyState === 1) p.c.ws.send(encodeMediaFrame({ kind: 'video', flags, track: p.tracks.video, sequence: v & 0xffff, timestamp: (v * 3000) >>> 0, audioLevel: 0 }, VIDEO));
      v++;
    }
  }, 5);
  return { stop: () => clearInterval(timer), sent: () => ({ audio: i, video: v }) };
}

async function mediaHealth(node) {
  const r = await fetch(`${node.url.replace(/^ws/, 'http')}/health`);
  return (await r.json()).cluster.media;
}

async function mediaSetup(nodes, subsPerNode) {
  const streams = Number(values.streams);
  const pubs = [];
  for (let s = 0; s < streams; s++) {
    const sid = mintSessionId(P).sessionId;
    const c = await rawClient(nodes[0].url, sid, 'pub');
    const r = await c.request('publish', { hasAudio: true, hasVideo: true });
    pubs.push({ c, sid, streamId: r.stream.id, tracks: r.tracks });
  }
  const subs = nodes.map(() => []);
  for (const p of pubs) {
    for (let n = 0; n < nodes.length; n++) {
      for (let k = 0; k < subsPerNode; k++) {
        const c = await rawClient(nodes[n].url, p.sid, `sub${n}`);
        await c.request('subscribe', { streamId: p.streamId });
        subs[n].push(c);
      }
    }
  }
  return { pubs, subs };
}

const linkBytes = (h) => h.links.reduce((a, l) => ({ frames: a.frames + l.framesOut, bytes: a.bytes + l.bytesOut }), { frames: 0, bytes: 0 });

async function runMedia(nodeCount, redisUrl) {
  const nodes = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startServerProcess(['--redis', redisUrl, '--cluster-secret', SECRET]));
  const subsPerNode = Number(values['media-subs']);
  const { pubs, subs } = await mediaSetup(nodes, subsPerNode);
  const pump = pumpMedia(pubs);
  await sleep(1500);
  const before = subs.map((list) => list.reduce((n, c) => n + c.frames, 0));
  const hBefore = linkBytes(await mediaHealth(nodes[0]));
  const sentBefore = pump.sent();
  const t0 = performance.now();
  await sleep(Number(values.seconds) * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const after = subs.map((list) => list.reduce((n, c) => n + c.frames, 0));
  const hAfter = linkBytes(await mediaHealth(nodes[0]));
  const sentAfter = pump.sent();
  pump.stop();
  const sent = (sentAfter.audio - sentBefore.audio + sentAfter.video - sentBefore.video) * pubs.length; // frames the publishers sent in the window
  const perNode = after.map((a, n) => (a - before[n]) / elapsed);
  // what node 1 (the publishers') forwards: to its subscribers, and once per other node on the links
  const linkFrames = (hAfter.frames - hBefore.frames) / elapsed;
  const links = nodeCount - 1;
  const row = {
    nodes: nodeCount, streams: pubs.length, subscribers: subs.flat().length,
    forwardedPerNode: perNode.map((f, n) => (n === 0 ? f + linkFrames : f)),
    linkFramesPerStream: links ? linkFrames / links / pubs.length : 0,
    linkBytesPerStream: links ? (hAfter.bytes - hBefore.bytes) / elapsed / links / pubs.length : 0,
    streamBytesPerSecond: (50 * 92 + 30 * 1012),
    lostPercent: Math.max(0, 100 * (1 - after.reduce((a, b, n) => a + b - before[n], 0) / (sent * subsPerNode * nodeCount))),
  };
  for (const c of [...pubs.map((p) => p.c), ...subs.flat()]) c.close();
  for (const n of nodes) n.child.stdin.end();
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  return row;
}

/** SIGKILL of the publishers' node (3 nodes): ms from the kill to the first frame at each subscriber elsewhere. */
async function runKill(redisUrl) {
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startServerProcess(['--redis', redisUrl, '--cluster-secret', SECRET]));
  const { pubs, subs } = await mediaSetup(nodes, 1);
  const pump = pumpMedia(pubs);
  await sleep(1500);
  const t0 = performance.now();
  for (const c of [...subs[1], ...subs[2]]) c.mark = t0;
  nodes[0].child.kill('SIGKILL');
  // each publisher resumes on node 2 as soon as its socket is gone (a client's reconnect, without its back-off)
  const resumed = await Promise.all(pubs.map(async (p) => {
    if (p.c.ws.readyState !== 3) await new Promise((r) => p.c.ws.once('close', r));
    await p.c.resume(nodes[1].url);
    return performance.now() - t0;
  }));
  const others = [...subs[1], ...subs[2]];
  const deadline = performance.now() + 15_000;
  while (others.some((c) => c.firstAfter === undefined) && performance.now() < deadline) await sleep(10);
  pump.stop();
  const toMedia = others.map((c) => (c.firstAfter === undefined ? Infinity : c.firstAfter - t0)).sort((a, b) => a - b);
  const restored = others.filter((c) => c.events.includes('streamInterrupted') && c.events.includes('streamRestored')).length;
  for (const c of [...pubs.map((p) => p.c), ...subs.flat()]) c.close();
  for (const n of nodes.slice(1)) n.child.stdin.end();
  await Promise.all(nodes.slice(1).map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  resumed.sort((a, b) => a - b);
  return { resumedP50: pct(resumed, 50), toMediaP50: pct(toMedia, 50), toMediaMax: toMedia[toMedia.length - 1], subscribers: others.length, restored };
}

function mediaMarkdown(rows, kills) {
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const k = kills.map((r) => r.toMediaP50);
  return [
    `Generated by \`npm run bench:cluster\` (media part) on ${new Date().toISOString().slice(0, 10)}: ${values.streams} streams, each published on node 1 by a raw ws client (audio 92 B every 20 ms, video 1,012 B at 30 packets/s: ${fmt(50 * 92 + 30 * 1012)} B/s a stream), ${values['media-subs']} subscribers per stream on every node; ${values.seconds} s per row after 1.5 s warm-up. Nodes, Redis and the clients share this machine's ${require('node:os').cpus().length} cores.`,
    '',
    '| nodes | subscribers | frames forwarded/s per node (node 1 includes its links) | frames/s per stream per link | inter-node bytes/s per stream per link | lost |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.nodes} | ${r.subscribers} | ${r.forwardedPerNode.map(fmt).join(' / ')} | ${r.nodes > 1 ? fmt(r.linkFramesPerStream) : '-'} | ${r.nodes > 1 ? `${fmt(r.linkBytesPerStream)} (stream: ${fmt(r.streamBytesPerSecond)})` : '-'} | ${r.lostPercent.toFixed(2)} % |`),
    '',
    `Time to media after SIGKILL of the publishers' node (3 nodes, ${values.streams} streams, their publishers resuming on node 2 at once, one subscriber per stream on nodes 2 and 3), ${kills.length} runs: median over subscribers ${k.map((x) => `${fmt(x)} ms`).join(', ')}; slowest subscriber ${kills.map((r) => `${fmt(r.toMediaMax)} ms`).join(', ')}; publishers resumed after ${kills.map((r) => `${fmt(r.resumedP50)} ms`).join(', ')} (median); subscribers told streamInterrupted then streamRestored: ${kills.map((r) => `${r.restored}/${r.subscribers}`).join(', ')}.`,
  ].join('\n');
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
  const meter = deliveryMeter(receivers);
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
  meter.counting = true;
  const t0 = performance.now();
  await sleep(Number(values.seconds) * 1000);
  meter.counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  stopped = true;
  await Promise.all(pumps);
  await Promise.all([...receivers, ...senders].map((c) => c.disconnect()));
  for (const n of nodes) n.child.stdin.end();
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  const lat = meter.lat.sort((a, b) => a - b);
  await sleep(300); // let the paced mode's last signals land before the next row
  return { nodes: nodeCount, mode: load > 0 ? `paced ${load}/s` : 'saturated', deliveredPerSecond: meter.received / elapsed, p50: pct(lat, 50), p99: pct(lat, 99) };
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
  const parts = values.part.split(',');
  const rows = [];
  const mediaRows = [];
  const kills = [];
  try {
    if (parts.includes('signals')) {
      for (const load of [0, Number(values.load)]) {
        for (const n of values.nodes.split(',').map(Number)) {
          const r = await run(n, redis.url, load);
          process.stderr.write(`${JSON.stringify(r)}\n`);
          rows.push(r);
        }
      }
    }
    if (parts.includes('media')) {
      for (const n of values.nodes.split(',').map(Number)) {
        const r = await runMedia(n, redis.url);
        process.stderr.write(`${JSON.stringify(r)}\n`);
        mediaRows.push(r);
      }
      for (let i = 0; i < Number(values.kills); i++) {
        const r = await runKill(redis.url);
        process.stderr.write(`${JSON.stringify(r)}\n`);
        kills.push(r);
      }
    }
  } finally {
    await redis.stop();
  }
  if (values['no-write']) return;
  if (rows.length) writeDocBlock('cluster', markdown(rows));
  if (mediaRows.length) writeDocBlock('cluster-media', mediaMarkdown(mediaRows, kills), 'npm run bench:cluster');
}
main().catch((e) => { console.error(e); process.exit(1); });
