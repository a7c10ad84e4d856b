/**
 * A connection's removal as a cluster log entry (lib/server/cluster/log-entry.ts, appendRemoval):
 * the one form used by the registry's destroy in a cluster, a swept node, a stale record and a
 * join cut off. Pure: no Redis.
 */
import { describe, expect, it } from 'vitest';
import { Cond, eventsAfter, removalBatch, Write, type LogEntry } from '../lib/server/cluster/log-entry';
import type { WireStream } from '../lib/wire';

const conn = { id: 'c1', creationTime: 1, data: 'd' };
const stream = (id: string): WireStream => ({
  id, connectionId: 'c1', creationTime: 2, name: '', hasAudio: true, hasVideo: true, videoType: 'camera', videoDimensions: { width: 640, height: 480 },
});

describe('removalBatch', () => {
  it('only while the connection is on its node: its streams go, then it, with their writes', () => {
    const b = removalBatch('s', conn, [stream('a'), stream('b')], 'networkDisconnected', 'node1');
    expect(b.conds).toEqual([[Cond.CONNECTION_ON_NODE, 'c1', 'node1']]);
    expect(b.writes).toEqual([[Write.DELETE_STREAM, 'a', ''], [Write.DELETE_STREAM, 'b', ''], [Write.DELETE_CONNECTION, 'c1', '']]);
    expect(b.op).toEqual([{ t: 'streamDel', id: 'a' }, { t: 'streamDel', id: 'b' }, { t: 'connDel', id: 'c1' }]);
    expect(removalBatch('s', conn, [], 'networkDisconnected', 'node1', false).writes).toEqual([[Write.DELETE_RELEASED_CONNECTION, 'c1', '']]);
  });

  it('another connection gets streamDestroyed for each stream, then connectionDestroyed; the leaving one not its streams', () => {
    const b = removalBatch('s', conn, [stream('a'), stream('b')], 'forceDisconnected', 'node1');
    const entry: LogEntry = { n: 1, e: 'e', s: 's', node: 'node1', m: b.m, op: b.op };
    const { events } = eventsAfter([entry], { n: 0, seq: 0, rid: 0 }, 'other', false);
    expect(events.map((e) => JSON.parse(e.body) as Record<string, unknown>)).toEqual([
      { type: 'streamDestroyed', stream: stream('a'), reason: 'forceDisconnected' },
      { type: 'streamDestroyed', stream: stream('b'), reason: 'forceDisconnected' },
      { type: 'connectionDestroyed', connection: conn, reason: 'forceDisconnected' },
    ]);
    expect(eventsAfter([entry], { n: 0, seq: 0, rid: 0 }, 'other', true).events).toHaveLength(2); // connection events suppressed
    const own = eventsAfter([entry], { n: 0, seq: 0, rid: 0 }, 'c1', false).events.map((e) => (JSON.parse(e.body) as { type: string }).type);
    expect(own).not.toContain('streamDestroyed');
  });
});
