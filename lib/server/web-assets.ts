/**
 * The browser side the server serves over HTTP beside its REST API: the room page at `/`
 * (dist/web/index.html, room.js), the browser client at `/convene.js` (an ES module:
 * `import { OT } from '/convene.js'`), and in development mode `/dev/join`, which makes up a
 * session (or takes `?sessionId=`) and mints a publisher token for a name, so that a person can
 * open the page and join without a server SDK. Files are read once and kept (a few hundred KB).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { mintToken } from '../mint';
import type { Project } from './projects';
import { mintSessionId } from './session-id';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/convene.js': { file: 'convene.js', type: 'text/javascript; charset=utf-8' },
  '/convene.js.map': { file: 'convene.js.map', type: 'application/json' },
  '/room.js': { file: 'room.js', type: 'text/javascript; charset=utf-8' },
  '/room.js.map': { file: 'room.js.map', type: 'application/json' },
};

export interface WebAssetOptions {
  /** where the built files are (default: dist/web beside this module's directory) */
  dir?: string;
  /** development mode: the project /dev/join mints tokens for (absent: /dev/join is 404) */
  devProject?: Project;
  /** the server's WebSocket URL, told to the page */
  serverUrl: () => string;
}

export class WebAssets {
  private readonly cache = new Map<string, Buffer | null>();
  private readonly dir: string;

  constructor(private readonly o: WebAssetOptions) {
    this.dir = o.dir ?? join(__dirname, '..', 'web');
  }

  /** Serves the request when it is one of ours (true), else leaves it to the REST API (false). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://x');
    } catch {
      return false; // not a path of ours: the REST API answers it (400)
    }
    if (url.pathname === '/dev/join') {
      if (!this.o.devProject) return false;
      void this.devJoin(url, res);
      return true;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end(); // browsers ask; there is none
      return true;
    }
    const f = FILES[url.pathname];
    if (!f) return false;
    const body = this.read(f.file);
    if (!body) return false; // not built (npm run build): the REST API's 404
    res.writeHead(200, { 'content-type': f.type, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  private read(file: string): Buffer | null {
    if (!this.cache.has(file)) {
      try {
        this.cache.set(file, readFileSync(join(this.dir, file)));
      } catch {
        this.cache.set(file, null);
      }
    }
    return this.cache.get(file) ?? null;
  }

  private async devJoin(url: URL, res: ServerResponse): Promise<void> {
    const project = this.o.devProject as Project;
    const name = (url.searchParams.get('name') ?? 'guest').slice(0, 100);
    let sessionId = url.searchParams.get('sessionId') ?? '';
    if (sessionId.length > 512) sessionId = '';
    if (!sessionId) sessionId = mintSessionId(project, { mediaMode: 'routed' }).sessionId;
    const token = await mintToken(project, sessionId, JSON.stringify({ name }), 'publisher', 4 * 3600);
    const body = JSON.stringify({ apiKey: project.apiKey, sessionId, token, serverUrl: this.o.serverUrl() });
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
  }
}
