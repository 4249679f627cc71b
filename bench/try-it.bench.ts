// "Try your own image" in headless Chromium: bytes fetched when the reader opens the control,
// and time from file chosen to results, on the demo dataset (built-ins) and on a synthetic
// 10,000-image index; plus what f16 and i8 vector shards, and float16 weights for a converted
// BiT, cost in ranking against float32.
// Run alone: node --import tsx bench/try-it.bench.ts
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import sharp from "sharp";
import { imageToTensor } from "../plugins/encoder-compare/encoders/preprocess.ts";
import { MODEL_ENCODERS } from "../plugins/encoder-compare/encoders/registry.ts";
import { EncoderSession } from "../plugins/encoder-compare/encoders/session.ts";
import { bitTensorShapes, convertBitTensors, RESNETV2_50X1_BIT_LAYOUT } from "../plugins/encoder-compare/models/convert-bit.ts";
import { halveWeights } from "../plugins/encoder-compare/models/fp16-weights.ts";
import type { FloatTensor } from "../plugins/encoder-compare/models/safetensors.ts";
import { exactSearch } from "../plugins/encoder-compare/search/exact.ts";
import { decodeVectors, encodeVectors, type TryItConfig, type TryItIndex, type VectorEncoding } from "../plugins/encoder-compare/compose/try-it-format.ts";
import { hashedName } from "../plugins/encoder-compare/publish/hashed-file.ts";
import { testEngine } from "../test/support/engine.ts";
import { serveStatic } from "../test/support/static-server.ts";
import { buildTryItSite } from "../test/support/try-it-site.ts";
import { ensureDemoDataset } from "../test/support/demo-dataset.ts";
import { BENCH_CACHE, check, clusteredVectors, fmt, gaussian, median, report, ROOT, seededRandom, type Row } from "./lib/common.ts";
import { DEFAULTS } from "../plugins/encoder-compare/base/defaults.ts";

/** What the engine passes every decode: the plugin's default pixel limit. */
const DECODE = { limitInputPixels: DEFAULTS.embedding.limitInputPixels };

// A fresh clone has no demo dataset until something makes it.
const DATASET = ensureDemoDataset();
const ENCODERS = ["pixels", "phash"];
const K = 5;
const RUNS = process.env.BENCH_QUICK ? 5 : 15;
const SYNTHETIC = 10_000;
const WORK = path.join(BENCH_CACHE, "try-it");
const rows: Row[] = [];
const goal = "try it";

const { site } = await buildTryItSite(WORK, { dataset: DATASET, encoders: ENCODERS, k: K, cacheDir: path.join(WORK, "cache") });
const out = path.join(site, "encoder-compare");
const html = fs.readFileSync(path.join(site, "with/index.html"), "utf8");
const attribute = /data-tryit="([^"]+)"/.exec(html)![1];
const config = JSON.parse(attribute.replaceAll("&quot;", '"').replaceAll("&amp;", "&")) as TryItConfig;
const size = (url: string) => fs.statSync(path.join(out, path.basename(url))).size;
const indexes = config.indexes.map((url) => ({ url, index: JSON.parse(fs.readFileSync(path.join(out, path.basename(url)), "utf8")) as TryItIndex }));

// Bytes on open, from the published files the widget asks for.
const shared = size(config.widget) + size(config.wasm);
rows.push({
  goal,
  metric: "bytes on open: widget + onnxruntime wasm (shared)",
  value: `${fmt(shared / 1e6, 2)} MB`,
  note: `loader on page load: ${fmt(size(/src="([^"]*tryit-loader[^"]*)"/.exec(html)![1]) / 1e3, 1)} kB`,
});
for (const { url, index } of indexes) {
  const shards = index.vectors.shards.reduce((sum, s) => sum + s.bytes, 0);
  const own = size(url) + index.graph.bytes + shards;
  rows.push({
    goal,
    metric: `bytes on open: ${index.encoder.id} (index JSON + graph + shards)`,
    value: `${fmt(own / 1e3, 0)} kB`,
    note: `${index.images.length} images × ${index.encoder.dim}-d`,
  });
  const limit = 1.1 * index.images.length * index.encoder.dim * 2;
  rows.push({
    goal,
    metric: `index bytes: ${index.encoder.id} vector shards`,
    value: `${fmt(shards / 1e3, 0)} kB`,
    target: check(shards <= limit, `≤ ${fmt(limit / 1e3, 0)} kB`),
  });
  rows.push({
    goal,
    metric: `index bytes: ${index.encoder.id} shards + ids, captions, thumbnail names`,
    value: `${fmt((shards + size(url)) / 1e3, 0)} kB`,
    target: check(shards + size(url) <= limit, `≤ ${fmt(limit / 1e3, 0)} kB`),
  });
}

