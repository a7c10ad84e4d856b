/**
 * Headless Chromium for the browser tests: Debian's chromium driven by playwright-core (no
 * browser download), with fake camera and microphone (a test pattern and a beep) and no
 * permission prompts. One browser per test file; a context (a profile) per page.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

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
