/**
 * The REST API the official `opentok` server SDK calls (docs/protocol.md, section 14 and
 * ../shared reference, section 3). Authenticated by the X-OPENTOK-AUTH project JWT.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../wire';
import { RequestError } from './request-error';
import type { ProjectStore } from './projects';
import { checkSignal } from './protocol';
import type { Registry } from './registry';
import { checkSessionId, mintSessionId, type MediaMode, type ArchiveMode } from './session-id';
import { verifyProjectJwt } from './tokens';
import { reportInternal, silentLog, type Logger } from './logger';

const MAX_BODY_BYTES = 64 * 1024;

export interface RestContext {
  projects: ProjectStore;
  registry: Registry;
  /** the ws:// or wss:// URL clients should use, reported as media_server_url */
  publicUrl(): string;
  /** the operator log: refused requests (never their X-OPENTOK-AUTH) */
  log?: Logger;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body?: unknown, contentType = 'application/json'): void {
  if (body === undefined) {
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body is over ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    // A client that goes away mid-body is not a server failure (no 500, no error log).
    throw e instanceof HttpError ? e : new HttpError(400, 'request body could not be read');
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Checks X-OPENTOK-AUTH; returns the project's api key. 403 on any problem. */
async function authenticate(req: IncomingMessage, projects: ProjectStore, pathApiKey?: string): Promise<string> {
  const header = req.headers['x-opentok-auth'];
  const jwt = Array.isArray(header) ? header[0] : header;
  if (!jwt) throw new HttpError(403, 'missing X-OPENTOK-AUTH header');
  const parts = jwt.split('.');
  let iss: unknown;
  try {
    iss = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')).iss;
  } catch {
    throw new HttpError(403, 'X-OPENTOK-AUTH is not a valid JWT');
  }
  const apiKey = typeof iss === 'number' ? String(iss) : iss;
  const project = typeof apiKey === 'string' ? projects.get(apiKey) : undefined;
  if (!project) throw new HttpError(403, 'invalid api key or secret');
  const check = await verifyProjectJwt(jwt, project);
  // A client token is told apart (a credential mix-up to fix); other failures say nothing more.
  if (!check.ok) throw new HttpError(403, check.clientToken ? `X-OPENTOK-AUTH must be a project JWT: ${check.message}` : 'invalid api key or secret');
  if (pathApiKey !== undefined && pathApiKey !== project.apiKey) throw new HttpError(403, 'the api key in the path is not the one authenticated');
  return project.apiKey;
}

function sessionOf(ctx: RestContext, apiKey: string, sessionId: string): string {
  const check = checkSessionId(sessionId, apiKey, ctx.projects);
  if (!check.ok) throw new HttpError(404, `session not found: ${check.message}`);
  return sessionId;
}

function requestError(e: RequestError): HttpError {
  const { code, message } = e.wire;
  if (code === ErrorCode.SIGNAL_DATA_TOO_LONG) return new HttpError(413, message);
  if (code === ErrorCode.SIGNAL_TYPE_TOO_LONG || code === ErrorCode.INVALID_SIGNAL_TYPE) return new HttpError(400, message);
  if (code === ErrorCode.CONNECTION_REFUSED) return new HttpError(503, message); // a cluster without Redis
  return new HttpError(404, message);
}

async function createSession(req: IncomingMessage, res: ServerResponse, ctx: RestContext): Promise<void> {
  const apiKey = await authenticate(req, ctx.projects);
  const form = new URLSearchParams(await readBody(req));
  const p2p = form.get('p2p.preference') ?? 'enabled';
  if (p2p !== 'enabled' && p2p !== 'disabled') throw new HttpError(400, "p2p.preference must be 'enabled' or 'disabled'");
  const mediaMode: MediaMode = p2p === 'enabled' ? 'relayed' : 'routed';
  const archive = form.get('archiveMode') ?? 'manual';
  if (archive !== 'manual' && archive !== 'always') throw new HttpError(400, "archiveMode must be 'manual' or 'always'");
  const archiveMode: ArchiveMode = archive;
  if (archiveMode === 'always' && mediaMode === 'relayed') throw new HttpError(400, 'archiveMode always needs a routed session');
  const location = form.get('location') ?? '';
  const project = ctx.projects.get(apiKey);
  if (!project) throw new HttpError(403, 'invalid api key or secret');
  let info;
  try {
    info = mintSessionId(project, { location, mediaMode, archiveMode });
  } catch (e) {
    throw new HttpError(400, e instanceof Error ? e.message : 'invalid session options');
  }
  send(res, 200, [{
    session_id: info.sessionId,
    project_id: apiKey,
    partner_id: apiKey,
    create_dt: new Date(info.createTime).toUTCString(),
    media_server_url: ctx.publicUrl(),
  }]);
}

function streamJson(s: { id: string; videoType: string; name: string; layoutClassList: string[] }): Record<string, unknown> {
  return { id: s.id, videoType: s.videoType, name: s.name, layoutClassList: s.layoutClassList };
}

const V2 = /^\/v2\/project\/([^/]+)\/session\/([^/]+)(\/.*)?$/;

/** decodeURIComponent that answers 400 instead of throwing a URIError (a 500). */
function decodePathSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'the request path has a malformed percent-encoding');
  }
}