// A synthetic 10,000-image index for the pixels graph: clustered unit vectors, the demo's thumbnails reused.
const pixels = indexes.find((i) => i.index.encoder.id === "pixels")!.index;
const vectors = clusteredVectors(SYNTHETIC, pixels.encoder.dim, 10);
const { bytes } = encodeVectors(vectors, "f16");
const shardFile = hashedName("vectors", bytes, ".f16");
fs.writeFileSync(path.join(out, shardFile), bytes);
const synthetic: TryItIndex = {
  ...pixels,
  dataset: { name: `synthetic-${SYNTHETIC}` },
  vectors: { encoding: "f16", shards: [{ file: shardFile, rows: SYNTHETIC, bytes: bytes.byteLength }] },
  images: Array.from({ length: SYNTHETIC }, (_, i) => ({
    ...pixels.images[i % pixels.images.length],
    id: `synthetic-${i}`,
    sha: i.toString(16).padStart(16, "0"),
  })),
};
const syntheticJson = JSON.stringify(synthetic);
const syntheticIndex = hashedName("index-synthetic", syntheticJson, ".json");
fs.writeFileSync(path.join(out, syntheticIndex), syntheticJson);
const syntheticConfig = JSON.stringify({ ...config, indexes: [pixels.urlBase + syntheticIndex] });
fs.mkdirSync(path.join(site, "synthetic"), { recursive: true });
fs.writeFileSync(path.join(site, "synthetic/index.html"), html.replace(attribute, syntheticConfig.replaceAll("&", "&amp;").replaceAll('"', "&quot;")));

// Query images: dataset members, recoloured so none is excluded as the query itself.
const images = path.join(DATASET, "images");
const queries: string[] = [];
fs.mkdirSync(path.join(WORK, "queries"), { recursive: true });
for (const [i, name] of fs.readdirSync(images).sort().slice(0, RUNS).entries()) {
  const file = path.join(WORK, "queries", `q${i}.png`);
  await sharp(path.join(images, name)).modulate({ hue: 30 + i }).png().toFile(file);
  queries.push(file);
}

const server = await serveStatic(site);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
try {
  for (const [page, label, target] of [
    ["/with/", `demo dataset (${pixels.images.length} images, pixels + phash)`, 300],
    ["/synthetic/", `synthetic ${SYNTHETIC} images (pixels, 768-d)`, 1000],
  ] as const) {
    const tab = await browser.newPage();
    let openedBytes = 0;
    tab.on("response", async (response) => {
      if (!response.url().includes("tryit-loader")) openedBytes += (await response.body().catch(() => Buffer.alloc(0))).length;
    });
    await tab.goto(server.origin + page);
    await tab.waitForLoadState("networkidle");
    openedBytes = 0;
    await tab.getByRole("button", { name: "Try your own image" }).click();
    const input = tab.getByLabel("Choose an image (or drop or paste one here)");
    await input.waitFor();
    const times: number[] = [];
    for (const query of queries) {
      const elapsed = tab.evaluate(
        () =>
          new Promise<number>((resolve) => {
            let chosen = 0;
            document.addEventListener("change", () => (chosen = performance.now()), { capture: true, once: true });
            document.addEventListener("encoder-compare:results", () => resolve(performance.now() - chosen), { once: true });
          }),
      );
      await input.setInputFiles(query);
      times.push(await elapsed);
    }
    rows.push({
      goal,
      metric: `file chosen → results: ${label}`,
      value: `${fmt(median(times), 0)} ms`,
      target: check(median(times) <= target, `≤ ${target} ms`),
      note: `median of ${times.length}, headless Chromium, 1 wasm thread`,
    });
    rows.push({ goal, metric: `bytes fetched on open + queries: ${label}`, value: `${fmt(openedBytes / 1e6, 2)} MB` });
    await tab.close();
  }
} finally {
  await browser.close();
  await server.close();
}

