/**
 * `convene`: the client package entry point. The native-backed `Session` arrives with the
 * Node binding; the protocol constants and error codes it shares with the server are here.
 */
export { ErrorCode, type WireError } from './server/errors';
export { PROTOCOL_VERSION } from './server/protocol';
export type { WireConnection, WireStream, VideoType, VideoDimensions } from './server/protocol';
