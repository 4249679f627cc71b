// An encoder's int8 graph from its verified fp32 graph: calibrated on a seeded sample of the
// author's dataset, cached under the models dir's derived/int8-v<version>/ keyed by the fp32
// graph's sha256, and measured against fp32 on a seeded sample of the same dataset (top-10
// overlap and cosine), so a page can say what int8 costs on its own data.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as Ort from "onnxruntime-node";
import { derivedGraphPath } from "./cache-layout.ts";
import { QUANTIZER_VERSION } from "./quantize-int8.ts";
import { cachedSha256 } from "./verified-sidecar.ts";
import { writeFileAtomicSync } from "../base/atomic-write.ts";
import { seededRandom } from "../base/seeded-random.ts";
import { imageToTensor } from "../encoders/preprocess.ts";
import { tensorShape } from "../encoders/preprocess-core.ts";
import { EncoderSession } from "../encoders/session.ts";
import type { EncoderSpec } from "../encoders/spec.ts";

export interface Int8Settings {
  /** Dataset images the convolutions' activation ranges are calibrated on. */
  calibrationImages: number;
  /** Dataset images searched when int8 is compared with fp32, and how many of them are queries. */
  agreementImages: number;
  agreementQueries: number;
  /** Neighbours compared per query. */
  agreementK: number;
  /** Seed of both samples. */
  seed: number;
  limitInputPixels: number;
  intraOpNumThreads: number;
}

export interface Int8Agreement {
  /** Mean over queries of |top-k(int8) ∩ top-k(fp32)| (0..k). */
  topKOverlap: number;
  k: number;
  queries: number;
  images: number;
  /** Mean cosine between an image's int8 and fp32 vectors. */
  meanCosine: number;
  minCosine: number;
}

export interface Int8Model {
  /** The int8 graph file. */
  model: string;
  /** sha256 of the int8 graph file. */
  sha256: string;
  agreement: Int8Agreement;
  /** Whether this call quantized (false: the cached graph was reused). */
  quantized: boolean;
}

/**
 * A seeded Fisher–Yates over the files in sha256 order: the same sample of the same files on every build. (A full
 * shuffle, not base's seededSample: the calibration and agreement samples that caches are keyed on stay as they were.)
 */
function sampleFiles<T extends { sha256: string }>(items: readonly T[], count: number, seed: number): T[] {
  const sorted = [...items].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  const random = seededRandom(seed);
  for (let i = sorted.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sorted[i], sorted[j]] = [sorted[j], sorted[i]];
  }
  return sorted.slice(0, Math.min(count, sorted.length));
}

async function tensors(spec: EncoderSpec, files: readonly string[], limitInputPixels: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const file of files) out.push(await imageToTensor(file, spec.preprocess, { limitInputPixels, shrinkOnLoad: true }));
  return out;
}

async function embedAll(session: EncoderSession, inputs: readonly Float32Array[]): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let i = 0; i < inputs.length; i += 8) vectors.push(...(await session.embedBatch(inputs.slice(i, i + 8))));
  return vectors;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function topK(vectors: readonly Float32Array[], query: number, k: number): number[] {
  return vectors
    .map((v, i) => [i, i === query ? -Infinity : dot(vectors[query], v)] as const)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, k)
    .map(([i]) => i);
}

/** Top-k overlap and cosine between two sets of unit vectors of the same images (queries are the first `queries`). */
export function measureAgreement(fp32: readonly Float32Array[], int8: readonly Float32Array[], queries: number, k: number): Int8Agreement {
  const q = Math.min(queries, fp32.length);
  const kk = Math.min(k, fp32.length - 1);
  let overlap = 0;
  for (let i = 0; i < q; i++) {
    const want = new Set(topK(fp32, i, kk));
    overlap += topK(int8, i, kk).filter((j) => want.has(j)).length;
  }
  const cosines = fp32.map((v, i) => dot(v, int8[i]));
  return {
    topKOverlap: q ? overlap / q : 0,
    k: kk,
    queries: q,
    images: fp32.length,
    meanCosine: cosines.reduce((a, b) => a + b, 0) / Math.max(1, cosines.length),
    minCosine: Math.min(...cosines),
  };
}

