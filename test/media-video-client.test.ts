/**
 * Video from Node to Node through the real server and the real native core (issue 18): a
 * VideoSource publishes a known pattern (four colour quadrants and a frame counter) at
 * 320x240 / 15 fps; a Subscriber receives it in the format it asked for. Also: its iterators'
 * ends, bounded buffers (drops counted), publishVideo / subscribeToVideo, one kind only, and
 * memory over subscribe / unsubscribe cycles.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  AudioSource, initSession, OTError, VideoSource, videoFrameSize, type Publisher, type ReceivedAudioFrame, type ReceivedVideoFrame,
  type Session, type Stream, type VideoFormat,
} from '../lib/index';
import { loadNative } from '../lib/client/native';
import { VideoFrameSinks } from '../lib/client/video-frames';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/session-id';
import { pushTone } from './helpers/audio';
import { DIST, ensureDist } from './helpers/dist';
import { until } from './helpers/events';
import { API_KEY, API_SECRET } from './helpers/server';
import { startServerProcess } from './helpers/server-proc';
import { useFixtureSessions } from './helpers/sessions';
import { QUADRANTS, colourDistance, counterOf, pattern, pushPattern, quadrantColours } from './helpers/video';

const fixture = useFixtureSessions();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const W = 320;
const H = 240;
const FPS = 15;
/** colour tolerance per channel (VP8 at about 0.08 bit per pixel, two colour conversions) */
const TOLERANCE = 40;

interface Pair { a: Session; b: Session; video: VideoSource; audio: AudioSource | undefined; pub: Publisher; stream: Stream; place: Place }

/** Where pair() connects: the test's in-process server, or another one. */
interface Place { session(): Session; token(data: string): Promise<string> }

const inProcess = async (): Promise<Place> => {
  const sid = await fixture.fx.newSession();
  return { session: () => fixture.session(sid), token: async (data) => fixture.fx.token(sid, { data }) };
};

/** a publishes a VideoSource (and an AudioSource with `withAudio`); b sees its stream. */
async function pair(opts: { withAudio?: boolean } = {}, where?: Place): Promise<Pair> {
  const place = where ?? await inProcess();
  const a = place.session();
  const b = place.session();
  await a.connect(await place.token('a'));
  await b.connect(await place.token('b'));
  const seen = new Promise<Stream>((r) => b.once('streamCreated', (e) => r(e.stream)));
  const video = new VideoSource({ width: W, height: H, fps: FPS });
  const audio = opts.withAudio ? new AudioSource({ sampleRate: 48000, channels: 1 }) : undefined;
  const pub = await a.publish({ name: 'cam', videoSource: video, audioSource: audio, publishAudio: opts.withAudio === true });
  return { a, b, video, audio, pub, stream: await seen, place };
}

/** Reads frames from an iterator into `into` until it ends (or `stop()` after a frame). */
async function collect(it: AsyncIterable<ReceivedVideoFrame>, into: ReceivedVideoFrame[], stop: () => boolean = () => false): Promise<void> {
  for await (const f of it) {
    into.push(f);
    if (stop()) break;
  }
}

/** Publishes the pattern until stopped; returns the stopper and the publishing promise. */
function publishing(video: VideoSource, format: VideoFormat = 'I420'): { stop(): Promise<number> } {
  let stop = false;
  const p = pushPattern(video, () => stop, format);
  return { stop: async () => { stop = true; return p; } };
}

function expectQuadrants(f: ReceivedVideoFrame): void {
  const got = quadrantColours(f);
  for (let q = 0; q < 4; q++) {
    const d = colourDistance(got[q] as [number, number, number], QUADRANTS[q] as [number, number, number]);
    if (d > TOLERANCE) throw new Error(`quadrant ${q} of a ${f.format} frame is ${JSON.stringify(got[q])}, expected ${JSON.stringify(QUADRANTS[q])} (±${TOLERANCE})`);
  }
}

