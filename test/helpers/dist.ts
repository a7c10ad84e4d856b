/** Tests that run the server in a child process use dist/: built here when stale. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const DIST = join(ROOT, 'dist');

/** True when some lib/**.ts has no dist/**.js or a newer one. */
function distIsStale(): boolean {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const src of walk(join(ROOT, 'lib')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    const out = join(DIST, relative(join(ROOT, 'lib'), src).replace(/\.ts$/, '.js'));
    if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) return true;
  }
  return false;
}

/** Builds dist/ with tsc when a source is newer than its output. */
export async function ensureDist(): Promise<void> {
  if (!distIsStale()) return;
  await new Promise<void>((resolve, reject) => {
    execFile('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, timeout: 90_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`build failed:\n${stdout}${stderr}`));
      else resolve();
    });
  });
}
