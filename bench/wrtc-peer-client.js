#!/usr/bin/env node
/*
 * bench/wrtc-peer-client: the peer of the media side-by-side (issue 21): what a Node developer
 * would use instead of Convene's native core. A process of sessions of Convene's browser client
 * (convene/web: dist/web/convene.js, the bundle a page loads) running under Node on
 * @roamhq/wrtc (libwebrtc): the page's globals are provided (ws's WebSocket, wrtc's
 * RTCPeerConnection, MediaStream...), media goes through the server's WebRTC edge exactly as a
 * browser's does (rtcPublish / rtcSubscribe, docs/protocol.md section 16), published from
 * wrtc's nonstandard RTCAudioSource / RTCVideoSource tracks (OT.initPublisher's audioSource /
 * videoSource) and read through RTCAudioSink / RTCVideoSink on the subscriber's tracks.
 *
 *   node --expose-gc bench/wrtc-peer-client.js            audio: the commands of bench/media-client.js
 *   node --expose-gc bench/wrtc-peer-client.js --video    video: the commands of bench/media-video-client.js
 *
 * Same protocol as those clients (a JSON command a line on stdin, a JSON line back on stdout),
 * the same commands and the same reported fields, so that bench/media.js and
 * bench/media-video.js drive either in the same scenarios:
 *   connect   { url, sids[, epochMs] }  one session per entry of sids (a sid twice: a pair)
 *   publish   audio: { markerEvery, lead }; video: { width, height, fps, count }
 *   subscribe audio: {}; video: { format } (the sink gives I420 whatever is asked)
 *   prepare   { width, height } (video)   the pattern's frames now (not counted as the streams')
 *   unpublish {} · measure { seconds } · rss {} · quit {}
 *
 * Audio: what media-client.js publishes (a 400 Hz tone at 10 % of full scale, every
 * `markerEvery`-th 20 ms a 1 kHz burst at 60 %), as wrtc takes it: 10 ms chunks of 48 kHz mono
 * PCM given to RTCAudioSource.onData, which hands them to the Opus encoder at once (there is no
 * queue to keep ahead: `lead` does not apply and aheadP50 is 0). One timer for the process
 * (every 5 ms) gives each source the chunks due by the wall clock; a source more than 100 ms
 * behind drops the stale chunks (counted as skipped), as a live one would. The subscriber's
 * RTCAudioSink delivers 10 ms chunks (libwebrtc's playout pulls them from the jitter buffer):
 * peak, silence and marker onsets as in media-client.js; latency from the publisher's onData of
 * the marker to the sink's ondata (there is no native hand-over time: nativeP50 / 99 are null).
 * Concealment and loss come from the subscriber's peer connection (inbound-rtp).
 *
 * Video: the moving pattern of bench/video-pattern.js given to RTCVideoSource.onFrame (I420,
 * the cycle's buffers as they are: onFrame copies into libwebrtc's frame), the newest frame due
 * at each 5 ms tick; libwebrtc's VP8 encoder at whatever rate its congestion control sets.
 * A sink's frames carry no capture time: the subscriber tells which frame of the cycle it got
 * (video-pattern.js's matcher) and its latency is from the publisher's latest onFrame of that
 * frame (same process only; frames of one index are a second apart). Encoder and decoder
 * figures come from the peer connections' stats (outbound-rtp / inbound-rtp).
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const wrtc = require('@roamhq/wrtc');
const { mintToken } = require('../dist/mint.js');
const C = require('./common.js');
const { BENCH_PROJECT, pct, wallMs, settle, sleep, threadsCpu, countAudioFrame } = C;
const { frames: patternFrames, matcher } = require('./video-pattern.js');

const { RTCAudioSource, RTCAudioSink, RTCVideoSource, RTCVideoSink } = wrtc.nonstandard;
const VIDEO = process.argv.includes('--video');

/**
 * The page's RTCPeerConnection, keeping what the stats need: every peer connection this process
 * has open, and the one carrying each track (sent: addTransceiver; received: its track event).
 */
const peerConnections = new Set();
const pcByTrack = new WeakMap();
class PeerConnection extends wrtc.RTCPeerConnection {
  constructor(config) {
    super(config);
    peerConnections.add(this);
    this.addEventListener('track', (e) => pcByTrack.set(e.track, this));
  }

  addTransceiver(trackOrKind, init) {
    if (typeof trackOrKind !== 'string') pcByTrack.set(trackOrKind, this);
    return super.addTransceiver(trackOrKind, init);
  }

  close() {
    peerConnections.delete(this);
    super.close();
  }
}

