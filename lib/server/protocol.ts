/**
 * Wire protocol v1: the server's decoder for client frames (docs/protocol.md). The frame types
 * and shared limits are lib/wire. Pure: no I/O, no state. The socket layer feeds it text and
 * acts on the result.
 */
import {
  ErrorCode, MAX_SDP_CHARS, MAX_SIGNAL_DATA_BYTES, MAX_SIGNAL_TYPE_BYTES, MAX_STREAM_NAME_CHARS, PROTOCOL_VERSION, REQUEST_TYPES,
  wireError, type ClientFrame, type RequestBody, type RequestFrame, type RequestType, type StreamProps, type WireError,
} from '../wire';

const SIGNAL_TYPE_RE = /^[A-Za-z0-9\-_~]*$/;
/** Deepest nesting of objects and arrays in a client frame (protocol frames nest 2 deep). */
export const MAX_FRAME_DEPTH = 32;
/** Longest token, api key, session id, connection id and sdk name/version in a handshake. */
export const MAX_TOKEN_CHARS = 8192;
const MAX_API_KEY_CHARS = 256;
const MAX_SESSION_ID_CHARS = 512;
const MAX_ID_CHARS = 256;
const MAX_SDK_FIELD_CHARS = 64;

/**
 * The largest frame a client needs to send, in bytes: a `connect` with the longest token and
 * ids, or a `signal` with the longest type, data and `to`, every character escaped by the JSON
 * encoder (`\u00XX`: 6 bytes per byte or UTF-16 unit), with their numbers and field names.
 * The default maxFrameBytes (65 536) is above it.
 */
export function largestClientFrameBytes(): number {
  const esc = 6;
  const skeleton = 256; // field names, quotes, braces and two 16-digit numbers (id, ack / v)
  const connect = (MAX_TOKEN_CHARS + MAX_API_KEY_CHARS + MAX_SESSION_ID_CHARS + 2 * MAX_SDK_FIELD_CHARS) * esc;
  const signal = (MAX_SIGNAL_TYPE_BYTES + MAX_SIGNAL_DATA_BYTES + MAX_ID_CHARS) * esc;
  return Math.max(connect, signal) + skeleton;
}

/**
 * True when objects and arrays in `text` nest deeper than `max`: one linear pass over the
 * brackets outside strings, so that a deep frame is refused before JSON.parse spends time
 * on it (its cost grows with the depth). Brackets inside strings, escaped quotes included,
 * do not count.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

export type DecodeResult =
  /** a well-formed frame */
  | { kind: 'frame'; frame: ClientFrame }
  /** a request with a usable id whose fields are invalid: answered by a failed result */
  | { kind: 'badRequest'; id: number; ack?: number; ref: string; error: WireError }
  /** not a usable frame: answered by an error frame */
  | { kind: 'error'; ref?: string; error: WireError };

class FieldError extends Error {
  constructor(readonly wire: WireError) { super(wire.message); }
}

function invalid(message: string): never {
  throw new FieldError(wireError(ErrorCode.INVALID_PARAMETER, message));
}

type Obj = Record<string, unknown>;

function str(o: Obj, key: string, opts: { optional?: boolean; max?: number; nonEmpty?: boolean } = {}): string | undefined {
  const v = o[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string') invalid(`field '${key}' must be a string`);
  if (opts.nonEmpty && v.length === 0) invalid(`field '${key}' must not be empty`);
  if (opts.max !== undefined && v.length > opts.max) invalid(`field '${key}' is longer than ${opts.max} characters`);
  return v;
}

function reqStr(o: Obj, key: string, max = 256): string {
  return str(o, key, { max, nonEmpty: true }) as string;
}

function int(o: Obj, key: string, min: number): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) invalid(`field '${key}' must be an integer >= ${min}`);
  return v;
}

function bool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') invalid(`field '${key}' must be a boolean`);
  return v;
}

/** Validates a signal type and data; returns the error to report, or undefined. */
export function checkSignal(signalType: string, data: string): WireError | undefined {
  if (Buffer.byteLength(signalType, 'utf8') > MAX_SIGNAL_TYPE_BYTES) {
    return wireError(ErrorCode.SIGNAL_TYPE_TOO_LONG, `signal type is longer than ${MAX_SIGNAL_TYPE_BYTES} bytes`);
  }
  if (!SIGNAL_TYPE_RE.test(signalType)) {
    return wireError(ErrorCode.INVALID_SIGNAL_TYPE, 'signal type may only contain A-Z a-z 0-9 - _ ~');
  }
  if (Buffer.byteLength(data, 'utf8') > MAX_SIGNAL_DATA_BYTES) {
    return wireError(ErrorCode.SIGNAL_DATA_TOO_LONG, `signal data is longer than ${MAX_SIGNAL_DATA_BYTES} bytes`);
  }
  return undefined;
}

