/** Errors of the client API: OpenTok.js names and codes (see docs/protocol.md, section 11). */
import { errorName, type ErrorCodeValue } from '../wire';

/** Where the client's OpenTok.js name differs from the wire name, or the code is client-side only. */
const CLIENT_NAMES: Record<number, string> = {
  1006: 'OT_CONNECT_FAILED',
  1550: 'OT_UNABLE_TO_SEND_SIGNAL',
  // the core's request backlog (max_queued) is full while connected: a local refusal
  1570: 'CONVENE_BACKLOG_FULL',
};

function nameOf(code: number): string | undefined {
  return CLIENT_NAMES[code] ?? errorName(code as ErrorCodeValue);
}

/** An error with the OpenTok `name` and numeric `code`. */
export class OTError extends Error {
  readonly code: number;
  override readonly name: string;
  constructor(code: number, message: string, name?: string) {
    super(message);
    this.code = code;
    this.name = name ?? nameOf(code) ?? 'OT_ERROR';
  }
}

export function otError(code: number, message: string, name?: string): OTError {
  return new OTError(code, message, name);
}
