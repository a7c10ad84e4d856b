/**
 * `convene`: join Convene sessions from Node, with the shape of OpenTok.js.
 *
 *     import { initSession } from 'convene';
 *     const session = initSession(apiKey, sessionId, { serverUrl: 'ws://127.0.0.1:4100' });
 *     session.on('signal', (e) => console.log(e.type, e.data));
 *     await session.connect(token);
 *
 * Code written for OpenTok.js runs as it is through the `OT` object:
 *
 *     const { OT } = require('convene');
 *     const session = OT.initSession(apiKey, sessionId);
 *     session.on({ sessionConnected: () => session.publish(OT.initPublisher({ name: 'bot' })) });
 *     session.connect(token, (error) => { ... });
 *
 * Sound: publish PCM from an AudioSource, receive PCM frames from a Subscriber:
 *
 *     const source = new AudioSource({ sampleRate: 48000, channels: 1 });
 *     await session.publish({ name: 'bot', audioSource: source });
 *     await source.captureFrame({ data, sampleRate: 48000, channels: 1, samplesPerChannel: 480 });
 *     const subscriber = await session.subscribe(stream, { audio: { sampleRate: 16000 } });
 *     for await (const frame of subscriber.audioFrames()) { ... }
 *
 * Video: publish raw frames from a VideoSource, receive decoded frames from a Subscriber:
 *
 *     const video = new VideoSource({ width: 640, height: 360, fps: 30 });
 *     await session.publish({ name: 'cam', videoSource: video });
 *     video.captureFrame({ format: 'I420', width: 640, height: 360, data });
 *     const viewer = await session.subscribe(stream, { audio: false, video: { format: 'RGBA' } });
 *     for await (const f of viewer.videoFrames()) { ... }
 */
import { Session } from './session';
import { Publisher } from './publisher';
import { Subscriber } from './subscriber';
import { AudioSource } from './audio-source';
import { VideoSource } from './video-source';
import { OTError } from './errors';
import type { PublisherProperties, SessionOptions } from './types';

export function initSession(apiKey: string, sessionId: string, options: SessionOptions = {}): Session {
  return new Session(apiKey, sessionId, options);
}

/**
 * A Publisher to pass to session.publish(publisher, completionHandler). OpenTok.js's
 * (targetElement, properties, completionHandler) form is accepted too: the target is ignored.
 */
export function initPublisher(properties?: PublisherProperties, completionHandler?: (error?: OTError) => void): Publisher;
export function initPublisher(targetElement: string | null | undefined, properties?: PublisherProperties, completionHandler?: (error?: OTError) => void): Publisher;
export function initPublisher(a?: unknown, b?: unknown, c?: unknown): Publisher {
  const targetForm = a === undefined || a === null || typeof a === 'string';
  const properties = (targetForm ? b : a) as PublisherProperties | undefined;
  const handler = (targetForm ? c : b) as ((error?: OTError) => void) | undefined;
  const pub = new Publisher(properties ?? {});
  if (typeof handler === 'function') process.nextTick(handler); // no devices to open: it is ready
  return pub;
}

/** The OpenTok.js entry object. */
export const OT = Object.freeze({ initSession, initPublisher, Session, Publisher, Subscriber, AudioSource, VideoSource, OTError });

export { Session } from './session';
export { Publisher } from './publisher';
export { Subscriber } from './subscriber';
export { AudioSource } from './audio-source';
export { VideoSource } from './video-source';
export { videoFrameSize } from './video-format';
export type { SubscriberGetStats } from './subscriber';
export type { PublisherStatsEntry } from './publisher';
export { OTError } from './errors';
export { EventDispatcher } from './dispatcher';
export type { OTEvent, OTEventBase } from './events';
export type { SignalIterator } from './signal-iterators';
export type * from './types';