function streamProps(o: Obj): StreamProps {
  const props: StreamProps = {};
  const name = str(o, 'name', { optional: true, max: MAX_STREAM_NAME_CHARS });
  if (name !== undefined) props.name = name;
  const hasAudio = bool(o, 'hasAudio');
  if (hasAudio !== undefined) props.hasAudio = hasAudio;
  const hasVideo = bool(o, 'hasVideo');
  if (hasVideo !== undefined) props.hasVideo = hasVideo;
  const vt = o['videoType'];
  if (vt !== undefined) {
    if (vt !== 'camera' && vt !== 'screen' && vt !== 'custom') invalid("field 'videoType' must be 'camera', 'screen' or 'custom'");
    props.videoType = vt;
  }
  const vd = o['videoDimensions'];
  if (vd !== undefined) {
    if (typeof vd !== 'object' || vd === null || Array.isArray(vd)) invalid("field 'videoDimensions' must be {width, height}");
    const w = int(vd as Obj, 'width', 0);
    const h = int(vd as Obj, 'height', 0);
    if (w === undefined || h === undefined || w > 65535 || h > 65535) invalid("field 'videoDimensions' must be {width, height} with integers 0..65535");
    props.videoDimensions = { width: w, height: h };
  }
  return props;
}

function requestBody(type: RequestType, o: Obj): RequestBody {
  switch (type) {
    case 'signal': {
      const signalType = str(o, 'signalType', { optional: true }) ?? '';
      const data = str(o, 'data', { optional: true }) ?? '';
      const to = str(o, 'to', { optional: true, max: MAX_ID_CHARS });
      const err = checkSignal(signalType, data);
      if (err) throw new FieldError(err);
      return to === undefined ? { type, signalType, data } : { type, signalType, data, to };
    }
    case 'publish': {
      const props = streamProps(o);
      if (props.hasAudio === undefined || props.hasVideo === undefined) invalid("publish needs boolean 'hasAudio' and 'hasVideo'");
      return { type, props };
    }
    case 'updateStream': {
      const streamId = reqStr(o, 'streamId');
      const props = streamProps(o);
      if (Object.keys(props).length === 0) invalid('updateStream changes no property');
      return { type, streamId, props };
    }
    case 'unpublish':
    case 'forceUnpublish':
    case 'forceMuteStream':
      return { type, streamId: reqStr(o, 'streamId') };
    case 'forceDisconnect':
      return { type, connectionId: reqStr(o, 'connectionId') };
    case 'forceMuteAll': {
      const ex = o['excludedStreamIds'];
      if (ex === undefined) return { type, excludedStreamIds: [] };
      if (!Array.isArray(ex) || ex.length > 1000 || !ex.every((s) => typeof s === 'string' && s.length <= 256)) {
        invalid("field 'excludedStreamIds' must be an array of stream ids");
      }
      return { type, excludedStreamIds: ex as string[] };
    }
    case 'subscribe':
      return { type, streamId: reqStr(o, 'streamId'), audio: bool(o, 'audio') ?? true, video: bool(o, 'video') ?? true };
    case 'unsubscribe':
    case 'requestKeyframe':
      return { type, streamId: reqStr(o, 'streamId') };
    case 'rtcPublish':
      return { type, streamId: reqStr(o, 'streamId'), sdp: reqStr(o, 'sdp', MAX_SDP_CHARS) };
    case 'rtcSubscribe':
      return {
        type, streamId: reqStr(o, 'streamId'), sdp: reqStr(o, 'sdp', MAX_SDP_CHARS), audio: bool(o, 'audio') ?? true, video: bool(o, 'video') ?? true,
      };
    case 'rtcClose':
      return { type, streamId: reqStr(o, 'streamId') };
    case 'disableForceMute':
    case 'disconnect':
      return { type };
  }
}

