/**
 * Which TypeScript module may import which (docs/architecture-server.md): the wire definitions
 * (lib/wire) are shared by the server and the clients, so
 *  - lib/client and lib/wire never import lib/server (a client does not carry the server);
 *  - lib/wire imports nothing from lib/server or lib/client, and nothing Node-only or from a
 *    package (a browser client uses it as it is).
 * Reads the sources: every `import ... from`, `export ... from`, `import(...)` and `require(...)`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const LIB = join(ROOT, 'lib');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The module specifiers a source file names. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\sfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) out.push(m[1] as string);
  return out;
}

/** Where each import of the files under `dir` leads: a path under lib/, or the bare specifier. */
function importsOf(dir: string): Array<{ file: string; spec: string; target: string }> {
  const out = [];
  for (const file of sources(join(LIB, dir))) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const target = spec.startsWith('.') ? relative(LIB, resolve(dirname(file), spec)).split(sep).join('/') : spec;
      out.push({ file: relative(ROOT, file).split(sep).join('/'), spec, target });
    }
  }
  return out;
}

const under = (target: string, dir: string): boolean => target === dir || target.startsWith(`${dir}/`);

describe('module layering', () => {
  it('finds the imports it checks (the scanner works)', () => {
    expect(specifiers("import { a } from './x';\nexport * from '../y';\nimport type {\n  B,\n} from \"z\";\nconst c = require('w');"))
      .toEqual(['./x', '../y', 'z', 'w']);
    expect(importsOf('client').some((i) => i.target === 'wire')).toBe(true);
    expect(importsOf('server').some((i) => under(i.target, 'wire'))).toBe(true);
  });

  it('lib/client never imports lib/server', () => {
    const bad = importsOf('client').filter((i) => under(i.target, 'server'));
    expect(bad).toEqual([]);
  });

  it('lib/wire imports nothing from lib/server or lib/client', () => {
    const bad = importsOf('wire').filter((i) => under(i.target, 'server') || under(i.target, 'client'));
    expect(bad).toEqual([]);
  });

  it('lib/wire imports only lib/wire: nothing Node-only, no package', () => {
    const bad = importsOf('wire').filter((i) => !under(i.target, 'wire'));
    expect(bad).toEqual([]);
  });

  it('lib/wire uses no Node-only global', () => {
    const bad = sources(join(LIB, 'wire')).filter((f) => /\b(Buffer|process|__dirname|require)\b/.test(readFileSync(f, 'utf8')));
    expect(bad.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
