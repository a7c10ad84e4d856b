/**
 * The browser client's media (lib/web/media.ts) under Node, with @roamhq/wrtc's WebRTC as the
 * page's globals and no DOM: OT.initPublisher takes given MediaStreamTracks as audioSource /
 * videoSource (OpenTok.js's shape) and creates no video element (there is no document); a
 * Subscriber's mediaStream holds the tracks received, to be read by other means than a
 * <video> (here wrtc's sinks). Both through the server's WebRTC edge.
 */
import { join } from 'node:path';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './helpers/events';
import { API_KEY, startFixture, type Fixture } from './helpers/server';

/** What this test uses of @roamhq/wrtc (its own types are the DOM's). */
interface Track { kind: string; readyState: string; stop(): void }
interface Wrtc {
  RTCPeerConnection: unknown; MediaStream: unknown; MediaStreamTrack: unknown; RTCRtpSender: unknown; RTCRtpReceiver: unknown;
  nonstandard: {
    RTCAudioSource: new () => { createTrack(): Track; onData(d: { samples: Int16Array; sampleRate: number }): void };
    RTCVideoSource: new () => { createTrack(): Track; onFrame(f: { width: number; height: number; data: Uint8Array }): void };
    RTCAudioSink: new (t: Track) => { ondata: ((d: { samples: Int16Array }) => void) | null; stop(): void };
    RTCVideoSink: new (t: Track) => { onframe: ((e: { frame: { width: number; height: number } }) => void) | null; stop(): void };
  };
}
/** What it uses of lib/web/browser.ts (compiled against the DOM's types, not this test's). */
interface OTError { code: number; message: string }
interface WebStream { streamId: string; hasAudio: boolean; hasVideo: boolean }
interface WebPublisher { element: unknown; stream: WebStream | undefined; on(t: string, f: () => void): void; destroy(): void }
interface WebSubscriber { element: unknown; mediaStream: { getTracks(): Track[]; getAudioTracks(): Track[]; getVideoTracks(): Track[] } | undefined; on(t: string, f: () => void): void }
interface WebSession {
  connect(token: string): Promise<void>;
  disconnect(): void;
  on(t: 'streamCreated', f: (e: { stream: WebStream }) => void): void;
  publish(p: WebPublisher, cb: (e?: OTError) => void): WebPublisher;
  subscribe(s: WebStream, target: null, props: Record<string, unknown>, cb: (e?: OTError) => void): WebSubscriber;
  unsubscribe(s: WebSubscriber): Promise<void>;
  unpublish(p: WebPublisher): Promise<void>;
}
interface WebOT {
  initSession(apiKey: string, sessionId: string, o: { serverUrl: string; createSocket: (url: string, protocols: string[]) => unknown }): WebSession;
  initPublisher(target: null, properties: Record<string, unknown>): WebPublisher;
}

const wrtc = createRequire(__filename)('@roamhq/wrtc') as Wrtc;
const GLOBALS = ['RTCPeerConnection', 'MediaStream', 'MediaStreamTrack', 'RTCRtpSender', 'RTCRtpReceiver'] as const;

let fx: Fixture | undefined;
const cleanup: Array<() => void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) f();
  await new Promise((r) => setTimeout(r, 100));
  await fx?.close();
  fx = undefined;
  for (const g of GLOBALS) delete (globalThis as Record<string, unknown>)[g];
});

