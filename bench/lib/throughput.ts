// Encoder throughput for the benchmarks: onnxruntime alone on pre-made tensors, and the engine's
// whole path (list + hash → decode/resize → tensor → onnxruntime → store → index) on an empty
// cache, at the same batch size and thread count.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import { BUILTIN_ENCODERS, EncoderRegistry } from "../../plugins/encoder-compare/encoders/registry.ts";
import { EncoderSession } from "../../plugins/encoder-compare/encoders/session.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { resolveModel } from "../../plugins/encoder-compare/models/resolve.ts";
import { BENCH_CACHE, gaussian, log, ROOT, seededRandom } from "./common.ts";

export interface Config {
  batchSize: number;
  threads: number;
  prefetchBatches: number;
  decodeConcurrency: number;
  allowSpinning?: boolean;
}

export const label = (c: Config) =>
  `batch ${c.batchSize}, ${c.threads} ort thread${c.threads > 1 ? "s" : ""}, prefetch ${c.prefetchBatches}, ` +
  `decode ×${c.decodeConcurrency}${c.allowSpinning === false ? ", no spin" : ""}`;

async function modelOf(spec: EncoderSpec): Promise<Uint8Array | string> {
  return (await resolveModel(spec, { projectRoot: ROOT, modelsDir: path.join(BENCH_CACHE, "models"), offline: true })).model;
}

/** onnxruntime alone: `count` random input tensors, run in batches, after one warm-up batch. */
export async function ortImagesPerSecond(spec: EncoderSpec, config: Config, count: number): Promise<number> {
  const session = await EncoderSession.create(spec, await modelOf(spec), { intraOpNumThreads: config.threads, allowSpinning: config.allowSpinning });
  const random = seededRandom(5);
  const size = 3 * spec.preprocess.cropWidth * spec.preprocess.cropHeight;
  const tensors = Array.from({ length: Math.min(count, 64) }, () => Float32Array.from({ length: size }, () => gaussian(random)));
  const batch = (start: number, n: number) => Array.from({ length: n }, (_, i) => tensors[(start + i) % tensors.length]);
  await session.embedBatch(batch(0, config.batchSize));
  const started = performance.now();
  for (let done = 0; done < count; done += config.batchSize) await session.embedBatch(batch(done, Math.min(config.batchSize, count - done)));
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return count / seconds;
}

export interface PipelineRun {
  imagesPerSecond: number;
  seconds: number;
}

/**
 * The engine's whole path on an empty cache, one encoder after another over the same images
 * (a cold build): images/s per encoder and seconds in all. Session creation and warm-up stay
 * outside the timing.
 */
export async function coldEmbed(specs: readonly EncoderSpec[], config: Config, imageDir: string, images: readonly string[]): Promise<PipelineRun[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ec-bench-encode-"));
  const dataset = path.join(work, "data");
  fs.mkdirSync(dataset);
  for (const file of images) fs.symlinkSync(path.join(imageDir, file), path.join(dataset, path.basename(file)));
  const engine = new CompareEngine({
    projectRoot: ROOT,
    cacheDir: path.join(work, "cache"),
    registry: new EncoderRegistry([...BUILTIN_ENCODERS, ...specs]),
    batchSize: config.batchSize,
    intraOpNumThreads: config.threads,
    prefetchBatches: config.prefetchBatches,
    decodeConcurrency: config.decodeConcurrency,
    limitInputPixels: 50_000_000,
    indexBackend: "js",
    modelsDir: path.join(BENCH_CACHE, "models"),
    offline: true,
    strict: false,
    warn: (m) => log(m),
    info: () => {},
  });
  try {
    const runs: PipelineRun[] = [];
    for (const spec of specs) {
      await engine.encoder(spec.id);
      engine.startBuild();
      const started = performance.now();
      const { index } = await engine.datasetIndex(spec.id, dataset);
      const seconds = (performance.now() - started) / 1000;
      if (index.size !== images.length) throw new Error(`${spec.id}: indexed ${index.size} of ${images.length} images`);
      runs.push({ imagesPerSecond: images.length / seconds, seconds });
    }
    return runs;
  } finally {
    await engine.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The whole path for one encoder on an empty cache: images/s. */
export async function pipelineImagesPerSecond(spec: EncoderSpec, config: Config, imageDir: string, images: readonly string[]): Promise<number> {
  const [run] = await coldEmbed([spec], config, imageDir, images);
  return run.imagesPerSecond;
}
