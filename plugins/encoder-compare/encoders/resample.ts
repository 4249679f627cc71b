// Separable resampling of 8-bit RGB with the sampling rule of PIL's Image.resize, the resize
// the models' reference preprocessors use. sharp matches PIL closely when shrinking but samples
// half a pixel off when enlarging, which moves a small image by half a pixel; this module is
// used for every resize that enlarges an axis (small images, the 2021 presets' 96 px crops enlarged
// for CLIP) and for every resize of a `portableResize` spec (the built-ins, the 2021 presets).
//
// Per output pixel i: centre = (i + 0.5)·scale, filter support widened by scale when
// shrinking, weights normalised, then applied in fixed point with rounding between passes
// (horizontal first), as 8-bit PIL does.
import type { Interpolation } from "./spec.ts";
import type { RgbPixels } from "./preprocess-core.ts";

interface Filter {
  support: number;
  weight(x: number): number;
}

const FILTERS: Record<Interpolation, Filter> = {
  nearest: { support: 0.5, weight: (x) => (x >= -0.5 && x < 0.5 ? 1 : 0) },
  bilinear: { support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  bicubic: {
    // Keys cubic with a = -0.5 (Catmull-Rom).
    support: 2,
    weight(x) {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  lanczos3: {
    support: 3,
    weight(x) {
      if (x === 0) return 1;
      if (Math.abs(x) >= 3) return 0;
      const px = Math.PI * x;
      return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
    },
  },
};

const PRECISION_BITS = 32 - 8 - 2;

interface Coefficients {
  /** First input index per output pixel. */
  start: Int32Array;
  /** Number of taps per output pixel. */
  count: Int32Array;
  /** Fixed-point weights, `taps` per output pixel. */
  weights: Int32Array;
  taps: number;
}

/**
 * Weights for output pixels [from, from + count) of a resize from inSize to outSize; `start`
 * holds absolute input indices. Each output pixel depends only on its own window of input, so
 * computing a sub-range gives exactly the pixels a full resize would, without the rest.
 */
function coefficients(inSize: number, outSize: number, filter: Filter, from = 0, count = outSize - from): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(count);
  const n = new Int32Array(count);
  const weights = new Int32Array(count * taps);
  const floats = new Float64Array(taps);
  for (let k = 0; k < count; k++) {
    const i = from + k;
    const centre = (i + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const taken = Math.min(Math.trunc(centre + support + 0.5), inSize) - first;
    let total = 0;
    for (let x = 0; x < taken; x++) {
      floats[x] = filter.weight((x + first - centre + 0.5) / filterScale);
      total += floats[x];
    }
    for (let x = 0; x < taken; x++) {
      const w = total !== 0 ? floats[x] / total : 0;
      // Round half away from zero, like C's (int)(w * (1 << bits) + (w < 0 ? -0.5 : 0.5)).
      weights[k * taps + x] = Math.trunc(w * (1 << PRECISION_BITS) + (w < 0 ? -0.5 : 0.5));
    }
    start[k] = first;
    n[k] = taken;
  }
  return { start, count: n, weights, taps };
}

function clip8(fixed: number): number {
  const value = Math.floor(fixed / (1 << PRECISION_BITS));
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

/** Input indices [first, end) that output pixels [from, from + count) of an inSize → outSize resize read. */
export function sourceSpan(inSize: number, outSize: number, interpolation: Interpolation, from: number, count: number): { first: number; end: number } {
  if (inSize === outSize) return { first: from, end: from + count };
  const c = coefficients(inSize, outSize, FILTERS[interpolation], from, count);
  let first = inSize;
  let end = 0;
  for (let k = 0; k < count; k++) {
    first = Math.min(first, c.start[k]);
    end = Math.max(end, c.start[k] + c.count[k]);
  }
  return { first, end };
}

/** One row of the horizontal pass: output columns [from, from + count) of `c`, read from `src` at `offset`, `x0` its first column. */
function horizontalRow(src: Uint8Array, offset: number, x0: number, c: Coefficients, out: Uint8Array): void {
  const half = 1 << (PRECISION_BITS - 1);
  for (let x = 0; x < c.start.length; x++) {
    let r = half;
    let g = half;
    let b = half;
    const first = c.start[x] - x0;
    for (let t = 0; t < c.count[x]; t++) {
      const w = c.weights[x * c.taps + t];
      const p = offset + (first + t) * 3;
      r += src[p] * w;
      g += src[p + 1] * w;
      b += src[p + 2] * w;
    }
    out[x * 3] = clip8(r);
    out[x * 3 + 1] = clip8(g);
    out[x * 3 + 2] = clip8(b);
  }
}

/** Resizes interleaved RGB to width × height (horizontal pass first, as PIL does). */
export function resampleRgb(src: RgbPixels, width: number, height: number, interpolation: Interpolation): RgbPixels {
  return resampleRgbWindow(src, { x: 0, y: 0 }, { width: src.width, height: src.height }, { width, height }, { left: 0, top: 0, width, height }, interpolation);
}

export interface PixelWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The `window` of a resize of a whole image (`full`) to `out`, computed from `src`, a part of
 * the image whose top-left pixel is `origin` and that covers the window's sourceSpan on both
 * axes. Equal, byte for byte, to resampling everything and cropping; but only the window is
 * computed, and input rows stream through the horizontal pass one at a time, each added to the
 * output rows that read it (integer sums, so the order does not change the result). Memory: the
 * window plus one row, whatever the image's shape.
 */
export function resampleRgbWindow(
  src: RgbPixels,
  origin: { x: number; y: number },
  full: { width: number; height: number },
  out: { width: number; height: number },
  window: PixelWindow,
  interpolation: Interpolation,
): RgbPixels {
  const filter = FILTERS[interpolation];
  const cols = full.width === out.width ? undefined : coefficients(full.width, out.width, filter, window.left, window.width);
  const rows = full.height === out.height ? undefined : coefficients(full.height, out.height, filter, window.top, window.height);
  const span = sourceSpan(full.height, out.height, interpolation, window.top, window.height);
  const result = new Uint8Array(window.width * window.height * 3);
  const rowBytes = window.width * 3;
  const row = new Uint8Array(rowBytes);
  const sums = rows ? new Float64Array(result.length).fill(1 << (PRECISION_BITS - 1)) : undefined;
  let lowest = 0;
  for (let y = span.first; y < span.end; y++) {
    const offset = (y - origin.y) * src.width * 3;
    if (cols) horizontalRow(src.data, offset, origin.x, cols, row);
    else row.set(src.data.subarray(offset + (window.left - origin.x) * 3, offset + (window.left - origin.x) * 3 + rowBytes));
    if (!rows || !sums) {
      result.set(row, (y - window.top) * rowBytes);
      continue;
    }
    while (lowest < window.height && rows.start[lowest] + rows.count[lowest] <= y) lowest++;
    for (let k = lowest; k < window.height && rows.start[k] <= y; k++) {
      const w = rows.weights[k * rows.taps + (y - rows.start[k])];
      if (w === 0) continue;
      const base = k * rowBytes;
      for (let i = 0; i < rowBytes; i++) sums[base + i] += row[i] * w;
    }
  }
  if (sums) for (let i = 0; i < result.length; i++) result[i] = clip8(sums[i]);
  return { width: window.width, height: window.height, data: result };
}
