/**
 * A synthetic video pattern for the video tests: four colour quadrants and a 16-bit frame
 * counter (a band of black / white blocks along the top), in any VideoFormat; and readers that
 * get RGB pixels, the counter and the quadrant colours back out of a received frame.
 */
import type { ReceivedVideoFrame, VideoFormat, VideoFrame, VideoSource } from '../../lib/index';
import { videoFrameSize } from '../../lib/index';

export type RGB = [number, number, number];

/** top-left, top-right, bottom-left, bottom-right */
export const QUADRANTS: readonly RGB[] = [[230, 30, 30], [30, 200, 40], [40, 50, 220], [230, 220, 40]];
const BITS = 16;
const BAND = 16; // rows of the counter band

/** BT.601 limited range, as libyuv. */
function yuv([r, g, b]: RGB): [number, number, number] {
  const y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
  const v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
  return [Math.round(y), Math.round(u), Math.round(v)];
}

function rgbOfYuv(y: number, u: number, v: number): RGB {
  const c = 1.164 * (y - 16);
  const clamp = (x: number): number => Math.max(0, Math.min(255, Math.round(x)));
  return [clamp(c + 1.596 * (v - 128)), clamp(c - 0.392 * (u - 128) - 0.813 * (v - 128)), clamp(c + 2.017 * (u - 128))];
}

/** The RGB colour of pixel (x, y) of the pattern for frame `n`. */
export function patternPixel(n: number, w: number, x: number, y: number, h: number): RGB {
  if (y < BAND) {
    const bit = Math.min(BITS - 1, Math.floor((x * BITS) / w));
    return (n >> (BITS - 1 - bit)) & 1 ? [255, 255, 255] : [0, 0, 0];
  }
  return QUADRANTS[(y < h / 2 ? 0 : 2) + (x < w / 2 ? 0 : 1)] as RGB;
}

/** Byte order of the packed formats: where R, G, B sit in a pixel, and its size. */
const PACKED: Partial<Record<VideoFormat, { r: number; g: number; b: number; size: number }>> = {
  RGBA: { r: 0, g: 1, b: 2, size: 4 },
  BGRA: { r: 2, g: 1, b: 0, size: 4 },
  ARGB: { r: 1, g: 2, b: 3, size: 4 },
  ABGR: { r: 3, g: 2, b: 1, size: 4 },
  RGB24: { r: 0, g: 1, b: 2, size: 3 },
  BGR24: { r: 2, g: 1, b: 0, size: 3 },
};

/** Paints rows y0..y1-1 of frame `n` of the pattern into `data`. */
function paint(data: Uint8Array, n: number, w: number, h: number, format: VideoFormat, y0: number, y1: number): void {
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const packed = PACKED[format];
  for (let y = y0; y < y1; y++) {
    for (let x = 0; x < w; x++) {
      const rgb = patternPixel(n, w, x, y, h);
      if (packed) {
        const at = (y * w + x) * packed.size;
        data[at + packed.r] = rgb[0];
        data[at + packed.g] = rgb[1];
        data[at + packed.b] = rgb[2];
        if (packed.size === 4) data[at + 6 - packed.r - packed.g - packed.b] = 255;
        continue;
      }
      const [Y, U, V] = yuv(rgb);
      data[y * w + x] = Y;
      if (x % 2 === 0 && y % 2 === 0) {
        const c = (y / 2) * cw + x / 2;
        if (format === 'I420') {
          data[w * h + c] = U;
          data[w * h + cw * ch + c] = V;
        } else {
          data[w * h + 2 * c] = U;
          data[w * h + 2 * c + 1] = V;
        }
      }
    }
  }
}

const bases = new Map<string, Uint8Array>();

/** Frame `n` of the pattern in `format` (the quadrants are painted once per format and size). */
export function pattern(n: number, w: number, h: number, format: VideoFormat = 'I420', timestampUs?: number): VideoFrame {
  const key = `${format} ${w}x${h}`;
  let base = bases.get(key);
  if (!base) {
    base = new Uint8Array(videoFrameSize(format, w, h));
    paint(base, 0, w, h, format, 0, h);
    bases.set(key, base);
  }
  const data = base.slice();
  paint(data, n, w, h, format, 0, BAND);
  return timestampUs === undefined ? { format, width: w, height: h, data } : { format, width: w, height: h, data, timestampUs };
}

/** The RGB colour of pixel (x, y) of a frame of any format. */
export function rgbAt(f: ReceivedVideoFrame | VideoFrame, x: number, y: number): RGB {
  const { width: w, height: h, data } = f;
  const packed = PACKED[f.format];
  if (packed) {
    const at = (y * w + x) * packed.size;
    return [data[at + packed.r] as number, data[at + packed.g] as number, data[at + packed.b] as number];
  }
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const c = Math.floor(y / 2) * cw + Math.floor(x / 2);
  const Y = data[y * w + x] as number;
  const U = (f.format === 'I420' ? data[w * h + c] : data[w * h + 2 * c]) as number;
  const V = (f.format === 'I420' ? data[w * h + cw * ch + c] : data[w * h + 2 * c + 1]) as number;
  return rgbOfYuv(Y, U, V);
}

/** The counter a frame carries (read from the middle of each block of the band). */
export function counterOf(f: ReceivedVideoFrame | VideoFrame): number {
  let n = 0;
  for (let bit = 0; bit < BITS; bit++) {
    const x = Math.floor(((bit + 0.5) * f.width) / BITS);
    const [r, g, b] = rgbAt(f, x, BAND / 2);
    n = (n << 1) | ((r + g + b) / 3 > 128 ? 1 : 0);
  }
  return n;
}

/** The average colour of the middle of each quadrant (a box of a fifth of its size). */
export function quadrantColours(f: ReceivedVideoFrame | VideoFrame): RGB[] {
  const out: RGB[] = [];
  const { width: w, height: h } = f;
  const top = BAND + (h / 2 - BAND) / 2;
  for (const [cx, cy] of [[w / 4, top], [(3 * w) / 4, top], [w / 4, (3 * h) / 4], [(3 * w) / 4, (3 * h) / 4]] as const) {
    const s: RGB = [0, 0, 0];
    let n = 0;
    for (let y = Math.round(cy - h / 20); y <= cy + h / 20; y++) {
      for (let x = Math.round(cx - w / 20); x <= cx + w / 20; x++) {
        const p = rgbAt(f, x, y);
        s[0] += p[0]; s[1] += p[1]; s[2] += p[2];
        n++;
      }
    }
    out.push([Math.round(s[0] / n), Math.round(s[1] / n), Math.round(s[2] / n)]);
  }
  return out;
}

/** The largest difference of one channel between two colours. */
export function colourDistance(a: RGB, b: RGB): number {
  return Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
}

/**
 * Publishes the pattern into `source` at its fps, frame 1, 2, ... with the frame's capture
 * time (n * frame interval, in us), paced on a drift-free clock, until `stop()`. Resolves with
 * the frames written.
 */
export async function pushPattern(source: VideoSource, stop: () => boolean, format: VideoFormat = 'I420', frames = Infinity): Promise<number> {
  const interval = 1000 / source.fps;
  const start = performance.now();
  let n = 0;
  while (!stop() && n < frames) {
    n++;
    const f = pattern(n, source.width, source.height, format, Math.round(n * interval * 1000));
    try {
      source.captureFrame(f);
    } catch {
      return n - 1; // unpublished meanwhile
    }
    const wait = start + n * interval - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  return n;
}
