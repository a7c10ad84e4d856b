/**
 * Self-authenticating session ids, in a form the official `opentok` server SDK accepts.
 *
 * Decoded text: `1~APIKEY~LOCATION~CREATE_MS~NONCE~MEDIAMODE~ARCHIVEMODE~MAC~`, where MAC is
 * base64url(first 16 bytes of HMAC-SHA256(apiSecret, "1~APIKEY~...~ARCHIVEMODE")).
 * Session id: `"2_" + base64url_without_padding(decoded)`.
 *
 * The SDK's generateToken drops the first 2 characters, maps -→+ and _→/, base64-decodes and
 * requires field 1 to equal its api key; the MAC lets any server holding the secret (another
 * cluster node, a restarted process) recognise ids it minted without stored state.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Project, ProjectStore } from './projects';

export type MediaMode = 'relayed' | 'routed';
export type ArchiveMode = 'manual' | 'always';

/** What a session id carries. `createTime` is in milliseconds since the epoch. */
export interface SessionInfo {
  sessionId: string;
  apiKey: string;
  location: string;
  createTime: number;
  mediaMode: MediaMode;
  archiveMode: ArchiveMode;
}

/** Result of {@link checkSessionId}. */
export type SessionIdCheck = { ok: true; info: SessionInfo } | { ok: false; message: string };

/** Longest session id accepted by {@link checkSessionId}. */
export const MAX_SESSION_ID_LENGTH = 512;

const PREFIX = '2_';
const VERSION = '1';
const MAC_BYTES = 16;
const IPV4_RE = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const MEDIA_MODES: readonly string[] = ['relayed', 'routed'];
const ARCHIVE_MODES: readonly string[] = ['manual', 'always'];

function mac(apiSecret: string, signed: string): string {
  return createHmac('sha256', apiSecret).update(signed, 'utf8').digest().subarray(0, MAC_BYTES).toString('base64url');
}

/**
 * Mints a new session id for `project`. Defaults: no location, relayed, manual, now = Date.now().
 * Throws a RangeError when `location` is neither empty nor a dotted IPv4 address, a mode is not
 * one of its values, or `now` is not a non-negative safe integer of milliseconds.
 */
export function mintSessionId(
  project: Project,
  opts: { location?: string; mediaMode?: MediaMode; archiveMode?: ArchiveMode; now?: number } = {},
): SessionInfo {
  const location = opts.location ?? '';
  const mediaMode = opts.mediaMode ?? 'relayed';
  const archiveMode = opts.archiveMode ?? 'manual';
  const createTime = opts.now ?? Date.now();
  if (typeof location !== 'string' || (location !== '' && !IPV4_RE.test(location))) {
    throw new RangeError('location must be empty or an IPv4 address');
  }
  if (!MEDIA_MODES.includes(mediaMode)) throw new RangeError("mediaMode must be 'relayed' or 'routed'");
  if (!ARCHIVE_MODES.includes(archiveMode)) throw new RangeError("archiveMode must be 'manual' or 'always'");
  if (!Number.isSafeInteger(createTime) || createTime < 0) {
    throw new RangeError('now must be a non-negative integer number of milliseconds');
  }
  if (!project.apiKey || project.apiKey.includes('~') || !project.apiSecret) {
    throw new RangeError('project must have an api key without "~" and a non-empty secret');
  }
  const nonce = randomBytes(8).toString('hex');
  const signed = [VERSION, project.apiKey, location, String(createTime), nonce, mediaMode, archiveMode].join('~');
  const decoded = `${signed}~${mac(project.apiSecret, signed)}~`;
  const sessionId = PREFIX + Buffer.from(decoded, 'utf8').toString('base64url');
  return { sessionId, apiKey: project.apiKey, location, createTime, mediaMode, archiveMode };
}

const malformed = (): SessionIdCheck => ({ ok: false, message: 'session id is malformed' });

/**
 * Checks that `sessionId` was minted by this server for `apiKey` (a project in `projects`).
 * Never throws. Failure messages: 'session id is malformed', 'session id belongs to another api key',
 * 'api key is not known to this server', 'session id was not issued by this server'.
 */
export function checkSessionId(sessionId: string, apiKey: string, projects: ProjectStore): SessionIdCheck {
  try {
    if (typeof sessionId !== 'string' || sessionId.length > MAX_SESSION_ID_LENGTH || !sessionId.startsWith(PREFIX)) {
      return malformed();
    }
    const body = sessionId.slice(PREFIX.length);
    if (!/^[A-Za-z0-9_-]+$/.test(body)) return malformed();
    const bytes = Buffer.from(body, 'base64url');
    // Reject non-canonical encodings (stray trailing bits), so one id has exactly one spelling.
    if (bytes.toString('base64url') !== body) return malformed();
    const decoded = bytes.toString('utf8');
    if (!Buffer.from(decoded, 'utf8').equals(bytes)) return malformed(); // invalid UTF-8

    const f = decoded.split('~');
    if (f.length !== 9 || f[0] !== VERSION || f[8] !== '') return malformed();
    const [, key = '', location = '', ms = '', nonce = '', mediaMode = '', archiveMode = '', tag = ''] = f;
    if (key === '' || (location !== '' && !IPV4_RE.test(location))) return malformed();
    if (!/^\d{1,16}$/.test(ms) || !Number.isSafeInteger(Number(ms))) return malformed();
    if (!/^[0-9a-f]{16}$/.test(nonce)) return malformed();
    if (!MEDIA_MODES.includes(mediaMode) || !ARCHIVE_MODES.includes(archiveMode)) return malformed();
    if (!/^[A-Za-z0-9_-]{22}$/.test(tag)) return malformed();

    if (key !== apiKey) return { ok: false, message: 'session id belongs to another api key' };
    const project = projects.get(apiKey);
    if (!project) return { ok: false, message: 'api key is not known to this server' };

    const expected = Buffer.from(mac(project.apiSecret, f.slice(0, 7).join('~')), 'ascii');
    const given = Buffer.from(tag, 'ascii');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, message: 'session id was not issued by this server' };
    }
    return {
      ok: true,
      info: {
        sessionId,
        apiKey: key,
        location,
        createTime: Number(ms),
        mediaMode: mediaMode as MediaMode,
        archiveMode: archiveMode as ArchiveMode,
      },
    };
  } catch {
    return malformed();
  }
}
