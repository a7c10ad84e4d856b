/**
 * `convene demo`: an embedded server, three bots that join one session, see each other,
 * publish, exchange signals, lose their network, come back, and a summary.
 */
import { randomBytes } from 'node:crypto';
import { startServer } from '../server/server';
import { mintSessionId } from '../server/session-id';
import { WsBot, type Frame } from './ws-bot';
import { mintToken } from '../mint';

const SIGNALS_PER_BOT = 20;

export async function runDemo(out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  const project = { apiKey: 'convene-demo', apiSecret: randomBytes(24).toString('base64url') };
  const server = await startServer({ projects: [project], port: 0 });
  const t0 = Date.now();
  const log = (who: string, what: string): void => out(`${String(Date.now() - t0).padStart(6)} ms  ${who.padEnd(7)} ${what}`);
  log('server', `listening on ${server.url}`);
  const { sessionId } = mintSessionId(project);
  log('server', `session ${sessionId.slice(0, 24)}…`);

  const names = ['alice', 'bob', 'carol'];
  const bots: WsBot[] = [];
  const received = new Map<string, Map<string, string[]>>();
  for (const name of names) {
    const token = await mintToken(project, sessionId, `name=${name}`);
    const bot = new WsBot(name, server.url, { apiKey: project.apiKey, sessionId, token });
    received.set(name, new Map());
    const nameOf = (c: Frame): string => String(c['data']).replace('name=', '');
    bot.on('connectionCreated', (f: Frame) => log(name, `sees ${nameOf((f['connection'] ?? f) as Frame)} join`));
    bot.on('connectionDestroyed', (f: Frame) => log(name, `sees ${nameOf(f['connection'] as Frame)} leave (${String(f['reason'])})`));
    bot.on('streamCreated', (f: Frame) => log(name, `sees stream "${String(((f['stream'] ?? f) as Frame)['name'])}"`));
    bot.on('signal', (f: Frame) => {
      const from = String(f['from']);
      const per = received.get(name) as Map<string, string[]>;
      per.set(from, [...(per.get(from) ?? []), String(f['data'])]);
    });
    bot.on('dropped', () => log(name, 'network dropped'));
    bots.push(bot);
  }
  for (const bot of bots) {
    await bot.connect();
    log(bot.name, `connected as ${bot.connectionId.slice(0, 8)}`);
  }
  for (const bot of bots) {
    const r = await bot.request('publish', { name: `${bot.name}-cam`, hasAudio: true, hasVideo: true, videoType: 'camera' });
    log(bot.name, `published ${String((r['stream'] as Frame)['id']).slice(0, 8)}`);
  }

  const sends: Promise<Frame>[] = [];
  const send = (bot: WsBot, i: number): void => { sends.push(bot.request('signal', { signalType: 'chat', data: `${bot.name}#${i}` })); };
  const half = SIGNALS_PER_BOT / 2;
  for (let i = 0; i < half; i++) for (const bot of bots) send(bot, i);
  await Promise.all(sends);
  log('demo', `${half * bots.length} signals sent; cutting every bot's socket`);

  for (const bot of bots) bot.cut();
  await new Promise((r) => setTimeout(r, 300));
  // While the sockets are down, bots keep signalling: the requests wait for the resume.
  for (let i = half; i < SIGNALS_PER_BOT; i++) for (const bot of bots) send(bot, i);
  log('demo', 'bots queued signals while offline; reconnecting by hand (resume)');
  for (const bot of bots) {
    const before = bot.processedSeq;
    const r = await bot.resume();
    log(bot.name, `resumed: server had processed requests up to #${String(r['lastRequestId'])}; ${(r['lastSeq'] as number) - before} missed events replayed`);
  }
  await Promise.all(sends);
  await new Promise((r) => setTimeout(r, 200));

  let lost = 0;
  let dup = 0;
  let got = 0;
  for (const bot of bots) {
    const per = received.get(bot.name) as Map<string, string[]>;
    for (const sender of bots) {
      const list = per.get(sender.connectionId) ?? [];
      got += list.length;
      const expected = Array.from({ length: SIGNALS_PER_BOT }, (_, i) => `${sender.name}#${i}`);
      lost += expected.filter((e) => !list.includes(e)).length;
      dup += list.length - new Set(list).size;
      if (JSON.stringify(list) !== JSON.stringify(expected) && lost === 0 && dup === 0) lost += 1; // out of order counts as a failure
    }
  }
  for (const bot of bots) {
    await bot.request('disconnect');
    log(bot.name, 'disconnected');
  }
  await server.close();
  const sent = SIGNALS_PER_BOT * bots.length;
  out('');
  out(`summary: signals sent ${sent}, received ${got} (expected ${sent * bots.length}), lost ${lost}, duplicated ${dup}`);
  return lost === 0 && dup === 0 && got === sent * bots.length ? 0 : 1;
}
