/**
 * `convene demo`: an embedded server and three bots on the native core that join one
 * session, see each other, publish, talk (each sings a tone of its own pitch and tells which
 * pitch it hears from each of the others), show a picture (each films its own colour with a
 * moving bar and tells which colour it sees from each of the others), exchange signals, lose their network (the demo
 * cuts their sockets), come back by themselves (automatic reconnection and resume; the sound
 * comes back without a new subscribe), and a summary. Signals sent while reconnecting are
 * queued and delivered exactly once.
 */
import { randomBytes } from 'node:crypto';
import { AudioSource, VideoSource, initSession } from '../client/index';
import type { Session } from '../client/session';
import { mintToken } from '../mint';
import { startServer } from '../server/server';
import { mintSessionId } from '../server/session-id';
import { COLOUR_NAMES, Eye, film, type ColourName } from './look';
import { Ear, PITCHES, sing } from './talk';

const SIGNALS_PER_BOT = 20;
const NAMES = ['alice', 'bob', 'carol'] as const;

interface Bot {
  name: string;
  session: Session;
  token: string;
  received: Map<string, string[]>; // sender name -> data, in arrival order
  pitch: number;
  source: AudioSource;
  ears: Map<string, Ear>; // sender name -> what this bot hears of its stream
  colour: ColourName;
  camera: VideoSource;
  eyes: Map<string, Eye>; // sender name -> what this bot sees of its stream
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until every bot has a pitch for each of the others (or the time is up). */
async function hearEveryone(bots: Bot[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  const done = (): boolean => bots.every((b) => b.ears.size === bots.length - 1 && [...b.ears.values()].every((e) => e.pitch() !== undefined)
    && b.eyes.size === bots.length - 1 && [...b.eyes.values()].every((e) => e.colour() !== undefined));
  while (!done() && Date.now() < end) await sleep(50);
}

export interface DemoOptions {
  /** keep the server and the singing bots after the summary, until SIGINT / SIGTERM (to meet them from the room page) */
  stay?: boolean;
  /** the server's port (default: any free one) */
  port?: number;
}

export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), opts: DemoOptions = {}): Promise<number> {
  const project = { apiKey: 'convene-demo', apiSecret: randomBytes(24).toString('base64url') };
  // devProject: the room page's /dev/join mints tokens for a person who opens it
  const server = await startServer({ projects: [project], port: opts.port ?? 0, devProject: project });
  const t0 = Date.now();
  const log = (who: string, what: string): void => out(`${String(Date.now() - t0).padStart(6)} ms  ${who.padEnd(7)} ${what}`);
  log('server', `listening on ${server.url}`);
  const { sessionId } = mintSessionId(project);
  log('server', `session ${sessionId.slice(0, 24)}…`);
  out(`room page: ${server.apiUrl}/?sessionId=${encodeURIComponent(sessionId)}  (open it to meet the bots${opts.stay ? '' : '; add --stay to keep them there'})`);
  const nameOf = (data: string): string => data.replace('name=', '');

  const bots: Bot[] = [];
  for (const [i, name] of NAMES.entries()) {
    const session = initSession(project.apiKey, sessionId, { serverUrl: server.url });
    const bot: Bot = {
      name, session, token: await mintToken(project, sessionId, `name=${name}`), received: new Map(),
      pitch: PITCHES[i] ?? 440, source: new AudioSource({ sampleRate: 48000, channels: 1, queueMs: 200 }), ears: new Map(),
      colour: COLOUR_NAMES[i] ?? 'red', camera: new VideoSource({ width: 160, height: 120, fps: 10 }), eyes: new Map(),
    };
    session.on('connectionCreated', (e) => log(name, `sees ${nameOf(e.connection.data)} join`));
    session.on('connectionDestroyed', (e) => log(name, `sees ${nameOf(e.connection.data)} leave (${e.reason})`));
    session.on('streamCreated', (e) => {
      log(name, `sees stream "${e.stream.name}"`);
      const from = nameOf(e.stream.connection.data);
      session.subscribe(e.stream, { audio: { sampleRate: 16000, channels: 1 }, video: { format: 'RGBA' } }).then((sub) => {
        sub.on('disconnected', () => log(name, `hears ${from}'s stream interrupted`));
        sub.on('connected', () => log(name, `hears ${from}'s stream again`));
        bot.ears.set(from, new Ear(from, sub));
        bot.eyes.set(from, new Eye(from, sub));
      }, (err: Error) => log(name, `cannot subscribe to ${from}: ${err.message}`));
    });
    session.on('sessionDisconnected', (e) => log(name, `disconnected (${e.reason})`));
    session.on('sessionReconnecting', () => log(name, 'network dropped: reconnecting'));
    session.on('sessionReconnected', () => log(name, `reconnected as ${session.connection?.connectionId.slice(0, 8) ?? '?'} (same connection, resumed)`));
    session.on('exception', (e) => log(name, `error ${e.code} ${e.name}: ${e.message}`));
    session.on('signal:chat', (e) => {
      const [sender] = e.data.split('#');
      const list = bot.received.get(sender ?? '') ?? [];
      list.push(e.data);
      bot.received.set(sender ?? '', list);
    });
    bots.push(bot);
  }

  for (const bot of bots) {
    await bot.session.connect(bot.token);
    log(bot.name, `connected as ${bot.session.connection?.connectionId.slice(0, 8) ?? '?'}`);
  }
  let quiet = false;
  const singing: Promise<void>[] = [];
  for (const bot of bots) {
    const pub = await bot.session.publish({ name: `${bot.name}-cam`, hasAudio: true, hasVideo: true, audioSource: bot.source, videoSource: bot.camera });
    log(bot.name, `published ${pub.stream?.streamId.slice(0, 8) ?? '?'}, singing ${bot.pitch} Hz, filming ${bot.colour}`);
    singing.push(sing(bot.source, bot.pitch, () => quiet));
    singing.push(film(bot.camera, bot.colour, () => quiet));
  }
  // Each bot hears the others' pitches.
  let heardRight = 0;
  let seenRight = 0;
  const expectedHeard = bots.length * (bots.length - 1) * 2; // before and after the cut
  const listen = async (when: string): Promise<void> => {
    await hearEveryone(bots, 8000);
    for (const bot of bots) {
      const parts = bots.filter((o) => o !== bot).map((o) => {
        const p = bot.ears.get(o.name)?.pitch();
        if (p === o.pitch) heardRight++;
        return `${o.name} at ${p === undefined ? 'nothing' : `${p} Hz`}${p === o.pitch || p === undefined ? '' : ` (sings ${o.pitch} Hz)`}`;
      });
      log(bot.name, `hears ${parts.join(', ')}${when}`);
      const sights = bots.filter((o) => o !== bot).map((o) => {
        const c = bot.eyes.get(o.name)?.colour();
        if (c === o.colour) seenRight++;
        return `${o.name} in ${c ?? 'nothing'}${c === o.colour || c === undefined ? '' : ` (films ${o.colour})`}`;
      });
      log(bot.name, `sees ${sights.join(', ')}${when}`);
    }
  };
  await listen('');

  let sent = 0;
  let failed = 0;
  const send = async (bot: Bot, data: string): Promise<void> => {
    try {
      await bot.session.signal({ type: 'chat', data }); // queued while reconnecting, sent after the resume
      sent++;
    } catch (e) {
      failed++;
      log(bot.name, `signal ${data} failed: ${(e as Error).message}`);
    }
  };
  const half = SIGNALS_PER_BOT / 2;
  for (let i = 0; i < half; i++) await Promise.all(bots.map((b) => send(b, `${b.name}#${i}`)));
  log('demo', `${sent} signals sent and acknowledged; cutting every bot's socket`);

  const back = bots.map((b) => new Promise<void>((r) => b.session.once('sessionReconnected', () => r())));
  server.dropAllSockets();
  const second: Promise<void>[] = [];
  for (let i = half; i < SIGNALS_PER_BOT; i++) for (const b of bots) second.push(send(b, `${b.name}#${i}`));
  log('demo', `${second.length} more signals sent while the bots are offline (queued)`);
  await Promise.all(back);
  await Promise.all(second);
  await new Promise((r) => setTimeout(r, 300));
  // The sound came back by itself: hear it afresh.
  for (const bot of bots) for (const ear of bot.ears.values()) ear.mark();
  for (const bot of bots) for (const eye of bot.eyes.values()) eye.mark();
  await listen(' (after the cut)');
  if (opts.stay) {
    out(`the bots stay, singing: ${server.apiUrl}/?sessionId=${encodeURIComponent(sessionId)}  (Ctrl-C to end)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }
  quiet = true;
  for (const bot of bots) bot.source.clearQueue();
  await Promise.all(singing);

  let got = 0;
  let lost = 0;
  let dup = 0;
  for (const bot of bots) {
    for (const sender of bots) {
      const list = bot.received.get(sender.name) ?? [];
      got += list.length;
      const expected = Array.from({ length: SIGNALS_PER_BOT }, (_, i) => `${sender.name}#${i}`);
      lost += expected.filter((e) => !list.includes(e)).length;
      dup += list.length - new Set(list).size;
    }
  }
  for (const bot of bots) {
    const gone = new Promise<void>((r) => bot.session.once('sessionDisconnected', () => r()));
    bot.session.disconnect();
    await gone;
  }
  await server.close();
  out('');
  out(`video: ${seenRight} of ${expectedHeard} streams seen in their colour (each bot sees the ${bots.length - 1} others, before and after the cut)`);
  out(`audio: ${heardRight} of ${expectedHeard} streams heard at their pitch (each bot hears the ${bots.length - 1} others, before and after the cut)`);
  out(`summary: signals sent ${sent}, received ${got} (expected ${sent * bots.length}), lost ${lost}, duplicated ${dup}, failed ${failed}`);
  const signalsOk = lost === 0 && dup === 0 && failed === 0 && got === SIGNALS_PER_BOT * bots.length * bots.length;
  return signalsOk && heardRight === expectedHeard && seenRight === expectedHeard ? 0 : 1;
}
