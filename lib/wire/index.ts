/**
 * The wire definitions server and clients share (docs/protocol.md): frame types, limits,
 * objects and error codes. Imports nothing from lib/server or lib/client, and nothing Node-only.
 */
export * from './errors';
export * from './frames';
export * from './media';
