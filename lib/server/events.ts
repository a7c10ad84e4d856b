/**
 * The server's frames as text (docs/protocol.md, sections 3.3, 4.2, 5.1): each event body is
 * built here, once, whichever mode (alone or cluster) delivers it. A body is a JSON object
 * without `seq` (Connection.emit numbers it).
 */
import type {
  ConnectionDestroyedReason, SessionDisconnectedReason, StreamDestroyedReason, WireConnection, WireError, WireStream,
} from '../wire';

const json = JSON.stringify;

/** A property of a stream that streamPropertyChanged reports. */
export type StreamProperty = 'hasAudio' | 'hasVideo' | 'videoDimensions' | 'videoType' | 'name';

export function connectionCreated(connection: WireConnection): string {
  return json({ type: 'connectionCreated', connection });
}

export function connectionDestroyed(connection: WireConnection, reason: ConnectionDestroyedReason | string): string {
  return json({ type: 'connectionDestroyed', connection, reason });
}

export function streamCreated(stream: WireStream): string {
  return json({ type: 'streamCreated', stream });
}

export function streamDestroyed(stream: WireStream, reason: StreamDestroyedReason | string): string {
  return json({ type: 'streamDestroyed', stream, reason });
}

export function streamPropertyChanged(streamId: string, changedProperty: StreamProperty, oldValue: unknown, newValue: unknown): string {
  return json({ type: 'streamPropertyChanged', streamId, changedProperty, oldValue, newValue });
}

/**
 * Force mute on or off for the session, or (streamId) of one stream. A session-wide mute names
 * the streams it spares (excludedStreamIds, when any): their publishers keep their audio.
 */
export function muteForced(active: boolean, streamId?: string, excludedStreamIds: readonly string[] = []): string {
  if (streamId !== undefined) return json({ type: 'muteForced', active, streamId });
  return active && excludedStreamIds.length > 0 ? json({ type: 'muteForced', active, excludedStreamIds }) : json({ type: 'muteForced', active });
}

/** `from` null: sent through the REST API. */
export function signal(signalType: string, data: string, from: string | null): string {
  return json({ type: 'signal', signalType, data, from });
}

export function signalUndelivered(requestId: number, to: string, signalType: string, error: WireError): string {
  return json({ type: 'signalUndelivered', requestId, to, signalType, error });
}

/** v1.1: to a subscriber: the stream's publisher lost its connection (grace window); media stops. */
export function streamInterrupted(streamId: string): string {
  return json({ type: 'streamInterrupted', streamId });
}

/** v1.1: to a subscriber: the stream's publisher resumed; media flows again, no new subscribe. */
export function streamRestored(streamId: string): string {
  return json({ type: 'streamRestored', streamId });
}

export function sessionDisconnected(reason: SessionDisconnectedReason): string {
  return json({ type: 'sessionDisconnected', reason });
}

/** A successful result; `extra` is more fields as JSON text (`,"stream":{...}`) or ''. */
export function okResult(id: number, extra = ''): string {
  return `{"type":"result","id":${id},"ok":true${extra}}`;
}

export function failedResult(id: number, error: WireError): string {
  return `{"type":"result","id":${id},"ok":false,"error":${json(error)}}`;
}

/** A fatal error frame (not an event: it has no seq). */
export function fatalError(error: WireError): string {
  return json({ type: 'error', ...error, fatal: true });
}

/** v1.1: to a publisher: send a keyframe on the stream's video track (new subscriber, a subscriber's loss or overflow). */
export function keyframeRequested(streamId: string): string {
  return json({ type: 'keyframeRequested', streamId });
}
