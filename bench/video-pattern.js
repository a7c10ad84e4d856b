/*
 * bench/video-pattern: the moving I420 pattern the video benches encode, the same bytes for
 * Convene (bench/media-video-client.js) and for libvpx's own tools (the floor, bench/media-video.js).
 *
 * A still pattern (colour blocks) costs a VP8 encoder next to nothing once the first keyframe
 * is out, which would flatter every figure; a camera's picture moves. So: a texture of three
 * sinusoids and a little deterministic noise (period 240 x 120 pixels) that scrolls 8 pixels
 * right and 4 down per frame, over a chroma gradient that scrolls with it. After 30 frames it is
 * back where it started, so `frames(w, h)` is a seamless 30-frame cycle (one second at 30 fps).
 */
'use strict';

const CYCLE = 30;
const PX = 240; // horizontal period (pixels), 8 per frame
const PY = 120; // vertical period, 4 per frame

function texture() {
  const t = new Uint8Array(PX * PY);
  let seed = 0x2545f491;
  const rnd = () => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) % 25) - 12; };
  for (let y = 0; y < PY; y++) {
    for (let x = 0; x < PX; x++) {
      const v = 126 + 45 * Math.sin((2 * Math.PI * x) / PX) * Math.cos((2 * Math.PI * y) / PY)
        + 25 * Math.sin((2 * Math.PI * 4 * x) / PX + (2 * Math.PI * 2 * y) / PY)
        + 12 * Math.sin((2 * Math.PI * 12 * y) / PY) + rnd();
      t[y * PX + x] = Math.max(16, Math.min(235, Math.round(v)));
    }
  }
  return t;
}

/** Frame n (0..29) of the cycle at w x h, I420 (tightly packed). */
function frame(tex, n, w, h) {
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const out = new Uint8Array(w * h + 2 * cw * ch);
  const dx = (n * PX) / CYCLE;
  const dy = (n * PY) / CYCLE;
  for (let y = 0; y < h; y++) {
    const ty = ((((y - dy) % PY) + PY) % PY) * PX;
    for (let x = 0; x < w; x++) out[y * w + x] = tex[ty + ((((x - dx) % PX) + PX) % PX)];
  }
  const u = w * h;
  const v = u + cw * ch;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const a = (2 * Math.PI * (2 * x - dx)) / PX;
      const b = (2 * Math.PI * (2 * y - dy)) / PY;
      out[u + y * cw + x] = Math.round(128 + 40 * Math.sin(a));
      out[v + y * cw + x] = Math.round(128 + 40 * Math.cos(b));
    }
  }
  return out;
}

const cache = new Map();

/** The 30 frames of the cycle at w x h (computed once per size). */
function frames(w, h) {
  const key = `${w}x${h}`;
  if (!cache.has(key)) {
    const tex = texture();
    cache.set(key, Array.from({ length: CYCLE }, (_, n) => frame(tex, n, w, h)));
  }
  return cache.get(key);
}

/**
 * Which frame of the cycle a received picture is, for a subscriber that gets no capture time
 * with its frames (a WebRTC sink): `matcher(w, h)` returns identify(data, fw, fh), data an I420
 * picture of fw x fh (the pattern at w x h, or scaled by the sender), → { index, err }: index
 * 0..29 of the nearest frame of the cycle by the mean absolute difference `err` of luma and
 * blue chroma at a 16 x 9 grid of points (chroma tells frames half a cycle apart, whose luma
 * differs only by the texture's noise), or -1 when no frame is clearly the nearest (err over
 * 16, or the second nearest within 1.5 × err: not the pattern, or too damaged to tell).
 */
function matcher(w, h) {
  const cycle = frames(w, h);
  const GX = 16;
  const GY = 9;
  const at = []; // [x, y] in the w x h picture
  for (let j = 0; j < GY; j++) for (let i = 0; i < GX; i++) at.push([Math.floor(((i + 0.5) * w) / GX), Math.floor(((j + 0.5) * h) / GY)]);
  /** offsets of the sample points (luma, then U) in an I420 picture of fw x fh */
  const offsets = (fw, fh) => {
    const o = new Int32Array(2 * at.length);
    at.forEach(([x, y], k) => {
      const fx = Math.floor((x * fw) / w);
      const fy = Math.floor((y * fh) / h);
      o[k] = fy * fw + fx;
      o[at.length + k] = fw * fh + (fy >> 1) * Math.ceil(fw / 2) + (fx >> 1);
    });
    return o;
  };
  const own = offsets(w, h);
  const ref = cycle.map((f) => Uint8Array.from(own, (i) => f[i]));
  let size = '';
  let off = own;
  return (data, fw, fh) => {
    if (`${fw}x${fh}` !== size) { size = `${fw}x${fh}`; off = offsets(fw, fh); }
    let best = -1;
    let bestErr = Infinity;
    let second = Infinity;
    for (let n = 0; n < ref.length; n++) {
      const r = ref[n];
      let sad = 0;
      for (let k = 0; k < off.length; k++) {
        const d = data[off[k]] - r[k];
        sad += d < 0 ? -d : d;
      }
      if (sad < bestErr) { second = bestErr; bestErr = sad; best = n; } else if (sad < second) second = sad;
    }
    const err = bestErr / off.length;
    return { index: err <= 16 && second >= 1.5 * bestErr ? best : -1, err };
  };
}

module.exports = { frames, matcher, CYCLE };
