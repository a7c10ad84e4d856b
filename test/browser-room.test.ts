/**
 * The room page in real headless Chromium (Debian's, through playwright-core), against a real
 * server in development mode: it joins through /dev/join, exposes window.session, and chats
 * over signals with a Node bot (both directions). Media through the WebRTC edge: see
 * test/browser-media.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { initSession } from '../lib/index';
import { mintToken } from '../lib/mint';
import { newPage, useBrowserAndServer } from './helpers/browser';
import { until } from './helpers/events';

const project = { apiKey: 'room-key', apiSecret: 'room-secret-room-secret-room-secret' };
const fx = useBrowserAndServer(project);

describe('room page (Chromium)', () => {
  it('joins through /dev/join, exposes window.session, chats with a Node bot both ways', async () => {
    const { page, errors } = await newPage(fx.browser);
    await page.goto(`${fx.server.apiUrl}/?name=Ada`);
    await page.waitForFunction('window.session !== undefined && window.session.isConnected === true', undefined, { timeout: 15_000 });
    const sessionId = new URL(page.url()).searchParams.get('sessionId');
    expect(sessionId).toBeTruthy(); // the page's URL is now a link to the same session
    const bot = initSession(project.apiKey, sessionId as string, { serverUrl: fx.server.url });
    const heard: string[] = [];
    bot.on('signal:chat', (e) => heard.push(`${e.data} from ${JSON.parse(e.from?.data ?? '{}').name as string}`));
    await bot.connect(await mintToken(project, sessionId as string, JSON.stringify({ name: 'bot' })));
    await page.fill('#chat-input', 'hello from the page');
    await page.click('#chat-form button');
    await until('the bot hears the page', () => heard.length === 1, 10_000);
    expect(heard).toEqual(['hello from the page from Ada']);
    await bot.signal({ type: 'chat', data: 'hello from the bot' });
    await page.waitForFunction("document.getElementById('chat-log').textContent.includes('bot: hello from the bot')", undefined, { timeout: 10_000 });
    bot.disconnect();
    expect(errors.filter((e) => !/publish|rtc/i.test(e))).toEqual([]);
    await page.context().close();
  }, 60_000);
});
