// Separable resampling of 8-bit RGB with the sampling rule of PIL's Image.resize, the resize
// the models' reference preprocessors use. sharp matches PIL closely when shrinking but samples
// half a pixel off when enlarging, which moves a small image by half a pixel; this module is
// used for every resize that enlarges an axis (small images, the 2021 preset's 96 px pass).
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

function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const floats = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const first = Math.max(Math.trunc(centre - support + 0.5), 0);
    const n = Math.min(Math.trunc(centre + support + 0.5), inSize) - first;
    let total = 0;
    for (let x = 0; x < n; x++) {
      floats[x] = filter.weight((x + first - centre + 0.5) / filterScale);
      total += floats[x];
    }
    for (let x = 0; x < n; x++) {
      const w = total !== 0 ? floats[x] / total : 0;
      // Round half away from zero, like C's (int)(w * (1 << bits) + (w < 0 ? -0.5 : 0.5)).
      weights[i * taps + x] = Math.trunc(w * (1 << PRECISION_BITS) + (w < 0 ? -0.5 : 0.5));
    }
    start[i] = first;
    count[i] = n;
  }
  return { start, count, weights, taps };
}

function clip8(fixed: number): number {
  const value = Math.floor(fixed / (1 << PRECISION_BITS));
  return value < 0 ? 0 : value > 255 ? 255 : value;
}

function resampleHorizontal(src: RgbPixels, outWidth: number, filter: Filter): RgbPixels {
  const c = coefficients(src.width, outWidth, filter);
  const out = new Uint8Array(outWidth * src.height * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < src.height; y++) {
    const row = y * src.width * 3;
    for (let x = 0; x < outWidth; x++) {
      let r = half;
      let g = half;
      let b = half;
      const first = c.start[x];
      for (let t = 0; t < c.count[x]; t++) {
        const w = c.weights[x * c.taps + t];
        const p = row + (first + t) * 3;
        r += src.data[p] * w;
        g += src.data[p + 1] * w;
        b += src.data[p + 2] * w;
      }
      const o = (y * outWidth + x) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: outWidth, height: src.height, data: out };
}

function resampleVertical(src: RgbPixels, outHeight: number, filter: Filter): RgbPixels {
  const c = coefficients(src.height, outHeight, filter);
  const out = new Uint8Array(src.width * outHeight * 3);
  const half = 1 << (PRECISION_BITS - 1);
  const stride = src.width * 3;
  for (let y = 0; y < outHeight; y++) {
    const first = c.start[y];
    for (let x = 0; x < src.width; x++) {
      let r = half;
      let g = half;
      let b = half;
      for (let t = 0; t < c.count[y]; t++) {
        const w = c.weights[y * c.taps + t];
        const p = (first + t) * stride + x * 3;
        r += src.data[p] * w;
        g += src.data[p + 1] * w;
        b += src.data[p + 2] * w;
      }
      const o = (y * src.width + x) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return { width: src.width, height: outHeight, data: out };
}

/** Resizes interleaved RGB to width × height (horizontal pass first, as PIL does). */
export function resampleRgb(src: RgbPixels, width: number, height: number, interpolation: Interpolation): RgbPixels {
  const filter = FILTERS[interpolation];
  let out = src;
  if (width !== src.width) out = resampleHorizontal(out, width, filter);
  if (height !== src.height) out = resampleVertical(out, height, filter);
  return out;
}
