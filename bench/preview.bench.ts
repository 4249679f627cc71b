// Goal 4 — the preview server: `eleventy --watch --incremental` in a child process on the
// 5,000-image site. Editing a post's text must rebuild that page without running any encoder;
// adding a query image to a post must encode only that image. Figures come from the plugin's
// onBuildSummary (one JSON line per build), timed from the file write to the summary.
// Run alone: node --import tsx bench/preview.bench.ts
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { check, fmt, log, report, type Row } from "./lib/common.ts";
import { picture, writePicture } from "./lib/images.ts";
import { DATASET_IMAGE, ELEVENTY_CMD, ensureSite, postFile, postText, SITE_CONFIG } from "./lib/site.ts";

const POSTS = Number(process.env.BENCH_POSTS ?? 50);
const site = await ensureSite(`site-5000-p${POSTS}`, POSTS, 5000);
const summaryFile = path.join(site.dir, `.watch-summary-${process.pid}.jsonl`);
fs.rmSync(summaryFile, { force: true });

const child = spawn(process.execPath, ["--import", "tsx", ELEVENTY_CMD, `--config=${SITE_CONFIG}`, "--watch", "--incremental", "--quiet"], {
  cwd: site.dir,
  env: { ...process.env, BENCH_PLUGIN: "on", BENCH_SUMMARY_FILE: summaryFile },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
child.stdout.on("data", (d) => (output += d));
child.stderr.on("data", (d) => (output += d));

function summaries(): any[] {
  if (!fs.existsSync(summaryFile)) return [];
  return fs.readFileSync(summaryFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((s) => s.encoders);
}

async function nextSummary(count: number, timeoutMs = 120_000): Promise<{ summary: any; ms: number }> {
  const started = performance.now();
  for (;;) {
    const all = summaries();
    if (all.length > count) return { summary: all[count], ms: performance.now() - started };
    if (performance.now() - started > timeoutMs) throw new Error(`no build summary after ${timeoutMs} ms; eleventy said:\n${output}`);
    if (child.exitCode !== null) throw new Error(`eleventy --watch exited (${child.exitCode}):\n${output}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rows: Row[] = [];
const textPost = postFile(site, 7);
const imagePost = postFile(site, 8);
const extraImage = path.join(path.dirname(imagePost), "extra.png");
try {
  const initial = await nextSummary(0);
  log(`watch: initial build ${fmt(initial.ms, 0)} ms, ${initial.summary.queries} queries`);
  await new Promise((r) => setTimeout(r, 500)); // let the watcher settle

  fs.writeFileSync(textPost, postText(7, " An edited sentence."));
  const edited = await nextSummary(1);
  const editedEmbedded = edited.summary.encoders.reduce((n: number, e: { embedded: number }) => n + e.embedded, 0);
  rows.push({
    goal: "4 preview",
    metric: "edit a post's text (watch + incremental): write → build summary",
    value: `${fmt(edited.ms, 0)} ms`,
    target: check(editedEmbedded === 0 && (edited.summary.indexes ?? []).length === 0, "no encoder runs"),
    note:
      `${edited.summary.queries} shortcode quer${edited.summary.queries === 1 ? "y" : "ies"} re-rendered; ` +
      `embedded ${editedEmbedded}; index updates ${(edited.summary.indexes ?? []).length}`,
  });

  await writePicture(
    extraImage,
    picture(4, DATASET_IMAGE.width, DATASET_IMAGE.height, (Date.now() % 1_000_000) + process.pid) /* new content every run */,
    DATASET_IMAGE,
  );
  fs.writeFileSync(imagePost, postText(8) + `\n<% encoderCompare "extra.png", k=3 %>\n`);
  const added = await nextSummary(2);
  const embedded = added.summary.encoders.map((e: { embedded: number }) => e.embedded);
  rows.push({
    goal: "4 preview",
    metric: "add a query image to a post: write → build summary",
    value: `${fmt(added.ms, 0)} ms`,
    target: check(embedded.every((n: number) => n === 1), "encodes only that image"),
    note: `embedded ${embedded.join("+")} (one per encoder); ${added.summary.queries} queries re-rendered`,
  });
} finally {
  fs.writeFileSync(textPost, postText(7));
  fs.writeFileSync(imagePost, postText(8));
  fs.rmSync(extraImage, { force: true });
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  fs.rmSync(summaryFile, { force: true });
}
report(rows);
