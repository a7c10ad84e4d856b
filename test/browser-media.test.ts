/**
 * Media between real headless Chromium and a Node bot through the server's WebRTC edge
 * (issue 19's proof): the room page publishes its (fake) camera and microphone over WebRTC and
 * subscribes to the bot; the bot publishes a 440 Hz tone from an AudioSource and subscribes to
 * the browser. Each side receives the other's media: the bot hears the browser's microphone
 * (Chromium's fake device beeps), the browser's subscriber counts the bot's audio packets
 * (getStats in OpenTok.js's fields).
 */
import { describe, expect, it } from 'vitest';
import { AudioSource, initSession, VideoSource, type ReceivedAudioFrame, type ReceivedVideoFrame, type Stream } from '../lib/index';
import { mintToken } from '../lib/mint';
import { newPage, useBrowserAndServer } from './helpers/browser';
import { collect, pushTone, rms } from './helpers/audio';
import { pushPattern } from './helpers/video';
import { until } from './helpers/events';

const project = { apiKey: 'media-key', apiSecret: 'media-secret-media-secret-media-secret' };
const fx = useBrowserAndServer(project);

describe('browser <-> bot media through the WebRTC edge (Chromium)', () => {
  it('the bot hears and sees the browser (microphone, camera); the browser receives the bot\'s tone and picture', async () => {
    const { page, errors } = await newPage(fx.browser);
    await page.goto(`${fx.server.apiUrl}/?name=Ada`);
    await page.waitForFunction('window.session !== undefined && window.session.isConnected === true', undefined, { timeout: 15_000 });
    const sessionId = new URL(page.url()).searchParams.get('sessionId') as string;

    const bot = initSession(project.apiKey, sessionId, { serverUrl: fx.server.url });
    const browserStream = new Promise<Stream>((r) => bot.on('streamCreated', (e) => { if (e.stream.name === 'Ada') r(e.stream); }));
    await bot.connect(await mintToken(project, sessionId, JSON.stringify({ name: 'bot' })));
    const source = new AudioSource({ sampleRate: 48000, channels: 1 });
    const video = new VideoSource({ width: 320, height: 240, fps: 15 });
    await bot.publish({ name: 'bot', audioSource: source, videoSource: video });
    let stop = false;
    const singing = pushTone(source, 440, 60_000, () => stop);
    const filming = pushPattern(video, () => stop);

    // the bot subscribes to the browser (published over WebRTC): its microphone's beeps arrive
    const stream = await browserStream;
    expect(stream.hasAudio).toBe(true);
    expect(stream.hasVideo).toBe(true);
    const sub = await bot.subscribe(stream, { audio: { sampleRate: 16000, channels: 1 }, video: { format: 'I420' } });
    const frames: ReceivedAudioFrame[] = [];
    const reading = collect(sub.audioFrames(), frames);
    const pictures: ReceivedVideoFrame[] = [];
    const watching = (async () => { for await (const f of sub.videoFrames()) pictures.push(f); })();
    await until('sound from the browser', () => frames.filter((f) => rms(f.data) > 0.01).length > 20, 20_000);
    await until('pictures from the browser', () => pictures.length > 10, 20_000);
    expect(pictures[pictures.length - 1]).toMatchObject({ format: 'I420', width: 640, height: 480 }); // the fake camera's 640x480

    // the browser subscribed to the bot (the room page subscribes to every stream): audio packets arrive
    interface Seen { audioPackets: number; energy: number; videoPackets: number; framesDecoded: number; videoWidth: number }
    const seen = async (): Promise<Seen> => page.evaluate(`(async () => {
      const s = [...window.session.streams.values()].find((x) => x.name === 'bot');
      const subs = s ? window.session.getSubscribersForStream(s) : [];
      if (!subs[0]) return { audioPackets: 0, energy: 0, videoPackets: 0, framesDecoded: 0, videoWidth: 0 };
      const st = await subs[0].getStats();
      const v = document.querySelector('#tile-' + s.streamId + ' video');
      return { audioPackets: st.audio.packetsReceived, energy: st.audio.totalAudioEnergy, videoPackets: st.video.packetsReceived,
               framesDecoded: st.video.framesDecoded, videoWidth: v ? v.videoWidth : 0 };
    })()`) as Promise<Seen>;
    const end = Date.now() + 20_000;
    let first: Seen | undefined;
    let last: Seen = await seen();
    for (;;) {
      last = await seen();
      if (!first && last.framesDecoded > 0) first = last;
      if (first && last.audioPackets > 100 && last.energy > 0 && last.videoWidth > 0 && last.framesDecoded > first.framesDecoded + 10) break;
      if (Date.now() > end) throw new Error(`the browser did not hear and see the bot: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(last.videoWidth).toBe(320); // the bot's VideoSource
    const tiles = await page.locator('.tile').count();
    expect(tiles).toBe(2); // its own and the bot's

    stop = true;
    source.clearQueue();
    await singing;
    await filming;
    bot.unsubscribe(sub);
    await reading;
    await watching;
    bot.disconnect();
    expect(errors).toEqual([]);
    await page.context().close();
  }, 90_000);
});
