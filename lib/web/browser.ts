/**
 * The browser bundle's entry (dist/web/convene.js, built by scripts/build-web.mjs with esbuild
 * and served by `convene server` at /convene.js): the OT namespace of OpenTok.js with media.
 *
 * ```html
 * <script type="module">
 *   import { OT } from '/convene.js';
 *   const session = OT.initSession(apiKey, sessionId);
 *   const publisher = OT.initPublisher('me', { name: 'Ada' });
 *   session.on('streamCreated', (e) => session.subscribe(e.stream, 'others', { insertMode: 'append' }));
 *   session.connect(token, (err) => err || session.publish(publisher));
 * </script>
 * ```
 */
import type { Completion, SessionOptions } from './session';
import { Publisher, WebSession, type PublisherProperties } from './media';

export { Publisher, Subscriber, WebSession } from './media';
export type { PublisherProperties, SubscriberProperties, SubscriberStats } from './media';
export { ProtocolClient, ProtocolError } from './protocol';

export const OT = {
  initSession(apiKey: string, sessionId: string, options?: SessionOptions): WebSession {
    return new WebSession(apiKey, sessionId, options);
  },
  /** OpenTok.js: OT.initPublisher(targetElement, properties, completionHandler). */
  initPublisher(target?: HTMLElement | string | null, properties?: PublisherProperties, callback?: Completion): Publisher {
    return new Publisher(target, properties, callback);
  },
};
