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

describe('streams', () => {
  it('publish, update and unpublish reach the others with the OpenTok payloads', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const pub = await a.request('publish', { name: 'screen', hasAudio: false, hasVideo: true, videoType: 'screen', videoDimensions: { width: 1280, height: 720 } });
    const stream = pub['stream'] as { id: string };
    const created = await b.waitFor((f) => f.type === 'streamCreated', 2000, true);
    expect(created['stream']).toEqual(stream);
    expect(a.eventsOf('streamCreated')).toEqual([]);

    const upd = await a.request('updateStream', { streamId: stream.id, hasAudio: true, videoDimensions: { width: 640, height: 360 }, hasVideo: true });
    expect(upd['ok']).toBe(true);
    await b.waitFor((f) => f.type === 'streamPropertyChanged' && f['changedProperty'] === 'videoDimensions', 2000, true);
    const changes = b.eventsOf('streamPropertyChanged');
    expect(changes).toHaveLength(2); // hasVideo did not change
    expect(changes[0]).toMatchObject({ streamId: stream.id, changedProperty: 'hasAudio', oldValue: false, newValue: true });
    expect(changes[1]).toMatchObject({ changedProperty: 'videoDimensions', oldValue: { width: 1280, height: 720 }, newValue: { width: 640, height: 360 } });

    const other = await b.request('updateStream', { streamId: stream.id, hasAudio: false });
    expect(other).toMatchObject({ ok: false, error: { code: 1535 } });
    const unp = await a.request('unpublish', { streamId: stream.id });
    expect(unp['ok']).toBe(true);
    const gone = await b.waitFor((f) => f.type === 'streamDestroyed', 2000, true);
    expect(gone).toMatchObject({ reason: 'clientDisconnected', stream: { id: stream.id } });
    expect((await a.request('unpublish', { streamId: stream.id }))['error']).toMatchObject({ code: 1535 });
  });
});

