/**
 * `convene`: the client package. `initSession` gives a Session with the shape of
 * OpenTok.js, backed by the native core (loaded on first use).
 */
export * from './client/index';
export { ErrorCode, PROTOCOL_VERSION, type WireError } from './wire';
