/**
 * `convene/server`: the Convene session server.
 *
 *     import { startServer } from 'convene/server';
 *     const server = await startServer({ projects: [{ apiKey, apiSecret }], port: 4100 });
 */
export { ConveneServer, startServer, DEFAULTS, type ServerOptions } from './server';
export { ProjectStore, type Project } from './projects';
export { mintSessionId, checkSessionId, type SessionInfo, type MediaMode, type ArchiveMode } from './session-id';
export { verifyToken, ROLES, type Role, type TokenClaims } from './tokens';
export { ErrorCode, type WireError } from '../wire';
export { PROTOCOL_VERSION } from '../wire';
export type { WireConnection, WireStream, VideoType, VideoDimensions } from '../wire';
export { createLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger';
export type { WebRtcOptions, EdgeStats, PeerStats } from './webrtc/edge';