/** The peer connection carrying `track` (sent or received), or undefined. */
const pcOf = (track) => pcByTrack.get(track);

/** The first stats entry of `type` of peer connection `pc` ({} when none, or when it is closed). */
async function rtpStats(pc, type) {
  if (!pc || !peerConnections.has(pc)) return {};
  let out = {};
  (await pc.getStats()).forEach((s) => { if (s.type === type && out.type === undefined) out = s; });
  return out;
}

/** The page's globals, then the browser bundle as a page loads it (an ES module: imported as a data: URL). */
async function loadWebClient() {
  Object.assign(globalThis, {
    WebSocket, RTCPeerConnection: PeerConnection, MediaStream: wrtc.MediaStream, MediaStreamTrack: wrtc.MediaStreamTrack,
    RTCRtpSender: wrtc.RTCRtpSender, RTCRtpReceiver: wrtc.RTCRtpReceiver,
  });
  const bundle = fs.readFileSync(path.join(__dirname, '..', 'dist', 'web', 'convene.js'));
  return (await import(`data:text/javascript;base64,${bundle.toString('base64')}`)).OT;
}

let OT;
let epochMs = 0;
const sessions = []; // { session, sid, remote: Stream[], onRemote, publishing }
const producers = []; // audio: { source, track, pc, publisher, session, pushed, markers, wasMarker, skipped }; video: { source, track, pc, publisher, session, n, capturedAt, skipped }
const subscribers = []; // { sub, session, track, pc, sink, producer, c }
let feedTimer;
let feedT0 = 0;
let lateMax = 0;
let captureErrors = 0;

function publishOnce(session, properties) {
  const publisher = OT.initPublisher(null, properties);
  return new Promise((resolve, reject) => session.publish(publisher, (e) => (e ? reject(new Error(`publish: ${e.message}`)) : resolve(publisher))));
}

function subscribeOnce(session, stream, properties) {
  return new Promise((resolve, reject) => {
    const sub = session.subscribe(stream, null, properties, (e) => (e ? reject(new Error(`subscribe: ${e.message}`)) : resolve(sub)));
  });
}

async function connect(cmd) {
  epochMs = cmd.epochMs ?? 0;
  let next = 0;
  async function worker() {
    while (next < cmd.sids.length) {
      const i = next++;
      const session = OT.initSession(BENCH_PROJECT.apiKey, cmd.sids[i], { serverUrl: cmd.url, connectionEventsSuppressed: true });
      const entry = { session, sid: cmd.sids[i], remote: [], onRemote: undefined, publishing: false };
      session.on('streamCreated', (e) => {
        if (e.stream.connection.connectionId === session.connection?.connectionId) return;
        entry.remote.push(e.stream);
        entry.onRemote?.();
      });
      session.on('streamDestroyed', (e) => { entry.remote = entry.remote.filter((x) => x.streamId !== e.stream.streamId); });
      await session.connect(await mintToken(BENCH_PROJECT, cmd.sids[i], `${VIDEO ? 'v' : 'm'}${i}`));
      sessions[i] = entry;
    }
  }
  await Promise.all(Array.from({ length: Math.min(VIDEO ? 8 : 16, cmd.sids.length) }, worker));
  return { sessions: sessions.length };
}

function startFeeding(feed) {
  if (feedTimer) return;
  let last = wallMs();
  feedTimer = setInterval(() => {
    const t = wallMs();
    lateMax = Math.max(lateMax, t - last - 5);
    last = t;
    feed();
  }, 5);
}

function stopFeeding() {
  clearInterval(feedTimer);
  feedTimer = undefined;
}

/** The stream `s` waits for: the first of its sid that is not its own. */
async function remoteOf(s) {
  if (s.remote.length === 0) await new Promise((r) => { s.onRemote = r; });
  s.onRemote = undefined;
  return s.remote[0];
}

async function stopPublishers() {
  stopFeeding();
  await Promise.all(producers.filter((p) => p.publisher).map(async (p) => {
    const publisher = p.publisher;
    p.publisher = undefined;
    await p.session.unpublish(publisher); // rtcClose, unpublish: the peer connection closes
    publisher.destroy(); // stops the source's track
  }));
  for (const s of sessions) s.publishing = false;
}

// ---- audio (the commands of bench/media-client.js) ----

const RATE = 48000;
const CHUNK = 480; // 10 ms, what RTCAudioSource.onData takes
const CHUNK_MS = 10;
const MAX_BEHIND = 10; // chunks (100 ms): past this a source drops what is stale

