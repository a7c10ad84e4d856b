/** Waiting for conditions and counting a Session's lifecycle events in tests. */
import type { Session } from '../../lib/index';

/** Resolves once `cond` holds; throws `timed out waiting for <what>` after `ms`. */
export async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const LIFECYCLE = ['sessionReconnecting', 'sessionReconnected', 'sessionDisconnected', 'connectionDestroyed', 'streamDestroyed', 'exception'] as const;

/** Counts, by name, the lifecycle events a session emits from now on (only those that happened appear). */
export function countEvents(s: Session): Record<string, number> {
  const c: Record<string, number> = {};
  for (const e of LIFECYCLE) s.on(e as 'sessionReconnecting', () => { c[e] = (c[e] ?? 0) + 1; });
  return c;
}

/** The next `event` a session emits. */
export function next<T>(s: Session, event: string): Promise<T> {
  return new Promise((resolve) => s.once(event as 'signal', (e) => resolve(e as T)));
}