describe('video frames, bounded queues and checks (no server)', () => {
  const frame = (i: number): ReceivedVideoFrame => ({ format: 'I420', width: 2, height: 2, data: new Uint8Array(6), timestampUs: i });

  it('an iterator keeps the newest maxQueuedFrames, dropping the oldest and counting them; it ends after what it holds', async () => {
    const sinks = new VideoFrameSinks();
    const it = sinks.open(3);
    for (let i = 0; i < 10; i++) sinks.push(frame(i));
    expect(it.pending).toBe(3);
    expect(it.dropped).toBe(7);
    sinks.end();
    const got: number[] = [];
    for await (const f of it) got.push(f.timestampUs);
    expect(got).toEqual([7, 8, 9]);
    expect(sinks.dropped).toBe(7);
    expect(await sinks.open().next()).toEqual({ value: undefined, done: true });
  });

  it('videoFrameSize: I420 / NV12 with rounded-up chroma, 4 and 3 bytes per pixel', () => {
    expect(videoFrameSize('I420', 320, 240)).toBe(320 * 240 * 1.5);
    expect(videoFrameSize('NV12', 3, 3)).toBe(9 + 2 * 4);
    expect(videoFrameSize('RGBA', 3, 3)).toBe(36);
    expect(videoFrameSize('RGB24', 3, 3)).toBe(27);
  });

  it('the test pattern reads back (counter and colours) in every format', () => {
    for (const format of ['I420', 'NV12', 'RGBA', 'BGRA', 'ARGB', 'ABGR', 'RGB24', 'BGR24'] as const) {
      const f = pattern(1234, W, H, format) as ReceivedVideoFrame;
      expect(counterOf(f)).toBe(1234);
      expectQuadrants(f);
    }
  });

  it('VideoSource refuses bad options and bad frames with coded errors; an unpublished source refuses frames (1010)', () => {
    expect(() => new VideoSource({ width: 8, height: 240 })).toThrow(/width/);
    expect(() => new VideoSource({ width: 320, height: 240.5 })).toThrow(/height/);
    expect(() => new VideoSource({ width: 320, height: 240, fps: 0 })).toThrow(/fps/);
    const s = new VideoSource({ width: W, height: H });
    expect(s.fps).toBe(30);
    const bad = (f: unknown): unknown => { try { s.captureFrame(f as never); } catch (e) { return e; } return undefined; };
    expect(bad({ format: 'YUY2', width: W, height: H, data: new Uint8Array(W * H * 2) })).toMatchObject({ code: 1011, message: expect.stringMatching(/format/) });
    expect(bad({ format: 'I420', width: W, height: H, data: new Uint8Array(10) })).toMatchObject({ code: 1011, message: expect.stringMatching(/115200/) });
    expect(bad({ format: 'I420', width: W, height: H, data: new Int16Array(57600) })).toMatchObject({ code: 1011, message: expect.stringMatching(/Uint8Array/) });
    expect(bad({ ...pattern(1, W, H), timestampUs: -1 })).toMatchObject({ code: 1011 });
    expect(bad(pattern(1, W, H))).toMatchObject({ code: 1010, name: 'OT_NOT_CONNECTED' });
    expect(bad(null)).toBeInstanceOf(OTError);
    expect(s.stats).toEqual({ framesCaptured: 0, framesDropped: 0, framesEncoded: 0, keyframesSent: 0, keyframeRequests: 0, bitrateKbps: 0, fps: 0 });
  });
});

describe('the native video entry points check their arguments (no server)', () => {
  it('writeVideo, publish and subscribe throw a TypeError naming the argument', () => {
    const native = loadNative();
    const s = new native.NativeSession(API_KEY, '1_x', { serverUrl: 'ws://127.0.0.1:9' });
    try {
      const f = pattern(1, W, H);
      expect(() => s.writeVideo(1, 'YUY2' as VideoFormat, W, H, f.data, -1)).toThrow(/writeVideo.*format/);
      expect(() => s.writeVideo(1, 'I420', W, H, new Uint8Array(10), -1)).toThrow(/writeVideo.*10 bytes.*115200/);
      expect(() => s.writeVideo(1, 'I420', W, H, new Int16Array(10) as unknown as Uint8Array, -1)).toThrow(/data.*Uint8Array/);
      expect(() => s.writeVideo(1, 'I420', 0, H, f.data, -1)).toThrow(/width/);
      expect(() => s.writeVideo(1, 'I420', W, H, f.data, Number.NaN)).toThrow(/timestampUs/);
      expect(s.writeVideo(1, 'I420', W, H, f.data, -1)).toBe(1113); // OTC_SESSION_PUBLISHER_NOT_FOUND
      expect(() => s.publish(1, 'cam', true, true, 'camera', 0, 8, 8, 15)).toThrow(/video source/);
      expect(() => s.publish(1, 'cam', true, true, 'camera', 0, 320, 240, 61)).toThrow(/videoFps/);
      expect(() => s.subscribe(1, 'x', true, 48000, 1, 10, 2000, true, 'YUY2' as VideoFormat, 4)).toThrow(/videoFormat/);
      expect(() => s.subscribe(1, 'x', true, 48000, 1, 10, 2000, true, 'I420', 0)).toThrow(/videoBufferFrames/);
      expect(s.setSubscribeVideo(1, true)).toBe(1112); // OTC_SESSION_SUBSCRIBER_NOT_FOUND
    } finally {
      s.close();
    }
  });
});

