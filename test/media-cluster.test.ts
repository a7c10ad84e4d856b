/**
 * Media in a cluster (v1.1): forwarding stays on one node for now (media across nodes is a
 * later issue). Subscribing to a stream whose publisher is on another node fails with 4501
 * CONVENE_MEDIA_NOT_ON_THIS_NODE; publisher and subscriber on the same node work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '../lib/mint';
import { mintSessionId, startServer, type ConveneServer } from '../lib/server/index';
import { encodeMediaFrame } from '../lib/wire';
import { freePort, haveRedis, RedisProcess, until } from './helpers/cluster';
import { TestClient } from './helpers/client';

const PROJECT = { apiKey: 'cluster', apiSecret: 'cluster-secret-0123456789abcdef' };

describe.skipIf(!haveRedis)('media in a cluster (skipped without redis-server)', () => {
  let redis: RedisProcess;
  let nodes: ConveneServer[] = [];
  const clients: TestClient[] = [];

  async function client(node: number, sid: string, data: string): Promise<TestClient> {
    const c = new TestClient(`ws://127.0.0.1:${nodes[node]!.port}`, { apiKey: PROJECT.apiKey, sessionId: sid, token: await mintToken(PROJECT, sid, data) });
    clients.push(c);
    expect((await c.connect()).type).toBe('connected');
    return c;
  }

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
  });
  afterAll(async () => { await redis.stop(); });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(nodes.map((n) => n.close()));
    nodes = [];
  });

  it('subscribe to a publisher on another node fails with 4501; on the same node it works', async () => {
    for (let i = 0; i < 2; i++) nodes.push(await startServer({ projects: [PROJECT], port: 0, redis: redis.url }));
    const sid = mintSessionId(PROJECT).sessionId;
    const pub = await client(0, sid, 'pub');
    const r = await pub.request('publish', { hasAudio: true, hasVideo: false });
    const streamId = (r['stream'] as { id: string }).id;
    const track = (r['tracks'] as { audio: number }).audio;

    const far = await client(1, sid, 'far');
    await far.waitFor((f) => f.type === 'connected', 2000, true);
    const refused = await far.request('subscribe', { streamId });
    expect(refused).toMatchObject({ ok: false, error: { code: 4501, name: 'CONVENE_MEDIA_NOT_ON_THIS_NODE' } });

    const near = await client(0, sid, 'near');
    const got: Buffer[] = [];
    near.ws.on('message', (d: Buffer, bin: boolean) => { if (bin) got.push(d); });
    expect(await near.request('subscribe', { streamId })).toMatchObject({ ok: true, subscription: { streamId, audio: { track } } });
    pub.ws.send(encodeMediaFrame({ kind: 'audio', flags: 0, track, sequence: 1, timestamp: 960, audioLevel: 127 }, new Uint8Array([0xf8, 1])));
    await until('the frame on the same node', () => got.length === 1);
    expect(nodes[0]!.registry.mediaStats(sid)!.consumers.map((c) => c.forwarded)).toEqual([1, 0]);
  });
});
