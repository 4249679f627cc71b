// A build over a synthetic 100k-image store, in its own process so its peak RSS is its own:
//   prepare N   creates (once) a dataset folder of N small files and a store holding a 512-d
//               vector for each, plus one query image with its vector;
//   (default)   one engine, one query (indexBackend from BENCH_SCALE_BACKEND), then reports
//               the time of each step and peak RSS (VmHWM).
import fs from "node:fs";
import path from "node:path";
import { CompareEngine } from "../plugins/encoder-compare/engine/compare-engine.ts";
import { encoderKey } from "../plugins/encoder-compare/engine/encoder-identity.ts";
import { BUILTIN_ENCODERS, EncoderRegistry } from "../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../plugins/encoder-compare/encoders/spec.ts";
import { EmbeddingStore } from "../plugins/encoder-compare/store/embedding-store.ts";
import crypto from "node:crypto";
import { BENCH_CACHE, check, clusteredVectors, fmt, peakRssMb, report, ROOT } from "./lib/common.ts";

const N = Number(process.env.BENCH_SCALE_N ?? process.argv[3] ?? 100_000);
const DIM = 512;
const dir = path.join(BENCH_CACHE, `scale-${N}`);
const dataset = path.join(dir, "data");
const cacheDir = path.join(dir, "cache");
const queryFile = path.join(dir, "query.png");
const modelFile = path.join(dir, "synthetic-512.onnx");

/** Never run: every vector is in the store, so only its bytes (the store key) matter. */
const spec: EncoderSpec = {
  ...BUILTIN_ENCODERS[0],
  id: "synthetic-512",
  label: "synthetic 512-d vectors",
  source: { kind: "file", path: modelFile },
  dim: DIM,
};

/** A stand-in image file: the PNG signature (what the checked reader sniffs), then a unique text. Never decoded. */
function synthetic(name: string): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(`synthetic ${name}\n`)]);
}

function fileName(i: number): string {
  return `v${String(i).padStart(7, "0")}.png`;
}

if (process.argv[2] === "prepare") {
  // v2: files start with the PNG signature, since the dataset listing and the query check sniff content.
  const marker = path.join(dir, ".complete-v2");
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dataset, { recursive: true });
    fs.writeFileSync(modelFile, "synthetic encoder for the scale benchmark: never loaded\n");
    fs.writeFileSync(queryFile, synthetic("query image"));
    const vectors = clusteredVectors(N + 1, DIM, 2);
    const key = encoderKey(spec, crypto.createHash("sha256").update(fs.readFileSync(modelFile)).digest("hex"));
    const store = EmbeddingStore.open(path.join(cacheDir, "embeddings.sqlite"));
    const sha = (data: Buffer) => crypto.createHash("sha256").update(data).digest("hex");
    const batch: Array<[string, Float32Array]> = [];
    for (let i = 0; i <= N; i++) {
      const content = synthetic(i === N ? "query image" : `image ${i}`);
      if (i < N) fs.writeFileSync(path.join(dataset, fileName(i)), content);
      batch.push([sha(content), vectors.slice(i * DIM, (i + 1) * DIM)]);
      if (batch.length === 5000 || i === N) store.putVectors(key, batch.splice(0));
    }
    store.close();
    fs.writeFileSync(marker, "");
  }
  process.exit(0);
}

const backend = (process.env.BENCH_SCALE_BACKEND ?? "auto") as "auto" | "faiss" | "js" | "ann";
const engine = new CompareEngine({
  projectRoot: ROOT,
  cacheDir,
  registry: new EncoderRegistry([spec]),
  batchSize: 16,
  intraOpNumThreads: 0,
  limitInputPixels: 50_000_000,
  indexBackend: backend,
  modelsDir: path.join(dir, "models"),
  offline: true,
  strict: false,
  warn: (m) => process.stderr.write(`${m}\n`),
  info: () => {},
});
// Remembered results would answer without an index: forget them, this measures the index.
const db = (await import("better-sqlite3")).default(path.join(cacheDir, "embeddings.sqlite"));
db.exec("DELETE FROM query_results");
db.close();
engine.startBuild();
let started = performance.now();
const listed = engine.dataset(dataset);
const listMs = performance.now() - started;
started = performance.now();
const { index } = await engine.datasetIndex(spec.id, dataset);
const indexMs = performance.now() - started;
started = performance.now();
const result = await engine.query(spec.id, dataset, queryFile, { k: 10, includeSelf: false });
const queryMs = performance.now() - started;
const update = engine.build.indexUpdates[0];
await engine.close();
const rssMb = peakRssMb();
report([
  {
    goal: "3 scale",
    metric:
      `build over a ${N.toLocaleString("en-US")}-image store + 1 query, ` +
      `indexBackend "${backend}" → ${index.backend}${update?.fromCache ? " (graph from cache)" : ""}: peak RSS`,
    value: `${fmt(rssMb, 0)} MiB`,
    target: check(rssMb < 2048 && result.hits.length === 10 && listed.images.length === N, "< 2 GiB"),
    note: `dataset listing ${fmt(listMs, 0)} ms, index ${fmt(indexMs, 0)} ms, query ${fmt(queryMs, 1)} ms`,
  },
]);
