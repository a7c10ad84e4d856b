#!/usr/bin/env node
/*
 * bench/webrtc-edge: the server's CPU for one stream of 1000 packets/s through the WebRTC edge
 * (SRTP, RTP <-> media frames) beside the plain WebSocket path (docs/protocol.md sections 15, 16).
 * The server runs in its own process (bench/server-proc.js); its CPU (utime + stime from /proc)
 * is read over --seconds. The "browser" is a node-datachannel peer in this process.
 *
 *   ws -> ws      a bot's 1000 audio frames/s to a ws subscriber (the floor)
 *   ws -> rtc     the same to a WebRTC subscriber (rtcSubscribe: media frame -> RTP, SRTP)
 *   rtc -> ws     a browser's 1000 RTP packets/s (rtcPublish: SRTP, RTP -> media frame) to a ws subscriber
 *
 *   npm run build && node bench/webrtc-edge.js [--seconds 5]
 */
'use strict';
const { readFileSync } = require('node:fs');
const WebSocket = require('ws');
const ndc = require('node-datachannel');
const { BENCH_PROJECT, sleep, startServerProcess } = require('./common.js');
const { mintSessionId } = require('../dist/server/index.js');
const { mintToken } = require('../dist/mint.js');
const { encodeMediaFrame } = require('../dist/wire/index.js');
const { buildRtp } = require('../dist/server/webrtc/rtp.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const SECONDS = Number(arg('seconds', '5'));
const RATE = 1000;
const TICKS = Number(require('node:child_process').execSync('getconf CLK_TCK').toString().trim()) || 100;
const cpuMsOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
};

async function client(url, sid, data) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  const waiters = new Map();
  let lastSeq = 0;
  let nextId = 1;
  let onConnected;
  const connected = new Promise((r) => { onConnected = r; });
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    const f = JSON.parse(d.toString());
    if (f.type === 'connected') onConnected(f);
    if (typeof f.seq === 'number') { lastSeq = f.seq; if (f.seq % 16 === 0) ws.send(JSON.stringify({ type: 'ack', seq: f.seq })); }
    if (f.type === 'result') waiters.get(f.id)?.(f);
  });
  ws.send(JSON.stringify({ type: 'connect', v: 1, apiKey: BENCH_PROJECT.apiKey, sessionId: sid, token: await mintToken(BENCH_PROJECT, sid, data), sdk: { name: 'bench', version: '0' } }));
  await connected;
  const request = (type, fields) => new Promise((r) => { const id = nextId++; waiters.set(id, r); ws.send(JSON.stringify({ type, id, ack: lastSeq, ...fields })); });
  return { ws, request };
}

async function browser(dir) {
  const pc = new ndc.PeerConnection('bench', { iceServers: [] });
  let state = 'new';
  pc.onStateChange((s) => { state = s; });
  const a = new ndc.Audio('0', dir);
  a.addOpusCodec(111);
  if (dir === 'SendOnly') a.addSSRC(4242, 'bench', 's', 'a');
  const track = pc.addTrack(a);
  track.onClosed(() => {});
  const got = { n: 0 };
  track.onMessage((m) => { if (m[1] !== 200 && m[1] !== 201) got.n++; });
  pc.setLocalDescription();
  while (pc.gatheringState() !== 'complete') await sleep(5);
  return {
    offer: pc.localDescription().sdp, got, track,
    async answer(sdp) { pc.setRemoteDescription(sdp, 'answer'); while (state !== 'connected' || !track.isOpen()) await sleep(10); },
    close() { track.close(); pc.close(); },
  };
}

const payload = new Uint8Array(80).fill(0x55);

/** Sends `send(i)` RATE times a second for `seconds`; returns the server's CPU ms over it. */
async function run(pid, send) {
  let i = 0;
  const t0 = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) * RATE) / 1000);
    while (i < due) send(i++);
  }, 5);
  await sleep(500);
  const cpu0 = cpuMsOf(pid);
  const i0 = i;
  await sleep(SECONDS * 1000);
  const cpu = cpuMsOf(pid) - cpu0;
  const n = i - i0;
  clearInterval(timer);
  return { cpuMs: cpu, packets: n };
}

async function main() {
  const { child, url } = await startServerProcess();
  const pid = child.pid;
  const rows = [];
  try {
    const sid = mintSessionId(BENCH_PROJECT).sessionId;
    const bot = await client(url, sid, 'bot');
    const pub = await bot.request('publish', { hasAudio: true, hasVideo: false });
    const track = pub.tracks.audio;
    const frame = (i) => encodeMediaFrame({ kind: 'audio', flags: 0, track, sequence: i & 0xffff, timestamp: (i * 960) >>> 0, audioLevel: 50 }, payload);

    // ws -> ws
    const sub = await client(url, sid, 'sub');
    await sub.request('subscribe', { streamId: pub.stream.id, audio: true, video: false });
    const wsGot = { n: 0 };
    sub.ws.on('message', (d, bin) => { if (bin) wsGot.n++; });
    let r = await run(pid, (i) => bot.ws.send(frame(i)));
    rows.push({ path: 'ws -> ws', ...r, received: wsGot.n });
    await sub.request('unsubscribe', { streamId: pub.stream.id });

    // ws -> rtc
    const b = await browser('RecvOnly');
    const rs = await sub.request('rtcSubscribe', { streamId: pub.stream.id, sdp: b.offer, video: false });
    await b.answer(rs.sdp);
    await sleep(300);
    r = await run(pid, (i) => bot.ws.send(frame(i)));
    rows.push({ path: 'ws -> rtc (rtcSubscribe)', ...r, received: b.got.n });
    await sub.request('rtcClose', { streamId: pub.stream.id });
    b.close();

    // rtc -> ws
    const owner = await client(url, sid, 'owner');
    const p2 = await owner.request('publish', { hasAudio: true, hasVideo: false });
    const bp = await browser('SendOnly');
    const rp = await owner.request('rtcPublish', { streamId: p2.stream.id, sdp: bp.offer });
    await bp.answer(rp.sdp);
    await sub.request('subscribe', { streamId: p2.stream.id, audio: true, video: false });
    const got2 = { n: 0 };
    sub.ws.on('message', (d, bin) => { if (bin) got2.n++; });
    await sleep(300);
    r = await run(pid, (i) => bp.track.sendMessageBinary(Buffer.from(buildRtp({ marker: false, payloadType: 111, sequence: i & 0xffff, timestamp: (i * 960) >>> 0, ssrc: 4242, payload }))));
    rows.push({ path: 'rtc -> ws (rtcPublish)', ...r, received: got2.n });
    bp.close();
  } finally {
    child.stdin.end();
  }
  process.stdout.write(`server CPU per stream of ${RATE} packets/s (80-byte Opus payloads), ${SECONDS} s each:\n`);
  for (const x of rows) {
    process.stdout.write(`  ${x.path.padEnd(26)} ${(x.cpuMs / SECONDS / 10).toFixed(1).padStart(5)} % of a core  ${((x.cpuMs * 1000) / x.packets).toFixed(1).padStart(6)} us/packet  (${x.packets} sent, ${x.received} received)\n`);
  }
  setTimeout(() => process.exit(0), 200);
}
main().catch((e) => { console.error(e); process.exit(1); });
