/** Errors of the client API: OpenTok.js names and codes (see docs/protocol.md, section 11). */

const NAMES: Record<number, string> = {
  1004: 'OT_AUTHENTICATION_ERROR',
  1005: 'OT_INVALID_SESSION_ID',
  1006: 'OT_CONNECT_FAILED',
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
  1520: 'OT_UNABLE_TO_FORCE_DISCONNECT',
  1530: 'OT_UNABLE_TO_FORCE_UNPUBLISH',
  1535: 'OT_FORCE_UNPUBLISH_OR_INVALID_STREAM',
  1540: 'OT_PERMISSION_DENIED',
  1550: 'OT_UNABLE_TO_SEND_SIGNAL',
  2000: 'OT_INTERNAL_ERROR',
};

/** An error with the OpenTok `name` and numeric `code`. */
export class OTError extends Error {
  readonly code: number;
  override readonly name: string;
  constructor(code: number, message: string, name?: string) {
    super(message);
    this.code = code;
    this.name = name ?? NAMES[code] ?? 'OT_ERROR';
  }
}

export function otError(code: number, message: string, name?: string): OTError {
  return new OTError(code, message, name);
}
