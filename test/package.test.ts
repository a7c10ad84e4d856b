/**
 * Packaging: `npm pack` with a prebuild installs into an empty project with no compiler on
 * the PATH and runs against the real server.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startFixture, type Fixture } from './helpers/server';

const ROOT = join(__dirname, '..');
let fx: Fixture;
beforeAll(async () => { fx = await startFixture(); });
afterAll(async () => { await fx.close(); });

describe('npm package', () => {
  it('installs from the tarball with its prebuild, without compilers, and joins a session', async () => {
    // Build the prebuild in a copy: node-gyp owns build/ and must not touch the repo's.
    const stage = mkdtempSync(join(tmpdir(), 'convene-pack-'));
    for (const f of ['package.json', 'binding.gyp', 'README.md', 'dist', 'docs', 'native/src', 'native/include', 'native/binding']) {
      cpSync(join(ROOT, f), join(stage, f), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'));
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'prebuildify', 'bin.js'), '--napi', '--strip'], { cwd: stage, stdio: 'pipe' });
    expect(readdirSync(join(stage, 'prebuilds', 'linux-x64'))).toContain('convene.node');
    const packed = execFileSync('npm', ['pack', '--silent', '--ignore-scripts'], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop() as string;
    const tarball = join(stage, packed);

    // An empty project; PATH holds node, npm and sh only: no cc, c++, make or python.
    const app = mkdtempSync(join(tmpdir(), 'convene-app-'));
    const bin = join(app, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync('/bin/sh', join(bin, 'sh')); // npm runs install scripts through sh
    const npmCli = join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
    writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${npmCli}" "$@"\n`, { mode: 0o755 });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    const env = { ...process.env, PATH: bin };
    const inst = spawnSync(join(bin, 'npm'), ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env, encoding: 'utf8' });
    expect(inst.status, inst.stderr).toBe(0);

    const sid = await fx.newSession();
    const script = `
      const { initSession } = require('convene');
      const s = initSession(${JSON.stringify(API_KEY)}, ${JSON.stringify(sid)}, { serverUrl: ${JSON.stringify(fx.url)} });
      s.on('signal', (e) => { console.log('got', e.data); s.disconnect(); });
      s.connect(${JSON.stringify(fx.token(sid))}).then(() => s.signal({ data: 'packaged' }));
    `;
    // Asynchronously: the server runs in this process and must keep answering.
    const child = spawn(join(bin, 'node'), ['-e', script], { cwd: app, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    const status = await new Promise<number | null>((resolve) => {
      const t = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 15000);
      child.on('exit', (code) => { clearTimeout(t); resolve(code); });
    });
    expect(stderr).toBe('');
    expect(stdout).toContain('got packaged');
    expect(status).toBe(0);
  }, 120_000);
});
