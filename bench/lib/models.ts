// Models for the benchmarks: a full-size ResNetV2-50x1 (BiT) graph converted from random
// weights (throughput does not depend on weight values), cached under .cache/bench/models.
import fs from "node:fs";
import path from "node:path";
import { BIT_INPUT_NAME, BIT_OUTPUT_NAME, bitTensorShapes, convertBitTensors, RESNETV2_50X1_BIT_LAYOUT } from "../../plugins/encoder-compare/models/convert-bit.ts";
import type { FloatTensor } from "../../plugins/encoder-compare/models/safetensors.ts";
import { MODEL_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { BENCH_CACHE, ensureDir, gaussian, log, seededRandom } from "./common.ts";

/** Path of the random-weight ResNetV2-50x1 ONNX graph (built on first use, ~100 MB). */
export function ensureBitModel(): string {
  const file = path.join(BENCH_CACHE, "models", "bit-r50x1-random-v2.onnx");
  if (fs.existsSync(file)) return file;
  ensureDir(path.dirname(file));
  log("converting a random-weight ResNetV2-50x1 to ONNX (once) …");
  const random = seededRandom(7);
  const tensors = new Map<string, FloatTensor>();
  const layout = { ...RESNETV2_50X1_BIT_LAYOUT, headClasses: undefined };
  for (const [name, shape] of bitTensorShapes(layout)) {
    const count = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    const isNormWeight = /norm\d?\.weight$|^norm\.weight$/.test(name);
    for (let i = 0; i < count; i++) data[i] = isNormWeight ? 1 : name.endsWith(".bias") ? 0 : 0.05 * gaussian(random);
    tensors.set(name, { shape, data });
  }
  const bytes = convertBitTensors(tensors);
  fs.writeFileSync(`${file}.tmp`, bytes);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** The BiT-M R50x1 spec (its real preprocessing: 256 shortest edge, 224 crop) over the random graph. */
export function bitBenchSpec(modelFile: string): EncoderSpec {
  const bit = MODEL_ENCODERS.find((e) => e.id === "bit-m-r50x1")!;
  return { ...bit, id: "bit-random", label: "ResNetV2-50x1 (random weights)", source: { kind: "file", path: modelFile }, inputName: BIT_INPUT_NAME, outputName: BIT_OUTPUT_NAME, standIn: undefined };
}
