// Image file → model input tensor, following an encoder's PreprocessSpec. This is the one
// place that decides how pixels reach a model, for the built-in graphs and the real ones.
import sharp, { type Sharp } from "sharp";
import type { Interpolation, PreprocessSpec } from "./spec.ts";

/** Refuse images above this many pixels unless the caller says otherwise (decompression bombs). */
export const DEFAULT_LIMIT_INPUT_PIXELS = 50_000_000;

const SHARP_KERNEL: Record<Interpolation, "nearest" | "linear" | "cubic" | "lanczos3"> = {
  nearest: "nearest",
  bilinear: "linear",
  bicubic: "cubic",
  lanczos3: "lanczos3",
};

export interface DecodeOptions {
  limitInputPixels?: number;
}

/** Resized RGB pixels before normalisation, interleaved HWC, 0..255. */
export interface RgbPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Size after the resize step, before cropping (integer truncation, as PIL/HF/torchvision do). */
export function resizedSize(width: number, height: number, spec: PreprocessSpec): { width: number; height: number } {
  if (spec.resizeMode === "stretch") return { width: spec.cropWidth, height: spec.cropHeight };
  const short = Math.min(width, height);
  const scale = spec.resizeTo / short;
  return width <= height
    ? { width: spec.resizeTo, height: Math.max(spec.resizeTo, Math.floor(height * scale)) }
    : { width: Math.max(spec.resizeTo, Math.floor(width * scale)), height: spec.resizeTo };
}

/** Decode, orient, composite alpha, resize and centre-crop: the geometric half of preprocessing. */
export async function decodeForModel(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions = {}): Promise<RgbPixels> {
  const limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  // pages: 1 = first frame of an animation; failOn "error" still accepts slightly truncated files
  // the way browsers show them, but refuses data that is not an image.
  let image = sharp(input, { limitInputPixels, pages: 1, failOn: "error" }).rotate();
  if (spec.preResize) image = await squareThumbnail(image, spec);
  const meta = await image.metadata();
  const oriented = (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : meta;
  if (!oriented.width || !oriented.height) throw new Error("image has no dimensions");
  const resized = resizedSize(oriented.width, oriented.height, spec);
  const left = Math.floor((resized.width - spec.cropWidth) / 2);
  const top = Math.floor((resized.height - spec.cropHeight) / 2);
  const [r, g, b] = spec.background;
  let pipeline = image
    .flatten({ background: { r, g, b } })
    .toColourspace("srgb")
    .resize(resized.width, resized.height, { fit: "fill", kernel: SHARP_KERNEL[spec.interpolation] });
  if (left !== 0 || top !== 0 || resized.width !== spec.cropWidth || resized.height !== spec.cropHeight) {
    pipeline = pipeline.extract({ left, top, width: spec.cropWidth, height: spec.cropHeight });
  }
  const { data, info } = await pipeline.removeAlpha().raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The 2021 preset's first pass: a raw preResize×preResize RGB image as a new sharp input. */
async function squareThumbnail(image: Sharp, spec: PreprocessSpec): Promise<Sharp> {
  const size = spec.preResize!;
  const [r, g, b] = spec.background;
  const { data, info } = await image
    .flatten({ background: { r, g, b } })
    .toColourspace("srgb")
    .resize(size, size, { fit: "cover", position: "centre", kernel: SHARP_KERNEL[spec.interpolation] })
    .removeAlpha()
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true });
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels as 3 } });
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

export async function imageToTensor(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions = {}): Promise<Float32Array> {
  return pixelsToTensor(await decodeForModel(input, spec, options), spec);
}

export function tensorShape(spec: PreprocessSpec, batch: number): number[] {
  return spec.layout === "NCHW"
    ? [batch, 3, spec.cropHeight, spec.cropWidth]
    : [batch, spec.cropHeight, spec.cropWidth, 3];
}
