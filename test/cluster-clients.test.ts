/**
 * Issue 20's proof with real clients: three `convene server` nodes sharing Redis with a cluster
 * secret. A native Node bot on node 1 publishes a 440 Hz tone and a colour pattern; bots on nodes
 * 2 and 3 hear 440 Hz (Goertzel) and see the pattern's quadrant colours. Then a browser (real
 * headless Chromium, through the WebRTC edge of node 2, from the room page node 2 serves) and a
 * bot on node 3 hear and see each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { AudioSource, initSession, VideoSource, type ReceivedAudioFrame, type ReceivedVideoFrame, type Session, type Stream } from '../lib/index';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/index';
import { collect, concat, goertzel, pushTone, rms } from './helpers/audio';
import { launchBrowser, newPage } from './helpers/browser';
import { freePort, haveRedis, NodeProcess, RedisProcess, until } from './helpers/cluster';
import { colourDistance, pushPattern, QUADRANTS, quadrantColours } from './helpers/video';

const PROJECT = { apiKey: 'clusterclients', apiSecret: 'clusterclients-secret-0123456789' };
const SECRET = 'cluster-clients-secret-0123456789';

describe.skipIf(!haveRedis)('real clients across nodes (skipped without redis-server)', () => {
  let redis: RedisProcess;
  let nodes: NodeProcess[] = [];
  let browser: Browser;
  const open: Session[] = [];

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    const args = ['--api-key', PROJECT.apiKey, '--api-secret', PROJECT.apiSecret, '--redis', redis.url, '--cluster-secret', SECRET];
    nodes = await Promise.all([0, 1, 2].map(() => new NodeProcess(args).start()));
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    for (const s of open) s.disconnect();
    await browser?.close();
    await Promise.all(nodes.map((n) => n.kill()));
    await redis?.stop();
  });

  const seen = new Map<Session, Stream[]>();
  async function bot(node: number, sid: string, name: string): Promise<Session> {
    const s = initSession(PROJECT.apiKey, sid, { serverUrl: nodes[node]!.url });
    open.push(s);
    seen.set(s, []);
    s.on('streamCreated', (e) => seen.get(s)!.push(e.stream));
    await s.connect(await mintToken(PROJECT, sid, JSON.stringify({ name })));
    return s;
  }

  async function publishBot(s: Session, name: string): Promise<() => Promise<void>> {
    const audio = new AudioSource({ sampleRate: 48000, channels: 1 });
    const video = new VideoSource({ width: 320, height: 240, fps: 15 });
    await s.publish({ name, audioSource: audio, videoSource: video });
    let stop = false;
    const singing = pushTone(audio, 440, 120_000, () => stop);
    const filming = pushPattern(video, () => stop);
    return async () => { stop = true; audio.clearQueue(); await singing; await filming; };
  }

  it('a bot on node 1 is heard (440 Hz) and seen (the pattern) by bots on nodes 2 and 3', async () => {
    const sid = mintSessionId(PROJECT).sessionId;
    const a = await bot(0, sid, 'a');
    const stop = await publishBot(a, 'a-cam');
    for (const node of [1, 2]) {
      const s = await bot(node, sid, `b${node}`);
      await until(`node ${node + 1} sees the stream`, () => seen.get(s)!.some((x) => x.name === 'a-cam'), 10_000);
      const stream = seen.get(s)!.find((x) => x.name === 'a-cam') as Stream;
      const sub = await s.subscribe(stream, { audio: { sampleRate: 16000, channels: 1 }, video: { format: 'I420' } });
      const frames: ReceivedAudioFrame[] = [];
      const reading = collect(sub.audioFrames(), frames);
      const pictures: ReceivedVideoFrame[] = [];
      const watching = (async () => { for await (const f of sub.videoFrames()) pictures.push(f); })();
      await until(`node ${node + 1} hears`, () => frames.filter((f) => rms(f.data) > 0.05).length > 100, 20_000);
      await until(`node ${node + 1} sees`, () => pictures.length > 15, 20_000);
      const pcm = concat(frames.filter((f) => rms(f.data) > 0.05));
      expect(goertzel(pcm, 16000, 440)).toBeGreaterThan(goertzel(pcm, 16000, 1000) * 100);
      const last = pictures[pictures.length - 1] as ReceivedVideoFrame;
      expect(last).toMatchObject({ width: 320, height: 240 });
      quadrantColours(last).forEach((c, i) => expect(colourDistance(c, QUADRANTS[i]!)).toBeLessThan(60));
      s.unsubscribe(sub);
      await reading;
      await watching;
    }
    await stop();
  }, 90_000);

  it('a browser on node 2 (WebRTC edge) and a bot on node 3 hear and see each other', async () => {
    const sid = mintSessionId(PROJECT).sessionId;
    const c = await bot(2, sid, 'bot');
    const stop = await publishBot(c, 'bot');
    const browserStream = new Promise<Stream>((r) => c.on('streamCreated', (e) => { if (e.stream.name === 'Ada') r(e.stream); }));
    const { page, errors } = await newPage(browser);
    const token = await mintToken(PROJECT, sid, JSON.stringify({ name: 'Ada' }));
    const q = new URLSearchParams({ apiKey: PROJECT.apiKey, sessionId: sid, token, serverUrl: nodes[1]!.url });
    await page.goto(`http://127.0.0.1:${nodes[1]!.port}/?${q.toString()}`);
    await page.waitForFunction('window.session !== undefined && window.session.isConnected === true', undefined, { timeout: 15_000 });
    // the bot on node 3 hears the browser on node 2
    const sub = await c.subscribe(await browserStream, { audio: { sampleRate: 16000, channels: 1 }, video: { format: 'I420' } });
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    const pictures: ReceivedVideoFrame[] = [];
    const watching = (async () => { for await (const f of sub.videoFrames()) pictures.push(f); })();
    await until('the bot hears the browser', () => frames.filter((f) => rms(f.data) > 0.01).length > 20, 30_000);
    await until('the bot sees the browser', () => pictures.length > 10, 30_000);
    // the browser receives the bot's audio and video across the nodes
    const end = Date.now() + 30_000;
    let st = { audio: 0, video: 0 };
    for (;;) {
      st = (await page.evaluate(`(async () => {
        const s = [...window.session.streams.values()].find((x) => x.name === 'bot');
        const subs = s ? window.session.getSubscribersForStream(s) : [];
        if (!subs[0]) return { audio: 0, video: 0 };
        const r = await subs[0].getStats();
        return { audio: r.audio.packetsReceived, video: r.video.framesDecoded };
      })()`)) as { audio: number; video: number };
      if (st.audio > 100 && st.video > 10) break;
      if (Date.now() > end) throw new Error(`the browser got too little of the bot: ${JSON.stringify(st)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    c.unsubscribe(sub);
    await reading;
    await watching;
    await stop();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 120_000);
});
