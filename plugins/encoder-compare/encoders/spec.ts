// What an encoder is, as data: where its ONNX graph comes from, how to turn an image into
// its input tensor, and which output to read. Adding an encoder means adding one of these.

export type RGB = readonly [number, number, number];

export type Interpolation = "nearest" | "bilinear" | "bicubic" | "lanczos3";

export interface PreprocessSpec {
  /**
   * Optional first pass, before the resize below: a 2021 Jina Hub crafter and the hand-over of
   * its output to the encoder (see FirstPass). Only the 2021 presets use it.
   */
  firstPass?: FirstPass;
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
  /**
   * How the file becomes RGB. "standard" (default): EXIF orientation applied, embedded ICC
   * profile converted to sRGB, transparency composited onto `background`. "pillow-2021": as
   * Pillow's Image.open(src).convert("RGB") did for the 2021 flows: stored orientation, ICC
   * profile ignored, alpha dropped (the RGB stored under transparent pixels kept), CMYK by
   * Pillow's naive formula, 16-bit greyscale clipped to 0..255; formats Pillow 8 could not open
   * are refused. Every resize of such a spec runs in the TypeScript resampler.
   */
  decoding?: "standard" | "pillow-2021";
  /** Colour that transparent pixels are composited onto, 0..255 per channel ("standard" decoding). */
  background: RGB;
  /**
   * Every resize through the TypeScript resampler (resample.ts), shrinking included, instead of
   * libvips: slower on large photos, but the browser widget (browser/) reproduces it exactly.
   */
  portableResize?: boolean;
}

/**
 * What a 2021 Jina image crafter (ImageCrafter, Hub ImageNormalizer) did, and how its float
 * array reached the encoder. The crafter: shortest edge to `resizeTo` with PIL LANCZOS (both sides
 * Python-rounded, not truncated), centre crop `crop`×`crop` at int((side − crop) / 2), then
 * x = (p / 255 − mean) / std in float32, channels last.
 */
export interface FirstPass {
  resizeTo: number;
  crop: number;
  mean: RGB;
  std: RGB;
  /**
   * "float": the floats were the model's input (BigTransferEncoder); the spec's mean/std below
   *   restate the crafter's normalisation in the model's input convention.
   * "uint8": the encoder turned the floats back into an 8-bit image before its own preprocessing,
   *   as numpy's astype(uint8) does: truncated toward zero and wrapped modulo 256 (CLIPImageEncoder
   *   v1, July 2021: negative ImageNet-normalised values become 254, 255).
   * "uint8-rescaled": the same after multiplying by 255 in float32 (transformers' to_pil_image on a
   *   float array, CLIPImageEncoder of September 2021).
   */
  handoff: "float" | "uint8" | "uint8-rescaled";
}

export type ModelSource =
  /** A graph the project builds itself (no download). */
  | { kind: "builtin"; graph: string }
  /** A file on disk, absolute or relative to the project root. */
  | { kind: "file"; path: string }
  /**
   * A download; sha256/bytes pin it (when absent, the lock file pins it on first download, and
   * maxBytes, default 4 GiB, caps it).
   */
  | { kind: "url"; url: string; sha256?: string; bytes?: number; maxBytes?: number; fileName?: string }
  /** A graph converted from downloaded weights by one of the project's converters. */
  | { kind: "converted"; converter: string; weights: { url: string; sha256?: string; bytes?: number; maxBytes?: number; fileName?: string } };

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
  /**
   * "int8": the verified fp32 graph is quantized after download (dynamic int8 MatMuls, static int8
   * convolutions calibrated on the dataset) and measured against fp32 on it; its vectors are kept
   * apart from fp32's and its captions say int8 with the agreement. Default "fp32".
   */
  precision?: "fp32" | "int8";
  /** Images per onnxruntime run for this graph, where its cheapest batch per image differs (default: embedding.batchSize). */
  batchSize?: number;
}
