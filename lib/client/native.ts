/**
 * Loads the native addon (a prebuild from prebuilds/, or the local build) and describes
 * what it exports. If libwebsockets is missing at load time, the error says what to install.
 */
import { join } from 'node:path';
import type { SessionOptions, VideoType } from './types';

export interface NativeConn { connectionId: string; creationTime: number; data: string }
export interface NativeStream {
  streamId: string;
  connectionId: string;
  creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: VideoType;
  videoDimensions: { width: number; height: number };
}

/** One event of a batch delivered by the native core. */
export type NativeEvent =
  | { t: 'connected'; connection: NativeConn; publish: boolean; forceMute: boolean; forceDisconnect: boolean; role: string }
  | { t: 'disconnected'; reason: string }
  | { t: 'error'; code: number; message: string }
  | { t: 'connectionCreated'; connection: NativeConn }
  | { t: 'connectionDropped'; connection: NativeConn; reason: string }
  | { t: 'streamReceived'; stream: NativeStream }
  | { t: 'streamDropped'; stream: NativeStream; reason: string }
  | { t: 'streamAudio' | 'streamVideo'; streamId: string; value: boolean }
  | { t: 'streamDims'; streamId: string; width: number; height: number }
  | { t: 'streamVideoType'; streamId: string; videoType: VideoType }
  | { t: 'signal'; type: string; data: string; from: NativeConn | null }
  | { t: 'reconnecting' }
  | { t: 'reconnected' }
  | { t: 'muteForced'; active: boolean }
  | { t: 'done'; req: number; code: number; message: string }
  | { t: 'pubCreated'; pub: number; stream: NativeStream }
  | { t: 'pubDestroyed'; pub: number; stream: NativeStream; reason: string }
  | { t: 'pubError'; pub: number; code: number; message: string };

/** The addon reads the public options as they are. */
export type NativeSessionOptions = SessionOptions;

/** The native session handle; every method returns an otc status (0 = OK). */
export interface NativeSession {
  connect(token: string): number;
  disconnect(releaseOnly?: boolean): number;
  signal(req: number, type: string, data: string, to: string | null, retryAfterReconnect: boolean): number;
  moderate(req: number, op: string, target: string | null, ids: string[]): number;
  publish(pub: number, name: string, hasAudio: boolean, hasVideo: boolean, videoType: VideoType): number;
  unpublish(pub: number): number;
  setPublish(pub: number, what: 'audio' | 'video', on: boolean): number;
  close(): void;
}

export interface NativeModule {
  NativeSession: new (apiKey: string, sessionId: string, options: NativeSessionOptions, onEvents: (batch: NativeEvent[]) => void) => NativeSession;
  version: string;
}

let cached: NativeModule | undefined;

/** The addon, loaded on first use. Throws an Error that says how to fix a missing library. */
export function loadNative(): NativeModule {
  if (cached) return cached;
  const root = join(__dirname, '..', '..');
  try {
    // node-gyp-build picks prebuilds/<platform>-<arch>/ or build/Release/.
    const load = require('node-gyp-build') as (dir: string) => NativeModule;
    cached = load(root);
    return cached;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/libwebsockets\.so/.test(msg)) {
      throw new Error(`convene: the native core needs libwebsockets 4.1 (libwebsockets.so.17): install it with 'apt-get install libwebsockets17' (Debian/Ubuntu). (${msg})`);
    }
    if (/libjansson\.so/.test(msg)) {
      throw new Error(`convene: the native core needs jansson: install it with 'apt-get install libjansson4'. (${msg})`);
    }
    throw new Error(`convene: cannot load the native core: ${msg}. Build it with 'npm run build:native', or install a package with a prebuild for ${process.platform}-${process.arch}.`);
  }
}