function toneChunk(freq, amplitude) {
  const f = new Int16Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) f[i] = Math.round(Math.sin((2 * Math.PI * freq * i) / RATE) * amplitude * 32767);
  return { samples: f, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK };
}
// whole periods per 10 ms chunk (400 Hz: 4, 1 kHz: 10): the same two chunks over and over, no click at the seams
const BACKGROUND = toneChunk(400, 0.1);
const MARKER = toneChunk(1000, 0.6);
let markerEvery = 25; // in 20 ms frames, as media-client.js counts them

function feedAudio() {
  const due = Math.floor((wallMs() - feedT0) / CHUNK_MS) + 1; // chunks whose 10 ms has begun
  for (const p of producers) {
    if (!p.publisher) continue;
    if (due - p.pushed > MAX_BEHIND) { p.skipped += due - 1 - p.pushed; p.pushed = due - 1; }
    while (p.pushed < due) {
      const marker = (p.pushed >> 1) % markerEvery === 0; // both chunks of a marker frame
      if (marker && !p.wasMarker) p.markers.push(wallMs()); // its first chunk given (the first of the two, unless that one was skipped)
      p.wasMarker = marker;
      try { p.source.onData(marker ? MARKER : BACKGROUND); } catch { captureErrors++; }
      p.pushed++;
    }
    if (p.markers.length > 64) p.markers.splice(0, 32);
  }
}

async function publishAudio(cmd) {
  markerEvery = cmd.markerEvery ?? 25;
  feedT0 = wallMs();
  await Promise.all(sessions.map(async (s) => {
    const source = new RTCAudioSource();
    const track = source.createTrack();
    const publisher = await publishOnce(s.session, { name: 'bench', audioSource: track, videoSource: false, publishVideo: false });
    s.publishing = true;
    producers.push({ source, track, pc: pcOf(track), publisher, session: s.session, pushed: Math.floor((wallMs() - feedT0) / CHUNK_MS), markers: [], wasMarker: false, skipped: 0 });
  }));
  startFeeding(feedAudio);
  return { publishers: producers.filter((p) => p.publisher).length };
}

const newAudioCounters = () => ({ frames: 0, silent: 0, onsets: 0, latJs: [] });

async function subscribeAudio() {
  await Promise.all(sessions.map(async (s) => {
    const stream = await remoteOf(s);
    const sub = await subscribeOnce(s.session, stream, { subscribeToVideo: false });
    const track = sub.mediaStream?.getAudioTracks()[0];
    if (!track) throw new Error('subscribe: no audio track');
    const sink = new RTCAudioSink(track);
    const entry = { sub, session: s.session, track, pc: pcOf(track), sink, producer: producers.find((p) => p.publisher?.stream?.streamId === stream.streamId), c: newAudioCounters(), wasMarker: false };
    sink.ondata = (d) => {
      const at = wallMs();
      const t0 = countAudioFrame(entry, d.samples, at);
      if (!Number.isNaN(t0)) entry.c.latJs.push(at - t0);
    };
    subscribers.push(entry);
  }));
  return { subscribers: subscribers.length };
}

/** Loss and concealment of every subscription, from its peer connection (inbound-rtp), in 10 ms frames. */
async function audioSubStats() {
  let concealed = 0;
  let lost = 0;
  for (const st of await Promise.all(subscribers.map((s) => rtpStats(s.pc, 'inbound-rtp')))) {
    concealed += Math.round(Number(st.concealedSamples ?? 0) / CHUNK);
    lost += Number(st.packetsLost ?? 0);
  }
  return { concealed, lost };
}

