/**
 * Legal but costly input must not stall other clients (docs/protocol.md sections 1 and 10):
 * deeply nested frames are refused before JSON.parse, frames over maxFrameBytes before they
 * are read, sockets that never finish their HTTP request are closed within seconds, and one
 * address holds at most maxConnectionsPerAddress sockets.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULTS, mintSessionId } from '../lib/server';
import { largestClientFrameBytes, MAX_FRAME_DEPTH, nestsDeeperThan } from '../lib/server/protocol';
import { TestClient } from './helpers/client';
import { API_KEY, API_SECRET, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await fx?.close();
  fx = undefined;
});

/** A raw TCP socket to the server; resolves with it once connected, and collects what it reads. */
function rawTcp(port: number): Promise<{ sock: Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let out = '';
    const sock = tcpConnect(port, '127.0.0.1');
    sockets.push(sock);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('data', (d) => { out += d.toString('latin1'); });
    sock.on('error', () => { /* close follows */ });
    sock.once('connect', () => resolve({ sock, text: () => out, closed }));
    sock.once('error', reject);
  });
}

/** `levels` nested arrays: [[[...]]] */
const deep = (levels: number): string => '['.repeat(levels) + ']'.repeat(levels);

describe('nesting depth', () => {
  it('the scan counts brackets outside strings only', () => {
    expect(nestsDeeperThan('{"a":[[1]]}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":[[[1]]]}', 3)).toBe(true);
    expect(nestsDeeperThan(JSON.stringify({ data: '[[[[[[{{{{' }), 1)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ data: 'a\\"[[[[' }), 1)).toBe(false);
    expect(nestsDeeperThan(`{"x":"\\\\",${'"y":'}${deep(4)}}`, 3)).toBe(true);
  });

  it('a burst of deeply nested frames is refused unparsed (4400, nothing performed); a peer still gets its signals', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid);
    // a valid signal request carrying an ignored field nested 32k levels deep, in 64 KB
    const frame = `{"type":"signal","id":1,"data":"deep","x":${deep(32_000)}}`;
    expect(frame.length).toBeLessThanOrEqual(DEFAULTS.maxFrameBytes);
    const errors: Array<Record<string, unknown>> = [];
    const allErrors = new Promise<void>((resolve) => {
      a.ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as Record<string, unknown>;
        if (f['type'] === 'error') errors.push(f);
        if (errors.length === 600) resolve();
      });
    });
    for (let i = 0; i < 600; i++) a.ws.send(frame);
    // meanwhile the peers talk
    for (let i = 0; i < 20; i++) expect(await b.request('signal', { data: `b${i}` })).toMatchObject({ ok: true });
    await allErrors;
    for (const e of errors) {
      expect(e).toMatchObject({ code: 4400, name: 'CONVENE_MALFORMED_FRAME', fatal: false });
      expect(String(e['message'])).toMatch(new RegExp(`deeper than ${MAX_FRAME_DEPTH} levels: not parsed`));
    }
    await c.waitFor((f) => f.type === 'signal' && f['data'] === 'b19', 5000, true);
    // no deep signal was performed and id 1 is still free
    expect(c.eventsOf('signal').map((f) => f['data'])).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
    expect(await a.request('signal', { data: 'shallow', x: deep(MAX_FRAME_DEPTH - 1) })).toMatchObject({ ok: true, id: 1 });
    await c.waitFor((f) => f.type === 'signal' && f['data'] === 'shallow', 2000, true);
    expect(a.closeCode).toBeUndefined();
  });
});

describe('frame size', () => {
  it('the default maxFrameBytes holds the largest frame a client needs (every character escaped)', () => {
    expect(largestClientFrameBytes()).toBeLessThanOrEqual(DEFAULTS.maxFrameBytes);
    // a signal with the longest data of control characters, as JSON.stringify writes it
    const sig = JSON.stringify({ type: 'signal', id: Number.MAX_SAFE_INTEGER, ack: Number.MAX_SAFE_INTEGER, signalType: 'x'.repeat(128), data: '\u0001'.repeat(8192), to: 'c'.repeat(256) });
    expect(Buffer.byteLength(sig)).toBeLessThanOrEqual(largestClientFrameBytes());
  });

  it('a frame announced over maxFrameBytes is refused from its header, before its payload is sent (1009)', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    // a masked text frame header announcing 900 KB, and not one byte of payload
    const header = Buffer.alloc(14);
    header[0] = 0x81;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(900_000n, 2);
    header.writeUInt32BE(0x01020304, 10);
    (a.ws as unknown as { _socket: Socket })._socket.write(header);
    expect(await a.waitClose()).toBe(1009);
    expect(b.events).toEqual([]);
    expect((await a.resume()).type).toBe('resumed');
  });
});

describe('sockets before the upgrade', () => {
  it('an idle TCP socket and one that never finishes its headers are closed after headersTimeoutMs', async () => {
    fx = await startFixture({ headersTimeoutMs: 300 });
    const idle = await rawTcp(fx.server.port);
    const slow = await rawTcp(fx.server.port);
    slow.sock.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    let stillOpen = false; // the server did not close them: Node's own header timeout is 60 s
    const t = setTimeout(() => { stillOpen = true; idle.sock.destroy(); slow.sock.destroy(); }, 10_000);
    await Promise.all([idle.closed, slow.closed]);
    clearTimeout(t);
    expect(stillOpen).toBe(false);
    // an upgraded socket is not bound by it, and the REST API still answers
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    await new Promise((r) => setTimeout(r, 600));
    expect(await a.request('signal', { data: 'x' })).toMatchObject({ ok: true });
    expect(a.closeCode).toBeUndefined();
  });
});

describe('connections per address', () => {
  it('past maxConnectionsPerAddress a socket is refused with 429; a place freed is usable again', async () => {
    fx = await startFixture({ maxConnectionsPerAddress: 3 });
    const sid = mintSessionId({ apiKey: API_KEY, apiSecret: API_SECRET }).sessionId; // no REST socket
    const clients: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = new TestClient(fx.url, { apiKey: API_KEY, sessionId: sid, token: fx.token(sid) });
      expect((await c.connect()).type).toBe('connected');
      clients.push(c);
    }
    // a WebSocket handshake over the limit: HTTP 429
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(fx!.url);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => reject(new Error('opened over the limit')));
      ws.on('error', () => { /* after unexpected-response */ });
    });
    expect(status).toBe(429);
    // a raw socket over the limit is told and closed
    const raw = await rawTcp(fx.server.port);
    await raw.closed;
    expect(raw.text()).toMatch(/^HTTP\/1\.1 429 .*too many connections from/s);
    // the three connected clients are untouched
    expect(await clients[0]!.request('signal', { data: 'still' })).toMatchObject({ ok: true });
    // one leaves: its place is free again
    clients[2]!.close();
    await clients[2]!.waitClose();
    const until = Date.now() + 5000;
    while (fx.server.connectionsFrom('127.0.0.1') > 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const d = new TestClient(fx.url, { apiKey: API_KEY, sessionId: sid, token: fx.token(sid) });
    expect((await d.connect()).type).toBe('connected');
    d.close();
    for (const c of clients) c.close();
  });
});
