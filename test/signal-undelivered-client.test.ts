/**
 * The client side of `signalUndelivered` (docs/protocol.md): a scripted protocol v1 server
 * sends the event, the Session surfaces it as a `signalUndelivered` event with an OTError.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { initSession, type Session, type SignalUndeliveredEvent } from '../lib/index';
import { until } from './helpers/events';

let wss: WebSocketServer | undefined;
const open: Session[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.disconnect();
  await new Promise<void>((r) => (wss ? wss.close(() => r()) : r()));
  wss = undefined;
});

/** A server that answers `connect` and then runs `script` on the socket. */
async function scripted(script: (ws: WebSocket, frames: Array<Record<string, unknown>>) => void): Promise<string> {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'convene.v1' });
  await new Promise<void>((r) => wss!.once('listening', () => r()));
  wss.on('connection', (ws) => {
    const frames: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as Record<string, unknown>;
      frames.push(f);
      if (f['type'] === 'connect') {
        ws.send(JSON.stringify({
          type: 'connected', v: 1, sessionId: f['sessionId'], connection: { id: 'c-me', creationTime: 1, data: '' },
          role: 'publisher', capabilities: { publish: 1, subscribe: 1, signal: 1, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0 },
          resumeToken: 'rt', connections: [{ id: 'c-peer', creationTime: 1, data: 'peer' }], streams: [],
          forceMute: { active: false }, limits: {}, keepalive: { interval: 10000, timeout: 15000 }, graceWindow: 30000, lastSeq: 0,
        }));
        script(ws, frames);
      }
      if (f['type'] === 'disconnect') ws.close(1000);
    });
  });
  const addr = wss.address() as { port: number };
  return `ws://127.0.0.1:${addr.port}`;
}

describe('signalUndelivered', () => {
  it('is surfaced as a session event with the signal type, the addressee and an OTError 1560', async () => {
    const url = await scripted((ws) => {
      const error = { code: 1560, name: 'CONVENE_SIGNAL_UNDELIVERED', message: 'c-peer left before receiving it' };
      ws.send(JSON.stringify({ type: 'connectionDestroyed', seq: 1, connection: { id: 'c-peer' }, reason: 'networkDisconnected' }));
      ws.send(JSON.stringify({ type: 'signalUndelivered', seq: 2, requestId: 1, to: 'c-peer', signalType: 'chat', error }));
      ws.send(JSON.stringify({ type: 'signalUndelivered', seq: 3, requestId: 2, to: 'c-gone', signalType: 'move', error }));
    });
    const s = initSession('4700123', '2_scripted', { serverUrl: url });
    open.push(s);
    const events: SignalUndeliveredEvent[] = [];
    s.on('signalUndelivered', (e) => events.push(e));
    await s.connect('token');
    await until('two signalUndelivered events', () => events.length === 2);
    expect(events[0]).toMatchObject({ type: 'signalUndelivered', signalType: 'chat', to: { connectionId: 'c-peer' } });
    expect(events[0]?.error).toMatchObject({ code: 1560, name: 'CONVENE_SIGNAL_UNDELIVERED', message: 'c-peer left before receiving it' });
    expect(events[1]).toMatchObject({ signalType: 'move', to: { connectionId: 'c-gone', data: '' } });
    expect(s.connectionStatus).toBe('connected');
  });
});