// Ranking cost of the shard encodings: every demo image as the query (itself left out), top 5
// from decoded shards vs float32.
const engine = testEngine(path.join(WORK, "engine"), { cacheDir: path.join(WORK, "cache") });
for (const encoder of ENCODERS) {
  const { dataset, dim, vectors: exact } = await engine.datasetVectors(encoder, path.resolve(ROOT, DATASET));
  const n = dataset.images.length;
  for (const encoding of ["f16", "i8"] as VectorEncoding[]) {
    const encoded = encodeVectors(exact, encoding);
    const decoded = decodeVectors(encoded.bytes.slice().buffer, encoding, encoded.scale);
    let same = 0;
    let maxDiff = 0;
    for (let row = 0; row < n; row++) {
      const query = Float64Array.from(exact.subarray(row * dim, (row + 1) * dim));
      const want = exactSearch(exact, n, query, K, new Set([row]));
      const got = exactSearch(decoded, n, query, K, new Set([row]));
      if (want.map((h) => h.id).join() === got.map((h) => h.id).join()) same++;
      for (const [i, h] of got.entries()) maxDiff = Math.max(maxDiff, Math.abs(h.score - (want.find((w) => w.id === h.id)?.score ?? want[i].score)));
    }
    rows.push({
      goal,
      metric: `${encoding} shards vs float32: ${encoder} same top ${K}`,
      value: `${same}/${n}`,
      note: `max |Δscore| ${maxDiff.toExponential(1)}; ${fmt(encoded.bytes.byteLength / 1e3, 0)} kB`,
    });
  }
}
await engine.close();

// What float16 weights cost a converted model: BiT-M R50x1's layout with random weights (the
// real ones cannot be downloaded here), fp32 vs halveWeights, on demo images.
{
  const random = seededRandom(50);
  const tensors = new Map<string, FloatTensor>();
  for (const [name, shape] of bitTensorShapes(RESNETV2_50X1_BIT_LAYOUT)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = /norm.*\.weight$/.test(name);
    for (let i = 0; i < data.length; i++)
      data[i] = isNormWeight ? 1 + 0.1 * gaussian(random) : name.endsWith(".bias") ? 0.1 * gaussian(random) : gaussian(random);
    tensors.set(name, { shape, data });
  }
  const full = convertBitTensors(tensors);
  const half = halveWeights(full);
  const spec = MODEL_ENCODERS.find((e) => e.id === "bit-m-r50x1")!;
  const files = fs.readdirSync(images).sort().slice(0, process.env.BENCH_QUICK ? 12 : 40).map((name) => path.join(images, name));
  const tensorsIn = await Promise.all(files.map((file) => imageToTensor(file, spec.preprocess, DECODE)));
  const embedAll = async (model: Uint8Array) => {
    const session = await EncoderSession.create(spec, model, { intraOpNumThreads: 0 });
    const out: Float32Array[] = [];
    for (const t of tensorsIn) out.push(...(await session.embedBatch([t])));
    await session.release();
    return out;
  };
  const [a, b] = [await embedAll(full), await embedAll(half)];
  const flat = (list: Float32Array[]) => Float32Array.from(list.flatMap((v) => [...v]));
  const [fa, fb] = [flat(a), flat(b)];
  let minCosine = 1;
  let same = 0;
  for (let i = 0; i < a.length; i++) {
    minCosine = Math.min(minCosine, a[i].reduce((sum, v, j) => sum + v * b[i][j], 0));
    const query = Float64Array.from(a[i]);
    const want = exactSearch(fa, a.length, query, K, new Set([i]));
    const got = exactSearch(fb, b.length, Float64Array.from(b[i]), K, new Set([i]));
    if (want.map((h) => h.id).join() === got.map((h) => h.id).join()) same++;
  }
  rows.push({
    goal,
    metric: "BiT R50x1 fp16 weights vs fp32 (random weights): size",
    value: `${fmt(half.byteLength / 1e6, 0)} MB`,
    note: `fp32 ${fmt(full.byteLength / 1e6, 0)} MB`,
  });
  rows.push({
    goal,
    metric: "BiT R50x1 fp16 weights vs fp32 (random weights): same top 5",
    value: `${same}/${a.length}`,
    note: `min cosine fp32·fp16 ${minCosine.toFixed(5)}; demo images`,
  });
}
report(rows);
