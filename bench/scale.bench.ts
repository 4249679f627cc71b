// Goal 3 — scale: 100,000 synthetic 512-d vectors (clustered like real embeddings).
//  - exact top-10: the TypeScript search (WebAssembly SIMD proposal pass + exact rescoring), the
//    pure-TS fallback (no wasm), faiss IndexFlatIP; index build times;
//  - ANN: faiss "HNSW32,Flat" (inner product), candidates (= efSearch) tuned, recall@10 against
//    the exact search, determinism of the graph;
//  - peak RSS of a build over a 100k-image store answering one query, per backend (child
//    processes, bench/scale-child.ts).
// Run alone: node --expose-gc --import tsx bench/scale.bench.ts
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { exactSearch } from "../plugins/encoder-compare/search/exact.ts";
import { addVectors, createFlatInnerProductIndex, flatIndexFromVectors } from "../plugins/encoder-compare/search/faiss.ts";
import { faissStatus, IncrementalIndex, simdKernelAvailable } from "../plugins/encoder-compare/search/index.ts";
import { buildIndex } from "../test/reference/flat-index.ts";
import { BENCH_CACHE, check, clusteredVectors, fmt, log, median, QUICK, report, ROOT, runSuite, type Row } from "./lib/common.ts";
import { spawnSync } from "node:child_process";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";

/** The plugin's ANN settings, as the engine passes them. */
const ANN = { annFactory: DEFAULTS.search.annFactory, annCandidates: DEFAULTS.search.annCandidates };

const N = Number(process.env.BENCH_SCALE_N ?? 100_000);
const DIM = 512;
const K = 10;
const rows: Row[] = [];
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const per = (ms: number) => `${fmt(ms, ms < 10 ? 2 : 1)} ms`;

log(`generating ${N.toLocaleString("en-US")} × ${DIM} vectors …`);
const vectors = clusteredVectors(N, DIM, 1);
const keys = Array.from({ length: N }, (_, i) => `v${String(i).padStart(7, "0")}`);
const vectorOf = (key: string) => {
  const row = Number(key.slice(1));
  return vectors.subarray(row * DIM, (row + 1) * DIM);
};
// Queries: dataset rows plus a little noise, so each has a clear neighbourhood.
const queries = Array.from({ length: QUICK ? 20 : 50 }, (_, q) => {
  const row = (q * 7919) % N;
  return vectors.slice(row * DIM, (row + 1) * DIM).map((v, j) => v + 0.01 * Math.sin(q * 31 + j));
});

function timeQueries(search: (q: Float32Array) => unknown): number {
  search(queries[0]);
  const times = queries.map((q) => {
    const started = performance.now();
    search(q);
    return performance.now() - started;
  });
  return median(times);
}

// ---- exact, TypeScript ----------------------------------------------------------------
let started = performance.now();
const js = new IncrementalIndex(DIM, { backend: "js" });
js.sync(keys, vectorOf);
const jsBuild = performance.now() - started;
const jsQuery = timeQueries((q) => js.search(q, K));
const truth = queries.map((q) => js.search(q, K).map((h) => h.id));
rows.push({
  goal: "3 scale",
  metric:
    `exact top-${K}, TypeScript index (${simdKernelAvailable() ? "wasm SIMD proposals + exact rescoring" : "no wasm SIMD here"}), ` +
    `${N.toLocaleString("en-US")} × ${DIM}`,
  value: `${per(jsQuery)} / query`,
  note: `build ${per(jsBuild)}`,
});
const fallbackQuery = timeQueries((q) => exactSearch(vectors, N, Float64Array.from(q), K, undefined));
rows.push({
  goal: "3 scale",
  metric: `exact top-${K}, pure-TS fallback (no wasm)`,
  value: `${per(fallbackQuery)} / query`,
  note: "double-precision loop over every row",
});