describe('moderation', () => {
  async function room() {
    const sid = await fx.newSession();
    const mod = await fx.join(sid, { role: 'moderator' });
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    const s1 = (await a.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    const s2 = (await b.request('publish', { hasAudio: true, hasVideo: true }))['stream'] as { id: string };
    return { sid, mod, a, b, s1, s2 };
  }

  it('forceDisconnect: target told forceDisconnected and closed, others see streamDestroyed then connectionDestroyed', async () => {
    const { mod, a, b, s1 } = await room();
    const r = await mod.request('forceDisconnect', { connectionId: a.connectionId });
    expect(r['ok']).toBe(true);
    expect(await a.waitFor((f) => f.type === 'sessionDisconnected', 2000, true)).toMatchObject({ reason: 'forceDisconnected' });
    expect(await a.waitClose()).toBe(1000);
    const cd = await b.waitFor((f) => f.type === 'connectionDestroyed', 2000, true);
    expect(cd).toMatchObject({ reason: 'forceDisconnected', connection: { id: a.connectionId } });
    const sd = b.eventsOf('streamDestroyed');
    expect(sd).toHaveLength(1);
    expect(sd[0]).toMatchObject({ reason: 'forceDisconnected', stream: { id: s1.id } });
    expect((await a.resume())).toMatchObject({ type: 'error', code: 1022 });
    expect((await mod.request('forceDisconnect', { connectionId: a.connectionId }))['error']).toMatchObject({ code: 1520 });
  });

  it('forceUnpublish tells everyone, the owner included', async () => {
    const { mod, a, b, s1 } = await room();
    expect((await mod.request('forceUnpublish', { streamId: s1.id }))['ok']).toBe(true);
    for (const x of [a, b, mod]) {
      const sd = await x.waitFor((f) => f.type === 'streamDestroyed', 2000, true);
      expect(sd).toMatchObject({ reason: 'forceUnpublished', stream: { id: s1.id } });
    }
    expect((await mod.request('forceUnpublish', { streamId: s1.id }))['error']).toMatchObject({ code: 1535 });
  });

  it('forceMuteStream, forceMuteAll with exclusions, and disableForceMute', async () => {
    const { sid, mod, a, b, s1, s2 } = await room();
    expect((await mod.request('forceMuteStream', { streamId: s1.id }))['ok']).toBe(true);
    expect(await a.waitFor((f) => f.type === 'muteForced', 2000, true)).toMatchObject({ active: true, streamId: s1.id });
    expect(await b.waitFor((f) => f.type === 'streamPropertyChanged', 2000, true)).toMatchObject({ streamId: s1.id, changedProperty: 'hasAudio', newValue: false });
    expect(a.eventsOf('streamPropertyChanged')).toEqual([]);

    await a.request('updateStream', { streamId: s1.id, hasAudio: true });
    expect((await mod.request('forceMuteAll', { excludedStreamIds: [s2.id] }))['ok']).toBe(true);
    for (const x of [a, b]) await x.waitFor((f) => f.type === 'muteForced' && f['active'] === true && f['streamId'] === undefined, 2000, true);
    expect(mod.eventsOf('muteForced')).toEqual([]);
    const toFalse = mod.eventsOf('streamPropertyChanged').filter((f) => f['newValue'] === false);
    expect(toFalse.map((f) => f['streamId'])).toEqual([s1.id, s1.id]); // once by forceMuteStream, once by forceMuteAll; s2 excluded

    const late = await fx.join(sid);
    expect(late.hello!['forceMute']).toEqual({ active: true });
    const pub = await late.request('publish', { hasAudio: true, hasVideo: true });
    expect((pub['stream'] as { hasAudio: boolean }).hasAudio).toBe(false);
    await late.waitFor((f) => f.type === 'muteForced', 2000, true);

    expect((await mod.request('disableForceMute'))['ok']).toBe(true);
    for (const x of [a, b, late]) await x.waitFor((f) => f.type === 'muteForced' && f['active'] === false, 2000, true);
    const pub2 = await late.request('publish', { hasAudio: true, hasVideo: false });
    expect((pub2['stream'] as { hasAudio: boolean }).hasAudio).toBe(true);
  });
});

describe('disconnect and suppression', () => {
  it('disconnect: result, close 1000, peers see clientDisconnected, nothing kept for resume', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    await a.request('publish', { hasAudio: true, hasVideo: true });
    expect((await a.request('disconnect'))['ok']).toBe(true);
    expect(await a.waitClose()).toBe(1000);
    const cd = await b.waitFor((f) => f.type === 'connectionDestroyed', 2000, true);
    expect(cd['reason']).toBe('clientDisconnected');
    expect(b.eventsOf('streamDestroyed')[0]).toMatchObject({ reason: 'clientDisconnected' });
    expect(await a.resume()).toMatchObject({ type: 'error', code: 1022 });
    expect(fx.server.registry.connectionCount(sid)).toBe(1);
  });

  it('connectionEventsSuppressed hides connection events and the connection list, not streams or signals', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const quiet = await fx.join(sid, {}, { connectionEventsSuppressed: true });
    expect(quiet.hello!['connections']).toEqual([]);
    const b = await fx.join(sid);
    await b.request('publish', { hasAudio: true, hasVideo: true });
    await b.request('signal', { data: 'hi' });
    await quiet.waitFor((f) => f.type === 'signal', 2000, true);
    expect(quiet.eventsOf('streamCreated')).toHaveLength(1);
    expect(quiet.eventsOf('connectionCreated')).toEqual([]);
    expect(a.eventsOf('connectionCreated').map((f) => (f['connection'] as { id: string }).id)).toEqual([quiet.connectionId, b.connectionId]);
  });
});

describe('server shutdown', () => {
  it('tells every client serverRotation, closes with 1001 and refuses new handshakes', async () => {
    const sid = await fx.newSession();
    const a = await fx.join(sid);
    const b = await fx.join(sid);
    await fx.server.close();
    for (const x of [a, b]) {
      expect(await x.waitFor((f) => f.type === 'sessionDisconnected', 2000, true)).toMatchObject({ reason: 'serverRotation' });
      expect(await x.waitClose()).toBe(1001);
    }
    expect(b.eventsOf('connectionDestroyed')).toEqual([]);
  });
});
