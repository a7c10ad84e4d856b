/**
 * Audio from Node to Node through the real server and the real native core (issue 17):
 * AudioSource → Opus → server → Subscriber at 16 kHz mono, its iterators' ends, bounded
 * buffers, and memory over subscribe / unsubscribe cycles.
 */
import { describe, expect, it } from 'vitest';
import { AudioSource, initSession, OTError, type Publisher, type ReceivedAudioFrame, type Session, type Stream, type Subscriber } from '../lib/index';
import { AudioFrameSinks } from '../lib/client/audio-frames';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/session-id';
import { collect, concat, goertzel, pushTone, rms } from './helpers/audio';
import { until } from './helpers/events';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { API_KEY, API_SECRET } from './helpers/server';
import { startServerProcess } from './helpers/server-proc';
import { useFixtureSessions } from './helpers/sessions';

const fixture = useFixtureSessions();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Pair {
  a: Session;
  b: Session;
  source: AudioSource;
  pub: Publisher;
  stream: Stream;
}

/** Where pair() connects: the test's in-process server, or another one. */
interface Place { sid: string; session(): Session; token(data: string): Promise<string> }

const inProcess = async (): Promise<Place> => {
  const sid = await fixture.fx.newSession();
  return { sid, session: () => fixture.session(sid), token: async (data) => fixture.fx.token(sid, { data }) };
};

/** a publishes an AudioSource (48 kHz mono); b sees its stream. */
async function pair(sourceOpts: { queueMs?: number } = {}, where?: Place): Promise<Pair> {
  const place = where ?? await inProcess();
  const a = place.session();
  const b = place.session();
  await a.connect(await place.token('a'));
  await b.connect(await place.token('b'));
  const seen = new Promise<Stream>((r) => b.once('streamCreated', (e) => r(e.stream)));
  const source = new AudioSource({ sampleRate: 48000, channels: 1, ...sourceOpts });
  const pub = await a.publish({ name: 'bot', audioSource: source, publishVideo: false });
  return { a, b, source, pub, stream: await seen };
}

const S16 = { audio: { sampleRate: 16000, channels: 1 } } as const;

/** Frames carrying sound (not silence / comfort noise). */
const loud = (frames: ReceivedAudioFrame[]): ReceivedAudioFrame[] => frames.filter((f) => rms(f.data) > 0.05);

describe('audio frames, bounded queues (no server)', () => {
  const frame = (i: number): ReceivedAudioFrame => ({ data: new Int16Array(160).fill(i), sampleRate: 16000, channels: 1, samplesPerChannel: 160, timestamp: i });

  it('an iterator keeps at most maxQueuedMs, dropping the oldest and counting them; it ends after what it holds', async () => {
    const sinks = new AudioFrameSinks();
    const it = sinks.open(50); // 5 frames of 10 ms
    for (let i = 0; i < 12; i++) sinks.push(frame(i));
    expect(it.pending).toBe(5);
    expect(it.dropped).toBe(7);
    expect(sinks.dropped).toBe(7);
    sinks.end();
    const got: number[] = [];
    for await (const f of it) got.push(f.timestamp);
    expect(got).toEqual([7, 8, 9, 10, 11]);
    const late = sinks.open();
    expect(await late.next()).toEqual({ value: undefined, done: true });
  });

  it('a waiting next() resolves on the next frame, and with done when the sinks end', async () => {
    const sinks = new AudioFrameSinks();
    const it = sinks.open();
    const p = it.next();
    sinks.push(frame(3));
    expect((await p).value?.timestamp).toBe(3);
    const q = it.next();
    sinks.end();
    expect((await q).done).toBe(true);
  });

  it('return() closes one iterator (its queue is freed) and leaves the others', async () => {
    const sinks = new AudioFrameSinks();
    const one = sinks.open();
    const two = sinks.open();
    sinks.push(frame(1));
    await one.return?.();
    sinks.push(frame(2));
    expect(one.pending).toBe(0);
    expect(two.pending).toBe(2);
    expect(sinks.size).toBe(1);
  });

  it('AudioSource refuses bad options and bad frames with coded errors', async () => {
    expect(() => new AudioSource({ sampleRate: 44000 as 44100, channels: 1 })).toThrow(/sampleRate/);
    expect(() => new AudioSource({ sampleRate: 48000, channels: 3 as 1 })).toThrow(/channels/);
    expect(() => new AudioSource({ sampleRate: 48000, channels: 1, queueMs: 50 })).toThrow(/queueMs/);
    const s = new AudioSource({ sampleRate: 16000, channels: 1 });
    await expect(s.captureFrame({ data: new Int16Array(10), sampleRate: 16000, channels: 1, samplesPerChannel: 160 })).rejects.toMatchObject({ code: 1011 });
    await expect(s.captureFrame({ data: new Int16Array(160), sampleRate: 48000, channels: 1, samplesPerChannel: 160 })).rejects.toMatchObject({ code: 1011 });
    await expect(s.captureFrame({ data: new Float32Array(160) as unknown as Int16Array, sampleRate: 16000, channels: 1, samplesPerChannel: 160 })).rejects.toBeInstanceOf(OTError);
    await expect(s.captureFrame({ data: new Int16Array(160), sampleRate: 16000, channels: 1, samplesPerChannel: 160 })).rejects.toMatchObject({ code: 1010 });
    expect(s.queuedDuration).toBe(0);
  });
});

