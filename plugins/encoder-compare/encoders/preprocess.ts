// Image file → model input tensor, following an encoder's PreprocessSpec. This is the one
// place that decides how pixels reach a model, for the built-in graphs and the real ones.
import fs from "node:fs";
import type { Sharp } from "sharp";
import { resampleRgbWindow, sourceSpan } from "./resample.ts";
import { pillowSource, rawResult, readRgb, type PixelSource, type Region } from "./preprocess-pil.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { decodeWithinLimit } from "../base/pixel-limit.ts";
import { readCheckedSync, readHeadChecked, sniffImageType } from "../base/safe-read.ts";
import type { Interpolation, PreprocessSpec } from "./spec.ts";
import { cropOffset, firstPassSize, handOff, pixelsToTensor, resizedSize, type Geometry, type RgbPixels } from "./preprocess-core.ts";

export { cropOffset, pixelsToTensor, resizedSize, tensorShape, type RgbPixels } from "./preprocess-core.ts";

type SharpFactory = (typeof import("sharp"))["default"];
let sharpLoaded: SharpFactory | undefined;

/** sharp, loaded on first use: a build whose vectors are all cached never decodes an image. */
async function loadSharp(): Promise<SharpFactory> {
  return (sharpLoaded ??= (await import("sharp")).default);
}

const SHARP_KERNEL: Record<Interpolation, "nearest" | "linear" | "cubic" | "lanczos3"> = {
  nearest: "nearest",
  bilinear: "linear",
  bicubic: "cubic",
  lanczos3: "lanczos3",
};

export interface DecodeOptions {
  /** Images with more pixels are refused (the plugin's embedding.limitInputPixels, which the engine passes). */
  limitInputPixels: number;
  /** Most pixels one buffer of the preprocessing may hold (default DEFAULTS.images.maxWorkPixels, which says why). */
  maxWorkPixels?: number;
  /** The file bytes came from, for messages (a path input names itself). */
  file?: string;
  /**
   * Let libvips shrink a large image before a portable resize (see shrinkOnLoadSize): for dataset
   * images, embedded in bulk. Off for query images, whose vectors the browser widget must reproduce exactly.
   */
  shrinkOnLoad?: boolean;
}

/** A decoded image for resizeAndCrop: a region reader, and the libvips pipeline when shrinking there is allowed. */
interface ResizeInput extends PixelSource {
  /** Absent: every resize goes through the TypeScript resampler. */
  image?: Sharp;
}

function sharpInput(image: Sharp, width: number, height: number): ResizeInput {
  return {
    image,
    width,
    height,
    read: (region?: Region) => readRgb(image, region),
  };
}

/** Sources with more pixels than this may be shrunk by libvips before a portable resize (see shrinkOnLoadSize). */
export const SHRINK_ON_LOAD_ABOVE_PIXELS = 1_000_000;
/** How many times the resize target, per axis, a shrink on load leaves for the exact resampler (at least 2). */
export const SHRINK_ON_LOAD_MARGIN = 8;

/**
 * The size libvips may shrink a large image to before a portable resize: each axis to
 * SHRINK_ON_LOAD_MARGIN times its resized size, when that is smaller. Undefined (decode
 * whole) for images up to SHRINK_ON_LOAD_ABOVE_PIXELS, when an axis is enlarged, and past
 * the work limit. A whole decode of a 2400×1800 JPEG and a resize in TypeScript cost about
 * 3.5× the CPU of the shrink on load; the fraction of a level the shrink changes is measured
 * against the whole decode in test/preprocess-shrink.test.ts.
 */
export function shrinkOnLoadSize(
  width: number,
  height: number,
  resized: { width: number; height: number },
  maxWorkPixels = DEFAULTS.images.maxWorkPixels,
): { width: number; height: number } | undefined {
  if (width * height <= SHRINK_ON_LOAD_ABOVE_PIXELS || resized.width > width || resized.height > height) return undefined;
  const shrunk = { width: Math.min(width, resized.width * SHRINK_ON_LOAD_MARGIN), height: Math.min(height, resized.height * SHRINK_ON_LOAD_MARGIN) };
  if (shrunk.width === width && shrunk.height === height) return undefined;
  return shrunk.width * shrunk.height <= maxWorkPixels ? shrunk : undefined;
}

/**
 * Resizes and centre-crops. Shrinking runs in libvips (fast on large photos, within a level or
 * two of PIL); any enlarged axis, and every resize of a `portableResize` spec, goes through
 * resampleRgbWindow, which samples like PIL and only computes the crop window, reading only the
 * input region that window depends on.
 */