describe('web media under Node (@roamhq/wrtc, no DOM)', () => {
  it('publishes given MediaStreamTracks with no element; the subscriber\'s mediaStream carries the audio and video received', async () => {
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined');
    for (const g of GLOBALS) (globalThis as Record<string, unknown>)[g] = wrtc[g];
    const { OT } = await import(join(__dirname, '..', 'lib', 'web', 'browser.ts')) as { OT: WebOT };
    fx = await startFixture();
    const sid = await fx.newSession();
    const createSocket = (url: string, protocols: string[]): unknown => new WebSocket(url, protocols);
    const a = OT.initSession(API_KEY, sid, { serverUrl: fx.url, createSocket });
    const b = OT.initSession(API_KEY, sid, { serverUrl: fx.url, createSocket });
    cleanup.push(() => a.disconnect(), () => b.disconnect());
    await a.connect(fx.token(sid));
    await b.connect(fx.token(sid));
    const seen = new Promise<WebStream>((r) => b.on('streamCreated', (e) => r(e.stream)));

    const audio = new wrtc.nonstandard.RTCAudioSource();
    const video = new wrtc.nonstandard.RTCVideoSource();
    const audioTrack = audio.createTrack();
    const videoTrack = video.createTrack();
    const samples = Int16Array.from({ length: 480 }, (_, i) => Math.round(Math.sin((2 * Math.PI * 400 * i) / 48000) * 8000));
    const picture = { width: 320, height: 180, data: new Uint8Array((320 * 180 * 3) / 2).fill(90) };
    let n = 0;
    const t0 = Date.now();
    const feeding = setInterval(() => {
      for (const due = Math.floor((Date.now() - t0) / 10); n < due; n++) {
        audio.onData({ samples, sampleRate: 48000 });
        if (n % 4 === 0) video.onFrame(picture);
      }
    }, 5);
    cleanup.push(() => clearInterval(feeding));

    const publisher = OT.initPublisher(null, { audioSource: audioTrack, videoSource: videoTrack });
    const events: string[] = [];
    for (const t of ['accessAllowed', 'accessDenied', 'videoElementCreated']) publisher.on(t, () => events.push(t));
    await new Promise<void>((resolve, reject) => a.publish(publisher, (e) => (e ? reject(new Error(e.message)) : resolve())));
    expect(events).toEqual(['accessAllowed']); // no document: no element, and that is no error
    expect(publisher.element).toBeUndefined();
    const stream = await seen;
    expect(stream.streamId).toBe(publisher.stream?.streamId);
    expect([stream.hasAudio, stream.hasVideo]).toEqual([true, true]);

    const sub = await new Promise<WebSubscriber>((resolve, reject) => {
      const s = b.subscribe(stream, null, {}, (e) => (e ? reject(new Error(e.message)) : resolve(s)));
    });
    expect(sub.element).toBeUndefined();
    expect(sub.mediaStream?.getTracks().map((t) => t.kind).sort()).toEqual(['audio', 'video']);
    const audioSink = new wrtc.nonstandard.RTCAudioSink(sub.mediaStream!.getAudioTracks()[0]!);
    const videoSink = new wrtc.nonstandard.RTCVideoSink(sub.mediaStream!.getVideoTracks()[0]!);
    cleanup.push(() => audioSink.stop(), () => videoSink.stop());
    let loud = 0;
    let pictures = 0;
    let size = '';
    audioSink.ondata = (d) => { if (d.samples.some((v) => v > 4000)) loud++; };
    videoSink.onframe = (e) => { pictures++; size = `${e.frame.width}x${e.frame.height}`; };
    await until('the tone and pictures', () => loud >= 20 && pictures >= 5, 10_000);
    expect(size).toBe('320x180');

    // the edge tells the publishing peer every second how much video it may send (REMB; with
    // no loss, the most: 2.5 Mbit/s by default). Without it libwebrtc stays at its start rate
    // (bench:media's peer: 267 kbit/s at 360p before, 1.1 Mbit/s after)
    const edge = fx.server.webrtc;
    if ('disabled' in edge) throw new Error(edge.disabled);
    const publishPeer = (): { rembOut: number; rembOutBitrate?: number } | undefined => edge.stats().peers.find((p) => p.side === 'publish');
    await until('REMB to the publisher', () => (publishPeer()?.rembOut ?? 0) >= 2, 5000);
    expect(publishPeer()?.rembOutBitrate).toBe(2_500_000);

    // the ends: unsubscribe drops the received stream; destroy stops the given tracks
    await b.unsubscribe(sub);
    expect(sub.mediaStream).toBeUndefined();
    await a.unpublish(publisher);
    publisher.destroy();
    expect([audioTrack.readyState, videoTrack.readyState]).toEqual(['ended', 'ended']);
  });
});