function handshakeCommon(o: Obj): { v: number; apiKey: string; sessionId: string } {
  const v = int(o, 'v', 0);
  if (v !== PROTOCOL_VERSION) invalid(`unsupported protocol version ${String(o['v'])}; this server speaks ${PROTOCOL_VERSION}`);
  return { v, apiKey: reqStr(o, 'apiKey', MAX_API_KEY_CHARS), sessionId: reqStr(o, 'sessionId', MAX_SESSION_ID_CHARS) };
}

function decodeObject(o: Obj, type: string): DecodeResult {
  switch (type) {
    case 'connect': {
      const common = handshakeCommon(o);
      const token = reqStr(o, 'token', MAX_TOKEN_CHARS);
      const sdkRaw = o['sdk'];
      let sdk = { name: 'unknown', version: 'unknown' };
      if (sdkRaw !== undefined) {
        if (typeof sdkRaw !== 'object' || sdkRaw === null || Array.isArray(sdkRaw)) invalid("field 'sdk' must be {name, version}");
        sdk = { name: reqStr(sdkRaw as Obj, 'name', MAX_SDK_FIELD_CHARS), version: reqStr(sdkRaw as Obj, 'version', MAX_SDK_FIELD_CHARS) };
      }
      const connectionEventsSuppressed = bool(o, 'connectionEventsSuppressed') ?? false;
      return { kind: 'frame', frame: { type, ...common, token, sdk, connectionEventsSuppressed } };
    }
    case 'resume': {
      const common = handshakeCommon(o);
      const lastSeq = int(o, 'lastSeq', 0);
      if (lastSeq === undefined) invalid("field 'lastSeq' must be an integer >= 0");
      return {
        kind: 'frame',
        frame: { type, ...common, connectionId: reqStr(o, 'connectionId'), resumeToken: reqStr(o, 'resumeToken'), lastSeq },
      };
    }
    case 'ack': {
      const seq = int(o, 'seq', 0);
      if (seq === undefined) invalid("field 'seq' must be an integer >= 0");
      return { kind: 'frame', frame: { type, seq } };
    }
    case 'ping':
    case 'pong':
      return { kind: 'frame', frame: { type } };
    default:
      break;
  }
  if (!REQUEST_TYPES.has(type)) {
    return { kind: 'error', ref: type.slice(0, 64), error: wireError(ErrorCode.UNKNOWN_FRAME_TYPE, `unknown frame type '${type.slice(0, 64)}'`) };
  }
  const idRaw = o['id'];
  if (typeof idRaw !== 'number' || !Number.isSafeInteger(idRaw) || idRaw < 1) {
    return { kind: 'error', ref: type, error: wireError(ErrorCode.REQUEST_OUT_OF_ORDER, `request '${type}' needs an integer 'id' >= 1`) };
  }
  let ack: number | undefined;
  try {
    ack = int(o, 'ack', 0);
    const body = requestBody(type as RequestType, o);
    const frame: RequestFrame = ack === undefined ? { ...body, id: idRaw } : { ...body, id: idRaw, ack };
    return { kind: 'frame', frame };
  } catch (e) {
    if (e instanceof FieldError) {
      return ack === undefined
        ? { kind: 'badRequest', id: idRaw, ref: type, error: e.wire }
        : { kind: 'badRequest', id: idRaw, ack, ref: type, error: e.wire };
    }
    throw e;
  }
}

/** Decodes one text frame from a client. Never throws. */
export function decodeClientFrame(text: string): DecodeResult {
  if (nestsDeeperThan(text, MAX_FRAME_DEPTH)) {
    return { kind: 'error', error: wireError(ErrorCode.MALFORMED_FRAME, `frame nests objects or arrays deeper than ${MAX_FRAME_DEPTH} levels: not parsed`) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { kind: 'error', error: wireError(ErrorCode.MALFORMED_FRAME, 'frame is not valid JSON') };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'error', error: wireError(ErrorCode.MALFORMED_FRAME, 'frame is not a JSON object') };
  }
  const o = parsed as Obj;
  const type = o['type'];
  if (typeof type !== 'string') {
    return { kind: 'error', error: wireError(ErrorCode.MALFORMED_FRAME, "frame has no string field 'type'") };
  }
  try {
    return decodeObject(o, type);
  } catch (e) {
    if (e instanceof FieldError) return { kind: 'error', ref: type.slice(0, 64), error: e.wire };
    return { kind: 'error', ref: type.slice(0, 64), error: wireError(ErrorCode.INTERNAL, 'internal error while decoding the frame') };
  }
}