async function measureAudio({ seconds }) {
  const st0 = await audioSubStats(); // (the stats take a while with many streams: outside the window)
  for (const s of subscribers) s.c = newAudioCounters();
  for (const p of producers) p.skipped = 0;
  lateMax = 0;
  const cpu0 = process.cpuUsage();
  const th0 = threadsCpu();
  const elu0 = performance.eventLoopUtilization();
  const t0 = wallMs();
  await sleep(seconds * 1000);
  const wall = wallMs() - t0;
  const cpu = process.cpuUsage(cpu0);
  const th1 = threadsCpu();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const counted = subscribers.map((s) => { const c = s.c; s.c = newAudioCounters(); return c; }); // the window's, before the stats' wait
  const skipped = producers.reduce((n, p) => n + p.skipped, 0);
  const st1 = await audioSubStats();
  const latJs = [].concat(...counted.map((c) => c.latJs)).sort((a, b) => a - b);
  const frames = counted.map((c) => c.frames);
  const byName = {};
  for (const k of Object.keys(th1.byName)) byName[k] = ((th1.byName[k] - (th0.byName[k] ?? 0)) / wall) * 100;
  return {
    wallMs: wall,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    mainPct: ((th1.main - th0.main) / wall) * 100,
    othersPct: ((th1.others - th0.others) / wall) * 100,
    byName,
    elu,
    publishers: producers.filter((p) => p.publisher).length,
    subscribers: subscribers.length,
    framesPerSub: { expected: (wall / CHUNK_MS) | 0, min: frames.length ? Math.min(...frames) : 0, total: frames.reduce((a, b) => a + b, 0) },
    silent: counted.reduce((n, c) => n + c.silent, 0),
    onsets: counted.reduce((n, c) => n + c.onsets, 0),
    dropped: 0, // a sink has no queue to drop from
    concealed: st1.concealed - st0.concealed,
    lost: st1.lost - st0.lost,
    decodeErrors: 0, // not reported by libwebrtc
    captureErrors,
    skipped,
    lateMax,
    lat: {
      n: latJs.length,
      nativeP50: null, nativeP99: null,
      jsP50: pct(latJs, 50), jsP99: pct(latJs, 99), jsMax: latJs[latJs.length - 1] ?? NaN,
      aheadP50: 0,
    },
  };
}

// ---- video (the commands of bench/media-video-client.js) ----

let fps = 30;
let cycle = []; // the pattern's frames as onFrame takes them: { width, height, data }
let identify; // the pattern's matcher at the published size

function preparePattern(width, height) {
  cycle = patternFrames(width, height).map((data) => ({ width, height, data }));
  identify = matcher(width, height);
}

function feedVideo() {
  const due = Math.floor(((wallMs() - feedT0) * fps) / 1000); // 0-based index of the newest frame due
  for (const p of producers) {
    if (!p.publisher || p.n > due) continue;
    p.skipped += due - p.n;
    p.n = due;
    const i = p.n % cycle.length;
    p.capturedAt[i] = wallMs();
    try { p.source.onFrame(cycle[i]); } catch { captureErrors++; }
    p.n++;
  }
}

async function prepare(cmd) {
  preparePattern(cmd.width, cmd.height);
  return { frames: cycle.length };
}

async function publishVideo(cmd) {
  fps = cmd.fps;
  if (cycle[0]?.width !== cmd.width || cycle[0]?.height !== cmd.height) preparePattern(cmd.width, cmd.height);
  const count = cmd.count ?? sessions.length;
  feedT0 = wallMs();
  await Promise.all(sessions.slice(0, count).map(async (s) => {
    const source = new RTCVideoSource({ isScreencast: false });
    const track = source.createTrack();
    s.publishing = true;
    const publisher = await publishOnce(s.session, {
      name: 'vbench', videoSource: track, audioSource: false, publishAudio: false, resolution: `${cmd.width}x${cmd.height}`, frameRate: fps,
    });
    producers.push({ source, track, pc: pcOf(track), publisher, session: s.session, n: Math.floor(((wallMs() - feedT0) * fps) / 1000), capturedAt: new Float64Array(cycle.length), skipped: 0 });
  }));
  startFeeding(feedVideo);
  return { publishers: producers.filter((p) => p.publisher).length };
}

const newVideoCounters = () => ({ frames: 0, identified: 0, lat: [], sizes: {} });

async function subscribeVideo() {
  await Promise.all(sessions.filter((s) => !s.publishing).map(async (s) => {
    const stream = await remoteOf(s);
    const sub = await subscribeOnce(s.session, stream, { subscribeToAudio: false });
    const track = sub.mediaStream?.getVideoTracks()[0];
    if (!track) throw new Error('subscribe: no video track');
    const sink = new RTCVideoSink(track);
    const entry = { sub, session: s.session, track, pc: pcOf(track), sink, producer: producers.find((p) => p.publisher?.stream?.streamId === stream.streamId), c: newVideoCounters() };
    sink.onframe = ({ frame }) => {
      const at = wallMs();
      const c = entry.c;
      c.frames++;
      const size = `${frame.width}x${frame.height}`;
      c.sizes[size] = (c.sizes[size] ?? 0) + 1;
      if (!identify) return;
      const { index } = identify(frame.data, frame.width, frame.height);
      if (index < 0) return;
      c.identified++;
      const t0 = entry.producer?.capturedAt[index];
      if (t0) c.lat.push(at - t0);
    };
    subscribers.push(entry);
  }));
  return { subscribers: subscribers.length };
}

