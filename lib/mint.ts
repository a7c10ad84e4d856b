/** Mints a client token the way the `opentok` SDK does (HS256 JWT), for the demo and the CLI. */
import { randomInt } from 'node:crypto';
import type { Project } from './server/projects';
import type { Role } from './server/tokens';

export async function mintToken(project: Project, sessionId: string, data = '', role: Role = 'publisher', ttlSeconds = 86_400): Promise<string> {
  const jose = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({
    ist: 'project', session_id: sessionId, create_time: now, nonce: randomInt(2 ** 30), role,
    expire_time: now + ttlSeconds, connection_data: data, initial_layout_class_list: '', scope: 'session.connect',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(project.apiKey)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(project.apiSecret));
}

/** The X-OPENTOK-AUTH JWT of REST calls, as the `opentok` SDK makes it. */
export async function mintProjectJwt(project: Project, ttlSeconds = 300): Promise<string> {
  const jose = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ ist: 'project' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(project.apiKey)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(project.apiSecret));
}

/** Creates a session through a Convene server's REST API; returns its id. */
export async function createSessionViaRest(apiUrl: string, project: Project, mediaMode: 'relayed' | 'routed' = 'relayed'): Promise<string> {
  const res = await fetch(`${apiUrl.replace(/\/+$/, '')}/session/create`, {
    method: 'POST',
    headers: { 'X-OPENTOK-AUTH': await mintProjectJwt(project), 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams({ 'p2p.preference': mediaMode === 'relayed' ? 'enabled' : 'disabled' }).toString(),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try { message = (JSON.parse(text) as { message?: string }).message ?? text; } catch { /* not JSON */ }
    throw new Error(`the server answered ${res.status}: ${message}`);
  }
  const body = JSON.parse(text) as Array<{ session_id?: string }>;
  const id = body[0]?.session_id;
  if (!id) throw new Error('the server answered without a session id');
  return id;
}
