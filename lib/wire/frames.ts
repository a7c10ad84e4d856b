/**
 * Wire protocol v1 (docs/protocol.md): the protocol version, the limits both sides check, the
 * objects and the frames server and clients exchange. Shared by the server (lib/server) and the
 * clients (lib/client, later a browser client): plain TypeScript, no Node-only imports, no I/O.
 * The server's decoder of client frames is lib/server/protocol.ts.
 */

export const PROTOCOL_VERSION = 1;
/**
 * Minor revision: 1 = binary frames carry media (docs/protocol.md, section 15); 2 = a browser's
 * media over WebRTC (section 16). Peers of 1.0 ignore the new fields.
 */
export const PROTOCOL_MINOR = 2;
/** Longest signal type, in UTF-8 bytes (section 10). */
export const MAX_SIGNAL_TYPE_BYTES = 128;
/** Longest signal data, in UTF-8 bytes (section 10). */
export const MAX_SIGNAL_DATA_BYTES = 8192;
/** Longest connection data (from the token), in characters. */
export const MAX_CONNECTION_DATA_CHARS = 1000;
/** Longest stream name, in characters. */
export const MAX_STREAM_NAME_CHARS = 1000;
/** Longest SDP offer of `rtcPublish` / `rtcSubscribe` (1.2), in characters (a browser's offer for audio and video is 3-8 KB). */
export const MAX_SDP_CHARS = 32768;

// ---- objects (section 9) ----

export type VideoType = 'camera' | 'screen' | 'custom';
export interface VideoDimensions { width: number; height: number }

export interface WireConnection { id: string; creationTime: number; data: string }
export interface WireStream {
  id: string;
  connectionId: string;
  creationTime: number;
  name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  videoType: VideoType;
  videoDimensions: VideoDimensions;
}

/** `reason` of connectionDestroyed (section 5.1). */
export type ConnectionDestroyedReason = 'clientDisconnected' | 'forceDisconnected' | 'networkDisconnected';
/** `reason` of streamDestroyed (section 5.1). */
export type StreamDestroyedReason = ConnectionDestroyedReason | 'forceUnpublished' | 'mediaStopped';
/** `reason` of sessionDisconnected (section 5.1). */
export type SessionDisconnectedReason = 'forceDisconnected' | 'serverRotation';

// ---- client → server frames (sections 3.1, 4.1, 5.2, 6.3, 7) ----

export interface ConnectFrame {
  type: 'connect';
  v: number;
  apiKey: string;
  sessionId: string;
  token: string;
  sdk: { name: string; version: string };
  connectionEventsSuppressed: boolean;
}
export interface ResumeFrame {
  type: 'resume';
  v: number;
  apiKey: string;
  sessionId: string;
  connectionId: string;
  resumeToken: string;
  lastSeq: number;
}
export interface AckFrame { type: 'ack'; seq: number }
export interface PingFrame { type: 'ping' }
export interface PongFrame { type: 'pong' }

export type StreamProps = Partial<Pick<WireStream, 'name' | 'hasAudio' | 'hasVideo' | 'videoType' | 'videoDimensions'>>;

export type RequestBody =
  | { type: 'signal'; signalType: string; data: string; to?: string }
  | { type: 'publish'; props: StreamProps }
  | { type: 'unpublish'; streamId: string }
  | { type: 'updateStream'; streamId: string; props: StreamProps }
  | { type: 'forceDisconnect'; connectionId: string }
  | { type: 'forceUnpublish'; streamId: string }
  | { type: 'forceMuteStream'; streamId: string }
  | { type: 'forceMuteAll'; excludedStreamIds: string[] }
  | { type: 'disableForceMute' }
  | { type: 'subscribe'; streamId: string; audio: boolean; video: boolean }
  | { type: 'unsubscribe'; streamId: string }
  | { type: 'requestKeyframe'; streamId: string }
  | { type: 'rtcPublish'; streamId: string; sdp: string }
  | { type: 'rtcSubscribe'; streamId: string; sdp: string; audio: boolean; video: boolean }
  | { type: 'rtcClose'; streamId: string }
  | { type: 'disconnect' };

export type RequestType = RequestBody['type'];
export type RequestFrame = RequestBody & { id: number; ack?: number };

export type ClientFrame = ConnectFrame | ResumeFrame | AckFrame | PingFrame | PongFrame | RequestFrame;

/** Every request type (section 4.1): frames that carry an id and get a result. */
export const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  'signal', 'publish', 'unpublish', 'updateStream', 'forceDisconnect', 'forceUnpublish',
  'forceMuteStream', 'forceMuteAll', 'disableForceMute', 'subscribe', 'unsubscribe', 'requestKeyframe', 'disconnect',
  'rtcPublish', 'rtcSubscribe', 'rtcClose',
]);

/** Whether a client frame is a request (it carries an id and gets a result). */
export function isRequestFrame(frame: ClientFrame): frame is RequestFrame {
  return REQUEST_TYPES.has(frame.type);
}

// ---- server → client frames (sections 3.2, 3.3, 4.2, 5.1, 6.3, 7) ----

/** Events: numbered by `seq`, acknowledged, replayed on resume (section 5.1). */
export type EventType =
  | 'connectionCreated' | 'connectionDestroyed' | 'streamCreated' | 'streamDestroyed' | 'streamPropertyChanged'
  | 'signal' | 'muteForced' | 'sessionDisconnected' | 'result' | 'signalUndelivered'
  | 'streamInterrupted' | 'streamRestored' | 'keyframeRequested';

/** Every frame type the server sends. */
export type ServerFrameType = 'connected' | 'resumed' | 'error' | 'ping' | 'pong' | EventType;

// ---- media (v1.1, section 15) ----

/** The tracks of a stream: the media header's `track` of each kind (`publish` and `subscribe` results). */
export interface WireTracks { audio: number; video: number }

/** `subscription` of a `subscribe` result: the tracks the subscriber receives (only the kinds asked for). */
export interface WireSubscription {
  streamId: string;
  audio?: { track: number };
  video?: { track: number };
  /**
   * Present (true) when the stream's publisher is in its grace window as the subscription is
   * made: the subscriber missed that stream's `streamInterrupted` and gets `streamRestored`
   * when the publisher resumes (docs/protocol.md §15.4).
   */
  interrupted?: true;
}
