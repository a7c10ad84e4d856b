/**
 * Media between real headless Chromium and a Node bot through the server's WebRTC edge
 * (issue 19's proof): the room page publishes its (fake) camera and microphone over WebRTC and
 * subscribes to the bot; the bot publishes a 440 Hz tone from an AudioSource and subscribes to
 * the browser. Each side receives the other's media: the bot hears the browser's microphone
 * (Chromium's fake device beeps), the browser's subscriber counts the bot's audio packets
 * (getStats in OpenTok.js's fields).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startServer, type ConveneServer } from '../lib/server';
import { AudioSource, initSession, type ReceivedAudioFrame, type Stream } from '../lib/index';
import { mintToken } from '../lib/mint';
import { launchBrowser, newPage } from './helpers/browser';
import { collect, pushTone, rms } from './helpers/audio';
import { until } from './helpers/events';

const project = { apiKey: 'media-key', apiSecret: 'media-secret-media-secret-media-secret' };
let browser: Browser;
let server: ConveneServer;

beforeAll(async () => {
  browser = await launchBrowser();
  server = await startServer({ projects: [project], port: 0, webDir: join(__dirname, '..', 'dist', 'web'), devProject: project });
}, 30_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('browser <-> bot media through the WebRTC edge (Chromium)', () => {
  it('the bot hears the browser\'s microphone; the browser receives the bot\'s tone', async () => {
    const { page, errors } = await newPage(browser);
    await page.goto(`${server.apiUrl}/?name=Ada`);
    await page.waitForFunction('window.session !== undefined && window.session.isConnected === true', undefined, { timeout: 15_000 });
    const sessionId = new URL(page.url()).searchParams.get('sessionId') as string;

    const bot = initSession(project.apiKey, sessionId, { serverUrl: server.url });
    const browserStream = new Promise<Stream>((r) => bot.on('streamCreated', (e) => { if (e.stream.name === 'Ada') r(e.stream); }));
    await bot.connect(await mintToken(project, sessionId, JSON.stringify({ name: 'bot' })));
    const source = new AudioSource({ sampleRate: 48000, channels: 1 });
    await bot.publish({ name: 'bot', audioSource: source, publishVideo: false });
    let stop = false;
    const singing = pushTone(source, 440, 60_000, () => stop);

    // the bot subscribes to the browser (published over WebRTC): its microphone's beeps arrive
    const stream = await browserStream;
    expect(stream.hasAudio).toBe(true);
    expect(stream.hasVideo).toBe(true);
    const sub = await bot.subscribe(stream, { audio: { sampleRate: 16000, channels: 1 } });
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    await until('sound from the browser', () => frames.filter((f) => rms(f.data) > 0.01).length > 20, 20_000);

    // the browser subscribed to the bot (the room page subscribes to every stream): audio packets arrive
    const received = async (): Promise<number> => page.evaluate(`(async () => {
      const s = [...window.session.streams.values()].find((x) => x.name === 'bot');
      const subs = s ? window.session.getSubscribersForStream(s) : [];
      return subs[0] ? (await subs[0].getStats()).audio.packetsReceived : 0;
    })()`) as Promise<number>;
    const end = Date.now() + 20_000;
    let packets = 0;
    while ((packets = await received()) <= 100) {
      if (Date.now() > end) throw new Error(`the browser received ${packets} audio packets of the bot's`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const tiles = await page.locator('.tile').count();
    expect(tiles).toBe(2); // its own and the bot's

    stop = true;
    source.clearQueue();
    await singing;
    bot.unsubscribe(sub);
    await reading;
    bot.disconnect();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
