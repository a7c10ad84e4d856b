/**
 * Scale-out on Redis (docs/cluster.md): several server nodes share their sessions.
 *
 * Redis holds each session's state (a hash of connections, one of streams, a connection
 * counter for the per-session limit, the force-mute state) and its log: every event of a
 * session is appended, with the state change that goes with it, by one script that numbers
 * the entry, stores it (a Redis stream, trimmed to a cap) and publishes it on the session's
 * channel. Nodes apply the entries of their sessions in order (SessionLog) and hand each event
 * to their own clients; since a client's events are a function of the log, a node can rebuild
 * the connection of a node that died (resume anywhere). An event reaches a client, and a
 * request's result its sender, only once the entry is stored.
 *
 * Nodes say they are alive every second (a key with a 3 s expiry); a node silent for the grace
 * window is swept by one survivor: its connections that did not resume elsewhere leave their
 * sessions with reason networkDisconnected.
 *
 * This file is the Redis side only: scripts, subscriptions, heartbeats, sweeping.
 */
import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import type { TrackRange } from '../media/router';
import { Cond, removalBatch, Write, type Batch, type Checkpoint, type LogEntry, type MuteState, type StoredConnection, type StoredStream } from './log-entry';

export type { Batch, ClusterOp, LogEntry, MuteState, StoredConnection, StoredStream } from './log-entry';

export interface RemoteSnapshot {
  mute?: MuteState | undefined;
  /** with the node each lives on */
  connections: StoredConnection[];
  streams: StoredStream[];
}

/** What commit() returns: the entry's number and epoch (and the state after it, when asked). */
export interface Committed {
  n: number;
  e: string;
  /** false: a condition did not hold and the fallback was appended instead */
  ok: boolean;
  snapshot?: RemoteSnapshot;
}

/** A node's connection record in a session, with its streams. */
export interface NodeRecord {
  sessionId: string;
  conn: StoredConnection;
  streams: StoredStream[];
}

/** This node's own connections and streams, per session (put back after an outage). */
export type LocalSnapshot = Array<{ sessionId: string; connections: StoredConnection[]; streams: StoredStream[] }>;

/** What the registry needs of the cluster. */
export interface ClusterPort {
  readonly nodeId: string;
  /** Reports a line for the operator (the server's log; `event` names it). */
  report(line: string, event?: string): void;
  /** Redis is up and this node caught up after any outage */
  readonly available: boolean;
  /** both Redis connections are up */
  readonly connected: boolean;
  /** Takes a place in a session (false: full) and listens to it. */
  admit(sessionId: string, maxConnections: number): Promise<boolean>;
  /** Gives back a place admit() took. */
  release(sessionId: string): void;
  /** Listens to a session's log (idempotent); resolves once subscribed. */
  listen(sessionId: string): Promise<void>;
  /** This node has no client left in the session: stop listening to it. */
  leave(sessionId: string): void;
  /** Appends an entry; null when a condition did not hold and there was no fallback. */
  commit(batch: Batch): Promise<Committed | null>;
  /** The stored entries with from < n <= to. */
  fetch(sessionId: string, from: number, to: number): Promise<LogEntry[]>;
  /** The session log's epoch (undefined when Redis has none) and its last entry's number (0: none). */
  logHead(sessionId: string): Promise<{ epoch: string | undefined; n: number }>;
  /** Reports this node's apply lag (ms); resolves with the largest lag any node reported lately. */
  reportLag(ms: number): Promise<number>;
  /** Starts a new epoch of a session's log (Redis went back in time: its numbers would be reused). */
  newEpoch(sessionId: string): Promise<void>;
  /** A connection as stored, with its checkpoint (undefined when unknown). */
  loadConnection(sessionId: string, connectionId: string): Promise<{ conn: StoredConnection; ck: Checkpoint | undefined } | undefined>;
  /** Records how far a client acknowledged (only while the connection is this node's). */
  checkpoint(sessionId: string, connectionId: string, ck: Checkpoint): void;
  /** Forgets a connection's checkpoint: it cannot be resumed elsewhere (nor hold the log back). */
  forgetCheckpoint(sessionId: string, connectionId: string): void;
  /** After an outage: put back this node's records; find its stale ones; recount its sessions. */
  restore(state: LocalSnapshot): Promise<void>;
  staleRecords(held: (sessionId: string, connectionId: string) => boolean): Promise<NodeRecord[]>;
  recount(): Promise<void>;
  /** The media track numbers this node gives new streams (its part of the 16-bit space: docs/cluster.md). */
  readonly trackRange: TrackRange;
  /** Media across nodes: announces this node's media link address; another node's (undefined: none). */
  publishMediaAddress(address: string): Promise<void>;
  mediaAddress(node: string): Promise<string | undefined>;
  /** A connection's media subscriptions (JSON), kept for its resume on another node (only while it is this node's). */
  saveSubscriptions(sessionId: string, connectionId: string, subs: string): void;
  loadSubscriptions(sessionId: string, connectionId: string): Promise<string | undefined>;
  /** REST on a node without clients in the session. */
  hasConnection(sessionId: string, connectionId: string): Promise<boolean>;
  snapshot(sessionId: string): Promise<RemoteSnapshot>;
}

