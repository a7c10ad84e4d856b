// Bundles the browser client (lib/web/browser.ts -> dist/web/convene.js, an ES module) and the
// room page (lib/web/room -> dist/web/index.html, room.js) with esbuild. Part of `npm run build`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'web');
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: 'esm', platform: 'browser', target: ['es2020'], sourcemap: true, logLevel: 'warning' };
await build({ ...common, entryPoints: [join(root, 'lib/web/browser.ts')], outfile: join(out, 'convene.js') });
await build({ ...common, entryPoints: [join(root, 'lib/web/room/room.ts')], outfile: join(out, 'room.js') });
copyFileSync(join(root, 'lib/web/room/index.html'), join(out, 'index.html'));
