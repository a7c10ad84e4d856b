/**
 * Handshake authentication: api key, session id and token of a `connect` frame
 * (docs/protocol.md, section 8). Returns what the registry needs, or the error to send.
 */
import { ErrorCode, wireError, type WireError } from '../wire';
import type { ProjectStore } from './projects';
import { checkSessionId } from './session-id';
import { verifyToken, type Role } from './tokens';

export type AuthResult =
  | { ok: true; role: Role; data: string; expireTime: number; layoutClassList: string[] }
  | { ok: false; error: WireError };

export async function authenticate(
  projects: ProjectStore,
  req: { apiKey: string; sessionId: string; token: string },
  now: number = Date.now(),
): Promise<AuthResult> {
  const project = projects.get(req.apiKey);
  if (!project) return { ok: false, error: wireError(ErrorCode.AUTHENTICATION, 'unknown api key') };
  const sid = checkSessionId(req.sessionId, req.apiKey, projects);
  if (!sid.ok) return { ok: false, error: wireError(ErrorCode.INVALID_SESSION_ID, sid.message) };
  const tok = await verifyToken(req.token, { apiKey: project.apiKey, apiSecret: project.apiSecret, sessionId: req.sessionId, now });
  if (!tok.ok) return { ok: false, error: wireError(ErrorCode.AUTHENTICATION, tok.message) };
  const { claims } = tok;
  return { ok: true, role: claims.role, data: claims.connectionData, expireTime: claims.expireTime, layoutClassList: claims.initialLayoutClassList };
}
