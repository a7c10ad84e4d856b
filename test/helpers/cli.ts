/**
 * Running the `convene` command line as a real process from dist/ (built when stale), for the
 * CLI tests: output capture, waiting for lines, exit status, clean-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { ensureDist, ROOT } from './dist';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { ROOT };
export const CLI = join(ROOT, 'dist', 'cli.js');

/** Builds dist/ when it is older than lib/ (for a beforeAll with a long timeout). */
export const buildIfStale = ensureDist;

const tmpDirs: string[] = [];

/** A new empty directory, removed by cleanUp(). */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'convene-cli-'));
  tmpDirs.push(d);
  return d;
}

/**
 * The environment without the caller's CONVENE_* settings, and with CONVENE_HOME in a
 * directory of its own (a development server writes its project there, not in ~).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVENE_')));
  return { ...env, CONVENE_HOME: tempDir(), ...extra };
}

export interface Running {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const procs: ChildProcess[] = [];

/** Runs `convene ARGS`; `input`: what standard input holds (then closed), else nothing (closed). */
export function run(args: string[], env: NodeJS.ProcessEnv = cleanEnv(), input?: string): Running {
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  procs.push(proc);
  if (input !== undefined) proc.stdin!.end(input);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { proc, out: () => out, err: () => err, exited };
}

/** Waits for a line of standard output (or error) matching re; fails early if the process exits. */
export async function waitLine(r: Running, re: RegExp, timeoutMs = 10_000, stream: 'out' | 'err' = 'out'): Promise<RegExpMatchArray> {
  const started = Date.now();
  for (;;) {
    const m = (stream === 'out' ? r.out() : r.err()).match(re);
    if (m) return m;
    if (r.proc.exitCode !== null) throw new Error(`process exited ${r.proc.exitCode} before printing ${re}:\n${r.out()}\n${r.err()}`);
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${re}:\n${r.out()}\n${r.err()}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

export async function exitOf(r: Running, timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(`process did not exit:\n${r.out()}\n${r.err()}`)), timeoutMs); });
  try {
    return await Promise.race([r.exited, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/** The JSON lines of a text (a server's log, join's events); other lines are skipped. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Kills what is still running and removes the temporary directories (afterEach). */
export function cleanUp(): void {
  for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
