// Models for the benchmarks: a full-size ResNetV2-50x1 (BiT) graph converted from random
// weights (throughput does not depend on weight values), cached under .cache/bench/models; and
// graphs exported with torch: a ViT-B/32 vision tower (CLIP-sized) and a BatchNorm ResNet-50.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BIT_INPUT_NAME,
  BIT_OUTPUT_NAME,
  bitTensorShapes,
  convertBitTensors,
  RESNETV2_50X1_BIT_LAYOUT,
} from "../../plugins/encoder-compare/models/convert-bit.ts";
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
  return {
    ...bit,
    id: "bit-random",
    label: "ResNetV2-50x1 (random weights)",
    source: { kind: "file", path: modelFile },
    inputName: BIT_INPUT_NAME,
    outputName: BIT_OUTPUT_NAME,
    standIn: undefined,
  };
}

const TORCH_PYTHON = "/usr/bin/python3";
const EXPORT_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/export_graphs.py");
const TORCH_GRAPHS = { "vit-b32": "vit-b32-random-v1.onnx", resnet50: "resnet50-bn-random-v1.onnx" } as const;

/**
 * A random-weight graph exported with Debian's python3-torch (bench/fixtures/export_graphs.py),
 * once, cached under .cache/bench/models: its path, or why it cannot be had here.
 */
export function ensureTorchGraph(kind: keyof typeof TORCH_GRAPHS): { file: string } | { skipped: string } {
  const file = path.join(BENCH_CACHE, "models", TORCH_GRAPHS[kind]);
  if (fs.existsSync(file)) return { file };
  const probe = spawnSync(TORCH_PYTHON, ["-c", "import torch, onnx"], { encoding: "utf8" });
  if (probe.status !== 0) {
    return { skipped: `python3-torch and python3-onnx are not installed for ${TORCH_PYTHON} (apt-get install python3-torch python3-onnx)` };
  }
  log(`exporting a random-weight ${kind} graph with torch (once) …`);
  const run = spawnSync(TORCH_PYTHON, [EXPORT_SCRIPT, path.dirname(file), kind], { encoding: "utf8" });
  if (run.status !== 0 || !fs.existsSync(file)) {
    return { skipped: `exporting ${kind} with torch failed: ${(run.stderr || run.stdout).trim().split("\n").at(-1)}` };
  }
  return { file };
}

/** The CLIP ViT-B/32 spec (its real preprocessing) over a random-weight graph with the pinned file's tensor names. */
export function vitBenchSpec(modelFile: string): EncoderSpec {
  const clip = MODEL_ENCODERS.find((e) => e.id === "clip-vit-b32")!;
  return { ...clip, id: "vit-b32-random", label: "ViT-B/32 (random weights)", source: { kind: "file", path: modelFile }, standIn: undefined };
}

/** A BatchNorm ResNet-50 with BiT's preprocessing and output (2048-d pooled features): the yardstick for the BiT graph. */
export function resnet50BenchSpec(modelFile: string): EncoderSpec {
  return { ...bitBenchSpec(modelFile), id: "resnet50-bn-random", label: "ResNet-50, BatchNorm (random weights)" };
}