// ---- exact, faiss -----------------------------------------------------------------------
if (faissStatus().available) {
  started = performance.now();
  const flat = buildIndex(vectors, DIM, { backend: "faiss" });
  const faissBuild = performance.now() - started;
  const faissQuery = timeQueries((q) => flat.search(q, K));
  const same = queries.every((q, i) => JSON.stringify(flat.search(q, K).map((h) => h.id)) === JSON.stringify(truth[i]));
  started = performance.now();
  const raw = createFlatInnerProductIndex(DIM);
  addVectors(raw, vectors, DIM);
  const addBuild = performance.now() - started;
  started = performance.now();
  flatIndexFromVectors(vectors, DIM);
  const bufferBuild = performance.now() - started;
  rows.push({
    goal: "3 scale",
    metric: `exact top-${K}, faiss IndexFlatIP (candidates rescored in JS)`,
    value: `${per(faissQuery)} / query`,
    target: check(same, "same ids as TS"),
    note: `build ${per(bufferBuild)} from faiss's serialised form; ${per(addBuild)} through add(number[])`,
  });
  gc();

  // ---- ANN -------------------------------------------------------------------------------
  log("building HNSW32,Flat (single-threaded, deterministic) …");
  started = performance.now();
  const ann = new IncrementalIndex(DIM, { backend: "ann", ...ANN });
  ann.sync(keys, vectorOf);
  const annBuild = performance.now() - started;
  const snapshot = ann.annSnapshot()!;
  rows.push({
    goal: "3 scale",
    metric: `ANN build, faiss HNSW32,Flat, inner product, 1 OpenMP thread`,
    value: `${fmt(annBuild / 1000)} s`,
    note: `graph file ${fmt(snapshot.graph.length / 2 ** 20, 0)} MiB`,
  });
  for (const candidates of QUICK ? [64, 128] : [32, 64, 128, 256]) {
    const index = IncrementalIndex.fromAnnSnapshot(DIM, snapshot, vectorOf, { ...ANN, annCandidates: candidates })!;
    const latency = timeQueries((q) => index.search(q, K));
    let hits = 0;
    queries.forEach((q, i) => (hits += index.search(q, K).filter((h) => truth[i].includes(h.id)).length));
    const recall = hits / (queries.length * K);
    rows.push({
      goal: "3 scale",
      metric: `ANN top-${K}, ${candidates} candidates (efSearch) rescored exactly${candidates === DEFAULTS.search.annCandidates ? " [default]" : ""}`,
      value: `${per(latency)} / query`,
      target: check(recall >= 0.99, "recall@10 ≥ 0.99"),
      note: `recall@10 ${recall.toFixed(3)} vs exact`,
    });
    gc();
  }
  // Determinism: the same rows give the same graph, byte for byte (OpenMP pinned to 1 thread).
  const small = Math.min(N, 10_000);
  const graphHash = () => {
    const index = new IncrementalIndex(DIM, { backend: "ann", ...ANN });
    index.sync(keys.slice(0, small), vectorOf);
    return crypto.createHash("sha256").update(index.annSnapshot()!.graph).digest("hex");
  };
  const deterministic = graphHash() === graphHash();
  rows.push({
    goal: "3 scale",
    metric: `ANN graph built twice from the same ${small.toLocaleString("en-US")} rows`,
    value: deterministic ? "identical" : "differs",
    target: check(deterministic, "deterministic"),
  });
}
gc();

// ---- peak RSS of a build over a 100k-image store (child processes) ------------------------
const child = path.join(ROOT, "bench/scale-child.ts");
const prepare = spawnSync(process.execPath, ["--import", "tsx", child, "prepare", String(N)], {
  cwd: ROOT,
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
});
if (prepare.status !== 0) throw new Error(`preparing the synthetic store failed: ${prepare.stdout}`);
const backends = faissStatus().available ? ["auto", "faiss", "ann"] : ["auto"];
for (const backend of backends) {
  log(`build over the ${N.toLocaleString("en-US")}-image store, indexBackend ${backend} …`);
  const run = runSuite(child, { BENCH_SCALE_BACKEND: backend, BENCH_SCALE_N: String(N) });
  if (!run.ok) throw new Error(`scale child (${backend}) failed:\n${run.output}`);
  rows.push(...run.rows);
}
fs.mkdirSync(BENCH_CACHE, { recursive: true });
report(rows);
