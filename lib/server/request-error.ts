/**
 * How the registry fails a request: it throws a RequestError carrying the wire error, and the
 * caller (socket layer, REST) turns it into a failed result or an HTTP error.
 */
import { wireError, type ErrorCodeValue, type WireError } from '../wire';

/** Thrown inside the registry for a request that fails; turned into a failed result. */
export class RequestError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

export function fail(code: ErrorCodeValue, message: string, name?: string): never {
  throw new RequestError(wireError(code, message, name));
}
