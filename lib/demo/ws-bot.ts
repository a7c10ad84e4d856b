/**
 * A minimal protocol-v1 client over `ws` for the demo: handshake, request ids with
 * resend after resume, cumulative acks, and replay de-duplication. It will be replaced
 * by the native core once the Node binding lands.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

export class WsBot extends EventEmitter {
  private ws: WebSocket | undefined;
  private lastSeq = 0;
  private ackedSeq = 0;
  private nextId = 1;
  private readonly unanswered = new Map<number, string>();
  private readonly waiting = new Map<number, (f: Frame) => void>();
  connectionId = '';
  private resumeToken = '';
  connected = false;
  private closing = false;
  /** seq of the last event processed */
  get processedSeq(): number {
    return this.lastSeq;
  }

  constructor(readonly name: string, private readonly url: string, private readonly creds: { apiKey: string; sessionId: string; token: string }) {
    super();
  }

  private async open(hello: Record<string, unknown>): Promise<Frame> {
    const ws = new WebSocket(this.url, ['convene.v1']);
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Promise((resolve, reject) => {
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as Frame;
        if (f.type === 'connected' || f.type === 'resumed') resolve(f);
        else if (f.type === 'error' && f['fatal']) reject(new Error(`${String(f['name'])}: ${String(f['message'])}`));
        this.onFrame(f);
      });
      ws.on('close', () => {
        if (this.ws === ws && this.connected && !this.closing) {
          this.connected = false;
          this.emit('dropped');
        }
      });
      ws.on('error', () => undefined);
      ws.send(JSON.stringify(hello));
    });
  }

  async connect(): Promise<Frame> {
    const f = await this.open({ type: 'connect', v: 1, ...this.creds, sdk: { name: 'convene-demo', version: '0.1.0' } });
    this.connectionId = (f['connection'] as { id: string }).id;
    this.resumeToken = f['resumeToken'] as string;
    this.connected = true;
    for (const c of f['connections'] as Frame[]) this.emit('connectionCreated', c);
    for (const s of f['streams'] as Frame[]) this.emit('streamCreated', s);
    return f;
  }

  /** Resumes after a drop; resends what the server had not processed. */
  async resume(): Promise<Frame> {
    const f = await this.open({
      type: 'resume', v: 1, apiKey: this.creds.apiKey, sessionId: this.creds.sessionId,
      connectionId: this.connectionId, resumeToken: this.resumeToken, lastSeq: this.lastSeq,
    });
    this.connected = true;
    const last = f['lastRequestId'] as number;
    for (const [id, text] of this.unanswered) if (id > last) this.ws?.send(text);
    return f;
  }

  /** Cuts the socket with no close handshake, like a network failure. */
  cut(): void {
    this.ws?.terminate();
  }

  /** Sends a request now, or after the next resume if the socket is down. */
  request(type: string, fields: Record<string, unknown> = {}): Promise<Frame> {
    const id = this.nextId++;
    if (type === 'disconnect') this.closing = true;
    const text = JSON.stringify({ type, id, ...fields });
    this.unanswered.set(id, text);
    if (this.connected) this.ws?.send(text);
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  private onFrame(f: Frame): void {
    const seq = f['seq'];
    if (typeof seq !== 'number') return;
    if (seq <= this.lastSeq) return; // replayed twice across a drop: already processed
    this.lastSeq = seq;
    if (seq - this.ackedSeq >= 32) {
      this.ackedSeq = seq;
      this.ws?.send(JSON.stringify({ type: 'ack', seq }));
    }
    if (f.type === 'result') {
      const id = f['id'] as number;
      this.unanswered.delete(id);
      this.waiting.get(id)?.(f);
      this.waiting.delete(id);
      return;
    }
    this.emit(f.type, f);
  }

  close(): void {
    this.connected = false;
    this.ws?.close();
  }
}
