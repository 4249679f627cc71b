// What an encoder is, as data: where its ONNX graph comes from, how to turn an image into
// its input tensor, and which output to read. Adding an encoder means adding one of these.

export type RGB = readonly [number, number, number];

export type Interpolation = "nearest" | "bilinear" | "bicubic" | "lanczos3";

export interface PreprocessSpec {
  /**
   * Optional first pass: shortest edge to this size, centre crop to a square, before the resize
   * below. Only the "2021" preset uses it, to reproduce the original post's 96×96 inputs.
   */
  preResize?: number;
  /**
   * "shortest-edge": scale so the shorter side equals `resizeTo` (aspect kept), then crop.
   * "stretch": scale straight to cropWidth × cropHeight, aspect ignored, nothing cropped.
   */
  resizeMode: "shortest-edge" | "stretch";
  /** Target length of the shorter side for "shortest-edge"; ignored by "stretch". */
  resizeTo: number;
  interpolation: Interpolation;
  /**
   * How the centre crop's offset is rounded: "floor" ((size − crop) // 2, as Hugging Face image
   * processors do) or "half-even" (Python's round, as torchvision's CenterCrop does). Default floor.
   */
  cropRounding?: "floor" | "half-even";
  /** Size of the tensor's spatial dims (centre crop for "shortest-edge"). */
  cropWidth: number;
  cropHeight: number;
  /** Pixel values (0..255) are multiplied by this before mean/std, e.g. 1/255. */
  rescale: number;
  mean: RGB;
  std: RGB;
  layout: "NCHW" | "NHWC";
  /** Colour that transparent pixels are composited onto, 0..255 per channel. */
  background: RGB;
  /**
   * Every resize through the TypeScript resampler (resample.ts), shrinking included, instead of
   * libvips: slower on large photos, but the browser widget (browser/) reproduces it exactly.
   */
  portableResize?: boolean;
}

export type ModelSource =
  /** A graph the project builds itself (no download). */
  | { kind: "builtin"; graph: string }
  /** A file on disk, absolute or relative to the project root. */
  | { kind: "file"; path: string }
  /** A download; sha256/bytes pin it (when absent, the lock file pins it on first download). */
  | { kind: "url"; url: string; sha256?: string; bytes?: number; fileName?: string }
  /** A graph converted from downloaded weights by one of the project's converters. */
  | { kind: "converted"; converter: string; weights: { url: string; sha256?: string; bytes?: number; fileName?: string } };

export interface EncoderSpec {
  /** Stable id used in shortcodes and config, e.g. "pixels", "clip-vit-b32". */
  id: string;
  /** Human label shown in table headings. */
  label: string;
  source: ModelSource;
  /** Folder name of its files in the model cache; defaults to `id` (presets share their base model's). */
  modelId?: string;
  inputName: string;
  outputName: string;
  /** Length of the output vector. */
  dim: number;
  preprocess: PreprocessSpec;
  /** Licence and attribution of the model weights, shown in docs and the CLI. */
  license: string;
  /** One sentence on what the encoder measures, for readers of the page. */
  description?: string;
  /** Encoder used in place of this one when its model cannot be had (real models only). */
  standIn?: string;
}
