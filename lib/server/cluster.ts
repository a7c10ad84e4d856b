/**
 * Scale-out on Redis (first part of issue 8): several server nodes share their sessions.
 *
 * Each node keeps, for every session it has clients in, a mirror of the connections and
 * streams that live on other nodes. Redis holds the truth (one hash of connections and one of
 * streams per session, and a connection counter for the per-session limit) and carries the
 * events: every node publishes what happens in a session on the session's channel
 * (`cv:s:<sessionId>`), and the nodes with clients in that session apply it to their mirror
 * and emit it to their own clients, which number it in their own event sequence.
 *
 * Nodes say they are alive every second (a key with a 3 s expiry); a node silent for the grace
 * window is swept by one survivor: its connections and streams leave their sessions with
 * reason networkDisconnected.
 *
 * Not yet here (see docs/cluster.md): resuming on another node (a dead node's clients come
 * back as new connections), force-mute state across nodes.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { WireConnection, WireStream } from './protocol';

/** A stream as the cluster stores it: the wire form plus its layout classes. */
export interface StoredStream extends WireStream {
  layoutClassList: string[];
}

/** A change to the mirror that rides along with an event. */
export type ClusterOp =
  | { t: 'connAdd'; conn: WireConnection }
  | { t: 'connDel'; id: string }
  | { t: 'streamPut'; stream: StoredStream; created?: boolean }
  | { t: 'streamDel'; id: string };

/** What a node publishes on a session's channel. */
export interface ClusterMessage {
  /** the publishing node */
  n: string;
  s: string;
  /** an event to emit to the receiving node's clients of the session */
  body?: string;
  /** ...except this connection */
  except?: string;
  /** ...only to this connection */
  to?: string;
  /** a connection event: not for connections that suppress them */
  ce?: boolean;
  /** force-disconnect this connection, wherever it is */
  force?: string;
  /** the session's force-mute state changed (forceMuteAll / disableForceMute) */
  mute?: MuteState;
  op?: ClusterOp;
}

export interface MuteState {
  active: boolean;
  excluded: string[];
}

export interface RemoteSnapshot {
  mute?: MuteState | undefined;
  /** with the node each lives on */
  connections: Array<WireConnection & { node?: string }>;
  streams: StoredStream[];
}

/** This node's own connections and streams, per session (to write back after an outage). */
export type LocalState = () => Array<{ sessionId: string; connections: WireConnection[]; streams: StoredStream[] }>;

/** What the registry needs of the cluster: fire-and-forget writes, in order per session. */
export interface ClusterPort {
  readonly nodeId: string;
  /** both Redis connections are up */
  readonly available: boolean;
  /** Takes a place in a session and listens to it (see Cluster.admit). */
  admit(sessionId: string, maxConnections: number): Promise<{ ok: true; remote: RemoteSnapshot } | { ok: false }>;
  /** Gives back a place admit() took; stops listening when `hasLocal` is false. */
  release(sessionId: string, hasLocal?: boolean): void;
  publish(msg: Omit<ClusterMessage, 'n'>): void;
  putConnection(sessionId: string, conn: WireConnection): void;
  /** Removes a connection of this node and frees its place in the session's count. */
  removeConnection(sessionId: string, connectionId: string): void;
  putStream(sessionId: string, stream: StoredStream): void;
  removeStream(sessionId: string, streamId: string): void;
  /** This node has clients in the session: listen to it (idempotent). */
  enter(sessionId: string): void;
  /** This node has no client left in the session: stop listening to it. */
  leave(sessionId: string): void;
  /** The session's force-mute state, for those who join later. */
  setMute(sessionId: string, mute: MuteState): void;
  /** REST on a node without clients in the session. */
  hasConnection(sessionId: string, connectionId: string): Promise<boolean>;
  snapshot(sessionId: string): Promise<RemoteSnapshot>;
}

export class ClusterUnavailableError extends Error {}

