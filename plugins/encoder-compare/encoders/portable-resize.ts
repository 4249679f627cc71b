// Resize and centre-crop entirely in TypeScript, for specs with `portableResize`: the build
// (after sharp decodes) and the browser widget (after the platform decodes) run this same code,
// so both hand the model identical pixels.
import { cropOffset, cropRgb, firstPassSize, handOff, resizedSize, type RgbPixels } from "./preprocess-core.ts";
import { resampleRgb } from "./resample.ts";
import type { PreprocessSpec, RGB } from "./spec.ts";

function resizeAndCrop(
  pixels: RgbPixels,
  spec: Pick<PreprocessSpec, "resizeMode" | "resizeTo" | "cropWidth" | "cropHeight" | "interpolation">,
  rounding: "floor" | "half-even",
): RgbPixels {
  const resized = resizedSize(pixels.width, pixels.height, spec);
  const full = resampleRgb(pixels, resized.width, resized.height, spec.interpolation);
  const left = cropOffset(resized.width, spec.cropWidth, rounding);
  const top = cropOffset(resized.height, spec.cropHeight, rounding);
  return cropRgb(full, left, top, spec.cropWidth, spec.cropHeight);
}

/** Decoded, flattened RGB at full size → the model's spatial input, as decodeForModel does it. */
export function portableGeometry(pixels: RgbPixels, spec: PreprocessSpec): RgbPixels {
  let source = pixels;
  if (spec.firstPass) {
    // The 2021 flows' first pass: Python-rounded sides, Lanczos, floor-offset square crop, then
    // the hand-off to the next executor (see FirstPass).
    const pass = spec.firstPass;
    const size = firstPassSize(source.width, source.height, pass);
    const full = resampleRgb(source, size.width, size.height, "lanczos3");
    const square = cropRgb(full, cropOffset(size.width, pass.crop, "floor"), cropOffset(size.height, pass.crop, "floor"), pass.crop, pass.crop);
    source = handOff(square, pass);
  }
  return resizeAndCrop(source, spec, spec.cropRounding ?? "floor");
}

/**
 * Straight (not premultiplied) RGBA → RGB composited onto `background`, rounded to nearest,
 * as libvips' flatten does for 8-bit images.
 */
export function flattenRgba(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, background: RGB): RgbPixels {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    const alpha = rgba[p + 3];
    for (let c = 0; c < 3; c++) {
      data[q + c] = alpha === 255 ? rgba[p + c] : Math.round((rgba[p + c] * alpha + background[c] * (255 - alpha)) / 255);
    }
  }
  return { width, height, data };
}
