/**
 * The public types as a user gets them: a fresh TypeScript project (strict, no skipLibCheck)
 * with only @types/node installed imports 'convene' and 'convene/server' from the built
 * package, and type-checks. The program also pins down typing of the event maps: what must
 * not compile is marked @ts-expect-error (an unused one is an error too).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A project with node_modules/convene (a copy of package.json + dist: no repo node_modules behind it) and @types/node. */
function project(files: Record<string, string>): string {
  const app = mkdtempSync(join(tmpdir(), 'convene-types-'));
  dirs.push(app);
  const pkg = join(app, 'node_modules', 'convene');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.map') });
  mkdirSync(join(app, 'node_modules', '@types'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'));
  symlinkSync(join(ROOT, 'node_modules', 'undici-types'), join(app, 'node_modules', 'undici-types')); // @types/node's dependency
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'Node16', moduleResolution: 'Node16', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
    include: ['*.ts'],
  }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(app, name), text);
  return app;
}

function tsc(app: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], { cwd: app, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const PROGRAM = `
import { initSession, OT, Publisher, type Session, type SignalEvent } from 'convene';
import { startServer, mintSessionId, type ConveneServer } from 'convene/server';

export async function main(): Promise<void> {
  const server: ConveneServer = await startServer({ projects: [{ apiKey: '1', apiSecret: 's' }], port: 0 });
  const session: Session = initSession('1', mintSessionId({ apiKey: '1', apiSecret: 's' }).sessionId, { serverUrl: server.url });
  session.on('signal', (e: SignalEvent) => { e.preventDefault(); const d: string = e.data; void d; });
  session.on('signal:chat', (e) => { const t: string = e.type; void t; });
  session.on({ sessionConnected: (e) => { const c: boolean = e.cancelable; void c; }, exception: (e) => { const n: number = e.code; void n; } }, {});
  session.on('connectionCreated connectionDestroyed', (e) => { void e.type; });
  session.once('sessionDisconnected', (e) => { const r: string = e.reason; void r; });
  session.off('signal');
  session.off();

  // the inherited EventEmitter methods are typed from the same map
  session.addListener('streamCreated', (e) => { const id: string = e.stream.streamId; void id; });
  session.prependListener('streamDestroyed', (e) => { const r: string = e.reason; void r; });
  session.removeListener('signal', (e) => { void e.data; });
  const fns: Array<(e: SignalEvent) => void> = session.listeners('signal');
  void fns;
  // @ts-expect-error: no such event
  session.emit('noSuchEvent', {});
  // @ts-expect-error: a signal listener gets a SignalEvent, not a number
  session.addListener('signal', (e: number) => { void e; });
  // @ts-expect-error: connectionCreated carries a connection, not a stream
  session.prependListener('connectionCreated', (e) => { void e.stream; });

  const publisher: Publisher = OT.initPublisher({ name: 'bot', publishAudio: false });
  publisher.on('muteForced', (e) => { void e.target; });
  const published: Publisher = await session.publish(publisher, (error) => { void error?.code; });
  void published;
  session.getPublisherForStream(publisher.stream);
  const s2: Session = OT.initSession('1', 'sid');
  void s2.isConnected();
  await server.close();
}
`;

describe('public types in a fresh project', () => {
  it("'convene' and 'convene/server' type-check with only @types/node, and the event maps type every EventEmitter method", () => {
    const app = project({ 'main.ts': PROGRAM });
    const r = tsc(app);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);
});