describe('audio between two Node sessions (real server, native core)', () => {
  it('a 440 Hz tone arrives at 16 kHz mono: 440 Hz found, 1 kHz not, at least 95 % of the frames', async () => {
    const { b, source, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    expect(sub.stream).toBe(stream);
    expect(typeof sub.id).toBe('string');
    expect(b.getSubscribersForStream(stream)).toEqual([sub]);
    const levels: number[] = [];
    sub.on('audioLevelUpdated', (e) => levels.push(e.audioLevel));
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    const TONE_MS = 2000;
    const written = await pushTone(source, 440, TONE_MS); // back-pressure paces it: at most queueMs ahead
    expect(written).toBe(TONE_MS / 20);
    await until('the queue to drain', () => source.queuedDuration === 0, 5000);
    await sleep(400);
    b.unsubscribe(sub);
    await reading;
    for (const f of frames) expect(f).toMatchObject({ sampleRate: 16000, channels: 1, samplesPerChannel: 160 });
    const sound = loud(frames);
    const expected = TONE_MS / 10;
    expect(sound.length).toBeGreaterThanOrEqual(Math.ceil(expected * 0.95));
    const pcm = concat(sound);
    const p440 = goertzel(pcm, 16000, 440);
    const p1k = goertzel(pcm, 16000, 1000);
    expect(p440).toBeGreaterThan(0.01);
    expect(p440).toBeGreaterThan(p1k * 100);
    // about every 60 ms while sound arrives: the tone's peak (amplitude 0.5)
    expect(levels.length).toBeGreaterThan(TONE_MS / 60 / 2);
    expect(Math.max(...levels)).toBeGreaterThan(0.35);
    expect(Math.max(...levels)).toBeLessThanOrEqual(1);
    expect(sub.stats.framesReceived).toBe(frames.length);
    expect(sub.stats.framesDropped).toBe(0);
    expect(sub.stats.media.framesDecoded).toBeGreaterThan(0);
    // timestamps: Date.now()'s clock, increasing
    for (let i = 1; i < frames.length; i++) expect((frames[i] as ReceivedAudioFrame).timestamp).toBeGreaterThanOrEqual((frames[i - 1] as ReceivedAudioFrame).timestamp);
  });

  it('captureFrame applies back-pressure: the queue never exceeds queueMs, calls that do not await are refused past it', async () => {
    const { source } = await pair({ queueMs: 200 });
    let maxQueued = 0;
    const p = pushTone(source, 440, 1000, () => { maxQueued = Math.max(maxQueued, source.queuedDuration); return false; });
    await p;
    // what waits in JavaScript plus what is queued natively: at most the queue and one frame waiting
    expect(maxQueued).toBeLessThanOrEqual(200 + 20);
    // without awaiting: the first calls fill the queue, more than queueMs waiting are refused
    const calls = Array.from({ length: 40 }, () => source.captureFrame({ data: new Int16Array(960), sampleRate: 48000, channels: 1, samplesPerChannel: 960 }));
    const results = await Promise.allSettled(calls);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 1580, name: 'CONVENE_AUDIO_QUEUE_FULL' });
    source.clearQueue();
    expect(source.queuedDuration).toBe(0);
  });

  it('publishAudio(false) stops the frames, publishAudio(true) brings them back; subscribeToAudio likewise', async () => {
    const { b, source, pub, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop);
    await until('sound', () => loud(frames).length > 20, 5000);
    pub.publishAudio(false);
    await sleep(400); // what was in flight
    const mutedAt = frames.length;
    await sleep(600);
    const whileMuted = frames.slice(mutedAt);
    expect(loud(whileMuted)).toEqual([]);
    expect(whileMuted.length).toBe(0);
    pub.publishAudio(true);
    const back = frames.length;
    await until('sound again', () => loud(frames.slice(back)).length > 10, 5000);
    // the subscriber's side: subscribeToAudio(false) stops them too, (true) brings them back
    sub.subscribeToAudio(false);
    expect(sub.subscribingToAudio).toBe(false);
    await sleep(300);
    const offAt = frames.length;
    await sleep(500);
    expect(frames.length).toBe(offAt);
    sub.subscribeToAudio(true);
    await until('sound once more', () => loud(frames.slice(offAt)).length > 10, 5000);
    stop = true;
    source.clearQueue();
    await pushing;
    b.unsubscribe(sub);
    await reading;
  });

  it('a publisher whose link is cut resumes: its subscriber gets disconnected then connected and the tone goes on, with no new subscribe', async () => {
    const sid = await fixture.fx.newSession();
    const proxy = await new FaultProxy(fixture.fx.server.port).start();
    try {
      const a = fixture.session(sid, { serverUrl: proxy.url });
      const b = fixture.session(sid);
      await a.connect(await fixture.fx.token(sid, { data: 'a' }));
      await b.connect(await fixture.fx.token(sid, { data: 'b' }));
      const seen = new Promise<Stream>((r) => b.once('streamCreated', (e) => r(e.stream)));
      const source = new AudioSource({ sampleRate: 48000, channels: 1 });
      await a.publish({ name: 'bot', audioSource: source, publishVideo: false });
      const stream = await seen;
      const sub = await b.subscribe(stream, S16);
      const events: string[] = [];
      sub.on('disconnected', () => events.push('disconnected'));
      sub.on('connected', () => events.push('connected'));
      const frames: ReceivedAudioFrame[] = [];
      const reading = collect(sub.audioFrames(), frames);
      let stop = false;
      const pushing = pushTone(source, 440, 60_000, () => stop);
      await until('sound', () => loud(frames).length > 20, 5000);
      const reconnected = new Promise<void>((r) => a.once('sessionReconnected', () => r()));
      proxy.cut();
      await reconnected;
      await until('connected again', () => events.includes('connected'), 5000);
      expect(events).toEqual(['disconnected', 'connected']);
      const after = frames.length;
      await until('the tone after the resume', () => loud(frames.slice(after)).length > 50, 5000);
      const pcm = concat(loud(frames.slice(after)));
      expect(goertzel(pcm, 16000, 440)).toBeGreaterThan(goertzel(pcm, 16000, 1000) * 100);
      expect(b.getSubscribersForStream(stream)).toEqual([sub]); // the same subscriber: no new subscribe
      stop = true;
      source.clearQueue();
      await pushing;
      b.unsubscribe(sub);
      await reading;
    } finally {
      await proxy.close();
    }
  });

  it('a moderator\'s forceMuteStream silences the stream at its subscribers', async () => {
    const sid = await fixture.fx.newSession();
    const a = fixture.session(sid);
    const b = fixture.session(sid);
    await a.connect(await fixture.fx.token(sid, { data: 'a' }));
    await b.connect(await fixture.fx.token(sid, { data: 'b', role: 'moderator' }));
    const seen = new Promise<Stream>((r) => b.once('streamCreated', (e) => r(e.stream)));
    const source = new AudioSource({ sampleRate: 48000, channels: 1 });
    const pub = await a.publish({ name: 'bot', audioSource: source, publishVideo: false });
    const stream = await seen;
    const sub = await b.subscribe(stream, S16);
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop);
    await until('sound', () => loud(frames).length > 20, 5000);
    await b.forceMuteStream(stream);
    await until('the publisher is muted', () => !pub.stream?.hasAudio, 5000);
    await sleep(400); // in flight
    const mutedAt = frames.length;
    await sleep(600);
    expect(loud(frames.slice(mutedAt))).toEqual([]);
    stop = true;
    source.clearQueue();
    await pushing;
    b.unsubscribe(sub);
    await reading;
  });

  it('the iterator ends when the stream is unpublished (destroyed fires with the stream reason)', async () => {
    const { a, b, source, pub, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    const destroyed = new Promise<string>((r) => sub.once('destroyed', (e) => r(e.reason)));
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop).catch(() => 0);
    await until('sound', () => loud(frames).length > 5, 5000);
    a.unpublish(pub);
    await reading; // ends: no hanging for await
    expect(await destroyed).toBe('clientDisconnected');
    expect(sub.isDestroyed).toBe(true);
    expect(b.getSubscribersForStream(stream)).toEqual([]);
    stop = true;
    await pushing;
    expect(source.isPublished).toBe(false);
  });

  it('the iterator ends on unsubscribe; a new iterator of a destroyed subscriber is done at once', async () => {
    const { b, source, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    const it = sub.audioFrames();
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(it, frames);
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop);
    await until('sound', () => loud(frames).length > 5, 5000);
    const destroyed = new Promise<string>((r) => sub.once('destroyed', (e) => r(e.reason)));
    b.unsubscribe(sub);
    await reading;
    expect(await destroyed).toBe('unsubscribed');
    expect(b.getSubscribersForStream(stream)).toEqual([]);
    expect(await sub.audioFrames().next()).toEqual({ value: undefined, done: true });
    const n = frames.length;
    await sleep(200);
    expect(frames.length).toBe(n);
    stop = true;
    source.clearQueue();
    await pushing;
  });

  it('the iterator ends when the subscribing session disconnects', async () => {
    const { b, source, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop);
    await until('sound', () => loud(frames).length > 5, 5000);
    const destroyed = new Promise<string>((r) => sub.once('destroyed', (e) => r(e.reason)));
    b.disconnect();
    await reading;
    expect(await destroyed).toBe('clientDisconnected');
    stop = true;
    source.clearQueue();
    await pushing;
  });

  it('a consumer that stops reading: its iterator drops the oldest (counted), memory stays bounded; reading resumes live', async () => {
    const { b, source, stream } = await pair();
    const sub = await b.subscribe(stream, S16);
    const it = sub.audioFrames({ maxQueuedMs: 300 });
    let stop = false;
    const pushing = pushTone(source, 440, 60_000, () => stop);
    await until('frames', () => it.pending > 0, 5000);
    await sleep(1500); // not reading
    expect(it.pending).toBeLessThanOrEqual(30); // 300 ms of 10 ms frames
    expect(it.dropped).toBeGreaterThan(50);
    expect(sub.stats.iteratorFramesDropped).toBe(it.dropped);
    expect(sub.stats.framesDropped).toBeGreaterThanOrEqual(it.dropped);
    const before = it.dropped;
    for (let i = 0; i < 40; i++) await it.next(); // reads the queue, then live frames
    expect(it.dropped).toBeLessThan(before + 10);
    await it.return?.();
    stop = true;
    source.clearQueue();
    await pushing;
  });

  it('a blocked JavaScript thread: the native buffer keeps bufferMs, drops the oldest and counts them', async () => {
    // the server in another process: blocking this thread must not stop the forwarding
    const project = { apiKey: API_KEY, apiSecret: API_SECRET };
    const proc = await startServerProcess({ projects: [project] });
    const { sessionId } = mintSessionId(project);
    const opened: Session[] = [];
    const place: Place = {
      sid: sessionId,
      session: () => { const s = initSession(API_KEY, sessionId, { serverUrl: proc.url }); opened.push(s); return s; },
      token: (data) => mintToken(project, sessionId, data),
    };
    const { b, source, stream } = await pair({ queueMs: 3000 }, place);
    const sub = await b.subscribe(stream, { ...S16, bufferMs: 300 });
    const it = sub.audioFrames({ maxQueuedMs: 10_000 });
    // enough audio queued to play through the block (the publisher sends nothing once its queue is empty)
    for (let i = 0; i < 140; i++) await source.captureFrame({ data: new Int16Array(960).fill(8000), sampleRate: 48000, channels: 1, samplesPerChannel: 960 });
    await until('frames', () => it.pending > 0, 5000);
    const end = Date.now() + 1200;
    while (Date.now() < end) { /* the event loop is blocked: frames wait natively */ }
    await sleep(50);
    const s = sub.stats;
    expect(s.nativeFramesDropped).toBeGreaterThan(50); // about 120 frames came during the block, 30 kept
    expect(s.framesDropped).toBe(s.nativeFramesDropped + s.iteratorFramesDropped);
    expect(it.pending).toBeLessThanOrEqual(50); // what came before the block + the 30 kept + a few after
    b.unsubscribe(sub);
    source.clearQueue();
    for (const x of opened) x.disconnect();
    await proc.close();
  }, 60_000); // a server process to start: slow on a loaded machine

  it('1,000 subscribe / unsubscribe cycles: memory stays flat, nothing left behind', async () => {
    const { b, source, stream } = await pair();
    let stop = false;
    const pushing = pushTone(source, 440, 600_000, () => stop);
    const cycle = async (): Promise<void> => {
      const sub = await b.subscribe(stream, S16);
      const it = sub.audioFrames();
      void it.next();
      b.unsubscribe(sub);
    };
    for (let i = 0; i < 100; i++) await cycle(); // warm up
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1000; i++) await cycle();
    gc?.();
    await sleep(100);
    const rss1 = process.memoryUsage().rss;
    const heap1 = process.memoryUsage().heapUsed;
    const mb = (x: number): string => (x / 1048576).toFixed(1);
    // the figure, for the report
    process.stdout.write(`[media-client] 1000 subscribe/unsubscribe cycles: rss ${mb(rss0)} -> ${mb(rss1)} MB (${mb(rss1 - rss0)}), heap ${mb(heap0)} -> ${mb(heap1)} MB\n`);
    expect(b.getSubscribersForStream(stream)).toEqual([]);
    expect(rss1 - rss0).toBeLessThan(40 * 1048576);
    stop = true;
    source.clearQueue();
    await pushing;
  }, 120_000);

  it('subscribe refuses bad properties and unknown streams with coded errors', async () => {
    const { b, stream } = await pair();
    await expect(b.subscribe(stream, { audio: { sampleRate: 22050 as 16000 } })).rejects.toMatchObject({ code: 1011 });
    await expect(b.subscribe(stream, { audio: { frameMs: 15 } })).rejects.toMatchObject({ code: 1011 });
    await expect(b.subscribe({ ...stream, streamId: 'nope' })).rejects.toMatchObject({ code: 1535 });
    await expect(b.subscribe(undefined as unknown as Stream)).rejects.toMatchObject({ code: 1011 });
    const sub: Subscriber = await b.subscribe(stream, null, S16); // OpenTok.js form: target ignored
    expect(sub.subscribingToAudio).toBe(true);
    const stats = await sub.getStats();
    expect(stats.audio).toMatchObject({ packetsLost: 0 });
    expect(stats.convene.framesDropped).toBe(0);
    sub.destroy();
    expect(sub.isDestroyed).toBe(true);
    // a publisheronly token may not subscribe: the server refuses, the promise rejects
    const sid = b.sessionId;
    const po = fixture.session(sid);
    const seen = new Promise<Stream>((r) => po.once('streamCreated', (e) => r(e.stream)));
    await po.connect(fixture.fx.token(sid, { role: 'publisheronly' }));
    await expect(po.subscribe(await seen, S16)).rejects.toMatchObject({ code: 1510, name: 'OT_PERMISSION_DENIED' });
    expect(po.getSubscribersForStream(stream)).toEqual([]);
  });
});
