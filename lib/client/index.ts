/**
 * `convene`: join Convene sessions from Node, with the shape of OpenTok.js.
 *
 *     import { initSession } from 'convene';
 *     const session = initSession(apiKey, sessionId, { serverUrl: 'ws://127.0.0.1:4100' });
 *     session.on('signal', (e) => console.log(e.type, e.data));
 *     await session.connect(token);
 */
import { Session } from './session';
import type { SessionOptions } from './types';

export function initSession(apiKey: string, sessionId: string, options: SessionOptions = {}): Session {
  return new Session(apiKey, sessionId, options);
}

export { Session } from './session';
export { Publisher } from './publisher';
export { OTError } from './errors';
export type * from './types';