describe('video between two Node sessions (real server, native core)', () => {
  it('a 320x240 / 15 fps pattern arrives video only, in I420: sizes, colours, counters and capture times; at least 90 % of the frames after the first', async () => {
    const { b, video, pub, stream } = await pair();
    expect(stream.hasVideo).toBe(true);
    expect(stream.videoDimensions).toEqual({ width: W, height: H });
    expect(pub.stream?.videoDimensions).toEqual({ width: W, height: H });
    const sub = await b.subscribe(stream, { audio: false, video: { format: 'I420' } });
    expect(sub.videoFormat).toBe('I420');
    expect(sub.subscribingToAudio).toBe(false);
    const frames: ReceivedVideoFrame[] = [];
    const reading = collect(sub.videoFrames({ maxQueuedFrames: 100 }), frames);
    const pushing = publishing(video);
    await until('45 frames', () => frames.length >= 45, 15_000);
    const written = await pushing.stop();
    await sleep(500);
    b.unsubscribe(sub);
    await reading;
    const counters = frames.map(counterOf);
    for (const f of frames) expect(f).toMatchObject({ format: 'I420', width: W, height: H });
    for (const f of frames) expect(f.data.length).toBe(W * H * 1.5);
    // counters increase; capture times are the sender's (n * 1/15 s, 90 kHz on the wire)
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBeGreaterThan(counters[i - 1] as number);
    for (let i = 0; i < frames.length; i++) {
      expect(Math.abs((frames[i] as ReceivedVideoFrame).timestampUs - ((counters[i] as number) * 1e6) / FPS)).toBeLessThan(100);
    }
    const first = counters[0] as number;
    const last = counters[counters.length - 1] as number;
    expect(last).toBeLessThanOrEqual(written);
    const got = new Set(counters).size;
    const sent = last - first + 1;
    process.stdout.write(`[media-video-client] ${got} of ${sent} frames from the first received (counter ${first}) arrived; ${written} written; source ${JSON.stringify(video.stats)}\n`);
    expect(got / sent).toBeGreaterThanOrEqual(0.9);
    // the colours, frame by frame
    let good = 0;
    for (const f of frames) { try { expectQuadrants(f); good++; } catch { /* counted */ } }
    expect(good / frames.length).toBeGreaterThanOrEqual(0.9);
    expectQuadrants(frames[frames.length - 1] as ReceivedVideoFrame);
    const st = sub.stats;
    expect(st.video.framesReceived).toBe(frames.length);
    expect(st.video.framesDropped).toBe(0);
    expect(st.media.videoFramesRendered).toBeGreaterThanOrEqual(frames.length);
    expect(st.media.videoPacketsReceived).toBeGreaterThan(0);
    expect(st.media.framesReceived).toBe(0); // no audio
    const vs = video.stats;
    expect(vs.framesCaptured).toBe(written);
    expect(vs.framesEncoded).toBeGreaterThan(0);
    expect(vs.keyframesSent).toBeGreaterThanOrEqual(1);
  }, 30_000);

  for (const [input, output] of [['RGBA', 'ARGB'], ['RGB24', 'RGB24'], ['NV12', 'BGRA'], ['BGR24', 'RGBA']] as const) {
    it(`${input} frames in, ${output} frames out: the quadrant colours survive both conversions`, async () => {
      const { b, video, stream } = await pair();
      const sub = await b.subscribe(stream, { audio: false, video: { format: output } });
      const frames: ReceivedVideoFrame[] = [];
      const reading = collect(sub.videoFrames({ maxQueuedFrames: 100 }), frames);
      const pushing = publishing(video, input);
      await until('10 frames', () => frames.length >= 10, 15_000);
      await pushing.stop();
      b.unsubscribe(sub);
      await reading;
      const bytes = output === 'RGB24' ? 3 : 4;
      for (const f of frames) expect(f).toMatchObject({ format: output, width: W, height: H });
      for (const f of frames) expect(f.data.length).toBe(W * H * bytes);
      const last = frames[frames.length - 1] as ReceivedVideoFrame;
      expectQuadrants(last);
      if (bytes === 4) expect(last.data[output === 'ARGB' ? 0 : 3]).toBe(255); // alpha
      expect(counterOf(last)).toBeGreaterThan(counterOf(frames[0] as ReceivedVideoFrame));
    }, 30_000);
  }

  it('publishVideo(false) stops the frames (videoDisabled, publishVideo), true brings them back (videoEnabled); subscribeToVideo likewise', async () => {
    const { b, video, pub, stream } = await pair();
    const sub = await b.subscribe(stream, { audio: false });
    const changes: string[] = [];
    sub.on('videoDisabled', (e) => changes.push(`disabled:${e.reason}`));
    sub.on('videoEnabled', (e) => changes.push(`enabled:${e.reason}`));
    const frames: ReceivedVideoFrame[] = [];
    const reading = collect(sub.videoFrames({ maxQueuedFrames: 1000 }), frames);
    const pushing = publishing(video);
    await until('frames', () => frames.length > 5, 15_000);
    pub.publishVideo(false);
    await until('videoDisabled', () => changes.includes('disabled:publishVideo'), 5000);
    expect(stream.hasVideo).toBe(false);
    await sleep(400); // what was in flight
    const offAt = frames.length;
    await sleep(800);
    expect(frames.length).toBe(offAt);
    pub.publishVideo(true);
    await until('videoEnabled', () => changes.includes('enabled:publishVideo'), 5000);
    await until('frames again', () => frames.length > offAt + 5, 10_000);
    expectQuadrants(frames[frames.length - 1] as ReceivedVideoFrame);
    // the subscriber's side
    sub.subscribeToVideo(false);
    expect(sub.subscribingToVideo).toBe(false);
    await until('videoDisabled (subscribeToVideo)', () => changes.includes('disabled:subscribeToVideo'), 5000);
    await sleep(400);
    const subOffAt = frames.length;
    await sleep(800);
    expect(frames.length).toBe(subOffAt);
    sub.subscribeToVideo(true);
    await until('frames once more', () => frames.length > subOffAt + 5, 10_000);
    expect(changes).toContain('enabled:subscribeToVideo');
    await pushing.stop();
    b.unsubscribe(sub);
    await reading;
  }, 40_000);

  it('a resize mid-stream: frames of the new size (videoDimensionsChanged), the stream\'s videoDimensions follow', async () => {
    const { b, video, stream } = await pair();
    const sub = await b.subscribe(stream, { audio: false });
    const dims: string[] = [];
    sub.on('videoDimensionsChanged', (e) => dims.push(`${e.oldValue.width}x${e.oldValue.height}->${e.newValue.width}x${e.newValue.height}`));
    const changed = new Promise<unknown>((r) => b.on('streamPropertyChanged', (e) => { if (e.changedProperty === 'videoDimensions') r(e.newValue); }));
    const frames: ReceivedVideoFrame[] = [];
    const reading = collect(sub.videoFrames({ maxQueuedFrames: 1000 }), frames);
    const pushing = publishing(video); // keeps capturing 320x240 frames: the core scales them
    await until('frames', () => frames.length > 5, 15_000);
    expect(sub.videoDimensions).toEqual({ width: W, height: H });
    video.resize(160, 120);
    expect(video.width).toBe(160);
    expect(await changed).toEqual({ width: 160, height: 120 });
    expect(stream.videoDimensions).toEqual({ width: 160, height: 120 });
    await until('small frames', () => frames.filter((f) => f.width === 160).length > 5, 10_000);
    expect(dims).toEqual(['320x240->160x120']);
    const small = frames.filter((f) => f.width === 160);
    for (const f of small) expect(f.data.length).toBe(160 * 120 * 1.5);
    // the pattern scaled down: the counter band is 8 rows now, the quadrants still read
    const last = small[small.length - 1] as ReceivedVideoFrame;
    const got = quadrantColours(last);
    for (let q = 0; q < 4; q++) expect(colourDistance(got[q] as [number, number, number], QUADRANTS[q] as [number, number, number])).toBeLessThanOrEqual(TOLERANCE);
    expect(() => video.resize(8, 120)).toThrow(/width/);
    await pushing.stop();
    b.unsubscribe(sub);
    await reading;
  }, 30_000);

  it('one kind only: { audio: false, video } gets no audio, { audio, video: false } no video', async () => {
    const { b, video, audio, stream, place } = await pair({ withAudio: true });
    // in two sessions: the server keeps one subscription per connection and stream
    const c = place.session();
    const seen = new Promise<Stream>((r) => c.once('streamCreated', (e) => r(e.stream)));
    await c.connect(await place.token('c'));
    const videoOnly = await b.subscribe(stream, { audio: false, video: { format: 'I420' } });
    const audioOnly = await c.subscribe(await seen, { audio: { sampleRate: 16000 }, video: false });
    expect(audioOnly.subscribingToVideo).toBe(false);
    const vf: ReceivedVideoFrame[] = [];
    const af: ReceivedAudioFrame[] = [];
    const none: ReceivedVideoFrame[] = [];
    const r1 = collect(videoOnly.videoFrames(), vf);
    const r2 = (async () => { for await (const f of audioOnly.audioFrames()) af.push(f); })();
    const r3 = collect(audioOnly.videoFrames(), none);
    const noAudio = videoOnly.audioFrames();
    let stopTone = false;
    const tone = pushTone(audio as AudioSource, 440, 60_000, () => stopTone).catch(() => 0);
    const pushing = publishing(video);
    await until('video and audio', () => vf.length > 10 && af.length > 50, 15_000).catch((e: Error) => { throw new Error(`${e.message}: ${vf.length} video frames, ${af.length} audio frames`); });
    expect(none.length).toBe(0);
    expect(noAudio.pending).toBe(0);
    expect(videoOnly.stats.media.framesReceived).toBe(0);
    expect(audioOnly.stats.media.videoPacketsReceived).toBe(0);
    await pushing.stop();
    stopTone = true;
    audio?.clearQueue();
    await tone;
    b.unsubscribe(videoOnly);
    c.unsubscribe(audioOnly);
    await Promise.all([r1, r2, r3]);
  }, 30_000);

  it('the iterator ends when the stream is unpublished, on unsubscribe, and when the session disconnects', async () => {
    // unpublished
    const p1 = await pair();
    const s1 = await p1.b.subscribe(p1.stream, { audio: false });
    const destroyed = new Promise<string>((r) => s1.once('destroyed', (e) => r(e.reason)));
    const f1: ReceivedVideoFrame[] = [];
    const read1 = collect(s1.videoFrames(), f1);
    const push1 = publishing(p1.video);
    await until('frames', () => f1.length > 3, 15_000);
    p1.a.unpublish(p1.pub);
    await read1;
    expect(await destroyed).toBe('clientDisconnected');
    expect(p1.video.isPublished).toBe(false);
    await push1.stop();
    // unsubscribed: and a new iterator of a destroyed subscriber is done at once
    const p2 = await pair();
    const s2 = await p2.b.subscribe(p2.stream, { audio: false });
    const f2: ReceivedVideoFrame[] = [];
    const read2 = collect(s2.videoFrames(), f2);
    const push2 = publishing(p2.video);
    await until('frames', () => f2.length > 3, 15_000);
    p2.b.unsubscribe(s2);
    await read2;
    expect(await s2.videoFrames().next()).toEqual({ value: undefined, done: true });
    const n = f2.length;
    await sleep(300);
    expect(f2.length).toBe(n);
    // the subscribing session disconnects
    const s3 = await p2.b.subscribe(p2.stream, { audio: false });
    const f3: ReceivedVideoFrame[] = [];
    const read3 = collect(s3.videoFrames(), f3);
    await until('frames', () => f3.length > 3, 15_000);
    const gone = new Promise<string>((r) => s3.once('destroyed', (e) => r(e.reason)));
    p2.b.disconnect();
    await read3;
    expect(await gone).toBe('clientDisconnected');
    await push2.stop();
  }, 45_000);

  it('a consumer that stops reading: its iterator keeps the newest frames (drops counted); reading resumes live', async () => {
    const { b, video, stream } = await pair();
    const sub = await b.subscribe(stream, { audio: false });
    const it = sub.videoFrames({ maxQueuedFrames: 3 });
    const pushing = publishing(video);
    await until('frames', () => it.pending > 0, 15_000);
    await sleep(1500); // not reading: about 22 frames come
    expect(it.pending).toBeLessThanOrEqual(3);
    expect(it.dropped).toBeGreaterThan(10);
    expect(sub.stats.video.iteratorFramesDropped).toBe(it.dropped);
    const held = [];
    for (let i = 0; i < 3; i++) held.push(counterOf((await it.next()).value as ReceivedVideoFrame));
    const live = counterOf((await it.next()).value as ReceivedVideoFrame);
    expect(live).toBeGreaterThan(held[2] as number);
    await it.return?.();
    await pushing.stop();
  }, 30_000);

  it('a blocked JavaScript thread: the native buffer keeps videoBufferFrames, drops the oldest and counts them', async () => {
    // The server in another process and the publisher in a worker thread: blocking this thread
    // must stop neither the forwarding nor the frames.
    await ensureDist();
    const project = { apiKey: API_KEY, apiSecret: API_SECRET };
    const proc = await startServerProcess({ projects: [project] });
    const { sessionId } = mintSessionId(project);
    const worker = new Worker(`
      const { parentPort, workerData: w } = require('node:worker_threads');
      const { initSession, VideoSource } = require(w.dist);
      (async () => {
        const s = initSession(w.apiKey, w.sessionId, { serverUrl: w.url });
        await s.connect(w.token);
        const v = new VideoSource({ width: ${W}, height: ${H}, fps: ${FPS} });
        await s.publish({ name: 'worker-cam', videoSource: v, publishAudio: false });
        const data = new Uint8Array(${W * H * 1.5}).fill(128);
        let n = 0;
        const t = setInterval(() => { data[0] = n++ & 255; v.captureFrame({ format: 'I420', width: ${W}, height: ${H}, data }); }, ${Math.round(1000 / FPS)});
        parentPort.on('message', () => { clearInterval(t); s.disconnect(); parentPort.close(); });
        parentPort.postMessage('publishing');
      })().catch((e) => { console.error(e); process.exit(1); });
    `, { eval: true, workerData: { dist: join(DIST, 'index.js'), apiKey: API_KEY, sessionId, url: proc.url, token: await mintToken(project, sessionId, 'worker') } });
    const b = initSession(API_KEY, sessionId, { serverUrl: proc.url });
    try {
      const seen = new Promise<Stream>((r) => b.once('streamCreated', (e) => r(e.stream)));
      await b.connect(await mintToken(project, sessionId, 'b'));
      await new Promise<void>((resolve, reject) => { worker.once('message', () => resolve()); worker.once('error', reject); });
      const sub = await b.subscribe(await seen, { audio: false, videoBufferFrames: 2 });
      const it = sub.videoFrames({ maxQueuedFrames: 1000 });
      await until('frames', () => it.pending > 3, 15_000);
      const end = Date.now() + 1500;
      while (Date.now() < end) { /* the event loop is blocked: about 22 frames come, 2 are kept */ }
      await sleep(50);
      const s = sub.stats.video;
      process.stdout.write(`[media-video-client] JavaScript blocked 1.5 s: ${JSON.stringify(s)}, iterator pending ${it.pending}\n`);
      expect(s.nativeFramesDropped).toBeGreaterThan(10);
      expect(s.framesDropped).toBe(s.nativeFramesDropped + s.iteratorFramesDropped);
      expect(s.iteratorFramesDropped).toBe(0);
      b.unsubscribe(sub);
    } finally {
      worker.postMessage('stop');
      await new Promise((r) => worker.once('exit', r));
      b.disconnect();
      await proc.close();
    }
  }, 60_000);

  it('200 subscribe / unsubscribe cycles: memory stays flat, nothing left behind', async () => {
    const { b, video, stream } = await pair();
    const pushing = publishing(video);
    let withFrames = 0;
    const cycle = async (): Promise<void> => {
      const sub = await b.subscribe(stream, { audio: false, video: { format: 'RGBA' } });
      const it = sub.videoFrames();
      // a frame, if one comes soon (a new subscriber waits for a keyframe, which the publisher sends at most so often)
      const got = await Promise.race([it.next().then((r) => r.done !== true), sleep(100).then(() => false)]);
      if (got) withFrames++;
      b.unsubscribe(sub);
    };
    for (let i = 0; i < 20; i++) await cycle(); // warm up
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settle = async (): Promise<NodeJS.MemoryUsage> => { await sleep(100); gc(); return process.memoryUsage(); };
    const m0 = await settle();
    for (let i = 0; i < 100; i++) await cycle();
    const m1 = await settle();
    for (let i = 0; i < 100; i++) await cycle();
    const m2 = await settle();
    const rss0 = m0.rss;
    const rss1 = m2.rss;
    const mb = (x: number): string => (x / 1048576).toFixed(1);
    process.stdout.write(`[media-video-client] 200 subscribe/unsubscribe cycles (${withFrames} got a frame): rss ${mb(m0.rss)} -> ${mb(m1.rss)} -> ${mb(m2.rss)} MB, array buffers ${mb(m0.arrayBuffers)} -> ${mb(m2.arrayBuffers)} MB\n`);
    expect(withFrames).toBeGreaterThan(20);
    expect(m2.rss - m1.rss).toBeLessThan(10 * 1048576); // the second hundred: flat
    expect(m2.arrayBuffers).toBeLessThan(m0.arrayBuffers + 2 * 1048576); // no frame kept
    expect(b.getSubscribersForStream(stream)).toEqual([]);
    expect(rss1 - rss0).toBeLessThan(40 * 1048576);
    await pushing.stop();
  }, 120_000);

  it('subscribe refuses bad video properties with coded errors; getStats has video fields', async () => {
    const { b, video, stream, pub } = await pair();
    await expect(b.subscribe(stream, { video: { format: 'YUY2' as VideoFormat } })).rejects.toMatchObject({ code: 1011 });
    await expect(b.subscribe(stream, { video: 3 as unknown as boolean })).rejects.toMatchObject({ code: 1011 });
    await expect(b.subscribe(stream, { videoBufferFrames: 0 })).rejects.toMatchObject({ code: 1011 });
    await expect(b.subscribe(stream, { subscribeToVideo: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 1011 });
    const sub = await b.subscribe(stream, { audio: false });
    expect(sub.subscribingToVideo).toBe(true);
    expect(() => sub.videoFrames({ maxQueuedFrames: 0 })).toThrow(TypeError);
    const frames: ReceivedVideoFrame[] = [];
    const reading = collect(sub.videoFrames(), frames);
    const pushing = publishing(video);
    await until('frames', () => frames.length > 20, 15_000);
    const stats = await sub.getStats();
    expect(stats.video.packetsReceived).toBeGreaterThan(0);
    expect(stats.video.bytesReceived).toBeGreaterThan(0);
    expect(stats.video.frameRate).toBeGreaterThan(0);
    expect(stats.convene.media.videoWidth).toBe(W);
    expect(stats.convene.media.videoHeight).toBe(H);
    const [mine] = await pub.getStats();
    expect(mine?.stats.video.packetsSent).toBeGreaterThan(0);
    expect(mine?.stats.video.bytesSent).toBeGreaterThan(0);
    expect(mine?.stats.video.frameRate).toBeGreaterThan(0);
    expect(mine?.convene?.videoWidth).toBe(W);
    await pushing.stop();
    sub.destroy();
    await reading;
  }, 30_000);
});