/** Encoder and decoder counters summed over the peer connections (outbound-rtp of the publishers, inbound-rtp of the subscribers). */
async function videoCounters() {
  const k = { encoded: 0, keyframes: 0, bytesSent: 0, rendered: 0, dropped: 0, lost: 0, sent: {} };
  const live = producers.filter((p) => p.publisher);
  for (const st of await Promise.all(live.map((p) => rtpStats(p.pc, 'outbound-rtp')))) {
    k.encoded += Number(st.framesEncoded ?? 0);
    k.keyframes += Number(st.keyFramesEncoded ?? 0);
    k.bytesSent += Number(st.bytesSent ?? 0);
    if (st.frameWidth) k.sent[`${st.frameWidth}x${st.frameHeight}`] = (k.sent[`${st.frameWidth}x${st.frameHeight}`] ?? 0) + 1;
  }
  for (const st of await Promise.all(subscribers.map((s) => rtpStats(s.pc, 'inbound-rtp')))) {
    k.rendered += Number(st.framesDecoded ?? 0);
    k.dropped += Number(st.framesDropped ?? 0);
    k.lost += Number(st.packetsLost ?? 0);
  }
  return k;
}

async function measureVideo({ seconds }) {
  const k0 = await videoCounters(); // (outside the window)
  const tk0 = performance.now();
  for (const s of subscribers) s.c = newVideoCounters();
  for (const p of producers) p.skipped = 0;
  const cpu0 = process.cpuUsage();
  const th0 = threadsCpu();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const th1 = threadsCpu();
  const counted = subscribers.map((s) => { const c = s.c; s.c = newVideoCounters(); return c; }); // the window's, before the stats' wait
  const skipped = producers.reduce((n, p) => n + p.skipped, 0);
  const k1 = await videoCounters();
  const statsSpan = performance.now() - tk0; // what the stats' counters span (the window and the second wait)
  const pubs = producers.filter((p) => p.publisher).length;
  const lat = [].concat(...counted.map((c) => c.lat)).sort((a, b) => a - b);
  const frames = counted.map((c) => c.frames);
  const received = {};
  for (const c of counted) for (const [size, n] of Object.entries(c.sizes)) received[size] = (received[size] ?? 0) + n;
  return {
    wallMs: wall,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    mainPct: ((th1.main - th0.main) / wall) * 100,
    othersPct: ((th1.others - th0.others) / wall) * 100,
    publishers: pubs,
    subscribers: subscribers.length,
    encodedFps: (k1.encoded - k0.encoded) / (statsSpan / 1000),
    keyframes: k1.keyframes - k0.keyframes,
    kbpsPerPub: pubs ? ((k1.bytesSent - k0.bytesSent) * 8) / statsSpan / pubs : 0, // bytes over ms: kbit/s
    receivedFps: frames.reduce((a, b) => a + b, 0) / (wall / 1000),
    minSubFps: frames.length ? Math.min(...frames) / (wall / 1000) : 0,
    rendered: k1.rendered - k0.rendered,
    dropped: k1.dropped - k0.dropped,
    decodeErrors: 0, // not reported by libwebrtc
    lost: k1.lost - k0.lost,
    skipped,
    captureErrors,
    identified: counted.reduce((n, c) => n + c.identified, 0),
    sentSizes: k1.sent, // what libwebrtc's encoders sent at the end (it may scale down under CPU load)
    receivedSizes: received,
    lat: { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] ?? NaN },
  };
}

// ---- both ----

async function unpublish() {
  await stopPublishers();
  await sleep(300);
  return {};
}

async function rss() {
  await settle(600);
  return { rss: process.memoryUsage.rss() };
}

/** Everything this process opened, in order: sinks, subscriptions, publishers (and their tracks), sessions. */
async function shutdown() {
  for (const s of subscribers) { s.sink.stop(); s.sink.ondata = null; s.sink.onframe = null; }
  await Promise.all(subscribers.map((s) => s.session.unsubscribe(s.sub).catch(() => undefined)));
  subscribers.length = 0;
  await stopPublishers().catch(() => undefined);
  for (const s of sessions) s?.session.disconnect();
  for (const pc of peerConnections) pc.close(); // none should be left
  await sleep(200);
}

const handlers = VIDEO
  ? { prepare, connect, publish: publishVideo, subscribe: subscribeVideo, unpublish, measure: measureVideo, rss }
  : { connect, publish: publishAudio, subscribe: subscribeAudio, unpublish, measure: measureAudio, rss };

const ready = loadWebClient().then((ot) => { OT = ot; }, (e) => { console.error('wrtc-peer-client:', e); process.exit(1); });
C.serveCommands(handlers, { ready, quit: shutdown });
