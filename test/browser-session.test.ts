/**
 * Browsers in sessions with bots (issue 19's proof, real headless Chromium): signals both ways,
 * exactly once and in order, across a cut of the browser's WebSocket (it resumes); two browsers
 * and a bot in one session, and a browser leaving: the bot gets streamDestroyed and its
 * subscriber's iterator ends.
 */
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { initSession, type ReceivedAudioFrame, type Stream } from '../lib/index';
import { mintToken } from '../lib/mint';
import { mintSessionId } from '../lib/server/session-id';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { newPage, useBrowserAndServer } from './helpers/browser';
import { collect } from './helpers/audio';
import { until } from './helpers/events';

const project = { apiKey: 'bs-key', apiSecret: 'bs-secret-bs-secret-bs-secret-bs' };
const fx = useBrowserAndServer(project);

async function openRoom(page: Page, sessionId: string, name: string, serverUrl: string): Promise<void> {
  const token = await mintToken(project, sessionId, JSON.stringify({ name }));
  const q = new URLSearchParams({ apiKey: project.apiKey, sessionId, token, serverUrl });
  await page.goto(`${fx.server.apiUrl}/?${q.toString()}`);
  await page.waitForFunction('window.session !== undefined && window.session.isConnected === true', undefined, { timeout: 15_000 });
}

describe('browsers and bots in sessions (Chromium)', () => {
  it('signals both ways exactly once across a cut of the browser\'s WebSocket', async () => {
    const { sessionId } = mintSessionId(project);
    const proxy = await new FaultProxy(fx.server.port).start();
    const { page, errors } = await newPage(fx.browser);
    try {
      await openRoom(page, sessionId, 'Ada', proxy.url);
      await page.evaluate(`(() => {
        window.got = []; window.log = [];
        window.session.on('signal:n', (e) => { if (e.data.startsWith('n')) window.got.push(e.data); });
        window.session.on('sessionReconnecting', () => window.log.push('reconnecting'));
        window.session.on('sessionReconnected', () => window.log.push('reconnected'));
      })()`);
      const bot = initSession(project.apiKey, sessionId, { serverUrl: fx.server.url });
      const heard: string[] = [];
      bot.on('signal:n', (e) => { if (e.data.startsWith('b')) heard.push(e.data); }); // signals go to everyone, the sender too
      await bot.connect(await mintToken(project, sessionId, JSON.stringify({ name: 'bot' })));
      const N = 100;
      // the browser sends N signals; the link is cut while they go
      const sending = page.evaluate(`(async () => {
        const all = [];
        for (let i = 0; i < ${N}; i++) {
          all.push(window.session.signal({ type: 'n', data: 'b' + i }));
          if (i % 10 === 0) await new Promise((r) => setTimeout(r, 10));
        }
        await Promise.all(all);
      })()`);
      await new Promise((r) => setTimeout(r, 40));
      proxy.cut();
      // and the bot sends N while the browser is away
      for (let i = 0; i < N; i++) await bot.signal({ type: 'n', data: `n${i}` });
      await sending;
      await until('the bot hears the browser\'s signals', () => heard.length >= N, 20_000);
      await page.waitForFunction(`window.got.length >= ${N}`, undefined, { timeout: 20_000 });
      await new Promise((r) => setTimeout(r, 300));
      expect(heard).toEqual(Array.from({ length: N }, (_, i) => `b${i}`));
      expect(await page.evaluate('window.got')).toEqual(Array.from({ length: N }, (_, i) => `n${i}`));
      expect(await page.evaluate('window.log')).toEqual(['reconnecting', 'reconnected']);
      bot.disconnect();
      expect(errors).toEqual([]);
    } finally {
      await page.context().close();
      await proxy.close();
    }
  }, 90_000);

  it('two browsers and a bot: the bot sees both; a browser leaves, the bot gets streamDestroyed and its iterator ends', async () => {
    const { sessionId } = mintSessionId(project);
    const a = await newPage(fx.browser);
    const b = await newPage(fx.browser);
    try {
      const bot = initSession(project.apiKey, sessionId, { serverUrl: fx.server.url });
      const streams = new Map<string, Stream>();
      bot.on('streamCreated', (e) => streams.set(e.stream.name, e.stream));
      const destroyed: string[] = [];
      bot.on('streamDestroyed', (e) => destroyed.push(`${e.stream.name}:${e.reason}`));
      await bot.connect(await mintToken(project, sessionId, JSON.stringify({ name: 'bot' })));
      await openRoom(a.page, sessionId, 'Ada', fx.server.url);
      await openRoom(b.page, sessionId, 'Bea', fx.server.url);
      await until('both browsers\' streams', () => streams.has('Ada') && streams.has('Bea'), 20_000);
      const sub = await bot.subscribe(streams.get('Bea') as Stream, { audio: { sampleRate: 16000, channels: 1 }, video: false });
      const frames: ReceivedAudioFrame[] = [];
      const reading = collect(sub.audioFrames(), frames);
      await until('Bea\'s audio', () => frames.length > 20, 20_000);
      // each browser shows the other browser's tile (and its own): 2 tiles + ... the bot publishes nothing
      await a.page.waitForFunction("document.querySelectorAll('.tile').length === 2", undefined, { timeout: 15_000 });
      await b.page.click('#leave');
      await until('streamDestroyed for Bea', () => destroyed.length === 1, 15_000);
      expect(destroyed).toEqual(['Bea:clientDisconnected']);
      await reading; // the iterator ended
      expect(sub.isDestroyed).toBe(true);
      await a.page.waitForFunction("document.querySelectorAll('.tile').length === 1", undefined, { timeout: 15_000 });
      bot.disconnect();
      expect(a.errors).toEqual([]);
    } finally {
      await a.page.context().close();
      await b.page.context().close();
    }
  }, 90_000);
});
