/**
 * A small protocol-v1 test client on `ws`: it speaks the frames of docs/protocol.md
 * directly so tests can drive every frame type, drop sockets and resume by hand.
 */
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

export interface Creds {
  apiKey: string;
  sessionId: string;
  token: string;
}

export class TestClient {
  ws!: WebSocket;
  /** every frame received, across sockets */
  readonly frames: Frame[] = [];
  /** events with seq processed exactly once (duplicates from replays dropped) */
  readonly events: Frame[] = [];
  lastSeq = 0;
  nextId = 1;
  connectionId = '';
  resumeToken = '';
  hello: Frame | undefined;
  closeCode: number | undefined;
  closeReason = '';
  /** request frames sent and not yet answered, by id */
  readonly unanswered = new Map<number, Frame>();
  autoAck = true;
  private waiters: Array<{ pred: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  private closeWaiters: Array<() => void> = [];

  constructor(readonly url: string, readonly creds: Creds) {}

  /** Opens a socket (no handshake). */
  async open(protocols?: string[]): Promise<void> {
    this.closeCode = undefined;
    const ws = new WebSocket(this.url, protocols);
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const f = JSON.parse(data.toString()) as Frame;
      this.onFrame(f);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.closeWaiters.splice(0)) w();
    });
    ws.on('error', () => { /* surfaced through close */ });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (typeof f['seq'] === 'number') {
      const seq = f['seq'];
      if (seq <= this.lastSeq) return; // replayed duplicate
      if (seq !== this.lastSeq + 1) throw new Error(`seq gap: got ${seq} after ${this.lastSeq}`);
      this.lastSeq = seq;
      this.events.push(f);
      if (f.type === 'result') this.unanswered.delete(f['id'] as number);
      if (this.autoAck && seq % 16 === 0) this.sendRaw({ type: 'ack', seq });
    }
    if (f.type === 'connected') {
      this.connectionId = (f['connection'] as { id: string }).id;
      this.resumeToken = f['resumeToken'] as string;
      this.hello = f;
    }
    for (const w of [...this.waiters]) {
      if (w.pred(f)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(f);
      }
    }
  }

  sendRaw(frame: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for a frame matching pred that has not arrived yet (or already arrived if `past`). */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, past = false): Promise<Frame> {
    if (past) {
      const found = this.frames.find(pred);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (f: Frame) => { clearTimeout(t); resolve(f); } };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out waiting for a frame (${pred.toString()})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  waitType(type: string, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor((f) => f.type === type, timeoutMs);
  }

  waitClose(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.closeWaiters.push(() => { clearTimeout(t); resolve(this.closeCode as number); });
    });
  }

  /** Opens a socket and completes the connect handshake; resolves with the first frame answered. */
  async connect(extra: Record<string, unknown> = {}): Promise<Frame> {
    await this.open();
    const reply = this.waitFor((f) => f.type === 'connected' || f.type === 'error');
    this.sendRaw({ type: 'connect', v: 1, ...this.creds, sdk: { name: 'test', version: '0' }, ...extra });
    return reply;
  }

  /** Sends a request with the next id; resolves with its result frame. */
  request(type: string, fields: Record<string, unknown> = {}, timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const frame: Frame = { type, id, ...fields };
    this.unanswered.set(id, frame);
    const result = this.waitFor((f) => f.type === 'result' && f['id'] === id, timeoutMs, true);
    this.sendRaw(frame);
    return result;
  }

  /** Kills the socket without a close handshake (like a network cut, seen as a drop). */
  drop(): void {
    this.ws.terminate();
  }

  /** Resumes on a new socket; resolves with `resumed` or `error`. Resends unanswered requests. */
  async resume(): Promise<Frame> {
    await this.open();
    const reply = this.waitFor((f) => f.type === 'resumed' || f.type === 'error');
    this.sendRaw({
      type: 'resume', v: 1, apiKey: this.creds.apiKey, sessionId: this.creds.sessionId,
      connectionId: this.connectionId, resumeToken: this.resumeToken, lastSeq: this.lastSeq,
    });
    const f = await reply;
    if (f.type === 'resumed') {
      const last = f['lastRequestId'] as number;
      for (const [id, req] of [...this.unanswered].sort((a, b) => a[0] - b[0])) {
        if (id > last) this.sendRaw(req);
      }
    }
    return f;
  }

  /** Events of one type processed so far. */
  eventsOf(type: string): Frame[] {
    return this.events.filter((e) => e.type === type);
  }

  close(): void {
    try { this.ws.close(); } catch { /* already closed */ }
  }
}
