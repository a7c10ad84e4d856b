/**
 * The server's operator log: structured JSON lines (pino), one object per event with an
 * `event` field (README, "Server logs"). Never carries a token, a resume token or a secret:
 * call sites log ids and codes only, and the paths below are redacted as a safety net.
 *
 * `startServer()` from code is silent unless given a logger or a level; `convene server`
 * logs at `info` to standard error.
 */
import { pino } from 'pino';

/**
 * What the server needs of a logger: pino's shape (a pino logger fits; so does any object
 * with these methods). Declared here so that the package's public types do not depend on
 * pino's declarations.
 */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Where log lines go: a file descriptor (2: standard error) or a writable stream. */
export type LogDestination = number | { write(line: string): unknown };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

const REDACT = ['token', 'resumeToken', 'apiSecret', 'secret', 'password', '*.token', '*.resumeToken', '*.apiSecret', '*.secret'];

/**
 * A logger writing JSON lines to `dest` (default: standard error, written synchronously so
 * that nothing is lost when the process exits). Lines carry `level` as a name ("info"),
 * `time` as an ISO date, `event` and the event's fields.
 */
export function createLogger(level: LogLevel = 'info', dest: LogDestination = 2): Logger {
  const stream = typeof dest === 'number' ? pino.destination({ dest, sync: true }) : dest;
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT, censor: '[redacted]' },
  }, stream);
}

/** A logger that writes nothing (the default of servers started from code). */
export const silentLog: Logger = pino({ level: 'silent' });

/**
 * An unexpected error (a bug, not a client's fault): to the log as `internalError` with its
 * stack; with the silent default logger of a server started from code, to standard error all
 * the same, so that bugs are never silenced.
 */
export function reportInternal(log: Logger, what: string, e: unknown): void {
  if (log === silentLog) {
    console.error(`convene: ${what}`, e);
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  log.error({ event: 'internalError', what, message: err.message, stack: err.stack }, what);
}

/** The `event` name of a fatal protocol error, for the log (docs/protocol.md, section 11). */
export function fatalEvent(code: number, handshake: boolean): string {
  if (code === 1004 || code === 1005) return handshake ? 'authFailed' : 'fatalError';
  if (code === 4429) return 'flood';
  if (code === 1027) return 'connectionLimit';
  if (code === 1021) return 'handshakeTimeout';
  if (code === 1023) return 'refused';
  return 'fatalError';
}

/**
 * Bounds repeated lines (e.g. a client hitting the signal rate limit hundreds of times a
 * second): at most one line per key per `intervalMs`, counting the events left out.
 */
export class LogThrottle<K extends object> {
  private readonly seen = new WeakMap<K, { at: number; held: number }>();
  constructor(private readonly intervalMs = 10_000) {}

  /**
   * Records one event for `key`. Returns undefined when it must not be logged, else the
   * number of events of this key left out since its last logged line.
   */
  take(key: K, now: number = Date.now()): number | undefined {
    const s = this.seen.get(key);
    if (s && now - s.at < this.intervalMs) {
      s.held++;
      return undefined;
    }
    const held = s?.held ?? 0;
    this.seen.set(key, { at: now, held: 0 });
    return held;
  }
}

/** A client-supplied string, cut to `max` characters for the log (non-strings are left out). */
export function clip(v: unknown, max = 200): string | undefined {
  if (typeof v !== 'string') return undefined;
  return v.length > max ? `${v.slice(0, max)}...` : v;
}
