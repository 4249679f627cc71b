// Faiss index files are bytes that native code parses: a user's index that would crash faiss fails the build
// naming it, and the plugin's own ANN cache changed on disk is rebuilt rather than parsed. Builds run in a child
// process with a kill timer, so a crash cannot take the test run down.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { faissStatus } from "../../plugins/encoder-compare/search/faiss.ts";
import { EMOJI, outsideSecret, projectMaker, type SmallProject } from "../support/small-project.ts";
import { buildInChild, cliRunner } from "../support/child-runs.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/faiss-index-files");
outsideSecret(WORK);
const project = projectMaker(WORK);
const NEEDS_FAISS = { skip: !faissStatus().available && "faiss-node not built" };

const CLI_ENV = { ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") };

const cliInChild = cliRunner(CLI_ENV);

/** The HNSW struct's entry point and max level in a serialised IHNf index (see setHnswEfSearch). */
function hnswEntryOffset(bytes: Buffer): number {
  let at = 4 + 4 + 8 + 8 + 8 + 1 + 4;
  for (const width of [8, 4, 4, 8, 4]) at += 8 + Number(bytes.readBigUInt64LE(at)) * width;
  return at;
}

/** An embeddings folder exported from the project's dataset, with HNSW and IVF indexes written by python3-faiss. */
function embeddingsWithIndexes(p: SmallProject): string {
  const folder = path.join(p.dir, "emb");
  const cache = path.relative(ROOT, path.join(p.dir, ".cache"));
  const run = cliInChild(["export", "--encoder", "pixels", "--dataset", path.relative(ROOT, p.dataset), "--cache-dir", cache, folder]);
  assert.equal(run.status, 0, run.stderr);
  const python =
    "import sys, glob, numpy as np, faiss\n" +
    "x = np.concatenate([np.load(f) for f in sorted(glob.glob(sys.argv[1] + '/img_emb/*.npy'))]).astype(np.float32)\n" +
    "for key, name in (('HNSW8', 'hnsw'), ('IVF1,Flat', 'ivf')):\n" +
    "    index = faiss.index_factory(x.shape[1], key, faiss.METRIC_INNER_PRODUCT); index.train(x); index.add(x)\n" +
    "    faiss.write_index(index, sys.argv[1] + '/' + name + '.index')\n";
  execFileSync("/usr/bin/python3", ["-c", python, folder], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, OMP_NUM_THREADS: "1" } });
  return folder;
}

function embeddingsOptions(p: SmallProject, folder: string, index: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const rel = (file: string) => path.relative(ROOT, file);
  return { dataset: { embeddings: rel(folder), encoder: "pixels", images: rel(p.dataset), index: rel(index), ...extra } };
}

describe("native code never parses unchecked bytes", NEEDS_FAISS, () => {
  test("a user's faiss index that crashes faiss (entry point, max level, a cut IVF header with nprobe) fails the build naming it", () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const folder = embeddingsWithIndexes(p);
    const good = buildInChild(p, embeddingsOptions(p, folder, path.join(folder, "hnsw.index")));
    assert.match(good.stdout, /^built [0-9a-f]{64} /m, good.stderr);
    const hnsw = fs.readFileSync(path.join(folder, "hnsw.index"));
    const ivf = fs.readFileSync(path.join(folder, "ivf.index"));
    const variants: Array<[string, Buffer, Record<string, unknown>, RegExp]> = [
      ["entry-point.index", Buffer.from(hnsw).fill(0x7f, hnswEntryOffset(hnsw), hnswEntryOffset(hnsw) + 4), {}, /faiss crashed reading it \(SIGSEGV\)/],
      ["max-level.index", Buffer.from(hnsw).fill(0x10, hnswEntryOffset(hnsw) + 4, hnswEntryOffset(hnsw) + 6), { efSearch: 5 }, /faiss crashed/],
      ["cut-ivf.index", ivf.subarray(0, 49), { nprobe: 2 }, /cut-ivf\.index \(IwFl\) is cut short: it ends \(49 bytes\) inside the header that holds nprobe/],
      ["cut-ivf-own.index", ivf.subarray(0, 49), {}, /cut-ivf-own\.index is damaged or not a faiss index: faiss refused it/],
      ["half.index", hnsw.subarray(0, hnsw.length >> 1), {}, /half\.index is damaged or not a faiss index: faiss refused it/],
    ];
    for (const [name, bytes, extra, message] of variants) {
      const file = path.join(folder, name);
      fs.writeFileSync(file, bytes);
      const run = buildInChild(p, embeddingsOptions(p, folder, file, extra));
      assert.equal(run.signal, null, `${name}: the build crashed (${run.signal})`);
      assert.equal(run.status, 1, `${name}: ${run.stdout}${run.stderr}`);
      const line = run.stdout.trim();
      assert.match(line, new RegExp(name.replace(/\./g, "\\.")), name);
      assert.match(line, message, name);
      assert.doesNotMatch(line, /out of range/, name);
    }
    // A good file is checked once: its verdict is remembered by content hash.
    assert.equal(fs.readdirSync(path.join(p.dir, ".cache/faiss-checks")).length, 1);
  });

  const NEXT_QUERY: Record<string, string> = { "1f697": "1f40d", "1f438": "1f418", "1f42d": "1f422", "1f34e": "1f427" };
  test("the plugin's own ANN cache file changed on disk is rebuilt, not parsed; every later build works", () => {
    const p = project(`<% encoderCompare "query.png", k=2 %>`);
    const options = { indexBackend: "ann" };
    const first = buildInChild(p, options);
    assert.match(first.stdout, /^built /m, first.stderr);
    const indexes = path.join(p.dir, ".cache/indexes");
    const graphOf = () => fs.readdirSync(indexes).find((f) => f.endsWith(".faiss"))!;
    const damage: Array<[string, string, (bytes: Buffer) => void]> = [
      ["entry point", "1f697", (b) => b.fill(0x7f, hnswEntryOffset(b), hnswEntryOffset(b) + 4)],
      ["max level", "1f438", (b) => b.fill(0x10, hnswEntryOffset(b) + 4, hnswEntryOffset(b) + 6)],
      ["last byte", "1f42d", (b) => (b[b.length - 1] ^= 0xff)],
      ["zeroed first 4 KB", "1f34e", (b) => b.fill(0, 0, Math.min(4096, b.length))],
    ];
    for (const [what, query, change] of damage) {
      const file = path.join(indexes, graphOf());
      const bytes = fs.readFileSync(file);
      change(bytes);
      fs.writeFileSync(file, bytes);
      // Another query image: its results are not remembered, so the index is needed.
      fs.copyFileSync(EMOJI(query), path.join(p.post, "query.png"));
      const run = buildInChild(p, options);
      assert.equal(run.signal, null, `${what}: the build crashed (${run.signal})`);
      assert.match(run.stdout, /^built /m, `${what}: ${run.stdout}${run.stderr}`);
      assert.notDeepEqual(fs.readFileSync(path.join(indexes, graphOf())), bytes, `${what}: the damaged graph was kept`);
      // The rewritten cache serves the next build (another query again) without complaint.
      fs.copyFileSync(EMOJI(NEXT_QUERY[query]), path.join(p.post, "query.png"));
      const again = buildInChild(p, options);
      assert.match(again.stdout, /^built /m, what);
    }
  });
});
