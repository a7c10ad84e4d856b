#!/usr/bin/env node
/*
 * Regenerates the seed corpus of fuzz_frames (native/fuzz/corpus/) from a real session:
 * starts the Convene server in-process (dist/, after npm run build), drives two raw
 * protocol-v1 clients through a scenario that makes the server send every frame type, and
 * writes what each client received.
 *
 *   node native/fuzz/make-corpus.js [OUT_DIR]
 *
 * Files: transcript-*: mode byte 0x00 or 0x02 (see fuzz_frames.c), then the frames as
 * received, one per line. frame-*: mode byte 0x01 (canned connected frame first), then one
 * event renumbered to seq 1.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const root = path.resolve(__dirname, '..', '..');
const { startServer } = require(path.join(root, 'dist', 'server'));
const WebSocket = require(path.join(root, 'node_modules', 'ws'));
const OpenTok = require(path.join(root, 'node_modules', 'opentok'));

const API_KEY = '4700999';
const API_SECRET = 'corpus-secret-0123456789abcdef0123456789';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Client {
  constructor(url, sessionId, token) {
    Object.assign(this, { url, sessionId, token, frames: [], nextId: 1 });
  }
  async open() {
    this.ws = new WebSocket(this.url, ['convene.v1']);
    this.ws.on('message', (d, bin) => { if (!bin) this.frames.push(d.toString()); });
    this.closed = new Promise((r) => this.ws.on('close', r));
    await new Promise((res, rej) => { this.ws.once('open', res); this.ws.once('error', rej); });
  }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  async connect(extra = {}) {
    await this.open();
    this.send({ type: 'connect', v: 1, apiKey: API_KEY, sessionId: this.sessionId, token: this.token,
      sdk: { name: 'corpus', version: '0' }, ...extra });
    await this.until((f) => f.type === 'connected' || f.type === 'error');
    const hello = this.parsed().find((f) => f.type === 'connected');
    this.id = hello && hello.connection.id;
  }
  parsed() { return this.frames.map((t) => JSON.parse(t)); }
  async until(pred) {
    for (let i = 0; i < 200; i++) {
      if (this.parsed().some(pred)) return;
      await sleep(10);
    }
    throw new Error('timed out');
  }
  async request(type, fields = {}) {
    const id = this.nextId++;
    this.send({ type, id, ...fields });
    await this.until((f) => f.type === 'result' && f.id === id);
    return this.parsed().find((f) => f.type === 'result' && f.id === id);
  }
}

async function main() {
  const out = path.resolve(process.argv[2] || path.join(__dirname, 'corpus'));
  fs.mkdirSync(out, { recursive: true });
  const server = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0 });
  const ot = new OpenTok(API_KEY, API_SECRET, { apiUrl: server.apiUrl });
  const sessionId = await new Promise((res, rej) => ot.createSession({}, (e, s) => (e ? rej(e) : res(s.sessionId))));
  const tok = (role, data) => ot.generateToken(sessionId, { role, data });

  const mod = new Client(server.url, sessionId, tok('moderator', 'name=mod'));
  const pub = new Client(server.url, sessionId, tok('publisher', 'name=pub&x=\u00e9'));
  await mod.connect();
  await pub.connect();
  const published = await pub.request('publish', { name: 'cam', hasAudio: true, hasVideo: true, videoType: 'camera',
    videoDimensions: { width: 640, height: 480 } });
  const streamId = published.stream.id;
  await pub.request('signal', { signalType: 'chat', data: 'hello "all" \u00e9\n' });
  await pub.request('signal', { signalType: 'direct', data: 'just you', to: mod.id });
  await pub.request('signal', { signalType: 'x', to: 'no-such-connection' });
  await pub.request('updateStream', { streamId, hasAudio: false });
  await pub.request('updateStream', { streamId, hasVideo: false });
  await pub.request('updateStream', { streamId, videoDimensions: { width: 320, height: 240 } });
  await pub.request('updateStream', { streamId, videoType: 'screen' });
  await pub.request('updateStream', { streamId, name: 'renamed' });
  await pub.request('forceDisconnect', { connectionId: mod.id });
  pub.send('not json');
  pub.send({ type: 'noSuchType' });
  pub.send({ type: 'ack', seq: 99999 });
  pub.send({ type: 'ping' });
  await mod.request('forceMuteStream', { streamId });
  await mod.request('forceMuteAll', { excludedStreamIds: [] });
  await mod.request('disableForceMute');
  await new Promise((r) => ot.signal(sessionId, null, { type: 'rest', data: 'from the server' }, r));
  await mod.request('forceUnpublish', { streamId });
  const again = await pub.request('publish', { name: 'second', hasAudio: true, hasVideo: false });
  await pub.request('unpublish', { streamId: again.stream.id });
  await pub.request('publish', { name: 'third', hasAudio: true, hasVideo: true });
  const late = new Client(server.url, sessionId, tok('subscriber', ''));
  await late.connect(); // its connected frame lists connections and a stream
  await mod.request('forceDisconnect', { connectionId: pub.id });
  await pub.closed;
  await mod.until((f) => f.type === 'connectionDestroyed');
  await late.request('signal', { signalType: 'denied' }); // subscriber: result error 1550
  await mod.request('disconnect');
  await late.until((f) => f.type === 'connectionDestroyed' && f.connection.id === mod.id);

  const bad = new Client(server.url, sessionId, 'garbage');
  await bad.connect();
  await bad.closed;
  const rotated = new Client(server.url, sessionId, tok('publisher', ''));
  await rotated.connect();
  await Promise.all([server.close(), rotated.closed]);

  const write = (name, mode, lines) => fs.writeFileSync(path.join(out, name), Buffer.concat([Buffer.from([mode]), Buffer.from(lines.join('\n'))]));
  const transcripts = { moderator: mod, publisher: pub, late, bad, rotated };
  for (const [name, c] of Object.entries(transcripts)) {
    write(`transcript-${name}`, 0, c.frames);
    write(`transcript-${name}-publishing`, 2 | 4, c.frames);
  }
  // every distinct event type alone, renumbered seq 1, after the canned connected frame,
  // with the real ids replaced by those of the canned frame (so lookups hit)
  const canned = (text) => text.split(pub.id).join('c-a').split(mod.id).join('c-me').split(streamId).join('s-a');
  const seen = new Set();
  for (const c of Object.values(transcripts)) {
    for (const text of c.frames) {
      const f = JSON.parse(canned(text));
      const key = `${f.type}-${f.changedProperty || f.reason || (f.ok === false ? 'fail' : '')}`;
      if (seen.has(key) || f.type === 'connected') continue;
      seen.add(key);
      if (typeof f.seq === 'number') f.seq = 1;
      write(`frame-${key.replace(/[^A-Za-z0-9-]/g, '_')}`, 1, [JSON.stringify(f)]);
    }
  }
  process.stdout.write(`corpus: ${fs.readdirSync(out).length} files in ${out}\n`);
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
