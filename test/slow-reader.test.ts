/**
 * A client that acknowledges what it never reads (docs/protocol.md section 10, memory per
 * connection): it pauses its socket and piggybacks acks of every event on its own signals
 * while a peer broadcasts. The replay buffer stays empty, so only the bound on the socket's
 * send buffer keeps the server's memory in check: the client is dropped with close 4003 and
 * the server process's RSS stays under the documented ceiling.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mintSessionId } from '../lib/server';
import { TestClient } from './helpers/client';
import { startServerProcess, type ServerProcess } from './helpers/server-proc';
import { API_KEY, API_SECRET, OpenTok, sleep } from './helpers/server';

const MiB = 1024 * 1024;
let proc: ServerProcess | undefined;
afterEach(async () => {
  await proc?.close();
  proc = undefined;
});

describe('a client that acknowledges but does not read', () => {
  it('is dropped with 4003 once its send buffer passes maxSendBufferBytes; the server RSS stays under the ceiling', async () => {
    const maxSendBufferBytes = 8 * MiB; // the default
    // a replay buffer large enough that the blind acks (one per stat round trip) always keep up
    // with the peer: what bounds this client's memory is the send buffer, not the replay buffer
    proc = await startServerProcess({
      projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], signalsPerSecond: 0, maxReplayBytes: 64 * MiB, maxReplayEvents: 100_000,
    });
    const ot = new OpenTok(API_KEY, API_SECRET, { apiUrl: proc.url.replace(/^ws/, 'http') });
    const { sessionId: sid } = mintSessionId({ apiKey: API_KEY, apiSecret: API_SECRET });
    const peer = new TestClient(proc.url, { apiKey: API_KEY, sessionId: sid, token: ot.generateToken(sid) });
    expect((await peer.connect()).type).toBe('connected');

    // the blind client: raw ws, its socket paused after the handshake
    const blind = new WebSocket(proc.url);
    let hello: Record<string, unknown> | undefined;
    const connected = new Promise<void>((resolve) => {
      blind.once('message', (d) => { hello = JSON.parse(d.toString()) as Record<string, unknown>; resolve(); });
    });
    await new Promise<void>((resolve, reject) => { blind.once('open', () => resolve()); blind.once('error', reject); });
    blind.send(JSON.stringify({ type: 'connect', v: 1, apiKey: API_KEY, sessionId: sid, token: ot.generateToken(sid) }));
    await connected;
    expect(hello!['type']).toBe('connected');
    const blindId = (hello!['connection'] as { id: string }).id;
    let closeCode: number | undefined;
    const closed = new Promise<void>((resolve) => blind.on('close', (code) => { closeCode = code; resolve(); }));
    blind.on('error', () => { /* close follows */ });
    const raw = (blind as unknown as { _socket: Socket })._socket;
    raw.pause();

    const baseline = (await proc.stat(undefined, undefined, true)).rss;
    let maxRss = baseline;
    // the peer broadcasts 8 KB signals, 32 in flight
    const data = 'p'.repeat(8000);
    let stop = false;
    const pump = (async () => {
      const inFlight = new Set<Promise<unknown>>();
      while (!stop) {
        const p: Promise<unknown> = peer.request('signal', { signalType: 'load', data }, 30_000).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 32) await Promise.race(inFlight);
      }
      await Promise.allSettled(inFlight);
    })();
    // the blind client acknowledges every event numbered for it, on its own signals
    let id = 1;
    let dropped = false;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const st = await proc.stat(sid, blindId);
      maxRss = Math.max(maxRss, st.rss);
      if (!st.conn?.attached) { dropped = true; break; }
      if (st.rss - baseline > 400 * MiB) break; // unbounded: stop before it hurts the machine
      if (blind.readyState === WebSocket.OPEN) blind.send(JSON.stringify({ type: 'signal', id: id++, signalType: 'blind', data: 'x', ack: st.conn.lastSeq }));
      await sleep(20);
    }
    stop = true;
    await pump;
    maxRss = Math.max(maxRss, (await proc.stat()).rss);
    expect(dropped, `still attached; server RSS grew by ${((maxRss - baseline) / MiB).toFixed(0)} MiB`).toBe(true);
    // reading again, it finds the close code at the end of what was queued for it
    raw.resume();
    const t = setTimeout(() => blind.terminate(), 10_000);
    await closed;
    clearTimeout(t);
    expect(closeCode).toBe(4003);
    // the ceiling of docs/protocol.md: send buffer + replay buffer (empty here: all acknowledged) + slack
    const grew = `server RSS grew by ${((maxRss - baseline) / MiB).toFixed(1)} MiB`;
    expect(maxRss - baseline, grew).toBeLessThan(maxSendBufferBytes + 24 * MiB);
    peer.close();
  }, 60_000);
});
