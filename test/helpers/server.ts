/** Starts a real ConveneServer on 127.0.0.1 and mints sessions and tokens with the real `opentok` SDK. */
import { createRequire } from 'node:module';
import { startServer, type ConveneServer, type ServerOptions } from '../../lib/server';
import { TestClient } from './client';

const require = createRequire(__filename);

export interface OpenTokSdk {
  generateToken(sessionId: string, opts?: Record<string, unknown>, legacy?: boolean): string;
  createSession(opts: Record<string, unknown>, cb: (err: Error | null, session?: { sessionId: string }) => void): void;
  signal(sessionId: string, connectionId: string | null, payload: { type?: string; data?: string }, cb: (err: Error | null) => void): void;
  forceDisconnect(sessionId: string, connectionId: string, cb: (err: Error | null) => void): void;
  getStream(sessionId: string, streamId: string, cb: (err: Error | null, stream?: Record<string, unknown>) => void): void;
  listStreams(sessionId: string, cb: (err: Error | null, streams?: Array<Record<string, unknown>>) => void): void;
  forceMuteStream(sessionId: string, streamId: string, cb: (err: Error | null) => void): void;
  forceMuteAll(sessionId: string, opts: Record<string, unknown>, cb: (err: Error | null) => void): void;
  disableForceMute(sessionId: string, cb: (err: Error | null) => void): void;
}

type OpenTokCtor = new (apiKey: string, apiSecret: string, env?: { apiUrl: string }) => OpenTokSdk;
export const OpenTok = require('opentok') as OpenTokCtor;

export const API_KEY = '4700123';
export const API_SECRET = 'test-secret-0123456789abcdef0123456789';

export interface Fixture {
  server: ConveneServer;
  ot: OpenTokSdk;
  url: string;
  newSession(opts?: Record<string, unknown>): Promise<string>;
  token(sessionId: string, opts?: Record<string, unknown>): string;
  client(sessionId: string, tokenOpts?: Record<string, unknown>): TestClient;
  /** a client that connected; throws if the handshake failed */
  join(sessionId: string, tokenOpts?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<ServerOptions> = {}): Promise<Fixture> {
  const server = await startServer({ projects: [{ apiKey: API_KEY, apiSecret: API_SECRET }], port: 0, ...options });
  const ot = new OpenTok(API_KEY, API_SECRET, { apiUrl: server.apiUrl });
  const clients: TestClient[] = [];
  const fx: Fixture = {
    server,
    ot,
    url: server.url,
    newSession: (opts = {}) =>
      new Promise((resolve, reject) => ot.createSession(opts, (err, s) => (err || !s ? reject(err) : resolve(s.sessionId)))),
    token: (sessionId, opts = {}) => ot.generateToken(sessionId, opts),
    client(sessionId, tokenOpts = {}) {
      const c = new TestClient(server.url, { apiKey: API_KEY, sessionId, token: fx.token(sessionId, tokenOpts) });
      clients.push(c);
      return c;
    },
    async join(sessionId, tokenOpts = {}, extra = {}) {
      const c = fx.client(sessionId, tokenOpts);
      const f = await c.connect(extra);
      if (f.type !== 'connected') throw new Error(`connect failed: ${JSON.stringify(f)}`);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await server.close();
    },
  };
  return fx;
}

/** Promisifies a node-style SDK call. */
export function call<T = void>(fn: (cb: (err: Error | null, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
