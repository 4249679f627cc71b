// Goal 1 — encoding pipeline efficiency: images/s of the whole path (list + hash files → sharp
// decode/resize → tensor → onnxruntime → SQLite store → index, i.e. CompareEngine.datasetIndex
// on an empty cache) against onnxruntime alone on pre-made tensors of the same batch size and
// thread count. Encoders: `pixels` (tiny graph; decode-bound) and a full-size ResNetV2-50x1
// (BiT architecture, random weights). Run alone: node --import tsx bench/encode.bench.ts
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CompareEngine } from "../plugins/encoder-compare/compare.ts";
import { imageToTensor } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS, EncoderRegistry } from "../plugins/encoder-compare/encoders/registry.ts";
import { EncoderSession } from "../plugins/encoder-compare/encoders/session.ts";
import type { EncoderSpec } from "../plugins/encoder-compare/encoders/spec.ts";
import { resolveModel } from "../plugins/encoder-compare/models/resolve.ts";
import { BENCH_CACHE, check, fmt, gaussian, log, QUICK, report, ROOT, seededRandom, type Row } from "./lib/common.ts";
import { ensureImageSet } from "./lib/images.ts";
import { bitBenchSpec, ensureBitModel } from "./lib/models.ts";

interface Config {
  batchSize: number;
  threads: number;
  prefetchBatches: number;
  decodeConcurrency: number;
  allowSpinning?: boolean;
}

const label = (c: Config) =>
  `batch ${c.batchSize}, ${c.threads} ort thread${c.threads > 1 ? "s" : ""}, prefetch ${c.prefetchBatches}, decode ×${c.decodeConcurrency}${c.allowSpinning === false ? ", no spin" : ""}`;

const photosDir = path.join(BENCH_CACHE, "photos-480x360");
const files = await ensureImageSet(photosDir, { count: 256, width: 480, height: 360, format: "jpeg", seed: 3 });

async function modelOf(spec: EncoderSpec): Promise<Uint8Array | string> {
  return (await resolveModel(spec, { projectRoot: ROOT, modelsDir: path.join(BENCH_CACHE, "models"), offline: true })).model;
}

/** onnxruntime alone: `count` random input tensors, run in batches, after one warm-up batch. */
async function ortAlone(spec: EncoderSpec, config: Config, count: number): Promise<number> {
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

/** The engine's whole path on an empty cache: `count` photos → vectors in the store → index. */
async function pipeline(spec: EncoderSpec, config: Config, count: number): Promise<number> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "ec-bench-encode-"));
  const dataset = path.join(work, "data");
  fs.mkdirSync(dataset);
  for (const file of files.slice(0, count)) fs.symlinkSync(path.join(photosDir, file), path.join(dataset, path.basename(file)));
  const engine = new CompareEngine({
    projectRoot: ROOT,
    cacheDir: path.join(work, "cache"),
    registry: new EncoderRegistry([...BUILTIN_ENCODERS, spec]),
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
    // Session creation is a one-off, outside both measurements; so is the warm-up.
    await engine.encoder(spec.id);
    engine.startBuild();
    const started = performance.now();
    const { index } = await engine.datasetIndex(spec.id, dataset);
    const seconds = (performance.now() - started) / 1000;
    if (index.size !== count) throw new Error(`indexed ${index.size} of ${count} images`);
    return count / seconds;
  } finally {
    await engine.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Decoding alone (sharp + tensor conversion), same concurrency: the other ceiling. */
async function decodeAlone(spec: EncoderSpec, concurrency: number, count: number): Promise<number> {
  const queue = files.slice(0, count).map((f) => path.join(photosDir, f));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) await imageToTensor(file, spec.preprocess);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const rows: Row[] = [];
const cores = os.availableParallelism();
const bit = bitBenchSpec(ensureBitModel());
const pixels = BUILTIN_ENCODERS.find((e) => e.id === "pixels")!;

const defaults: Config = { batchSize: 16, threads: cores, prefetchBatches: 2, decodeConcurrency: cores };
const bitConfigs: Config[] = QUICK
  ? [defaults]
  : [
      defaults,
      { ...defaults, batchSize: 1 },
      { ...defaults, batchSize: 8 },
      { ...defaults, batchSize: 32 },
      { ...defaults, prefetchBatches: 0 },
      { ...defaults, decodeConcurrency: 1 },
      { ...defaults, allowSpinning: false },
      { ...defaults, threads: 1, decodeConcurrency: 1 },
    ];
const bitCount = QUICK ? 48 : 96;
for (const config of bitConfigs) {
  log(`ResNetV2-50 ${label(config)} …`);
  const alone = await ortAlone(bit, config, bitCount);
  const whole = await pipeline(bit, config, bitCount);
  const ratio = whole / alone;
  rows.push({
    goal: "1 encode",
    metric: `ResNetV2-50 pipeline vs ort alone (${label(config)})`,
    value: `${fmt(whole)} / ${fmt(alone)} img/s = ${ratio.toFixed(2)}`,
    target: check(ratio >= 0.85, "≥ 0.85"),
  });
}
log("ResNetV2-50 decode alone …");
rows.push({ goal: "1 encode", metric: `ResNetV2-50 preprocessing alone (480×360 JPEG → 224² tensor, ×${cores})`, value: `${fmt(await decodeAlone(bit, cores, 96))} img/s` });

const pixelCount = QUICK ? 128 : 256;
for (const config of [defaults, { ...defaults, batchSize: 64 }]) {
  log(`pixels ${label(config)} …`);
  const alone = await ortAlone(pixels, config, 4096);
  const whole = await pipeline(pixels, config, pixelCount);
  const decode = await decodeAlone(pixels, config.decodeConcurrency, pixelCount);
  rows.push({
    goal: "1 encode",
    metric: `pixels pipeline vs ort alone (${label(config)})`,
    value: `${fmt(whole)} / ${fmt(alone)} img/s = ${(whole / alone).toFixed(2)}`,
    target: check(whole / alone >= 0.85, "≥ 0.85"),
    note: `decode-bound: decoding alone ${fmt(decode)} img/s, pipeline = ${(whole / decode).toFixed(2)}× that`,
  });
}
report(rows);
