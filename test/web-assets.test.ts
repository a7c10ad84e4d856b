/**
 * What the server serves to browsers (lib/server/web-assets.ts): the room page at `/`, the
 * bundled client at /convene.js (an ES module exporting OT), and in development mode
 * /dev/join, whose token joins the session it names; without development mode /dev/join is
 * not there. Needs the build (npm run build: tsc + esbuild).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ConveneServer } from '../lib/server';
import { ProtocolClient, type WebSocketLike } from '../lib/web/protocol';

const project = { apiKey: 'web-key', apiSecret: 'web-secret-web-secret-web-secret' };
const dist = join(__dirname, '..', 'dist', 'web');
let server: ConveneServer | undefined;
afterEach(async () => { await server?.close(); server = undefined; });

describe('web assets', () => {
  it('serves the room page and the bundled client', async () => {
    expect(existsSync(join(dist, 'convene.js'))).toBe(true); // built by npm run build
    server = await startServer({ projects: [project], port: 0, webDir: dist });
    const page = await fetch(`${server.apiUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('/room.js');
    const js = await fetch(`${server.apiUrl}/convene.js`);
    expect(js.headers.get('content-type')).toContain('javascript');
    const code = await js.text();
    expect(code).toMatch(/export\s*\{[^}]*\bOT\b/);
    expect(code).not.toMatch(/require\(["']node:/); // a browser bundle: nothing Node-only
    expect((await fetch(`${server.apiUrl}/room.js`)).status).toBe(200);
    // the REST API still answers beside them
    expect((await fetch(`${server.apiUrl}/nothing-here`)).status).toBe(404);
    // not in development mode: no /dev/join
    expect((await fetch(`${server.apiUrl}/dev/join?name=x`)).status).toBe(404);
  });

  it('development mode: /dev/join makes up a session (or takes one) and a token that joins it', async () => {
    server = await startServer({ projects: [project], port: 0, webDir: dist, devProject: project });
    const r = await fetch(`${server.apiUrl}/dev/join?name=Ada`);
    expect(r.status).toBe(200);
    const j = (await r.json()) as { apiKey: string; sessionId: string; token: string; serverUrl: string };
    expect(j.apiKey).toBe('web-key');
    expect(j.serverUrl).toBe(server.url);
    const again = (await (await fetch(`${server.apiUrl}/dev/join?name=Bob&sessionId=${encodeURIComponent(j.sessionId)}`)).json()) as { sessionId: string; token: string };
    expect(again.sessionId).toBe(j.sessionId);
    const events: Array<Record<string, unknown>> = [];
    const handlers = { event: (f: Record<string, unknown>) => events.push(f), reconnecting: () => {}, reconnected: () => {}, disconnected: () => {} };
    const createSocket = (url: string, p: string[]): WebSocketLike => new WebSocket(url, p) as unknown as WebSocketLike;
    const a = new ProtocolClient({ url: j.serverUrl, apiKey: j.apiKey, sessionId: j.sessionId, token: j.token, createSocket }, handlers);
    const info = await a.connect();
    expect(JSON.parse(info.connection.data)).toEqual({ name: 'Ada' });
    expect(info.role).toBe('publisher');
    const b = new ProtocolClient({ url: j.serverUrl, apiKey: j.apiKey, sessionId: again.sessionId, token: again.token, createSocket }, { ...handlers, event: () => {} });
    await b.connect();
    await new Promise((r) => setTimeout(r, 100));
    expect(events.some((e) => e['type'] === 'connectionCreated')).toBe(true);
    await a.disconnect();
    await b.disconnect();
  });
});
