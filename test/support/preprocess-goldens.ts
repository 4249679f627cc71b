// What the preprocessing parity suites share: reading a golden (an RGB PNG the Python reference wrote), comparing
// tensors, and a spec that leaves decoded pixels as they are (same size in and out, so nothing resamples).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import sharp from "sharp";
import type { RgbPixels } from "../../plugins/encoder-compare/encoders/preprocess.ts";
import type { PreprocessSpec } from "../../plugins/encoder-compare/encoders/spec.ts";

export function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export async function decodeGolden(file: string): Promise<RgbPixels> {
  const { data, info } = await sharp(file).removeAlpha().raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3, `${file}: expected RGB`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Mean and largest absolute difference of two equally long arrays. */
export function absDiff(a: ArrayLike<number>, b: ArrayLike<number>): { mean: number; max: number } {
  assert.equal(a.length, b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** A spec that leaves the pixels as they are (rescaled to 0…1): same size in and out, so nothing resamples. */
export function identitySpec(width: number, height: number, extra: Partial<PreprocessSpec> = {}): PreprocessSpec {
  return {
    resizeMode: "stretch",
    resizeTo: width,
    interpolation: "nearest",
    cropWidth: width,
    cropHeight: height,
    rescale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "NCHW",
    background: [255, 255, 255],
    ...extra,
  };
}