/**
 * Redis could not be reached, or refused a command. `notDone` is true when the command surely
 * had no effect (never sent, or answered with an error); false when the connection went while
 * it was out: it may have run.
 */
export class ClusterUnavailableError extends Error {
  constructor(message: string, readonly notDone = true) {
    super(message);
  }
}

const CH_PREFIX = 'cv:s:';
const CH = (sid: string): string => `${CH_PREFIX}${sid}`;
const CONNS = (sid: string): string => `cv:s:${sid}:conns`;
const STREAMS = (sid: string): string => `cv:s:${sid}:streams`;
const COUNT = (sid: string): string => `cv:s:${sid}:n`;
const MUTE = (sid: string): string => `cv:s:${sid}:mute`;
const SEQ = (sid: string): string => `cv:s:${sid}:seq`;
const LOG = (sid: string): string => `cv:s:${sid}:log`;
const EPOCH = (sid: string): string => `cv:s:${sid}:epoch`;
const CK = (sid: string): string => `cv:s:${sid}:ck`;
const MARKS = (sid: string): string => `cv:s:${sid}:marks`;
const SUBS = (sid: string): string => `cv:s:${sid}:subs`;
const MEDIA_ADDRESS = (node: string): string => `cv:node:${node}:media`;
const TRACK_SLOT = (slot: number): string => `cv:tracks:${slot}`;
const NODES = 'cv:nodes';
const ALIVE = (node: string): string => `cv:node:${node}`;
const NODE_SESSIONS = (node: string): string => `cv:node:${node}:sessions`;
const SWEEP_LOCK = (node: string): string => `cv:sweep:${node}`;
const LAG = 'cv:lag';

/**
 * Media track numbers: each node holds one of TRACK_SLOTS slots (a key renewed with its
 * heartbeat) and gives new streams the tracks of its slot: slot s has s*1024 .. s*1024+1023
 * (track 0 is not a track). A stream keeps its tracks when its publisher resumes on another node.
 */
const TRACK_SLOTS = 64;
const TRACKS_PER_SLOT = 1024;
const TRACK_SLOT_TTL_MS = 30_000;

/** Takes slot KEYS[1] for ARGV[1] if it is free or already its own. */
const CLAIM_SLOT = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Records a connection's subscriptions if it is still the calling node's. */
const SAVE_SUBS = `
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec and cjson.decode(rec).node == ARGV[2] then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) return 1 end
return 0`;

/** How often a node says it is alive, and how long that lasts. */
const HEARTBEAT_MS = 1000;
const HEARTBEAT_TTL_MS = 3000;

