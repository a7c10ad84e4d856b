/** Mints a client token the way the `opentok` SDK does (HS256 JWT), for the demo and the CLI. */
import { randomInt } from 'node:crypto';
import type { Project } from '../server/projects';
import type { Role } from '../server/tokens';

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
