/**
 * The browser Session (lib/web/session.ts) under Node with `ws`: OpenTok.js's events and calls
 * against the real server (connect with a callback, connectionCreated, streamCreated from a
 * bot's publish, signal and signal:<type>, reconnecting / reconnected through a cut link with
 * no signal lost or doubled, moderation and its reason).
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { OT, type Session } from '../lib/web/index';
import type { WebSocketLike } from '../lib/web/protocol';
import { FaultProxy } from '../lib/tools/fault-proxy';
import { until } from './helpers/events';
import { API_KEY, startFixture, type Fixture } from './helpers/server';

let fx: Fixture | undefined;
let proxy: FaultProxy | undefined;
const open: Session[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await new Promise((r) => setTimeout(r, 50));
  await proxy?.close();
  proxy = undefined;
  await fx?.close();
  fx = undefined;
});

const createSocket = (url: string, protocols: string[]): WebSocketLike => new WebSocket(url, protocols) as unknown as WebSocketLike;

function session(sid: string, url?: string): Session {
  const s = OT.initSession(API_KEY, sid, { serverUrl: url ?? fx!.url, createSocket });
  open.push(s);
  return s;
}

describe('web Session (OpenTok.js shape)', () => {
  it('connect(token, callback), connectionCreated, streamCreated, signal and signal:<type>', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const a = session(sid);
    const b = session(sid);
    const seen: string[] = [];
    a.on('sessionConnected', () => seen.push('sessionConnected'));
    a.on('connectionCreated', (e) => seen.push(`connectionCreated:${e.connection.data}`));
    a.on('streamCreated', (e) => seen.push(`streamCreated:${e.stream.name}`));
    const chats: Array<{ data: string; from: string | undefined }> = [];
    a.on('signal:chat', (e) => chats.push({ data: e.data, from: e.from?.data }));
    let all = 0;
    a.on('signal', () => all++);
    await new Promise<void>((resolve, reject) => a.connect(fx!.token(sid, { data: 'alice' }), (err) => (err ? reject(err) : resolve())));
    expect(a.isConnected).toBe(true);
    expect(a.connection?.data).toBe('alice');
    await b.connect(fx.token(sid, { data: 'bob' }));
    await until('a sees bob', () => seen.includes('connectionCreated:bob'));
    const bot = await fx.join(sid);
    await bot.request('publish', { name: 'cam', hasAudio: true, hasVideo: true });
    await until('the stream', () => seen.includes('streamCreated:cam'));
    await b.signal({ type: 'chat', data: 'hello', to: b.connections.get(a.connection!.connectionId) });
    await b.signal({ type: 'other', data: 'x' });
    await until('signals', () => chats.length === 1 && all === 2);
    expect(chats).toEqual([{ data: 'hello', from: 'bob' }]);
    expect(seen[0]).toBe('sessionConnected');
    // a bad token: the callback gets the OpenTok error
    const c = session(sid);
    const err = await new Promise((resolve) => c.connect('T1==nope', resolve));
    expect(err).toMatchObject({ code: 1004, name: 'OT_AUTHENTICATION_ERROR' });
  });

  it('a cut link: sessionReconnecting then sessionReconnected, and signals sent meanwhile arrive once', async () => {
    fx = await startFixture({ signalsPerSecond: 0 });
    const sid = await fx.newSession();
    proxy = await new FaultProxy(fx.server.port).start();
    const a = session(sid, proxy.url);
    const b = session(sid);
    const log: string[] = [];
    a.on('sessionReconnecting', () => log.push('reconnecting'));
    a.on('sessionReconnected', () => log.push('reconnected'));
    const got: string[] = [];
    b.on('signal:n', (e) => got.push(e.data));
    await a.connect(fx.token(sid, { data: 'a' }));
    await b.connect(fx.token(sid, { data: 'b' }));
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < 200; i++) {
      sends.push(a.signal({ type: 'n', data: String(i) }));
      if (i === 100) proxy.cut();
    }
    await Promise.all(sends);
    await until('200 signals', () => got.length >= 200, 10000);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    expect(log).toEqual(['reconnecting', 'reconnected']);
  });

  it('forceDisconnect: the target gets sessionDisconnected (forceDisconnected), the others connectionDestroyed', async () => {
    fx = await startFixture();
    const sid = await fx.newSession();
    const mod = session(sid);
    const target = session(sid);
    await mod.connect(fx.token(sid, { role: 'moderator', data: 'mod' }));
    await target.connect(fx.token(sid, { data: 'target' }));
    const ended = new Promise<string>((r) => target.once('sessionDisconnected', (e) => r(e.reason)));
    const destroyed = new Promise<string>((r) => mod.once('connectionDestroyed', (e) => r(`${e.connection.data}:${e.reason}`)));
    await until('mod sees target', () => [...mod.connections.values()].some((c) => c.data === 'target'));
    const conn = [...mod.connections.values()].find((c) => c.data === 'target')!;
    await mod.forceDisconnect(conn);
    expect(await ended).toBe('forceDisconnected');
    expect(await destroyed).toBe('target:forceDisconnected');
    expect(target.isConnected).toBe(false);
    await expect(target.signal({ data: 'late' })).rejects.toMatchObject({ code: 1010 });
  });
});
