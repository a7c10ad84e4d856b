/**
 * convene/web: the browser client, in the shape of OpenTok.js.
 *
 * ```js
 * import { OT } from '/convene.js';
 * const session = OT.initSession(apiKey, sessionId);
 * session.on('signal:chat', (e) => console.log(e.data, e.from));
 * session.connect(token, (err) => { if (!err) session.signal({ type: 'chat', data: 'hi' }); });
 * ```
 */
import { Session, type SessionOptions } from './session';

export { Session } from './session';
export type { Connection, Stream, OTError, SessionEvents, SessionOptions, SignalOptions, Completion } from './session';
export { ProtocolClient, ProtocolError } from './protocol';

export const OT = {
  /** OpenTok.js: OT.initSession(apiKey, sessionId[, options]). */
  initSession(apiKey: string, sessionId: string, options?: SessionOptions): Session {
    return new Session(apiKey, sessionId, options);
  },
};