const CH = (sid: string): string => `cv:s:${sid}`;
const CONNS = (sid: string): string => `cv:s:${sid}:conns`;
const STREAMS = (sid: string): string => `cv:s:${sid}:streams`;
const COUNT = (sid: string): string => `cv:s:${sid}:n`;
const MUTE = (sid: string): string => `cv:s:${sid}:mute`;
const NODES = 'cv:nodes';
const ALIVE = (node: string): string => `cv:node:${node}`;
const NODE_SESSIONS = (node: string): string => `cv:node:${node}:sessions`;
const SWEEP_LOCK = (node: string): string => `cv:sweep:${node}`;

/** How often a node says it is alive, and how long that lasts. */
const HEARTBEAT_MS = 1000;
const HEARTBEAT_TTL_MS = 3000;

/** Removes a connection and frees its place, once: 1 if it was there. */
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then redis.call('DECR', KEYS[2]) return 1 end
return 0`;

/** Takes a place in a session if it has fewer than max (0 = no limit); 1 if taken. */
const RESERVE = `
local n = redis.call('INCR', KEYS[1])
local max = tonumber(ARGV[1])
if max > 0 and n > max then redis.call('DECR', KEYS[1]) return 0 end
return 1`;

export interface ClusterOptions {
  url: string;
  /** a node silent this long after its heartbeat expired is swept: its connections are announced gone */
  graceWindowMs: number;
  /** receives every message of another node for a session this node listens to */
  onMessage: (msg: ClusterMessage) => void;
  /** what this node holds, written back to Redis when it comes back after an outage */
  localState?: LocalState;
  log?: (line: string) => void;
}

export class Cluster implements ClusterPort {
  readonly nodeId = randomUUID();
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly listening = new Map<string, Promise<unknown>>();
  private readonly log: (line: string) => void;
  private up = false;
  private timers: NodeJS.Timeout[] = [];
  /** other nodes whose heartbeat is missing, since when */
  private readonly silentSince = new Map<string, number>();
  /** admits in flight per session: leave() must not unsubscribe under them */
  private readonly admitting = new Map<string, number>();
  private outage = false;
  private wasDown = false;

  private constructor(private readonly opts: ClusterOptions) {
    this.log = opts.log ?? ((line) => console.error(line));
    const common = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
    this.cmd = new Redis(opts.url, common);
    this.sub = new Redis(opts.url, { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null });
    for (const [name, client] of [['commands', this.cmd], ['events', this.sub]] as const) {
      client.on('error', (e: Error) => this.note(`convene: redis (${name}): ${e.message}`));
      client.on('ready', () => this.onReady());
      client.on('end', () => { this.up = false; });
      client.on('close', () => { this.up = false; this.wasDown = true; });
    }
    this.sub.on('message', (_channel: string, text: string) => {
      let msg: ClusterMessage;
      try {
        msg = JSON.parse(text) as ClusterMessage;
      } catch {
        return;
      }
      if (msg.n === this.nodeId) return; // our own, already applied
      this.opts.onMessage(msg);
    });
  }

  /** Logs the first problem of an outage, not every retry. */
  private note(line: string): void {
    if (this.outage) return;
    this.outage = true;
    this.log(`${line} (further Redis errors are not logged until it is back)`);
  }

  private onReady(): void {
    const ready = this.cmd.status === 'ready' && this.sub.status === 'ready';
    if (!ready) return;
    this.up = true;
    if (this.outage) this.log('convene: redis is back');
    this.outage = false;
    if (this.wasDown) {
      this.wasDown = false;
      void this.writeBack();
    }
  }

  /**
   * After an outage: writes lost meanwhile may have left this node's entries wrong. Puts back
   * what it holds, removes what it no longer holds, and recounts its sessions.
   */
  private async writeBack(): Promise<void> {
    const state = this.opts.localState?.() ?? [];
    try {
      for (const { sessionId, connections, streams } of state) {
        const mine = new Set(connections.map((c) => c.id));
        const stored = await this.cmd.hgetall(CONNS(sessionId));
        const m = this.cmd.multi();
        for (const [id, text] of Object.entries(stored)) {
          if ((JSON.parse(text) as { node?: string }).node === this.nodeId && !mine.has(id)) m.hdel(CONNS(sessionId), id);
        }
        for (const c of connections) m.hset(CONNS(sessionId), c.id, JSON.stringify({ ...c, node: this.nodeId }));
        for (const st of streams) m.hset(STREAMS(sessionId), st.id, JSON.stringify(st));
        m.sadd(NODE_SESSIONS(this.nodeId), sessionId);
        await m.exec();
        await this.cmd.set(COUNT(sessionId), String(await this.cmd.hlen(CONNS(sessionId))));
      }
    } catch (e) {
      this.note(`convene: redis: write-back after an outage failed: ${(e as Error).message}`);
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
    await c.heartbeat();
    c.timers.push(setInterval(() => void c.heartbeat(), HEARTBEAT_MS), setInterval(() => void c.checkNodes(), HEARTBEAT_MS));
    for (const t of c.timers) t.unref();
    return c;
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.cmd.multi().set(ALIVE(this.nodeId), String(Date.now()), 'PX', HEARTBEAT_TTL_MS).sadd(NODES, this.nodeId).exec();
    } catch (e) {
      this.note(`convene: redis: heartbeat failed: ${(e as Error).message}`);
    }
  }

  /**
   * Finds nodes whose heartbeat is gone; once one has been silent for the grace window, one
   * surviving node (a lock in Redis) sweeps it: its connections and streams leave their
   * sessions with reason networkDisconnected, for everyone.
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

  private async sweep(node: string): Promise<void> {
    const sessions = await this.cmd.smembers(NODE_SESSIONS(node));
    let gone = 0;
    for (const sid of sessions) {
      const [conns, streams] = await Promise.all([this.cmd.hgetall(CONNS(sid)), this.cmd.hgetall(STREAMS(sid))]);
      for (const [id, text] of Object.entries(conns)) {
        const c = JSON.parse(text) as WireConnection & { node?: string };
        if (c.node !== node) continue;
        for (const st of Object.values(streams).map((v) => JSON.parse(v) as StoredStream)) {
          if (st.connectionId !== id) continue;
          if ((await this.cmd.hdel(STREAMS(sid), st.id)) !== 1) continue;
          const { layoutClassList: _omit, ...wire } = st;
          this.announce({ s: sid, body: JSON.stringify({ type: 'streamDestroyed', stream: wire, reason: 'networkDisconnected' }), op: { t: 'streamDel', id: st.id } });
        }
        if ((await this.cmd.eval(REMOVE, 2, CONNS(sid), COUNT(sid), id)) !== 1) continue; // gone meanwhile
        const connection = { id: c.id, creationTime: c.creationTime, data: c.data };
        this.announce({ s: sid, body: JSON.stringify({ type: 'connectionDestroyed', connection, reason: 'networkDisconnected' }), ce: true, op: { t: 'connDel', id } });
        gone++;
      }
    }
    await this.cmd.multi().del(NODE_SESSIONS(node)).srem(NODES, node).exec();
    this.log(`convene: cluster: node ${node} is gone; ${gone} of its connection(s) announced as gone (networkDisconnected)`);
  }

  /** Publishes to the other nodes and applies here too. */
  private announce(msg: Omit<ClusterMessage, 'n'>): void {
    this.publish(msg);
    this.opts.onMessage({ n: this.nodeId, ...msg });
  }

  get available(): boolean {
    return this.up && this.cmd.status === 'ready' && this.sub.status === 'ready';
  }

  /**
   * Before a client joins a session on this node: takes its place in the session's count
   * (false when the session is full), listens to the session, and returns what the other
   * nodes have in it. Throws ClusterUnavailableError when Redis cannot be reached.
   */
  async admit(sessionId: string, maxConnections: number): Promise<{ ok: true; remote: RemoteSnapshot } | { ok: false }> {
    if (!this.available) throw new ClusterUnavailableError('the cluster store (Redis) is unavailable');
    this.admitting.set(sessionId, (this.admitting.get(sessionId) ?? 0) + 1);
    let taken = false;
    try {
      taken = (await this.cmd.eval(RESERVE, 1, COUNT(sessionId), String(maxConnections))) === 1;
      if (!taken) return { ok: false };
      await this.listen(sessionId);
      return { ok: true, remote: await this.snapshot(sessionId) };
    } catch (e) {
      if (taken) this.release(sessionId);
      throw new ClusterUnavailableError(`the cluster store (Redis) is unavailable: ${(e as Error).message}`);
    } finally {
      const n = (this.admitting.get(sessionId) ?? 1) - 1;
      if (n > 0) this.admitting.set(sessionId, n);
      else this.admitting.delete(sessionId);
    }
  }

  /**
   * Gives back a place taken by admit() when the join did not happen; stops listening to the
   * session when this node has no client in it (`hasLocal` false).
   */
  release(sessionId: string, hasLocal = true): void {
    this.write(this.cmd.decr(COUNT(sessionId)));
    if (!hasLocal) this.leave(sessionId);
  }

  /** What Redis holds of a session: its connections (with their node), streams, force-mute state. */
  async snapshot(sessionId: string): Promise<RemoteSnapshot> {
    const [conns, streams, mute] = await Promise.all([
      this.cmd.hgetall(CONNS(sessionId)), this.cmd.hgetall(STREAMS(sessionId)), this.cmd.get(MUTE(sessionId)),
    ]);
    return {
      connections: Object.values(conns).map((v) => JSON.parse(v) as WireConnection & { node?: string }),
      streams: Object.values(streams).map((v) => JSON.parse(v) as StoredStream),
      mute: mute ? (JSON.parse(mute) as MuteState) : undefined,
    };
  }

  setMute(sessionId: string, mute: MuteState): void {
    this.write(mute.active ? this.cmd.set(MUTE(sessionId), JSON.stringify(mute), 'EX', 86_400) : this.cmd.del(MUTE(sessionId)));
  }

  /** Whether a connection exists anywhere in the cluster (for the REST API). */
  async hasConnection(sessionId: string, connectionId: string): Promise<boolean> {
    return (await this.cmd.hexists(CONNS(sessionId), connectionId)) === 1;
  }

  private listen(sessionId: string): Promise<unknown> {
    let p = this.listening.get(sessionId);
    if (!p) {
      p = this.sub.subscribe(CH(sessionId));
      this.listening.set(sessionId, p);
      p.catch(() => this.listening.delete(sessionId));
    }
    return p;
  }

  enter(sessionId: string): void {
    this.listen(sessionId).catch(() => {});
  }

  leave(sessionId: string): void {
    this.write(this.cmd.srem(NODE_SESSIONS(this.nodeId), sessionId));
    if (this.admitting.has(sessionId)) return; // a client is about to join: keep listening
    if (!this.listening.delete(sessionId)) return;
    this.sub.unsubscribe(CH(sessionId)).catch(() => {});
  }

  publish(msg: Omit<ClusterMessage, 'n'>): void {
    this.write(this.cmd.publish(CH(msg.s), JSON.stringify({ n: this.nodeId, ...msg })));
  }

  putConnection(sessionId: string, conn: WireConnection): void {
    this.write(this.cmd.hset(CONNS(sessionId), conn.id, JSON.stringify({ ...conn, node: this.nodeId })));
    this.write(this.cmd.sadd(NODE_SESSIONS(this.nodeId), sessionId));
  }

  removeConnection(sessionId: string, connectionId: string): void {
    this.write(this.cmd.eval(REMOVE, 2, CONNS(sessionId), COUNT(sessionId), connectionId));
  }

  putStream(sessionId: string, stream: StoredStream): void {
    this.write(this.cmd.hset(STREAMS(sessionId), stream.id, JSON.stringify(stream)));
  }

  removeStream(sessionId: string, streamId: string): void {
    this.write(this.cmd.hdel(STREAMS(sessionId), streamId));
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
