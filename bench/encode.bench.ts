// Goal 1 — encoding pipeline efficiency: images/s of the whole path (list + hash files → sharp
// decode/resize → tensor → onnxruntime → SQLite store → index, i.e. CompareEngine.datasetIndex
// on an empty cache) against onnxruntime alone on pre-made tensors of the same batch size and
// thread count. Encoders: `pixels` (tiny graph; decode-bound) and a full-size ResNetV2-50x1
// (BiT architecture, random weights). Run alone: node --import tsx bench/encode.bench.ts
import os from "node:os";
import path from "node:path";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";
import { imageToTensor } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { BUILTIN_ENCODERS } from "../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../plugins/encoder-compare/encoders/spec.ts";
import { BENCH_CACHE, check, fmt, log, QUICK, report, type Row } from "./lib/common.ts";
import { ensureImageSet } from "./lib/images.ts";
import { bitBenchSpec, ensureBitModel } from "./lib/models.ts";
import { label, ortImagesPerSecond, pipelineImagesPerSecond, type Config } from "./lib/throughput.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

const photosDir = path.join(BENCH_CACHE, "photos-480x360");
const files = await ensureImageSet(photosDir, { count: 256, width: 480, height: 360, format: "jpeg", seed: 3 });
const ortAlone = (spec: EncoderSpec, config: Config, count: number) => ortImagesPerSecond(spec, config, count);
const pipeline = (spec: EncoderSpec, config: Config, count: number) => pipelineImagesPerSecond(spec, config, photosDir, files.slice(0, count));

/** Decoding alone (sharp + tensor conversion), same concurrency: the other ceiling. */
async function decodeAlone(spec: EncoderSpec, concurrency: number, count: number): Promise<number> {
  const queue = files.slice(0, count).map((f) => path.join(photosDir, f));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let file = queue.shift(); file; file = queue.shift()) await imageToTensor(file, spec.preprocess, DECODE);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

const rows: Row[] = [];
const cores = os.availableParallelism();
const bit = bitBenchSpec(ensureBitModel());
const pixels = BUILTIN_ENCODERS.find((e) => e.id === "pixels")!;

const { batchSize, prefetchBatches } = DEFAULTS.embedding;
const defaults: Config = { batchSize, threads: cores, prefetchBatches, decodeConcurrency: cores };
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
rows.push({
  goal: "1 encode",
  metric: `ResNetV2-50 preprocessing alone (480×360 JPEG → 224² tensor, ×${cores})`,
  value: `${fmt(await decodeAlone(bit, cores, 96))} img/s`,
});

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