/** Takes a place in a session if it has fewer than max (0 = no limit); 1 if taken. */
const RESERVE = `
local n = redis.call('INCR', KEYS[1])
local max = tonumber(ARGV[1])
if max > 0 and n > max then redis.call('DECR', KEYS[1]) return 0 end
return 1`;

/**
 * Appends one entry to a session's log, under conditions (Cond), with its state writes (Write).
 * A failed REQUESTER_ON_NODE (the request's connection is no longer this node's) drops the entry;
 * a failed CONNECTION_ON_NODE or STREAM_EXISTS appends the fallback instead, if any. Every 256
 * entries the log is trimmed to what the oldest checkpoint needs (and it never holds more than the cap).
 * KEYS: seq, log, conns, streams, count, ck, mute, epoch, marks (entry number by time, for trimming), subs.
 * ARGV: channel, cap, entry, fallback, snapshot?, new epoch, keep ms, #conds, conds (3 each), writes (3 each).
 */
const COMMIT = `
local nc = tonumber(ARGV[8])
local i = 9
local ok = true
for k = 1, nc do
  local kind, id, node = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  if kind == '${Cond.STREAM_EXISTS}' then
    if redis.call('HEXISTS', KEYS[4], id) == 0 then ok = false end
  else
    local rec = redis.call('HGET', KEYS[3], id)
    if (not rec) or cjson.decode(rec).node ~= node then
      if kind == '${Cond.REQUESTER_ON_NODE}' then return false end
      ok = false
    end
  end
end
local entry = ARGV[3]
if not ok then
  if ARGV[4] == '' then return false end
  entry = ARGV[4]
end
local e = redis.call('GET', KEYS[8])
if not e then e = ARGV[6] end
local n = redis.call('INCR', KEYS[1])
local payload = '{"n":' .. n .. ',"e":"' .. e .. '",' .. string.sub(entry, 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], n .. '-1', 'e', payload)
redis.call('SET', KEYS[8], e)
if ok then
  while i <= #ARGV do
    local kind, id, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    if kind == '${Write.PUT_CONNECTION}' then redis.call('HSET', KEYS[3], id, v)
    elseif kind == '${Write.DELETE_CONNECTION}' then
      if redis.call('HDEL', KEYS[3], id) == 1 then redis.call('DECR', KEYS[5]) end
      redis.call('HDEL', KEYS[6], id)
      redis.call('HDEL', KEYS[10], id)
    elseif kind == '${Write.DELETE_RELEASED_CONNECTION}' then
      redis.call('HDEL', KEYS[3], id)
      redis.call('HDEL', KEYS[6], id)
      redis.call('HDEL', KEYS[10], id)
    elseif kind == '${Write.PUT_CHECKPOINT}' then redis.call('HSET', KEYS[6], id, n .. ':' .. v)
    elseif kind == '${Write.PUT_STREAM}' then redis.call('HSET', KEYS[4], id, v)
    elseif kind == '${Write.UPDATE_STREAM}' then
      if redis.call('HEXISTS', KEYS[4], id) == 1 then redis.call('HSET', KEYS[4], id, v) end
    elseif kind == '${Write.DELETE_STREAM}' then redis.call('HDEL', KEYS[4], id)
    elseif kind == '${Write.SET_MUTE}' then redis.call('SET', KEYS[7], v, 'EX', 86400)
    elseif kind == '${Write.CLEAR_MUTE}' then redis.call('DEL', KEYS[7])
    elseif kind == '${Write.ADD_NODE_SESSION}' then redis.call('SADD', 'cv:node:' .. id .. ':sessions', v)
    end
  end
end
if n % 256 == 0 then
  -- trim what is older than the keep time (a node away that long is swept) and what every
  -- connection's checkpoint is past (a resume elsewhere starts at its checkpoint)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[9], now, n)
  local old = redis.call('ZRANGEBYSCORE', KEYS[9], '-inf', now - tonumber(ARGV[7]))
  if #old > 0 then
    local low = tonumber(old[#old])
    for _, ck in ipairs(redis.call('HVALS', KEYS[6])) do
      local at = tonumber(string.match(ck, '^(%d+):'))
      if at and at < low then low = at end
    end
    redis.call('XTRIM', KEYS[2], 'MINID', '~', (low + 1) .. '-0')
    redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now - tonumber(ARGV[7]))
  end
end
redis.call('PUBLISH', ARGV[1], payload)
if tonumber(redis.call('GET', KEYS[5]) or '0') > 0 then
  for _, k in ipairs({1, 2, 5, 8, 9}) do redis.call('PERSIST', KEYS[k]) end
else
  for _, k in ipairs({1, 2, 5, 8, 9}) do redis.call('PEXPIRE', KEYS[k], 3600000) end
end
local flag = 0
if ok then flag = 1 end
if ARGV[5] == '1' then
  return {n, e, flag, redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4]), redis.call('GET', KEYS[7]) or ''}
end
return {n, e, flag}`;

