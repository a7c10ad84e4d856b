/** Video pixel formats (VideoFormat in ./types): their names and sizes. */
import type { VideoFormat } from './types';

export const VIDEO_FORMATS: readonly VideoFormat[] = ['I420', 'NV12', 'RGBA', 'BGRA', 'ARGB', 'ABGR', 'RGB24', 'BGR24'];

const MAX_SIDE = 8192;

/**
 * The bytes a tightly packed frame of `format` and size takes: I420 and NV12 width*height plus
 * two chroma planes of ceil(width/2)*ceil(height/2); 4 or 3 bytes per pixel for the packed ones.
 */
export function videoFrameSize(format: VideoFormat, width: number, height: number): number {
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  switch (format) {
    case 'I420':
    case 'NV12':
      return width * height + 2 * chroma;
    case 'RGB24':
    case 'BGR24':
      return width * height * 3;
    case 'RGBA':
    case 'BGRA':
    case 'ARGB':
    case 'ABGR':
      return width * height * 4;
    default:
      throw new TypeError(`unknown video format ${String(format)}`);
  }
}

/** A message for a bad frame, undefined for a good one. */
export function checkVideoFrame(f: unknown): string | undefined {
  if (f === null || typeof f !== 'object') return 'the frame must be an object';
  const { format, width, height, data, timestampUs } = f as Record<string, unknown>;
  if (!VIDEO_FORMATS.includes(format as VideoFormat)) return `format must be one of ${VIDEO_FORMATS.join(', ')}, got ${String(format)}`;
  if (!Number.isInteger(width) || (width as number) < 1 || (width as number) > MAX_SIDE) return `width must be an integer from 1 to ${MAX_SIDE}, got ${String(width)}`;
  if (!Number.isInteger(height) || (height as number) < 1 || (height as number) > MAX_SIDE) return `height must be an integer from 1 to ${MAX_SIDE}, got ${String(height)}`;
  if (!(data instanceof Uint8Array)) return 'data must be a Uint8Array (or a Buffer)';
  const want = videoFrameSize(format as VideoFormat, width as number, height as number);
  if (data.length !== want) return `data holds ${data.length} bytes, a ${String(width)}x${String(height)} ${String(format)} frame takes ${want}`;
  if (timestampUs !== undefined && (typeof timestampUs !== 'number' || !Number.isFinite(timestampUs) || timestampUs < 0)) {
    return 'timestampUs must be a finite number >= 0 (microseconds)';
  }
  return undefined;
}
