/**
 * `convene join`: a bot on the native core that prints every event as one JSON line and
 * sends each line of its standard input as a signal (`type:data`, or just `data`).
 * Standard input closing disconnects; the process exits when the session has ended.
 */
import { createInterface } from 'node:readline';
import { initSession } from './client/index';
import type { Session } from './client/session';
import type { Connection, Stream } from './client/types';

export interface JoinOptions {
  serverUrl?: string;
  apiKey: string;
  sessionId: string;
  token: string;
}

const conn = (c: Connection | null | undefined): unknown => (c ? { connectionId: c.connectionId, data: c.data } : null);
const stream = (s: Stream): unknown => ({
  streamId: s.streamId, connectionId: s.connection.connectionId, name: s.name, hasAudio: s.hasAudio, hasVideo: s.hasVideo, videoType: s.videoType,
});

export async function runJoin(opts: JoinOptions, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const session: Session = initSession(opts.apiKey, opts.sessionId, opts.serverUrl ? { serverUrl: opts.serverUrl } : {});
  const print = (event: string, body: Record<string, unknown> = {}): void => out(JSON.stringify({ event, time: Date.now(), ...body }));
  session.on('sessionConnected', () => print('sessionConnected', { connection: conn(session.connection) }));
  session.on('sessionDisconnected', (e) => print('sessionDisconnected', { reason: e.reason }));
  session.on('sessionReconnecting', () => print('sessionReconnecting'));
  session.on('sessionReconnected', () => print('sessionReconnected'));
  session.on('connectionCreated', (e) => print('connectionCreated', { connection: conn(e.connection) }));
  session.on('connectionDestroyed', (e) => print('connectionDestroyed', { connection: conn(e.connection), reason: e.reason }));
  session.on('streamCreated', (e) => print('streamCreated', { stream: stream(e.stream) }));
  session.on('streamDestroyed', (e) => print('streamDestroyed', { stream: stream(e.stream), reason: e.reason }));
  session.on('streamPropertyChanged', (e) => print('streamPropertyChanged', { streamId: e.stream.streamId, changedProperty: e.changedProperty, oldValue: e.oldValue, newValue: e.newValue }));
  session.on('signal', (e) => print('signal', { type: e.type, data: e.data, from: conn(e.from) }));
  session.on('muteForced', (e) => print('muteForced', { active: e.active }));
  session.on('exception', (e) => print('exception', { code: e.code, name: e.name, message: e.message }));
  try {
    await session.connect(opts.token);
  } catch (e) {
    const err = e as { code?: number; name?: string; message?: string };
    print('error', { code: err.code, name: err.name, message: err.message });
    return 1;
  }
  const ended = new Promise<void>((resolve) => session.once('sessionDisconnected', () => resolve()));
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const i = line.indexOf(':');
    const type = i > 0 ? line.slice(0, i) : '';
    const data = i > 0 ? line.slice(i + 1) : line;
    session.signal({ type, data }).catch((e: { code?: number; name?: string; message?: string }) =>
      print('error', { code: e.code, name: e.name, message: e.message, line }));
  });
  rl.on('close', () => session.disconnect());
  await ended;
  rl.close();
  return 0;
}