async function resizeAndCrop(
  input: ResizeInput,
  g: Geometry,
  maxWorkPixels: number,
  shrinkOnLoad: boolean,
  resized = g.resizeMode === "stretch" ? { width: g.cropWidth, height: g.cropHeight } : resizedSize(input.width, input.height, g),
): Promise<RgbPixels> {
  const { width, height, image } = input;
  const left = cropOffset(resized.width, g.cropWidth, g.cropRounding);
  const top = cropOffset(resized.height, g.cropHeight, g.cropRounding);
  if (!image || g.portableResize || resized.width > width || resized.height > height) {
    const window = { left, top, width: g.cropWidth, height: g.cropHeight };
    const shrunk = image && shrinkOnLoad && shrinkOnLoadSize(width, height, resized, maxWorkPixels);
    if (shrunk) {
      // libvips decodes at a fraction of the size (JPEG DCT scaling) and reduces to `shrunk`,
      // several times the resize target; the exact resampler then does the final step from there.
      const { data, info } = await image.resize(shrunk.width, shrunk.height, { fit: "fill", kernel: "lanczos3", fastShrinkOnLoad: true })
        .raw({ depth: "uchar" })
        .toBuffer({ resolveWithObject: true });
      return resampleRgbWindow(rawResult(data, info), { x: 0, y: 0 }, shrunk, resized, window, g.interpolation);
    }
    const cols = sourceSpan(width, resized.width, g.interpolation, left, g.cropWidth);
    const rows = sourceSpan(height, resized.height, g.interpolation, top, g.cropHeight);
    const region = { left: cols.first, top: rows.first, width: cols.end - cols.first, height: rows.end - rows.first };
    const work = Math.max(region.width * region.height, g.cropWidth * g.cropHeight);
    if (work > maxWorkPixels) {
      throw new Error(
        `image is ${width}×${height}; preparing it needs ${work} pixels in one buffer, over the ${maxWorkPixels} limit (aspect ratio too extreme)`,
      );
    }
    const whole = region.width === width && region.height === height;
    const pixels = await input.read(whole ? undefined : region);
    return resampleRgbWindow(pixels, { x: region.left, y: region.top }, { width, height }, resized, window, g.interpolation);
  }
  let pipeline = image.resize(resized.width, resized.height, { fit: "fill", kernel: SHARP_KERNEL[g.interpolation], fastShrinkOnLoad: false });
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
 * What to hand sharp for an image file. Anything that is not a known raster format by its bytes
 * (an SVG, whatever its name) goes in as bytes: given a path, librsvg resolves references to
 * other files relative to it, and a dataset SVG has no business reading files.
 */
export function imageSource(file: string | Buffer): string | Buffer {
  if (typeof file !== "string") return file;
  const policy = { maxBytes: DEFAULTS.images.maxImageBytes };
  const { real, head } = readHeadChecked(fs.realpathSync(file), policy);
  const type = sniffImageType(head);
  return type && type !== "svg" ? real : readCheckedSync(real, policy);
}

/** The image decoded as the spec says (see PreprocessSpec["decoding"]), full size, not yet resized. */
async function decodeSource(sharp: SharpFactory, input: string | Buffer, spec: PreprocessSpec, limitInputPixels: number): Promise<ResizeInput> {
  // pages: 1 = first frame of an animation; failOn "error" still accepts slightly truncated files
  // the way browsers show them, but refuses data that is not an image.
  const source = imageSource(input);
  if (spec.decoding === "pillow-2021") {
    const open = () => sharp(source, { limitInputPixels, pages: 1, failOn: "error", ignoreIcc: true });
    return pillowSource(open, () => (typeof source === "string" ? readCheckedSync(source, { maxBytes: DEFAULTS.images.maxImageBytes }) : source));
  }
  const image = sharp(source, { limitInputPixels, pages: 1, failOn: "error" }).rotate();
  const meta = await image.metadata();
  const width = (meta.orientation ?? 1) >= 5 ? meta.height : meta.width;
  const height = (meta.orientation ?? 1) >= 5 ? meta.width : meta.height;
  if (!width || !height) throw new Error("image has no dimensions");
  const [r, g, b] = spec.background;
  return sharpInput(image.flatten({ background: { r, g, b } }).toColourspace("srgb").removeAlpha(), width, height);
}

/** Decode, resize and centre-crop: the geometric half of preprocessing. An image over the pixel limit is a PixelLimitError. */
export async function decodeForModel(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions): Promise<RgbPixels> {
  const file = typeof input === "string" ? input : (options.file ?? "an image given as bytes");
  return decodeWithinLimit(file, options.limitInputPixels, () => decodeAndResize(input, spec, options));
}

async function decodeAndResize(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions): Promise<RgbPixels> {
  const maxWorkPixels = options.maxWorkPixels ?? DEFAULTS.images.maxWorkPixels;
  const shrink = options.shrinkOnLoad ?? false;
  const sharp = await loadSharp();
  let source = await decodeSource(sharp, input, spec, options.limitInputPixels);
  // Pillow-decoded pixels are read region by region in TypeScript: no libvips resize touches them.
  const portableResize = spec.portableResize || spec.decoding === "pillow-2021";
  const cropRounding = spec.cropRounding ?? "floor";
  if (spec.firstPass) {
    const pass = spec.firstPass;
    const geometry: Geometry = {
      resizeMode: "shortest-edge",
      resizeTo: pass.resizeTo,
      cropWidth: pass.crop,
      cropHeight: pass.crop,
      interpolation: "lanczos3",
      cropRounding: "floor",
      portableResize,
    };
    const square = await resizeAndCrop(source, geometry, maxWorkPixels, shrink, firstPassSize(source.width, source.height, pass));
    source = sharpInput(rawInput(sharp, handOff(square, pass)), pass.crop, pass.crop);
  }
  return resizeAndCrop(source, { ...spec, cropRounding, portableResize }, maxWorkPixels, shrink);
}

export async function imageToTensor(input: string | Buffer, spec: PreprocessSpec, options: DecodeOptions): Promise<Float32Array> {
  return pixelsToTensor(await decodeForModel(input, spec, options), spec);
}

