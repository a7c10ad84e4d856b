/**
 * `convene join`: a bot on the native core that prints every event as one JSON line and
 * sends each line of its standard input as a signal (`type:data`, or just `data`).
 * At the end of standard input it waits for the signals still in flight (their results), then
 * disconnects; the process exits when the session has ended. One `error` line per failure.
 * With `record`, it subscribes to every stream's audio only (48 kHz mono; `video: false`, so no
 * video is sent to it nor decoded) and writes the mix to a WAV file (lib/record.ts), complete
 * when the session has ended.
 */
import { createInterface } from 'node:readline';
import { initSession } from './client/index';
import type { Session } from './client/session';
import type { Connection, Stream } from './client/types';
import { WavRecorder } from './record';

const RECORD_RATE = 48000;

/** Signals sent and not answered yet before standard input is no longer read. */
const MAX_IN_FLIGHT = 256;

export interface JoinOptions {
  serverUrl?: string;
  apiKey: string;
  sessionId: string;
  token: string;
  /** a WAV file to write what is heard to */
  record?: string | undefined;
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
  let recorder: WavRecorder | undefined;
  if (opts.record !== undefined) {
    try {
      recorder = new WavRecorder(opts.record, RECORD_RATE, 1);
    } catch (e) {
      print('error', { message: `cannot record to ${opts.record}: ${(e as Error).message}` });
      return 1;
    }
    const rec = recorder;
    session.on('streamCreated', (e) => {
      session.subscribe(e.stream, { audio: { sampleRate: RECORD_RATE, channels: 1 }, video: false }).then(async (sub) => {
        print('recording', { streamId: e.stream.streamId });
        for await (const frame of sub.audioFrames()) rec.add(e.stream.streamId, frame);
      }, (err: { code?: number; message?: string }) => print('error', { code: err.code, message: `cannot subscribe to ${e.stream.streamId}: ${err.message}` }));
    });
  }
  try {
    await session.connect(opts.token);
  } catch (e) {
    // The failure is this one line: the core's exception for it is not printed as well.
    const err = e as { code?: number; name?: string; message?: string };
    print('error', { code: err.code, name: err.name, message: err.message });
    recorder?.close();
    return 1;
  }
  session.on('exception', (e) => print('exception', { code: e.code, name: e.name, message: e.message }));
  const ended = new Promise<void>((resolve) => session.once('sessionDisconnected', () => resolve()));
  const rl = createInterface({ input: process.stdin });
  // Signals sent and not answered yet; past MAX_IN_FLIGHT, reading stops until half are answered.
  const inFlight = new Set<Promise<void>>();
  let paused = false;
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const i = line.indexOf(':');
    const type = i > 0 ? line.slice(0, i) : '';
    const data = i > 0 ? line.slice(i + 1) : line;
    const p: Promise<void> = session.signal({ type, data })
      .catch((e: { code?: number; name?: string; message?: string }) => print('error', { code: e.code, name: e.name, message: e.message, line }))
      .finally(() => {
        inFlight.delete(p);
        if (paused && inFlight.size <= MAX_IN_FLIGHT / 2) {
          paused = false;
          rl.resume();
        }
      });
    inFlight.add(p);
    if (!paused && inFlight.size >= MAX_IN_FLIGHT) {
      paused = true;
      rl.pause();
    }
  });
  rl.on('close', () => {
    // The server may have delivered them already: their results decide, not the disconnect.
    void Promise.allSettled([...inFlight]).then(() => session.disconnect());
  });
  await ended;
  rl.close();
  if (recorder) print('recorded', { file: opts.record, bytes: recorder.close(), dropped: recorder.dropped });
  return 0;
}
