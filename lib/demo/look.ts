/**
 * The demo bots' cameras and eyes: each bot publishes a small picture of its own colour with a
 * white bar moving across it (a VideoSource, RGBA frames), subscribes to the others' video as
 * RGBA and tells which colour it sees on each stream (the average of the newest frame).
 */
import type { Subscriber } from '../client/subscriber';
import type { ReceivedVideoFrame } from '../client/types';
import type { VideoSource } from '../client/video-source';

export const COLOURS = { red: [220, 40, 40], green: [40, 200, 60], blue: [50, 60, 220] } as const;
export type ColourName = keyof typeof COLOURS;
export const COLOUR_NAMES = Object.keys(COLOURS) as ColourName[];

/** Keeps frames of `colour` with a moving bar flowing into `source` at its rate until stop(). */
export async function film(source: VideoSource, colour: ColourName, stopped: () => boolean): Promise<void> {
  const [r, g, b] = COLOURS[colour];
  const { width: w, height: h } = source;
  const data = new Uint8Array(w * h * 4);
  const interval = 1000 / source.fps;
  const start = Date.now();
  for (let n = 0; !stopped() && source.isPublished; n++) {
    const bar = (n * 4) % w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = (y * w + x) * 4;
        const white = x >= bar && x < bar + 8;
        data[at] = white ? 255 : r;
        data[at + 1] = white ? 255 : g;
        data[at + 2] = white ? 255 : b;
        data[at + 3] = 255;
      }
    }
    source.captureFrame({ format: 'RGBA', width: w, height: h, data });
    await new Promise((res) => setTimeout(res, Math.max(0, start + (n + 1) * interval - Date.now())));
  }
}

/** The nearest of COLOURS to the average of an RGBA frame. */
export function colourOf(f: ReceivedVideoFrame): ColourName {
  let r = 0;
  let g = 0;
  let b = 0;
  const n = f.width * f.height;
  for (let i = 0; i < n; i++) {
    r += f.data[i * 4] as number;
    g += f.data[i * 4 + 1] as number;
    b += f.data[i * 4 + 2] as number;
  }
  const avg = [r / n, g / n, b / n];
  let best: ColourName = 'red';
  let bestD = Infinity;
  for (const name of COLOUR_NAMES) {
    const c = COLOURS[name];
    const d = Math.abs((avg[0] as number) - c[0]) + Math.abs((avg[1] as number) - c[1]) + Math.abs((avg[2] as number) - c[2]);
    if (d < bestD) { best = name; bestD = d; }
  }
  return best;
}

/** What one bot sees on one subscribed stream (its video as RGBA). */
export class Eye {
  private last: ReceivedVideoFrame | undefined;
  /** frames seen since the last mark() */
  seen = 0;

  constructor(readonly from: string, readonly subscriber: Subscriber) {
    void this.watch();
  }

  private async watch(): Promise<void> {
    for await (const f of this.subscriber.videoFrames({ maxQueuedFrames: 2 })) {
      this.last = f;
      this.seen++;
    }
  }

  /** Forgets what was seen (to look afresh, e.g. after a network cut). */
  mark(): void {
    this.seen = 0;
    this.last = undefined;
  }

  /** The colour of the newest frame, or undefined before a few frames came. */
  colour(): ColourName | undefined {
    return this.last && this.seen >= 3 ? colourOf(this.last) : undefined;
  }
}