/** What a caption says about an int8 run, e.g. "int8: top-10 agreement 9.4/10 with fp32 on 50 sampled queries". */
export function describeAgreement(a: Int8Agreement): string {
  return `int8: top-${a.k} agreement ${a.topKOverlap.toFixed(1)}/${a.k} with fp32 on ${a.queries} sampled queries`;
}

/** Quantizes `fp32` into `file`, calibrating its convolutions on a seeded sample of `images`. */
async function quantizeTo(
  file: string,
  spec: EncoderSpec,
  fp32: { model: Uint8Array | string },
  images: ReadonlyArray<{ file: string; sha256: string }>,
  settings: Int8Settings,
): Promise<void> {
  const calibration = sampleFiles(images, settings.calibrationImages, settings.seed);
  const inputs = await tensors(spec, calibration.map((i) => i.file), settings.limitInputPixels);
  const ort: typeof Ort = await import("onnxruntime-node");
  const { quantizeInt8 } = await import("./quantize-int8.ts");
  const bytes = typeof fp32.model === "string" ? new Uint8Array(fs.readFileSync(fp32.model)) : fp32.model;
  const { model } = await quantizeInt8(bytes, async (graph, outputs) => {
    // The fp32 graph with every conv's input and output as outputs: activation ranges.
    const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: settings.intraOpNumThreads || os.availableParallelism() });
    try {
      const results: Array<Map<string, Float32Array>> = [];
      for (const input of inputs) {
        const run = await session.run({ [spec.inputName]: new ort.Tensor("float32", input, tensorShape(spec.preprocess, 1)) }, outputs);
        results.push(new Map(outputs.map((o) => [o, run[o].data as Float32Array])));
      }
      return results;
    } finally {
      await session.release();
    }
  }).catch((error: unknown) => {
    throw new Error(`encoder "${spec.id}": cannot quantize its model to int8 (${(error as Error).message})`, { cause: error });
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, model);
}

/**
 * The int8 graph for `fp32` (bytes or file, with its sha256) and its agreement with fp32 on
 * `images` (the author's dataset). The graph is made once per fp32 graph and quantizer version;
 * the agreement once per graph and sample.
 */
export async function prepareInt8(
  spec: EncoderSpec,
  fp32: { model: Uint8Array | string; sha256: string },
  images: ReadonlyArray<{ file: string; sha256: string }>,
  modelsDir: string,
  settings: Int8Settings,
): Promise<Int8Model> {
  if (images.length < 2) throw new Error(`encoder "${spec.id}": int8 needs a dataset of at least 2 images to calibrate and measure on`);
  const file = derivedGraphPath(modelsDir, "int8", QUANTIZER_VERSION, fp32.sha256);
  const quantized = !fs.existsSync(file);
  if (quantized) await quantizeTo(file, spec, fp32, images, settings);
  // Remembered beside the graph (verified-sidecar.ts) by size and mtime: a warm build does not re-read ~100 MB.
  const { sha256 } = await cachedSha256(file, fs.statSync(file), false);
  const sample = sampleFiles(images, settings.agreementImages, settings.seed + 1);
  const sampleKey = crypto.createHash("sha256").update(sample.map((i) => i.sha256).join("\n")).digest("hex").slice(0, 16);
  const record = file.replace(/\.onnx$/, `.agreement-${sampleKey}-q${settings.agreementQueries}-k${settings.agreementK}.json`);
  let agreement: Int8Agreement | undefined;
  try {
    const known = JSON.parse(fs.readFileSync(record, "utf8")) as { sha256?: string; agreement?: Int8Agreement };
    if (known.sha256 === sha256) agreement = known.agreement;
  } catch {
    // Not measured yet for this sample.
  }
  if (!agreement) {
    const inputs = await tensors(spec, sample.map((i) => i.file), settings.limitInputPixels);
    // Sessions only here: a build that finds both the graph and its agreement cached starts no onnxruntime for them.
    const embedWith = async (model: Uint8Array | string) => {
      const session = await EncoderSession.create(spec, model, { intraOpNumThreads: settings.intraOpNumThreads });
      try {
        return await embedAll(session, inputs);
      } finally {
        await session.release();
      }
    };
    agreement = measureAgreement(await embedWith(fp32.model), await embedWith(file), settings.agreementQueries, settings.agreementK);
    writeFileAtomicSync(record, JSON.stringify({ sha256, agreement }, null, 2) + "\n");
  }
  return { model: file, sha256, agreement, quantized };
}
