/**
 * The development project file: `convene server` started without a project makes one up and
 * writes it here, so that `convene session`, `token` and `join` on the same machine find the
 * api key, secret and URL without them being typed again (README, "Command line").
 *
 * Location: $CONVENE_HOME/dev-project.json, else $XDG_STATE_HOME/convene/dev-project.json,
 * else ~/.local/state/convene/dev-project.json. Mode 0600 in a 0700 directory: it holds a secret.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface DevProject {
  apiKey: string;
  apiSecret: string;
  /** ws:// URL of the server */
  url: string;
  /** http:// URL of its REST API */
  apiUrl: string;
  /** process id of the server that wrote it */
  pid: number;
  createdAt: string;
}

const nonEmpty = (env: NodeJS.ProcessEnv, name: string): string | undefined => (env[name] ? env[name] : undefined);

/** Where the development project file is (see the module comment). */
export function devProjectPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = nonEmpty(env, 'CONVENE_HOME');
  if (home) return join(home, 'dev-project.json');
  const state = nonEmpty(env, 'XDG_STATE_HOME') ?? join(homedir(), '.local', 'state');
  return join(state, 'convene', 'dev-project.json');
}

/** Writes the file atomically (a reader never sees half of it), readable by its owner only. */
export function writeDevProject(project: DevProject, path: string = devProjectPath()): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(project, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600); // in case a stale temporary file existed with other bits
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Reads the file: undefined when there is none; throws an Error naming the file when it
 * cannot be read or does not hold a development project.
 */
export function readDevProject(path: string = devProjectPath()): DevProject | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not JSON; delete it or start \`convene server\` again`);
  }
  const o = v as Partial<Record<keyof DevProject, unknown>> | null;
  if (!o || typeof o !== 'object' || typeof o.apiKey !== 'string' || !o.apiKey || typeof o.apiSecret !== 'string' || !o.apiSecret
    || typeof o.url !== 'string' || typeof o.apiUrl !== 'string') {
    throw new Error(`${path} does not hold a development project (apiKey, apiSecret, url, apiUrl); delete it or start \`convene server\` again`);
  }
  return {
    apiKey: o.apiKey, apiSecret: o.apiSecret, url: o.url, apiUrl: o.apiUrl,
    pid: typeof o.pid === 'number' ? o.pid : 0, createdAt: typeof o.createdAt === 'string' ? o.createdAt : '',
  };
}

/** Removes the file if it still holds `project` (another server may have replaced it since). */
export function removeDevProject(project: DevProject, path: string = devProjectPath()): void {
  try {
    const now = readDevProject(path);
    if (now && now.apiSecret === project.apiSecret && now.pid === project.pid) rmSync(path, { force: true });
  } catch {
    // not ours to clean up
  }
}
