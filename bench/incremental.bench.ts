// Goal 2 — incremental builds on a 5,000-image dataset.
//  A. A build with no changes, in a fresh process (what `npm run build` does), with the plugin
//     and with a stub shortcode of the same name (the plugin disabled): the plugin's share.
//  B. Watch mode (one process, one engine): add, change, delete one image → embedded images,
//     index rows added/removed, time, results identical to a full rebuild.
//  C. A fresh process after adding one image: embeds that image only.
// Run alone: node --import tsx bench/incremental.bench.ts
import fs from "node:fs";
import path from "node:path";
import { CompareEngine } from "../plugins/encoder-compare/engine/compare-engine.ts";
import { BUILTIN_ENCODERS, EncoderRegistry } from "../plugins/encoder-compare/encoders/registry.ts";
import type { IncrementalIndex } from "../plugins/encoder-compare/search/index.ts";
import { check, fmt, log, median, QUICK, report, ROOT, type Row } from "./lib/common.ts";
import { picture, writePicture } from "./lib/images.ts";
import { buildInChild, DATASET_IMAGE, ensureSite, saveStubHtml, type BuildRun } from "./lib/site.ts";

const rows: Row[] = [];
const IMAGES = 5000;
/** New picture content on every run: a picture from an earlier run would already be in the store. */
const NONCE = (Date.now() % 1_000_000) + process.pid;
const POSTS = Number(process.env.BENCH_POSTS ?? 50);
const site = await ensureSite(`site-${IMAGES}-p${POSTS}`, POSTS, IMAGES);
const cpuMs = (run: BuildRun) => run.summaries.find((s) => s.process)?.process.cpuMs as number;
const summaryOf = (run: BuildRun) => run.summaries.find((s) => s.encoders);

// ---- A: no-change build, plugin vs stub -------------------------------------------------
log(`A: priming the ${IMAGES}-image site (${POSTS} posts) …`);
const prime = buildInChild(site, "on");
const primed = summaryOf(prime);
if (primed.encoders.some((e: { embedded: number }) => e.embedded > 0)) log(`   embedded on first build: ${JSON.stringify(primed.encoders)}`);
const stubEnv = { BENCH_STUB_HTML: saveStubHtml(site) };
buildInChild(site, "stub", stubEnv);
const on: BuildRun[] = [];
const stub: BuildRun[] = [];
const tinyStub: BuildRun[] = [];
const reps = QUICK ? 3 : 7;
for (let i = 0; i < reps; i++) {
  on.push(buildInChild(site, "on"));
  stub.push(buildInChild(site, "stub", stubEnv));
  tinyStub.push(buildInChild(site, "stub"));
}
const tinyWall = median(tinyStub.map((r) => r.ms));
const onWall = median(on.map((r) => r.ms));
const stubWall = median(stub.map((r) => r.ms));
const onCpu = median(on.map(cpuMs));
const stubCpu = median(stub.map(cpuMs));
const warm = summaryOf(on[0]);
const overhead = (onWall - stubWall) / stubWall;
rows.push(
  {
    goal: "2 incremental",
    metric: `no-change build, ${POSTS} posts × 1 shortcode (2 encoders), fresh process: plugin vs stub (wall, median of ${reps})`,
    value: `${fmt(onWall, 0)} / ${fmt(stubWall, 0)} ms = +${(overhead * 100).toFixed(0)} %`,
    target: check(overhead < 0.1, "< 10 %"),
    note:
      `stub returns a table the plugin rendered; plugin's share of the plugin build ${(((onWall - stubWall) / onWall) * 100).toFixed(0)} %; ` +
      `embedded ${warm.encoders.map((e: { embedded: number }) => e.embedded).join("+")}`,
  },
  {
    goal: "2 incremental",
    metric: `  same, stub returning a 1-line table (Eleventy also processes less HTML)`,
    value: `${fmt(onWall, 0)} / ${fmt(tinyWall, 0)} ms = +${(((onWall - tinyWall) / tinyWall) * 100).toFixed(0)} %`,
  },
  {
    goal: "2 incremental",
    metric: `  same, CPU time of the build process (user+sys)`,
    value: `${fmt(onCpu, 0)} / ${fmt(stubCpu, 0)} ms = +${(((onCpu - stubCpu) / stubCpu) * 100).toFixed(0)} %`,
  },
);

