/**
 * Picture quality for the video proof tests: PSNR of the luma (Y) plane of a received I420
 * frame against the frame that was sent.
 */
import type { ReceivedVideoFrame, VideoFrame } from '../../lib/index';

/**
 * PSNR (dB) of the Y plane of `got` against `sent`, both I420 of the same size:
 * 10 · log10(255² / MSE) over every luma sample; Infinity when they are identical.
 * Throws for another format or size (a test asking the wrong question).
 */
export function psnrY(got: ReceivedVideoFrame | VideoFrame, sent: ReceivedVideoFrame | VideoFrame): number {
  if (got.format !== 'I420' || sent.format !== 'I420') throw new Error(`psnrY: I420 frames only, got ${got.format} and ${sent.format}`);
  if (got.width !== sent.width || got.height !== sent.height) {
    throw new Error(`psnrY: sizes differ (${got.width}x${got.height} and ${sent.width}x${sent.height})`);
  }
  const n = got.width * got.height;
  let se = 0;
  for (let i = 0; i < n; i++) {
    const d = (got.data[i] as number) - (sent.data[i] as number);
    se += d * d;
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}
