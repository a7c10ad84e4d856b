/**
 * Error codes of wire protocol v1 (docs/protocol.md, section 11), shared by the server and the
 * clients. OpenTok codes keep their OpenTok numbers and names; 44xx are Convene protocol codes.
 * Plain TypeScript: no Node-only imports (a browser client uses it too).
 */
export const ErrorCode = {
  AUTHENTICATION: 1004,
  INVALID_SESSION_ID: 1005,
  NOT_CONNECTED: 1010,
  INVALID_PARAMETER: 1011,
  ILLEGAL_STATE: 1015,
  CONNECTION_TIMED_OUT: 1021,
  CONNECTION_DROPPED: 1022,
  CONNECTION_REFUSED: 1023,
  CONNECTION_LIMIT_EXCEEDED: 1027,
  SIGNAL_DATA_TOO_LONG: 1413,
  SIGNAL_TYPE_TOO_LONG: 1414,
  RATE_LIMIT_EXCEEDED: 1429,
  INVALID_SIGNAL_TYPE: 1461,
  PUBLISH_DENIED: 1500,
  SUBSCRIBE_DENIED: 1510,
  UNABLE_TO_FORCE_DISCONNECT: 1520,
  UNABLE_TO_FORCE_UNPUBLISH: 1530,
  INVALID_STREAM: 1535,
  FORCE_MUTE_DENIED: 1540,
  SIGNAL_DENIED: 1550,
  SIGNAL_UNDELIVERED: 1560,
  INTERNAL: 2000,
  MALFORMED_FRAME: 4400,
  UNKNOWN_FRAME_TYPE: 4405,
  REQUEST_OUT_OF_ORDER: 4409,
  FRAME_TOO_LARGE: 4413,
  BINARY_NOT_SUPPORTED: 4415,
  MALFORMED_MEDIA: 4416,
  MEDIA_REFUSED: 4417,
  RTC_FAILED: 4418,
  RTC_DISABLED: 4419,
  FLOOD: 4429,
  MEDIA_NOT_ON_THIS_NODE: 4501,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

const NAMES: Record<ErrorCodeValue, string> = {
  1004: 'OT_AUTHENTICATION_ERROR',
  1005: 'OT_INVALID_SESSION_ID',
  1010: 'OT_NOT_CONNECTED',
  1011: 'OT_INVALID_PARAMETER',
  1015: 'OT_ILLEGAL_STATE',
  1021: 'OT_CONNECTION_TIMED_OUT',
  1022: 'OT_CONNECTION_DROPPED',
  1023: 'OT_CONNECTION_REFUSED',
  1027: 'OT_CONNECTION_LIMIT_EXCEEDED',
  1413: 'OT_SIGNAL_DATA_TOO_LONG',
  1414: 'OT_SIGNAL_TYPE_TOO_LONG',
  1429: 'OT_RATE_LIMIT_EXCEEDED',
  1461: 'OT_INVALID_SIGNAL_TYPE',
  1500: 'OT_PERMISSION_DENIED',
  1510: 'OT_PERMISSION_DENIED',
  1520: 'OT_UNABLE_TO_FORCE_DISCONNECT',
  1530: 'OT_UNABLE_TO_FORCE_UNPUBLISH',
  1535: 'OT_FORCE_UNPUBLISH_OR_INVALID_STREAM',
  1540: 'OT_PERMISSION_DENIED',
  1550: 'OT_PERMISSION_DENIED',
  1560: 'CONVENE_SIGNAL_UNDELIVERED',
  2000: 'OT_INTERNAL_ERROR',
  4400: 'CONVENE_MALFORMED_FRAME',
  4405: 'CONVENE_UNKNOWN_FRAME_TYPE',
  4409: 'CONVENE_REQUEST_OUT_OF_ORDER',
  4413: 'CONVENE_FRAME_TOO_LARGE',
  4415: 'CONVENE_BINARY_NOT_SUPPORTED',
  4416: 'CONVENE_MALFORMED_MEDIA',
  4417: 'CONVENE_MEDIA_REFUSED',
  4418: 'CONVENE_RTC_FAILED',
  4419: 'CONVENE_RTC_DISABLED',
  4429: 'CONVENE_FLOOD',
  4501: 'CONVENE_MEDIA_NOT_ON_THIS_NODE',
};

/** The error object carried by `error` frames and failed `result` frames. */
export interface WireError {
  code: ErrorCodeValue;
  name: string;
  message: string;
}

/** Builds a wire error; `name` overrides the default (e.g. OT_PERMISSION_DENIED for 1520). */
export function wireError(code: ErrorCodeValue, message: string, name?: string): WireError {
  return { code, name: name ?? NAMES[code], message };
}

export function errorName(code: ErrorCodeValue): string {
  return NAMES[code];
}

/** WebSocket close code used after a fatal error frame (docs/protocol.md, section 11). */
export function closeCodeFor(code: ErrorCodeValue): number {
  if (code === ErrorCode.FLOOD) return 1008;
  if (code >= 1000 && code < 2000) return 4000 + (code - 1000);
  return code >= 4000 && code < 5000 ? code : 1011;
}