async function projectRoute(req: IncomingMessage, res: ServerResponse, ctx: RestContext, m: RegExpMatchArray): Promise<void> {
  const pathKey = decodePathSegment(m[1] as string);
  const apiKey = await authenticate(req, ctx.projects, pathKey);
  const sessionId = sessionOf(ctx, apiKey, decodePathSegment(m[2] as string));
  const rest = m[3] ?? '';
  const method = req.method ?? 'GET';
  const seg = rest.split('/').slice(1).map(decodePathSegment);
  const { registry } = ctx;
  try {
    if (method === 'POST' && (rest === '/signal' || (seg.length === 3 && seg[0] === 'connection' && seg[2] === 'signal'))) {
      const body = await readJson(req);
      const type = body['type'] ?? '';
      const data = body['data'] ?? '';
      if (typeof type !== 'string' || typeof data !== 'string') throw new HttpError(400, "'type' and 'data' must be strings");
      const err = checkSignal(type, data);
      if (err) throw new HttpError(err.code === ErrorCode.SIGNAL_DATA_TOO_LONG ? 413 : 400, err.message);
      await registry.restSignal(sessionId, type, data, seg.length === 3 ? seg[1] : undefined);
      return send(res, 204);
    }
    if (method === 'DELETE' && seg.length === 2 && seg[0] === 'connection') {
      await registry.restForceDisconnect(sessionId, seg[1] as string);
      return send(res, 204);
    }
    if (method === 'GET' && rest === '/stream') {
      const items = (await registry.listStreams(sessionId)).map(streamJson);
      return send(res, 200, { count: items.length, items });
    }
    if (method === 'GET' && seg.length === 2 && seg[0] === 'stream') {
      const stream = await registry.getStream(sessionId, seg[1] as string);
      if (!stream) throw new HttpError(404, `stream not found: ${seg[1]}`);
      // The SDK parses this body itself and fails if it was already parsed: not application/json.
      return send(res, 200, streamJson(stream), 'text/plain; charset=utf-8');
    }
    if (method === 'POST' && seg.length === 3 && seg[0] === 'stream' && seg[2] === 'mute') {
      await readBody(req);
      await registry.restMuteStream(sessionId, seg[1] as string);
      return send(res, 200, {});
    }
    if (method === 'POST' && rest === '/mute') {
      const body = await readJson(req);
      const active = body['active'];
      if (typeof active !== 'boolean') throw new HttpError(400, "'active' must be a boolean");
      const ex = body['excludedStreamIds'] ?? body['excludedStreams'] ?? [];
      if (!Array.isArray(ex) || !ex.every((s) => typeof s === 'string')) throw new HttpError(400, "'excludedStreamIds' must be an array of strings");
      await registry.restMuteAll(sessionId, active, ex as string[]);
      return send(res, 200, {});
    }
  } catch (e) {
    if (e instanceof RequestError) throw requestError(e);
    throw e;
  }
  throw new HttpError(404, `no route ${method} ${req.url ?? ''}`);
}

/**
 * The path of a request target, without its query. Parsed by hand for the usual origin form
 * (`new URL('//', base)` throws, and `//host/x` would lose its first segment as a host).
 */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0] as string;
  try {
    return new URL(target).pathname; // absolute form, e.g. through a proxy
  } catch {
    throw new HttpError(400, 'malformed request target');
  }
}

/** Handles one HTTP request. Never throws; answers JSON errors `{code, message}`. */
export async function handleRest(req: IncomingMessage, res: ServerResponse, ctx: RestContext): Promise<void> {
  try {
    const path = pathOf(req.url ?? '/').replace(/\/+$/, '') || '/';
    if (path === '/session/create' && req.method === 'POST') return await createSession(req, res, ctx);
    if (path === '/health' && req.method === 'GET') {
      const { cluster } = ctx.registry;
      const media = ctx.registry.mediaRelayStats();
      return send(res, 200, {
        status: cluster && !cluster.available ? 'degraded' : 'ok', sessions: ctx.registry.sessionCount, connections: ctx.registry.connectionCount(),
        ...(cluster ? { cluster: { node: cluster.nodeId, redis: cluster.available ? 'up' : 'down', ...(media ? { media } : {}) } } : {}),
      });
    }
    const m = path.match(V2);
    if (m) return await projectRoute(req, res, ctx, m);
    throw new HttpError(404, `no route ${req.method ?? ''} ${path}`);
  } catch (e) {
    const err = e instanceof HttpError ? e : new HttpError(500, 'internal server error');
    if (!(e instanceof HttpError)) reportInternal(ctx.log ?? silentLog, 'REST request failed', e);
    else ctx.log?.[err.status === 403 ? 'warn' : 'info']({ event: err.status === 403 ? 'restAuthFailed' : 'restRefused', method: req.method, path: pathOf(req.url ?? '/').slice(0, 200), status: err.status, message: err.message }, `REST ${err.status}: ${err.message}`);
    if (!res.headersSent) send(res, err.status, { code: err.status, message: err.message });
    else res.destroy();
  }
}
