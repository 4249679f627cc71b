// The pure half of preprocessing: geometry (resize size, centre-crop offsets, crop) and the
// pixels → tensor step. No Node or sharp imports: the same code runs in the build and in the
// browser bundle, so a reader's image is prepared exactly as the build prepares dataset images.
import type { FirstPass, Interpolation, PreprocessSpec } from "./spec.ts";

/** Resized RGB pixels before normalisation, interleaved HWC, 0..255. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Size after a 2021 crafter's resize: both sides scaled by resizeTo / shortest side, Python-rounded. */
export function firstPassSize(width: number, height: number, pass: Pick<FirstPass, "resizeTo">): { width: number; height: number } {
  const scale = pass.resizeTo / Math.min(width, height);
  return { width: roundHalfEven(width * scale), height: roundHalfEven(height * scale) };
}

/**
 * The crafter's float array as the next executor received it (see FirstPass["handoff"]), back
 * as 8-bit pixels; float32 arithmetic reproduced with Math.fround, step by step as numpy did it.
 */
export function handOff(pixels: RgbPixels, pass: FirstPass): RgbPixels {
  if (pass.handoff === "float") return pixels;
  const out = new Uint8Array(pixels.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = i % 3;
    let x = Math.fround(Math.fround(pixels.data[i] / 255) - pass.mean[c]);
    x = Math.fround(x / pass.std[c]);
    if (pass.handoff === "uint8-rescaled") x = Math.fround(x * 255);
    out[i] = ((Math.trunc(x) % 256) + 256) % 256;
  }
  return { width: pixels.width, height: pixels.height, data: out };
}

/** Size after the resize step, before cropping (integer truncation, as PIL/HF/torchvision do). */
export function resizedSize(
  width: number,
  height: number,
  spec: Pick<PreprocessSpec, "resizeMode" | "resizeTo" | "cropWidth" | "cropHeight">,
): { width: number; height: number } {
  if (spec.resizeMode === "stretch") return { width: spec.cropWidth, height: spec.cropHeight };
  const short = Math.min(width, height);
  const scale = spec.resizeTo / short;
  return width <= height
    ? { width: spec.resizeTo, height: Math.max(spec.resizeTo, Math.floor(height * scale)) }
    : { width: Math.max(spec.resizeTo, Math.floor(width * scale)), height: spec.resizeTo };
}

/** One resize-then-centre-crop step. */
export interface Geometry {
  resizeMode: PreprocessSpec["resizeMode"];
  resizeTo: number;
  cropWidth: number;
  cropHeight: number;
  interpolation: Interpolation;
  cropRounding: NonNullable<PreprocessSpec["cropRounding"]>;
  portableResize?: boolean;
}

/** Python's round(): halves to even, as torchvision's CenterCrop computes its offset. */
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function cropOffset(resized: number, crop: number, rounding: Geometry["cropRounding"]): number {
  return rounding === "half-even" ? roundHalfEven((resized - crop) / 2) : Math.floor((resized - crop) / 2);
}

export function cropRgb(pixels: RgbPixels, left: number, top: number, width: number, height: number): RgbPixels {
  if (left === 0 && top === 0 && width === pixels.width && height === pixels.height) return pixels;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * pixels.width + left) * 3;
    out.set(pixels.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data: out };
}

/** Rescale, normalise and lay out decoded pixels as one image's Float32 tensor (no batch dim). */
export function pixelsToTensor(pixels: RgbPixels, spec: PreprocessSpec): Float32Array {
  const { width, height, data } = pixels;
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const scale = [0, 1, 2].map((c) => spec.rescale / spec.std[c]);
  const offset = [0, 1, 2].map((c) => spec.mean[c] / spec.std[c]);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const value = data[p * 3 + c] * scale[c] - offset[c];
      if (spec.layout === "NCHW") out[c * plane + p] = value;
      else out[p * 3 + c] = value;
    }
  }
  return out;
}

export function tensorShape(spec: PreprocessSpec, batch: number): number[] {
  return spec.layout === "NCHW"
    ? [batch, 3, spec.cropHeight, spec.cropWidth]
    : [batch, spec.cropHeight, spec.cropWidth, 3];
}