/** Puts a connection record back unless another node has it now. */
const RESTORE = `
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec and cjson.decode(rec).node ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/** Records a checkpoint "n:seq:rid" if the connection is still the calling node's. */
const CHECKPOINT = `
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec and cjson.decode(rec).node == ARGV[2] then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) return 1 end
return 0`;

export interface ClusterOptions {
  url: string;
  /** a node silent this long after its heartbeat expired is swept: its connections are announced gone */
  graceWindowMs: number;
  /** entries kept per session log (a resume needs those after its checkpoint) */
  logCap?: number;
  /** receives every entry of a session this node listens to, as published */
  onEntry: (entry: LogEntry) => void;
  /** Redis is back after an outage: catch up with the logs, put back records, append what waited */
  onResync?: () => Promise<void>;
  /** notices for the operator; `event` names the kind: redisUnavailable, redisRecovered, nodeGone */
  log?: (line: string, event?: string) => void;
}

export class Cluster implements ClusterPort {
  readonly nodeId = randomUUID();
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly listening = new Map<string, Promise<unknown>>();
  private readonly log: (line: string, event?: string) => void;

  report(line: string, event?: string): void {
    this.log(line, event);
  }
  private readonly logCap: number;
  /** entries younger than this are never trimmed: a node away less long catches up from the log */
  private readonly keepMs: number;
  private up = false;
  /** back after an outage, until the node caught up (onResync): not available meanwhile */
  private catchingUp = false;
  private timers: NodeJS.Timeout[] = [];
  /** other nodes whose heartbeat is missing, since when */
  private readonly silentSince = new Map<string, number>();
  private outage = false;
  private wasDown = false;
  /** the media track slot this node holds */
  private slot = Math.floor(Math.random() * TRACK_SLOTS);

  private constructor(private readonly opts: ClusterOptions) {
    this.log = opts.log ?? ((line) => console.error(line));
    this.logCap = opts.logCap ?? 20_000;
    this.keepMs = opts.graceWindowMs + HEARTBEAT_TTL_MS + 2000;
    const common = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
    // A command cut off by a lost connection is not sent again (an entry must not be appended
    // twice: the outbox finds out from the log whether it was) and fails at once, however fast
    // the connection comes back (maxRetriesPerRequest 0): no command is left pending.
    this.cmd = new Redis(opts.url, { ...common, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 0 });
    this.sub = new Redis(opts.url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const [name, client] of [['commands', this.cmd], ['events', this.sub]] as const) {
      client.on('error', (e: Error) => this.note(`convene: redis (${name}): ${e.message}`));
      client.on('ready', () => this.onReady());
      client.on('end', () => { this.up = false; });
      client.on('close', () => { this.up = false; this.wasDown = true; });
    }
    this.sub.on('message', (_channel: string, text: string) => {
      let entry: LogEntry;
      try {
        entry = JSON.parse(text) as LogEntry;
      } catch {
        return;
      }
      this.opts.onEntry(entry);
    });
  }

  /** Logs the first problem of an outage, not every retry. */
  private note(line: string): void {
    if (this.outage) return;
    this.outage = true;
    this.log(`${line} (further Redis errors are not logged until it is back)`, 'redisUnavailable');
  }

  private onReady(): void {
    const ready = this.cmd.status === 'ready' && this.sub.status === 'ready';
    if (!ready) return;
    this.up = true;
    if (this.outage) this.log('convene: redis is back', 'redisRecovered');
    this.outage = false;
    if (this.wasDown) {
      this.wasDown = false;
      if (!this.opts.onResync) return;
      this.catchingUp = true;
      this.opts.onResync()
        .catch((e: Error) => this.note(`convene: redis: catching up after an outage failed: ${e.message}`))
        .finally(() => { this.catchingUp = false; });
    }
  }

  /**
   * After an outage, before what waited is appended: puts back this node's connection records
   * (unless another node took one over meanwhile) and streams, which Redis may have lost.
   */
  async restore(state: LocalSnapshot): Promise<void> {
    for (const { sessionId, connections, streams } of state) {
      const m = this.cmd.multi();
      for (const c of connections) m.eval(RESTORE, 1, CONNS(sessionId), c.id, this.nodeId, JSON.stringify(c));
      for (const st of streams) m.hset(STREAMS(sessionId), st.id, JSON.stringify(st));
      m.sadd(NODE_SESSIONS(this.nodeId), sessionId);
      await m.exec();
    }
  }

  /**
   * After an outage: this node's connection records (in the sessions it took part in) that
   * `held` says it does not hold, with their streams.
   */
  staleRecords(held: (sessionId: string, connectionId: string) => boolean): Promise<NodeRecord[]> {
    return this.recordsOf(this.nodeId, held);
  }

  /** The connection records naming `node` in the sessions it took part in (but those `skip` says), with their streams. */
  private async recordsOf(node: string, skip: (sessionId: string, connectionId: string) => boolean): Promise<NodeRecord[]> {
    const out = [];
    for (const sessionId of await this.cmd.smembers(NODE_SESSIONS(node))) {
      const [conns, streams] = await Promise.all([this.cmd.hgetall(CONNS(sessionId)), this.cmd.hgetall(STREAMS(sessionId))]);
      const all = Object.values(streams).map((v) => JSON.parse(v) as StoredStream);
      for (const text of Object.values(conns)) {
        const conn = JSON.parse(text) as StoredConnection;
        if (conn.node !== node || skip(sessionId, conn.id)) continue;
        out.push({ sessionId, conn, streams: all.filter((st) => st.connectionId === conn.id) });
      }
    }
    return out;
  }

  /** After an outage: sets each of this node's sessions' count to its number of connections. */
  async recount(): Promise<void> {
    for (const sessionId of await this.cmd.smembers(NODE_SESSIONS(this.nodeId))) {
      await this.cmd.set(COUNT(sessionId), String(await this.cmd.hlen(CONNS(sessionId))));
    }
  }

  /** Connects to Redis; rejects when it cannot be reached. */
  static async connect(opts: ClusterOptions): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      await Promise.all([c.cmd.connect(), c.sub.connect()]);
    } catch (e) {
      c.close();
      throw new ClusterUnavailableError(`cannot reach Redis at ${opts.url}: ${(e as Error).message}`);
    }
    c.up = true;
    await c.claimTrackSlot();
    await c.heartbeat();
    c.timers.push(setInterval(() => void c.heartbeat(), HEARTBEAT_MS), setInterval(() => void c.checkNodes(), HEARTBEAT_MS));
    for (const t of c.timers) t.unref();
    return c;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.cmd.multi().set(ALIVE(this.nodeId), String(Date.now()), 'PX', HEARTBEAT_TTL_MS).sadd(NODES, this.nodeId).exec();
      if ((await this.cmd.eval(CLAIM_SLOT, 1, TRACK_SLOT(this.slot), this.nodeId, String(TRACK_SLOT_TTL_MS))) !== 1) {
        // lost during an outage longer than its expiry, and taken: another one (streams keep their tracks)
        this.log(`convene: cluster: media track slot ${this.slot} was taken by another node; taking another one`, 'trackSlot');
        await this.claimTrackSlot();
      }
    } catch (e) {
      this.note(`convene: redis: heartbeat failed: ${(e as Error).message}`);
    }
  }

  /** Takes a free media track slot (throws when every slot is taken: more than TRACK_SLOTS nodes). */
  private async claimTrackSlot(): Promise<void> {
    for (let i = 0; i < TRACK_SLOTS; i++) {
      const slot = (this.slot + i) % TRACK_SLOTS;
      if ((await this.cmd.eval(CLAIM_SLOT, 1, TRACK_SLOT(slot), this.nodeId, String(TRACK_SLOT_TTL_MS))) === 1) {
        this.slot = slot;
        return;
      }
    }
    throw new ClusterUnavailableError(`every one of the ${TRACK_SLOTS} media track slots is taken: a cluster has at most ${TRACK_SLOTS} nodes`);
  }

  get trackRange(): TrackRange {
    return { first: Math.max(1, this.slot * TRACKS_PER_SLOT), last: this.slot * TRACKS_PER_SLOT + TRACKS_PER_SLOT - 1 };
  }

  async publishMediaAddress(address: string): Promise<void> {
    await this.cmd.set(MEDIA_ADDRESS(this.nodeId), address);
  }

  async mediaAddress(node: string): Promise<string | undefined> {
    return (await this.cmd.get(MEDIA_ADDRESS(node))) ?? undefined;
  }

  saveSubscriptions(sessionId: string, connectionId: string, subs: string): void {
    if (!this.connected) return;
    this.write(this.cmd.eval(SAVE_SUBS, 2, CONNS(sessionId), SUBS(sessionId), connectionId, this.nodeId, subs));
  }

  async loadSubscriptions(sessionId: string, connectionId: string): Promise<string | undefined> {
    return (await this.cmd.hget(SUBS(sessionId), connectionId)) ?? undefined;
  }

  /**
   * Finds nodes whose heartbeat is gone; once one has been silent for the grace window, one
   * surviving node (a lock in Redis) sweeps it.
   */
  private async checkNodes(): Promise<void> {
    if (!this.up) return;
    try {
      const nodes = (await this.cmd.smembers(NODES)).filter((n) => n !== this.nodeId);
      const now = Date.now();
      for (const node of nodes) {
        if ((await this.cmd.exists(ALIVE(node))) === 1) {
          this.silentSince.delete(node);
          continue;
        }
        const since = this.silentSince.get(node) ?? now;
        this.silentSince.set(node, since);
        if (now - since < this.opts.graceWindowMs) continue;
        if ((await this.cmd.set(SWEEP_LOCK(node), this.nodeId, 'PX', 60_000, 'NX')) !== 'OK') continue;
        await this.sweep(node);
        this.silentSince.delete(node);
      }
    } catch (e) {
      this.note(`convene: redis: node check failed: ${(e as Error).message}`);
    }
  }

  /**
   * Removes a dead node's connections that did not resume elsewhere, with their streams, each
   * as one entry of its session's log: streamDestroyed and connectionDestroyed, networkDisconnected.
   */
  private async sweep(node: string): Promise<void> {
    let gone = 0;
    for (const { sessionId, conn, streams } of await this.recordsOf(node, () => false)) {
      // null: it resumed elsewhere or left meanwhile
      if (await this.commit(removalBatch(sessionId, conn, streams, 'networkDisconnected', node))) gone++;
    }
    await this.cmd.multi().del(NODE_SESSIONS(node)).del(MEDIA_ADDRESS(node)).srem(NODES, node).hdel(LAG, node).exec();
    this.log(`convene: cluster: node ${node} is gone; ${gone} of its connection(s) announced as gone (networkDisconnected)`, 'nodeGone');
  }

  /** Redis is reachable and this node caught up after any outage: new work may start. */
  get available(): boolean {
    return this.connected && !this.catchingUp;
  }

  /** Both Redis connections are up (the catching up itself appends and reads). */
  get connected(): boolean {
    return this.up && this.cmd.status === 'ready' && this.sub.status === 'ready';
  }

  private unavailable(e?: unknown): ClusterUnavailableError {
    const notDone = e === undefined || e instanceof ReplyError;
    return new ClusterUnavailableError(`the cluster store (Redis) is unavailable${e ? `: ${(e as Error).message}` : ''}`, notDone);
  }

  async admit(sessionId: string, maxConnections: number): Promise<boolean> {
    if (!this.available) throw this.unavailable();
    let taken = false;
    try {
      taken = (await this.cmd.eval(RESERVE, 1, COUNT(sessionId), String(maxConnections))) === 1;
      if (taken) await this.listen(sessionId);
      return taken;
    } catch (e) {
      if (taken) this.release(sessionId);
      throw this.unavailable(e);
    }
  }

  release(sessionId: string): void {
    this.write(this.cmd.decr(COUNT(sessionId)));
  }

  async commit(b: Batch): Promise<Committed | null> {
    if (!this.connected) throw this.unavailable();
    const entry = JSON.stringify({ t: Date.now(), s: b.sessionId, node: this.nodeId, ...(b.id ? { id: b.id } : {}), m: b.m, ...(b.op.length ? { op: b.op } : {}), ...(b.mute ? { mute: b.mute } : {}) });
    const fallback = b.fallback ? JSON.stringify({ s: b.sessionId, node: this.nodeId, ...(b.id ? { id: b.id } : {}), m: b.fallback }) : '';
    const args: string[] = [CH(b.sessionId), String(this.logCap), entry, fallback, b.snapshot ? '1' : '0', randomUUID(), String(this.keepMs), String(b.conds.length)];
    for (const c of b.conds) args.push(c[0], c[1], c[2] ?? '');
    for (const w of b.writes) args.push(w[0], w[1], w[2]);
    const sid = b.sessionId;
    let r: unknown;
    try {
      r = await this.cmd.eval(COMMIT, 10, SEQ(sid), LOG(sid), CONNS(sid), STREAMS(sid), COUNT(sid), CK(sid), MUTE(sid), EPOCH(sid), MARKS(sid), SUBS(sid), ...args);
    } catch (e) {
      throw this.unavailable(e);
    }
    if (r === null) return null;
    const [n, e, flag, conns, streams, mute] = r as [number, string, number, string[]?, string[]?, string?];
    const out: Committed = { n, e, ok: flag === 1 };
    if (conns && streams) {
      out.snapshot = {
        connections: values(conns).map((v) => JSON.parse(v) as StoredConnection),
        streams: values(streams).map((v) => JSON.parse(v) as StoredStream),
        mute: mute ? (JSON.parse(mute) as MuteState) : undefined,
      };
    }
    return out;
  }

  async fetch(sessionId: string, from: number, to: number): Promise<LogEntry[]> {
    const end = to >= Number.MAX_SAFE_INTEGER ? '+' : `${to}-1`;
    const rows = (await this.cmd.xrange(LOG(sessionId), `${from + 1}-0`, end)) as Array<[string, string[]]>;
    return rows.map(([, fields]) => JSON.parse(fields[1] as string) as LogEntry);
  }

  async reportLag(ms: number): Promise<number> {
    const now = Date.now();
    const [, all] = (await this.cmd.multi().hset(LAG, this.nodeId, `${Math.round(ms)}:${now}`).hgetall(LAG).exec()) ?? [];
    let worst = ms;
    for (const value of Object.values((all?.[1] ?? {}) as Record<string, string>)) {
      const [lag, at] = value.split(':').map(Number) as [number, number];
      if (now - at < 2000 && lag > worst) worst = lag; // a report older than 2 s: a node gone or stuck, swept in time
    }
    return worst;
  }

  async logHead(sessionId: string): Promise<{ epoch: string | undefined; n: number }> {
    const [epoch, n] = await this.cmd.mget(EPOCH(sessionId), SEQ(sessionId));
    return { epoch: epoch ?? undefined, n: Number(n ?? 0) };
  }

  async newEpoch(sessionId: string): Promise<void> {
    await this.cmd.set(EPOCH(sessionId), randomUUID());
  }

  async loadConnection(sessionId: string, connectionId: string): Promise<{ conn: StoredConnection; ck: Checkpoint | undefined } | undefined> {
    const [rec, ck] = await Promise.all([this.cmd.hget(CONNS(sessionId), connectionId), this.cmd.hget(CK(sessionId), connectionId)]);
    if (!rec) return undefined;
    const parts = ck ? ck.split(':').map(Number) : [];
    return {
      conn: JSON.parse(rec) as StoredConnection,
      ck: parts.length === 3 && parts.every(Number.isFinite) ? { n: parts[0] as number, seq: parts[1] as number, rid: parts[2] as number } : undefined,
    };
  }

  forgetCheckpoint(sessionId: string, connectionId: string): void {
    if (this.connected) this.write(this.cmd.hdel(CK(sessionId), connectionId));
  }

  checkpoint(sessionId: string, connectionId: string, ck: Checkpoint): void {
    if (!this.connected) return;
    this.write(this.cmd.eval(CHECKPOINT, 2, CONNS(sessionId), CK(sessionId), connectionId, this.nodeId, `${ck.n}:${ck.seq}:${ck.rid}`));
  }

  /** What Redis holds of a session: its connections (with their node), streams, force-mute state. */
  async snapshot(sessionId: string): Promise<RemoteSnapshot> {
    const [conns, streams, mute] = await Promise.all([
      this.cmd.hgetall(CONNS(sessionId)), this.cmd.hgetall(STREAMS(sessionId)), this.cmd.get(MUTE(sessionId)),
    ]);
    return {
      connections: Object.values(conns).map((v) => JSON.parse(v) as StoredConnection),
      streams: Object.values(streams).map((v) => JSON.parse(v) as StoredStream),
      mute: mute ? (JSON.parse(mute) as MuteState) : undefined,
    };
  }

  async hasConnection(sessionId: string, connectionId: string): Promise<boolean> {
    return (await this.cmd.hexists(CONNS(sessionId), connectionId)) === 1;
  }

  listen(sessionId: string): Promise<void> {
    let p = this.listening.get(sessionId);
    if (!p) {
      p = this.sub.subscribe(CH(sessionId));
      this.listening.set(sessionId, p);
      p.catch(() => this.listening.delete(sessionId));
    }
    return p.then(() => undefined);
  }

  leave(sessionId: string): void {
    this.write(this.cmd.srem(NODE_SESSIONS(this.nodeId), sessionId));
    if (!this.listening.delete(sessionId)) return;
    this.sub.unsubscribe(CH(sessionId)).catch(() => {});
  }

  private write(p: Promise<unknown>): void {
    p.catch((e: Error) => this.note(`convene: redis: a write was lost: ${e.message}`));
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.cmd.disconnect();
    this.sub.disconnect();
  }
}

/** The values of a flat [field, value, field, value...] reply. */
function values(flat: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < flat.length; i += 2) out.push(flat[i] as string);
  return out;
}
