/**
 * Headless Chromium for the browser tests: Debian's chromium driven by playwright-core (no
 * browser download), with fake camera and microphone (a test pattern and a beep) and no
 * permission prompts. One browser per test file; a context (a profile) per page.
 */
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startServer, type ConveneServer } from '../../lib/server';

export const CHROMIUM = process.env['CONVENE_CHROMIUM'] ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', // root in CI
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns', // host candidates as IPs: the server resolves no mDNS names
    ],
  });
}

/** A fresh page (own context: cookies, permissions) with console errors collected. */
export async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { page, errors };
}

/**
 * One Chromium and one development-mode server (serving dist/web, /dev/join for `project`) for a
 * test file: launched before its tests, closed after. Read `browser` and `server` inside tests.
 */
export function useBrowserAndServer(project: { apiKey: string; apiSecret: string }): { readonly browser: Browser; readonly server: ConveneServer } {
  let browser: Browser | undefined;
  let server: ConveneServer | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
    server = await startServer({ projects: [project], port: 0, webDir: join(__dirname, '..', '..', 'dist', 'web'), devProject: project });
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get browser(): Browser { if (!browser) throw new Error('no browser outside a test'); return browser; },
    get server(): ConveneServer { if (!server) throw new Error('no server outside a test'); return server; },
  };
}