// ---- B: watch mode, one engine ---------------------------------------------------------
const work = site.datasetDir;
const engine = new CompareEngine({
  projectRoot: ROOT,
  cacheDir: path.join(site.dir, ".cache/encoder-compare"),
  registry: new EncoderRegistry([...BUILTIN_ENCODERS]),
  batchSize: 16,
  intraOpNumThreads: 0,
  limitInputPixels: 50_000_000,
  indexBackend: "js",
  modelsDir: path.join(site.dir, ".cache/models"),
  offline: true,
  strict: false,
  warn: (m) => log(m),
  info: () => {},
});
async function step(what: string) {
  engine.startBuild();
  const started = performance.now();
  const indexed = await engine.datasetIndex("pixels", work);
  const ms = performance.now() - started;
  return { what, ms, indexed, stats: { ...engine.statsFor("pixels") }, update: engine.build.indexUpdates[0] };
}
await engine.encoder("pixels"); // the onnxruntime session, created once per watch session
const full = await step("full");
log(`B: index of ${full.indexed.index.size} images built from the store in ${fmt(full.ms, 0)} ms`);
const file = (name: string) => path.join(work, "images", name);
const changedName = "img-002500.png";
const deletedName = "img-001234.png";
const original = { changed: fs.readFileSync(file(changedName)), deleted: fs.readFileSync(file(deletedName)) };
const steps = [];
try {
  await writePicture(file("img-002500b.png"), picture(1, DATASET_IMAGE.width, DATASET_IMAGE.height, NONCE), DATASET_IMAGE);
  steps.push(await step("add one image"));
  await writePicture(file(changedName), picture(2, DATASET_IMAGE.width, DATASET_IMAGE.height, NONCE), DATASET_IMAGE);
  steps.push(await step("change one image"));
  fs.rmSync(file(deletedName));
  steps.push(await step("delete one image"));
  steps.push(await step("no change"));
  // Identical to a full rebuild: a new engine builds its index from the store.
  const rebuilt = new CompareEngine({ ...engine.options });
  rebuilt.startBuild();
  const started = performance.now();
  const reference = await rebuilt.datasetIndex("pixels", work);
  const rebuildMs = performance.now() - started;
  const last = steps[2].indexed;
  let identical = reference.dataset.images.length === last.dataset.images.length;
  for (const image of last.dataset.images.slice(0, QUICK ? 50 : 200)) {
    const vector = (last.index as IncrementalIndex).vector(image.sha256)!;
    identical &&= JSON.stringify(last.index.search(vector, 10)) === JSON.stringify(reference.index.search(vector, 10));
  }
  await rebuilt.close();
  for (const s of steps) {
    const u = s.update;
    rows.push({
      goal: "2 incremental",
      metric: `watch mode, ${IMAGES} images (pixels): ${s.what}`,
      value: `${fmt(s.ms, 1)} ms`,
      target:
        s.what === "no change"
          ? undefined
          : check(s.stats.embedded === (s.what === "delete one image" ? 0 : 1) && !!u && !u.rebuilt, "embeds only it, patches index"),
      note: u
        ? `embedded ${s.stats.embedded}; index +${u.added} −${u.removed} rows of ${u.rows}${u.rebuilt ? " (rebuilt!)" : ""}`
        : `embedded ${s.stats.embedded}; index reused as is`,
    });
  }
  rows.push({
    goal: "2 incremental",
    metric: `  full rebuild of the same index from the store (what every change cost before)`,
    value: `${fmt(rebuildMs, 0)} ms`,
    target: check(identical, "identical results"),
    note: `top-10 of ${QUICK ? 50 : 200} queries compared with the patched index`,
  });
} finally {
  fs.writeFileSync(file(changedName), original.changed);
  fs.writeFileSync(file(deletedName), original.deleted);
  fs.rmSync(file("img-002500b.png"), { force: true });
  await engine.close();
}

// ---- C: a fresh process after adding one image --------------------------------------------
buildInChild(site, "on"); // back to the restored dataset
try {
  await writePicture(file("img-004999b.png"), picture(3, DATASET_IMAGE.width, DATASET_IMAGE.height, NONCE), DATASET_IMAGE);
  const added = buildInChild(site, "on");
  const summary = summaryOf(added);
  const embedded = summary.encoders.map((e: { embedded: number }) => e.embedded);
  rows.push({
    goal: "2 incremental",
    metric: `fresh process after adding one image (${POSTS} posts, 2 encoders)`,
    value: `${fmt(added.ms, 0)} ms`,
    target: check(embedded.every((n: number) => n === 1), "embeds 1 per encoder"),
    note: `embedded ${embedded.join("+")}; no-change build ${fmt(onWall, 0)} ms`,
  });
} finally {
  fs.rmSync(file("img-004999b.png"), { force: true });
}
report(rows);
