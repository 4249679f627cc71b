// What the build publishes for the "Try your own image" widget and the widget reads: one JSON
// index per encoder × dataset, its vectors as binary shards, the encoder's ONNX graph. Pure
// (no Node imports): the browser bundle imports it too.
import type { PreprocessSpec } from "../encoders/spec.ts";
import type { EncoderRun } from "../render/encoder-run.ts";
import type { WrittenImage } from "../render/result-images.ts";
import { floatToHalf, halfTable } from "../base/half-float.ts";

/** Bump when an index's fields change, so a cached index of another shape is published anew. */
export const TRYIT_FORMAT = 3;

export type VectorEncoding = "f16" | "i8";

export interface TryItImage {
  id: string;
  caption: string;
  group?: string;
  /** First 16 hex digits of the file's sha256: the widget leaves the reader's image out of its own results, as the build does. */
  sha: string;
  /** Tile-size thumbnail (and its 2× file) under urlBase, drawn into the results montage. */
  thumb: string;
  thumb2x: string;
  /** The full-size image under urlBase, which a result's caption links to, as in the build's table. */
  full: string;
}

export interface TryItIndex {
  format: typeof TRYIT_FORMAT;
  /** The encoder that ran (a stand-in when the requested model was not available). */
  encoder: { id: string; label: string; dim: number; inputName: string; outputName: string; preprocess: PreprocessSpec };
  /** Present when a stand-in ran: what ran and what it stands in for, worded by describeRun like the build's tables. */
  run?: EncoderRun;
  /** optIn: a downloaded model, fetched only when the reader asks for it after seeing its size. */
  /** weights "fp16": float16 weights cast to float32 in the graph (models/fp16-weights.ts). */
  graph: { file: string; bytes: number; optIn?: true; weights?: "fp16" };
  dataset: { name: string };
  /** Vectors, row-major in `images` order; scale only for "i8" (value = byte × scale). */
  vectors: { encoding: VectorEncoding; scale?: number; shards: Array<{ file: string; rows: number; bytes: number }> };
  images: TryItImage[];
  /** Where the files named here live, ending in "/". */
  urlBase: string;
  tileSize: number;
}

/** What the shortcode puts on the placeholder element (as JSON in data-tryit). */
export interface TryItConfig {
  indexes: string[];
  /** One sentence per encoder of the shortcode that the widget does not run (downloaded models). */
  skipped: string[];
  /** One sentence per encoder whose stand-in runs in the browser: why the model itself does not. */
  standIns: string[];
  /** The shortcode's expect= groups: results in them are marked ✓, as in the build's table. */
  expect?: string[];
  k: number;
  includeSelf: boolean;
  /** URLs of the widget bundle and of onnxruntime-web's WebAssembly file. */
  widget: string;
  wasm: string;
  /** Larger images are refused, as the build refuses them (the plugin's limitInputPixels). */
  limitInputPixels: number;
}

export type { WrittenImage };

export function encodeVectors(vectors: Float32Array, encoding: VectorEncoding): { bytes: Uint8Array; scale?: number } {
  if (encoding === "f16") {
    const out = new Uint16Array(vectors.length);
    for (let i = 0; i < vectors.length; i++) out[i] = floatToHalf(vectors[i]);
    return { bytes: new Uint8Array(out.buffer) };
  }
  let max = 0;
  for (const v of vectors) max = Math.max(max, Math.abs(v));
  const scale = max > 0 ? max / 127 : 1;
  const out = new Int8Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) out[i] = Math.round(vectors[i] / scale);
  return { bytes: new Uint8Array(out.buffer), scale };
}

/** Shard bytes (little-endian) → float32 values. */
export function decodeVectors(bytes: ArrayBuffer, encoding: VectorEncoding, scale = 1): Float32Array {
  if (encoding === "i8") return Float32Array.from(new Int8Array(bytes), (v) => v * scale);
  const halves = new Uint16Array(bytes);
  const table = halfTable();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]];
  return out;
}
