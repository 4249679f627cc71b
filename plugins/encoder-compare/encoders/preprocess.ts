// Image file → model input tensor, following an encoder's PreprocessSpec. This is the one
// place that decides how pixels reach a model, for the built-in graphs and the real ones.
import fs from "node:fs";
import path from "node:path";
import type { OutputInfo, Sharp } from "sharp";
import { resampleRgb } from "./resample.ts";
import type { Interpolation, PreprocessSpec } from "./spec.ts";
import { cropOffset, cropRgb, pixelsToTensor, resizedSize, type Geometry, type RgbPixels } from "./preprocess-core.ts";

export { cropOffset, pixelsToTensor, resizedSize, tensorShape, type RgbPixels } from "./preprocess-core.ts";

type SharpFactory = (typeof import("sharp"))["default"];
let sharpLoaded: SharpFactory | undefined;

/** sharp, loaded on first use: a build whose vectors are all cached never decodes an image. */
async function loadSharp(): Promise<SharpFactory> {
  return (sharpLoaded ??= (await import("sharp")).default);
}

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

function rawResult(data: Buffer, info: OutputInfo): RgbPixels {
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/**
 * Resizes and centre-crops. Shrinking runs in libvips (fast on large photos, within a level or
 * two of PIL); any enlarged axis goes through resampleRgb, which samples like PIL.
 */
async function resizeAndCrop(source: Sharp, width: number, height: number, g: Geometry): Promise<RgbPixels> {
  const resized = g.resizeMode === "stretch" ? { width: g.cropWidth, height: g.cropHeight } : resizedSize(width, height, g);
  const left = cropOffset(resized.width, g.cropWidth, g.cropRounding);
  const top = cropOffset(resized.height, g.cropHeight, g.cropRounding);
  if (g.portableResize || resized.width > width || resized.height > height) {
    const { data, info } = await source.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    const full = resampleRgb(rawResult(data, info), resized.width, resized.height, g.interpolation);
    return cropRgb(full, left, top, g.cropWidth, g.cropHeight);
  }
  let pipeline = source.resize(resized.width, resized.height, { fit: "fill", kernel: SHARP_KERNEL[g.interpolation], fastShrinkOnLoad: false });
  if (left !== 0 || top !== 0 || resized.width !== g.cropWidth || resized.height !== g.cropHeight) {
    pipeline = pipeline.extract({ left, top, width: g.cropWidth, height: g.cropHeight });
  }
  const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  return rawResult(data, info);
}

function rawInput(sharp: SharpFactory, pixels: RgbPixels): Sharp {
  return sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } });
}

/**
 * What to hand sharp for an image file. SVGs go in as bytes: given a path, librsvg resolves
 * references to other files relative to it, and a dataset SVG has no business reading files.
 */
export function imageSource(file: string | Buffer): string | Buffer {
  return typeof file === "string" && path.extname(file).toLowerCase() === ".svg" ? fs.readFileSync(file) : file;
}

/** Decode, orient, composite alpha, resize and centre-crop: the geometric half of preprocessing. */
export async function decodeForModel(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions = {}): Promise<RgbPixels> {
  const limitInputPixels = options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS;
  // pages: 1 = first frame of an animation; failOn "error" still accepts slightly truncated files
  // the way browsers show them, but refuses data that is not an image.
  const sharp = await loadSharp();
  const image = sharp(imageSource(input), { limitInputPixels, pages: 1, failOn: "error" }).rotate();
  const meta = await image.metadata();
  let width = (meta.orientation ?? 1) >= 5 ? meta.height : meta.width;
  let height = (meta.orientation ?? 1) >= 5 ? meta.width : meta.height;
  if (!width || !height) throw new Error("image has no dimensions");
  const [r, g, b] = spec.background;
  let source = image.flatten({ background: { r, g, b } }).toColourspace("srgb").removeAlpha();
  const cropRounding = spec.cropRounding ?? "floor";
  if (spec.preResize) {
    const square = await resizeAndCrop(source, width, height, {
      resizeMode: "shortest-edge",
      resizeTo: spec.preResize,
      cropWidth: spec.preResize,
      cropHeight: spec.preResize,
      interpolation: spec.interpolation,
      // The 2021 flows' square pass is neither HF's nor torchvision's: floor, like most code.
      cropRounding: "floor",
      portableResize: spec.portableResize,
    });
    source = rawInput(sharp, square);
    width = height = spec.preResize;
  }
  return resizeAndCrop(source, width, height, { ...spec, cropRounding });
}

export async function imageToTensor(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions = {}): Promise<Float32Array> {
  return pixelsToTensor(await decodeForModel(input, spec, options), spec);
}

