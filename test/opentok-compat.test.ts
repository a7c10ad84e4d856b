/**
 * OpenTok.js code runs unchanged on the Node Session: completion handlers and no awaits,
 * map-form listeners, event objects, disconnect while connecting, own connectionCreated,
 * OT.initPublisher / publish(publisher, handler), forced mutes seen by the Publisher.
 * Against the real server through the native core; programs that must exit by themselves
 * run in child processes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initSession, OT, OTError, Publisher, type Session } from '../lib/index';
import { API_KEY } from './helpers/server';
import { next } from './helpers/events';
import { runNode } from './helpers/node';
import { useFixtureSessions } from './helpers/sessions';

const DIST = join(__dirname, '..', 'dist', 'index.js');
const fixture = useFixtureSessions();
const session = fixture.session.bind(fixture);


/** A TCP server that accepts and never answers: a connect attempt against it stays pending. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((s) => { sockets.add(s); s.on('error', () => {}); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }),
  };
}

describe('a ported OpenTok.js program', () => {
  it('connects, gets its own connectionCreated, publishes, signals, survives an unhandled error, disconnects and exits by itself', async () => {
    const sid = await fixture.fx.newSession();
    const r = await runNode([join(__dirname, 'fixtures', 'opentok-port.js')], {
      CONVENE_DIST: DIST, API_KEY, SESSION_ID: sid, TOKEN: fixture.fx.token(sid), SERVER_URL: fixture.fx.url,
    });
    const lines = r.out.trim().split('\n');
    expect(r.err).toBe('');
    expect(lines.slice(0, 3)).toEqual([
      'sessionConnected sessionConnected true true',
      'own connectionCreated',
      'published ported audio false video true found true',
    ]);
    // the signal's completion and its echo may come in either order
    expect(lines.slice(3, 5).sort()).toEqual(['signal hello from me true', 'signal sent true']);
    expect(lines.slice(5)).toEqual(['exception 1461 OT_INVALID_SIGNAL_TYPE', 'sessionDisconnected clientDisconnected false']);
    expect(r.code).toBe(0);
  });
});

describe('no crash without a completion handler', () => {
  it('connect and signal failures with no handler and no await: exception listeners get them, the process lives on', async () => {
    const r = await runNode(['-e', `
      const { OT } = require(${JSON.stringify(DIST)});
      const s = OT.initSession(${JSON.stringify(API_KEY)}, 'sid', { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      process.on('unhandledRejection', (e) => console.log('unhandled', e.code));
      s.on('exception', (e) => console.log('exception', e.type, e.code, e.name, e.target === s, e.error instanceof OT.OTError));
      s.signal({ data: 'not connected' });
      s.connect('bad');
      setTimeout(() => console.log('alive'), 300);
    `]);
    expect(r.out.trim().split('\n').sort()).toEqual([
      'alive',
      'exception exception 1005 OT_INVALID_SESSION_ID true true',
      'exception exception 1010 OT_NOT_CONNECTED true true',
    ]);
    expect(r.code).toBe(0);
  });

  it('with no exception listener either: one warning per failure, exit code 0', async () => {
    const r = await runNode(['-e', `
      const { initSession } = require(${JSON.stringify(DIST)});
      const s = initSession(${JSON.stringify(API_KEY)}, 'sid', { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      s.signal({ data: 'x' });
      setTimeout(() => console.log('alive'), 200);
    `]);
    expect(r.out).toContain('alive');
    expect(r.err.match(/ConveneWarning: OT_NOT_CONNECTED \(1010\)/g)).toHaveLength(1);
    expect(r.code).toBe(0);
  });

  it('await and .catch still see the rejection (and exception listeners do not); a handler leaves no unhandled rejection', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const exceptions: number[] = [];
    a.on('exception', (e) => exceptions.push(e.code));
    await expect(a.signal({ data: 'x' })).rejects.toMatchObject({ code: 1010 });
    const caught = await a.connect('bad').catch((e: OTError) => e);
    expect(caught).toMatchObject({ code: 1004 });
    const viaHandler = await new Promise<unknown>((resolve) => { void a.signal({ data: 'x' }, resolve); });
    expect(viaHandler).toMatchObject({ code: 1010 });
    // a handler attached later in the same turn still counts
    const p = a.signal({ data: 'y' });
    const late = await p.then(() => 'sent', (e: OTError) => e.code);
    expect(late).toBe(1010);
    await new Promise((r) => setImmediate(r));
    expect(exceptions).toEqual([]);

    const r = await runNode(['-e', `
      const { initSession } = require(${JSON.stringify(DIST)});
      const s = initSession(${JSON.stringify(API_KEY)}, 'sid', { serverUrl: ${JSON.stringify(fixture.fx.url)} });
      process.on('unhandledRejection', () => console.log('unhandled'));
      s.on('exception', () => console.log('exception'));
      s.signal({ data: 'x' }, (e) => console.log('handler', e.code));
      s.connect('bad', (e) => console.log('handler', e.code));
      s.publish({ name: 'p' }, (e) => console.log('handler', e.code));
    `]);
    expect(r.out.trim().split('\n').sort()).toEqual(['handler 1005', 'handler 1010', 'handler 1010']);
    expect(r.code).toBe(0);
  });
});

describe('disconnect() while connecting', () => {
  it('cancels the attempt: the connect handler gets an error, the status ends disconnected, the process exits by itself', async () => {
    const silent = await silentServer();
    try {
      const r = await runNode(['-e', `
        const { initSession } = require(${JSON.stringify(DIST)});
        const s = initSession(${JSON.stringify(API_KEY)}, 'sid', { serverUrl: ${JSON.stringify(silent.url)}, connectTimeout: 60000 });
        s.on('sessionDisconnected', () => console.log('sessionDisconnected'));
        s.connect('token', (e) => console.log('connect', e && e.name, s.connectionStatus));
        console.log(s.connectionStatus);
        setTimeout(() => { s.disconnect(); console.log('after disconnect', s.connectionStatus); }, 100);
      `]);
      expect(r.out.trim().split('\n')).toEqual(['connecting', 'after disconnect disconnected', 'connect OT_CONNECT_FAILED disconnected']);
      expect(r.code).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('in process: the promise rejects, and the session connects normally afterwards', async () => {
    const silent = await silentServer();
    try {
      const a = initSession(API_KEY, 'sid', { serverUrl: silent.url, connectTimeout: 60000 });
      const p = a.connect('token');
      a.disconnect();
      expect(a.connectionStatus).toBe('disconnected');
      await expect(p).rejects.toMatchObject({ code: 1006, name: 'OT_CONNECT_FAILED' });
    } finally {
      await silent.close();
    }
    const sid = await fixture.fx.newSession();
    const b = session(sid);
    const p = b.connect(fixture.fx.token(sid));
    b.disconnect();
    await expect(p).rejects.toMatchObject({ code: 1006 });
    expect(b.connectionStatus).toBe('disconnected');
    await b.connect(fixture.fx.token(sid));
    expect(b.connectionStatus).toBe('connected');
  });
});

describe('EventDispatcher surface and event objects', () => {
  it('map form with a context, space-separated types, off(type), off(); event objects carry type, target, cancelable', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const ctx = { seen: [] as string[] };
    a.on({
      sessionConnected(this: typeof ctx, e) { this.seen.push(`${e.type}:${e.target === a}:${e.cancelable}`); },
      'signal:one': function (this: typeof ctx, e) { this.seen.push(`one:${e.data}`); },
    }, ctx);
    const both: string[] = [];
    a.on('signal:one signal:two', (e) => { both.push(e.type); });
    a.once({ signal: (e) => { both.push(`once:${e.type}`); } });
    expect(a.isConnected()).toBe(false);
    await a.connect(fixture.fx.token(sid));
    expect(a.isConnected()).toBe(true);
    await a.signal({ type: 'one', data: '1' });
    await a.signal({ type: 'two', data: '2' });
    await new Promise<void>((r) => a.once('signal:sync', () => r(), {}) && void a.signal({ type: 'sync' }));
    expect(ctx.seen).toEqual(['sessionConnected:true:false', 'one:1']);
    expect(both).toEqual(['once:one', 'one', 'two']);

    // off(type) removes all of that type; off(map, context) only those bound to the context
    a.off('signal:two');
    a.on('signal:one', (e) => { both.push(`other:${e.type}`); });
    a.off({ 'signal:one': function () {} }, ctx); // not the same function: nothing removed
    expect(a.listenerCount('signal:one')).toBe(3);
    a.off('signal:two signal:one');
    expect(a.listenerCount('signal:one') + a.listenerCount('signal:two')).toBe(0);
    a.off();
    expect(a.eventNames()).toEqual([]);
  });

  it('sessionDisconnected is cancelable: its default action destroys publishers, preventDefault keeps them to publish again', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    await a.connect(fixture.fx.token(sid));
    const kept = await a.publish(OT.initPublisher({ name: 'kept' }));
    const gone = await a.publish({ name: 'gone' });
    // the Publisher's own streamDestroyed: prevented for one, not the other
    kept.on('streamDestroyed', (e) => { expect(e.cancelable).toBe(true); e.preventDefault(); });
    const destroyed: string[] = [];
    kept.on('destroyed', () => destroyed.push('kept'));
    gone.on('destroyed', (e) => destroyed.push(`gone:${e.reason}`));
    const d = new Promise<{ cancelable: boolean; defaultPrevented: boolean }>((resolve) => a.once('sessionDisconnected', (e) => {
      e.preventDefault();
      resolve({ cancelable: e.cancelable, defaultPrevented: e.isDefaultPrevented() });
    }));
    a.disconnect();
    expect(await d).toEqual({ cancelable: true, defaultPrevented: true });
    expect(destroyed).toEqual(['gone:clientDisconnected']);
    expect(kept.isDestroyed).toBe(false);
    expect(gone.isDestroyed).toBe(true);
    expect(a.connection).toBeUndefined();
    expect(a.capabilities).toBeUndefined();
    await expect(a.publish(gone)).rejects.toMatchObject({ code: 1011 });

    await a.connect(fixture.fx.token(sid));
    const again = await a.publish(kept);
    expect(again).toBe(kept);
    expect(kept.stream?.name).toBe('kept');

    // not prevented: the session's default action destroys it
    const end = next(a, 'sessionDisconnected');
    a.disconnect();
    await end;
    expect(kept.isDestroyed).toBe(true);
    expect(destroyed).toEqual(['gone:clientDisconnected', 'kept']);
  });

  it('non-cancelable events ignore preventDefault', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const e = await new Promise<{ cancelable: boolean; prevented: boolean }>((resolve) => {
      a.on('sessionConnected', (ev) => { ev.preventDefault(); resolve({ cancelable: ev.cancelable, prevented: ev.isDefaultPrevented() }); });
      void a.connect(fixture.fx.token(sid));
    });
    expect(e).toEqual({ cancelable: false, prevented: false });
  });
});

describe('connectionCreated for this client', () => {
  it('fires for its own connection after sessionConnected; connectionCreatedForSelf: false keeps the old behaviour', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const order: string[] = [];
    a.on('sessionConnected', () => order.push('sessionConnected'));
    a.on('connectionCreated', (e) => order.push(e.connection === a.connection ? 'own' : `other:${e.connection.data}`));
    await a.connect(fixture.fx.token(sid, { data: 'a' }));
    const b = session(sid, { connectionCreatedForSelf: false });
    const seenByB: string[] = [];
    b.on('connectionCreated', (e) => seenByB.push(e.connection.data));
    const bAtA = next(a, 'connectionCreated');
    await b.connect(fixture.fx.token(sid, { data: 'b' }));
    await bAtA;
    await b.signal({ type: 'sync' }); // b's own events have been delivered by now
    expect(order).toEqual(['sessionConnected', 'own', 'other:b']);
    expect(seenByB).toEqual(['a']);
  });
});

describe('publishing the OpenTok.js way', () => {
  it('OT.initPublisher honours publishAudio / publishVideo; publish(publisher, handler); getPublisherForStream', async () => {
    const sid = await fixture.fx.newSession();
    const a = session(sid);
    const b = session(sid);
    await a.connect(fixture.fx.token(sid));
    await b.connect(fixture.fx.token(sid));
    const atB = next<{ stream: { hasAudio: boolean; hasVideo: boolean; name: string } }>(b, 'streamCreated');
    const pub = OT.initPublisher({ name: 'p', publishAudio: false, publishVideo: true });
    expect(pub).toBeInstanceOf(Publisher);
    expect(pub.publishingAudio).toBe(false);
    const created = new Promise<unknown>((resolve) => pub.once('streamCreated', (e) => resolve(e.stream)));
    const err = await new Promise<unknown>((resolve) => { void a.publish(pub, resolve); });
    expect(err).toBeUndefined();
    expect(await created).toBe(pub.stream);
    expect(pub.session).toBe(a);
    expect(pub.stream).toMatchObject({ name: 'p', hasAudio: false, hasVideo: true });
    expect((await atB).stream).toMatchObject({ name: 'p', hasAudio: false, hasVideo: true });
    expect(a.getPublisherForStream(pub.stream)).toBe(pub);
    expect(a.getPublisherForStream({ streamId: 'nope' })).toBeUndefined();
    await expect(a.publish(pub)).rejects.toMatchObject({ code: 1015 });

    const noVideo = await a.publish(OT.initPublisher(null, { name: 'q', publishVideo: false }));
    expect(noVideo.stream).toMatchObject({ hasAudio: true, hasVideo: false });
  });

  it("after forceMuteStream the muted client's Publisher reports audio off and fires its own muteForced", async () => {
    const sid = await fixture.fx.newSession();
    const mod = session(sid);
    await mod.connect(fixture.fx.token(sid, { role: 'moderator' }));
    const a = session(sid);
    await a.connect(fixture.fx.token(sid));
    const pub = await a.publish({ name: 'a' });
    const other = await a.publish({ name: 'other' });
    expect(pub.publishingAudio).toBe(true);
    const pubMuted = new Promise<{ type: string; target: unknown }>((resolve) => pub.once('muteForced', resolve));
    let otherMuted = 0;
    other.on('muteForced', () => { otherMuted++; });
    const sessionMuted = next(a, 'muteForced');
    await mod.forceMuteStream(pub.stream!);
    await sessionMuted;
    const ev = await pubMuted;
    expect(ev.type).toBe('muteForced');
    expect(ev.target).toBe(pub);
    expect(pub.publishingAudio).toBe(false);
    expect(pub.stream?.hasAudio).toBe(false);
    expect(other.publishingAudio).toBe(true);
    expect(otherMuted).toBe(0);
  });

  it('forceMuteAll spares the excluded streams: their Publishers keep their audio and get no muteForced', async () => {
    const sid = await fixture.fx.newSession();
    const mod = session(sid);
    await mod.connect(fixture.fx.token(sid, { role: 'moderator' }));
    const a = session(sid);
    await a.connect(fixture.fx.token(sid));
    const spared = await a.publish({ name: 'spared' });
    const muted = await a.publish({ name: 'muted' });
    let sparedEvents = 0;
    spared.on('muteForced', () => { sparedEvents++; });
    const mutedEvent = new Promise((resolve) => muted.once('muteForced', resolve));
    const sessionMuted = next(a, 'muteForced');
    await mod.forceMuteAll([spared.stream!]);
    await sessionMuted;
    await mutedEvent;
    expect(muted.publishingAudio).toBe(false);
    expect(spared.publishingAudio).toBe(true);
    expect(spared.stream?.hasAudio).toBe(true);
    expect(sparedEvents).toBe(0);
  });
});

describe('OT namespace', () => {
  it('OT.initSession gives a Session', () => {
    const s = OT.initSession(API_KEY, 'sid', { serverUrl: 'ws://127.0.0.1:9' });
    expect(s.sessionId).toBe('sid');
    expect(s.isConnected()).toBe(false);
    expect(() => OT.initPublisher({ videoType: 'hologram' as 'camera' })).toThrow(OTError);
  });
});
