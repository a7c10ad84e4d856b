/** Running node on a file or an inline script in a child process, for tests of whole programs. */
import { spawn } from 'node:child_process';

export interface NodeRun { code: number | null; out: string; err: string }

/** Runs `node ...args`; a program that does not exit within `timeoutMs` is killed (code -1). */
export function runNode(args: string[], env: Record<string, string> = {}, timeoutMs = 8000): Promise<NodeRun> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += String(d); });
  child.stderr.on('data', (d) => { err += String(d); });
  return new Promise((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve({ code: -1, out, err }); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(t); resolve({ code, out, err }); });
  });
}
