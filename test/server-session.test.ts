import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from './helpers/server';

let fx: Fixture;
beforeEach(async () => { fx = await startFixture(); });
afterEach(async () => { await fx.close(); });

describe('connect handshake', () => {
  it('answers connected with connection, capabilities, resume token and what is already in the session', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid, { data: 'name=a' });
    const hello = a.hello!;
    expect(hello['v']).toBe(1);
    expect(hello['sessionId']).toBe(sid);
    expect(hello['role']).toBe('publisher');
    expect(hello['capabilities']).toEqual({ publish: 1, subscribe: 1, signal: 1, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 });
    expect(hello['connection']).toMatchObject({ data: 'name=a' });
    expect(typeof hello['resumeToken']).toBe('string');
    expect(hello['connections']).toEqual([]);
    expect(hello['lastSeq']).toBe(0);

    const pub = await a.request('publish', { name: 'cam', hasAudio: true, hasVideo: true, videoType: 'camera' });
    expect(pub['ok']).toBe(true);
    const stream = pub['stream'] as Record<string, unknown>;
    expect(stream).toMatchObject({ name: 'cam', hasAudio: true, hasVideo: true, videoType: 'camera', connectionId: a.connectionId });

    const b = await fx.join(sid, { role: 'moderator' });
    expect(b.hello!['connections']).toEqual([a.hello!['connection']]);
    expect(b.hello!['streams']).toEqual([stream]);
    expect(b.hello!['capabilities']).toEqual({ publish: 1, subscribe: 1, signal: 1, forceDisconnect: 1, forceUnpublish: 1, forceMute: 1 });
    const created = await a.waitFor((f) => f.type === 'connectionCreated', 2000, true);
    expect(created['connection']).toEqual(b.hello!['connection']);
    expect(created['seq']).toBe(2);
  });
});

describe('signals', () => {
  it('delivers to everyone including the sender, and to one connection only', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const c = await fx.join(sid);
    const r = await a.request('signal', { signalType: 'chat', data: 'hello' });
    expect(r['ok']).toBe(true);
    for (const x of [a, b, c]) {
      const s = await x.waitFor((f) => f.type === 'signal', 2000, true);
      expect(s).toMatchObject({ signalType: 'chat', data: 'hello', from: a.connectionId });
    }
    const r2 = await b.request('signal', { signalType: 'dm', data: 'psst', to: c.connectionId });
    expect(r2['ok']).toBe(true);
    await c.waitFor((f) => f.type === 'signal' && f['signalType'] === 'dm', 2000, true);
    await a.request('signal', { data: 'marker' });
    await b.waitFor((f) => f['data'] === 'marker', 2000, true);
    expect(a.eventsOf('signal').filter((s) => s['signalType'] === 'dm')).toEqual([]);
    expect(b.eventsOf('signal').filter((s) => s['signalType'] === 'dm')).toEqual([]);
  });
});
