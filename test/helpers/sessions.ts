/**
 * A fresh server fixture per test and Sessions on the native core against it, disconnected
 * after each test: the set-up the end-to-end client tests share.
 */
import { afterEach, beforeEach } from 'vitest';
import { initSession, type Session, type SessionOptions } from '../../lib/index';
import { API_KEY, startFixture, type Fixture } from './server';

export interface FixtureSessions {
  /** the current test's fixture */
  readonly fx: Fixture;
  /** a Session of the fixture's project for `sid`, disconnected after the test */
  session(sid: string, opts?: SessionOptions): Session;
}

export function useFixtureSessions(): FixtureSessions {
  let fx: Fixture | undefined;
  const open: Session[] = [];
  beforeEach(async () => { fx = await startFixture(); });
  afterEach(async () => {
    for (const s of open.splice(0)) s.disconnect();
    await fx?.close();
    fx = undefined;
  });
  return {
    get fx(): Fixture {
      if (!fx) throw new Error('no fixture outside a test');
      return fx;
    },
    session(sid: string, opts: SessionOptions = {}): Session {
      const s = initSession(API_KEY, sid, { serverUrl: this.fx.url, ...opts });
      open.push(s);
      return s;
    },
  };
}
