/** SessionLog: a node applies a session's log entries in order, whatever order they arrive in. */
import { describe, expect, it } from 'vitest';
import { eventsAfter, type LogEntry } from '../lib/server/cluster/log-entry';
import { SessionLog } from '../lib/server/cluster/session-log';

const entry = (n: number, e = 'E1', m: LogEntry['m'] = []): LogEntry => ({ n, e, s: 's', node: 'x', m });

function harness(stored: LogEntry[] = []) {
  const applied: string[] = [];
  const events: string[] = [];
  const fetches: Array<[number, number]> = [];
  let pending: Array<() => void> = [];
  const log = new SessionLog({
    apply: (en) => applied.push(`${en.e}:${en.n}`),
    fetch: (from, to) => {
      fetches.push([from, to]);
      return new Promise((r) => pending.push(() => r(stored.filter((s) => s.n > from && s.n <= to))));
    },
    reset: (e) => events.push(`reset to ${e}`),
    lost: (from, to) => events.push(`lost ${from}-${to}`),
  });
  const settle = async (): Promise<void> => {
    while (pending.length) {
      const p = pending;
      pending = [];
      for (const f of p) f();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { log, applied, events, fetches, settle };
}

describe('SessionLog', () => {
  it('buffers until initialized, drops what the initial state already has, applies the rest in order', () => {
    const h = harness();
    h.log.receive(entry(6));
    h.log.receive(entry(4));
    h.log.receive(entry(5));
    expect(h.applied).toEqual([]);
    h.log.init('E1', 4);
    expect(h.applied).toEqual(['E1:5', 'E1:6']);
    h.log.receive(entry(5)); // a duplicate
    h.log.receive(entry(7));
    expect(h.applied).toEqual(['E1:5', 'E1:6', 'E1:7']);
  });

  it('holds: nothing is applied until every hold is released', () => {
    const h = harness();
    h.log.init('E1', 0);
    h.log.hold();
    h.log.hold();
    h.log.receive(entry(1));
    h.log.release();
    expect(h.applied).toEqual([]);
    h.log.release();
    expect(h.applied).toEqual(['E1:1']);
  });

  it('fetches a gap from the stored log, and skips what is not stored any more', async () => {
    const h = harness([entry(3), entry(4)]);
    h.log.init('E1', 1);
    h.log.receive(entry(5));
    expect(h.fetches).toEqual([[1, 4]]);
    await h.settle();
    expect(h.events).toEqual(['lost 2-2']);
    expect(h.applied).toEqual(['E1:3', 'E1:4', 'E1:5']);
  });

  it('a new epoch (Redis lost the log) restarts the numbering at 1, fetching what it missed of it', async () => {
    const h = harness([entry(1, 'E2'), entry(2, 'E2')]);
    h.log.init('E1', 40);
    h.log.receive(entry(41));
    h.log.receive(entry(3, 'E2'));
    expect(h.events).toEqual(['reset to E2']);
    expect(h.fetches).toEqual([[0, 2]]);
    await h.settle();
    h.log.receive(entry(4, 'E2'));
    expect(h.applied).toEqual(['E1:41', 'E2:1', 'E2:2', 'E2:3', 'E2:4']);
  });

  it('catchUp asks for everything after the last applied entry', async () => {
    const h = harness([entry(3), entry(4)]);
    h.log.init('E1', 2);
    h.log.catchUp();
    await h.settle();
    expect(h.applied).toEqual(['E1:3', 'E1:4']);
    expect(h.events).toEqual([]);
  });
});

describe('eventsAfter (a connection rebuilt from the log)', () => {
  it('numbers the events addressed to the connection after its checkpoint and finds its last result', () => {
    const entries: LogEntry[] = [
      entry(11, 'E1', [{ b: '{"type":"signal","n":1}' }]), // broadcast: for everyone
      entry(12, 'E1', [{ b: '{"type":"connectionCreated"}', ce: 1 }, { b: '{"type":"x"}', x: 'me' }]), // suppressed / except me
      entry(13, 'E1', [{ b: '{"type":"result","id":7}', to: 'me', rid: 7 }, { b: '{"type":"result","id":3}', to: 'other', rid: 3 }]),
      entry(14, 'E1', [{ force: 'me' }, { b: '{"type":"signal","n":2}', to: 'me' }]),
    ];
    const { events, rid } = eventsAfter(entries, { n: 10, seq: 5, rid: 6 }, 'me', true);
    expect(events.map((e) => [e.seq, e.n, e.body])).toEqual([
      [6, 11, '{"type":"signal","n":1}'],
      [7, 13, '{"type":"result","id":7}'],
      [8, 14, '{"type":"signal","n":2}'],
    ]);
    expect(rid).toBe(7);
    // a connection that does not suppress connection events also gets the connectionCreated
    expect(eventsAfter(entries, { n: 10, seq: 0, rid: 0 }, 'me', false).events).toHaveLength(4);
  });
});
