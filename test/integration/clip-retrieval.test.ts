// clip-retrieval and autofaiss output as those tools really write it: partitions in subfolders with
// a gap in their numbers (read in embedding-reader's order), --input_dataset in front of every
// image_path, autofaiss's knn.index + index_infos.json (written here by python3-faiss), the row
// count export records, two named entries on one folder, what the sampled check can see, and the
// recall of an index measured against exact search.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import type { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import { EmbeddingsFolder } from "../../plugins/encoder-compare/dataset/clip-retrieval.ts";
import { MetadataLookup } from "../../plugins/encoder-compare/dataset/metadata-lookup.ts";
import { embeddingsDatasets, resolveRequestedDataset, type EmbeddingsDatasetOption } from "../../plugins/encoder-compare/dataset/embeddings-option.ts";
import { detectionProbability } from "../../plugins/encoder-compare/dataset/verify-embeddings.ts";
import { EmbeddingsDataset } from "../../plugins/encoder-compare/engine/embeddings-dataset.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { CODES, EMOJI, K, NEEDS_FAISS, python, QUERIES } from "../support/embeddings-fixtures.ts";
import { joinRegExp } from "../support/regexp.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/clip-retrieval");
const DATA = path.join(WORK, "dataset");
const IMAGES = path.join(DATA, "images");
const EXPORTED = path.join(WORK, "exported");
/** What `clip-retrieval inference --input_dataset images/` leaves when run in DATA, plus `autofaiss` beside it. */
const CLIP = path.join(WORK, "clip-run");
const RECALL = path.join(WORK, "recall");

interface Plan {
  metadata: string;
  image_path: string[];
}

/** Metadata parquet files as clip-retrieval's writer names them, with the image paths the Python run planned. */
function writeMetadata(folder: string, plan: Plan[], rewrite: (p: string) => string = (p) => p): void {
  for (const shard of plan) {
    const file = path.join(folder, "metadata", shard.metadata);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    parquetWriteFile({ filename: file, columnData: [{ name: "image_path", data: shard.image_path.map(rewrite), type: "STRING" }] });
  }
}

function copyOf(name: string, from = CLIP): string {
  const to = path.join(WORK, name);
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
  return to;
}

function engineWith(datasets: Record<string, EmbeddingsDatasetOption>, log: string[] = [], strict = false): CompareEngine {
  return testEngine(WORK, {
    embeddingsDatasets: embeddingsDatasets({ dataset: "unused", datasets }, ROOT, DEFAULTS.embeddingsFolder),
    info: (m) => log.push(m),
    warn: (m) => log.push(`warning: ${m}`),
    strict,
  });
}

async function hitsOf(engine: CompareEngine, dataset: string, query = QUERIES[0]): Promise<Array<[string, string]>> {
  const result = await engine.query("pixels", dataset, query, { k: K, includeSelf: false });
  return result.hits.map((h): [string, string] => [h.image.sha256, h.score.toFixed(3)]);
}

let plan: Plan[];

before(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(IMAGES, { recursive: true });
  for (const code of CODES) for (const vendor of ["google", "twitter"]) fs.copyFileSync(EMOJI(vendor, code), path.join(IMAGES, `${code}-${vendor}.png`));
  let err = "";
  const args = ["export", "--encoder", "pixels", "--dataset", path.relative(ROOT, DATA), "--cache-dir", path.relative(ROOT, path.join(WORK, "cache"))];
  const code = await main([...args, "--shard-rows", "5", path.relative(ROOT, EXPORTED)], { write: () => {} }, { write: (c: string) => (err += c) }, {
    ENCODER_COMPARE_OFFLINE: "1",
  });
  assert.equal(code, 0, err);
  const exported = await EmbeddingsFolder.open(EXPORTED);
  const names = (await exported.metadata(Array.from({ length: exported.rows }, (_, i) => i))).map((m) => path.basename(m.image_path!));
  exported.close();
  fs.writeFileSync(path.join(WORK, "rows.json"), JSON.stringify(names));
  python("clip-run", EXPORTED, path.join(WORK, "rows.json"), CLIP, "images");
  plan = JSON.parse(fs.readFileSync(path.join(CLIP, "plan.json"), "utf8")) as Plan[];
  writeMetadata(CLIP, plan);
  python("recall-data", RECALL);
});

describe("shards as embedding-reader reads them", () => {
  test("subfolders in path order, a gap where a partition was empty, metadata paired by number", async () => {
    const folder = await EmbeddingsFolder.open(CLIP);
    try {
      const shards = folder.shards.map((s) => [path.relative(CLIP, s.npy.file), path.relative(CLIP, s.metadata!), s.firstRow]);
      assert.deepEqual(shards, [
        ["img_emb/part-a/img_emb_2.npy", "metadata/part-a/metadata_2.parquet", 0],
        ["img_emb/part-a/img_emb_3.npy", "metadata/part-a/metadata_3.parquet", 4],
        ["img_emb/part-b/img_emb_0.npy", "metadata/part-b/metadata_0.parquet", 8],
      ]);
      const exported = await EmbeddingsFolder.open(EXPORTED);
      // Row order: float16 copies of the exported rows, in the same order (a shard read out of place would be far off).
      const theirs = exported.readRows(0, 12);
      const ours = folder.readRows(0, 12);
      assert.ok(ours.every((v, i) => Math.abs(v - theirs[i]) < 1e-3));
      const [first, ninth] = await exported.metadata([0, 8]);
      exported.close();
      assert.deepEqual(await folder.metadata([8, 0]), [
        { row: 8, image_path: `images/${path.basename(ninth.image_path!)}` },
        { row: 0, image_path: `images/${path.basename(first.image_path!)}` },
      ]);
    } finally {
      folder.close();
    }
  });

  test("a shard without its partner is refused, whichever side is missing", async () => {
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      [
        "no-parquet",
        (d) => fs.rmSync(path.join(d, "metadata/part-a/metadata_3.parquet")),
        /img_emb\/part-a\/img_emb_3\.npy has no metadata shard \(expected metadata\/part-a\/metadata_3\.parquet\)/,
      ],
      [
        "no-npy",
        (d) => fs.rmSync(path.join(d, "img_emb/part-b/img_emb_0.npy")),
        /metadata\/part-b\/metadata_0\.parquet has no img_emb shard \(expected img_emb\/part-b\/img_emb_0\.npy\)/,
      ],
      [
        "moved-parquet",
        (d) => fs.renameSync(path.join(d, "metadata/part-b/metadata_0.parquet"), path.join(d, "metadata/part-a/metadata_0.parquet")),
        /img_emb\/part-b\/img_emb_0\.npy has no metadata shard/,
      ],
      [
        "unnumbered-npy",
        (d) => fs.copyFileSync(path.join(d, "img_emb/part-b/img_emb_0.npy"), path.join(d, "img_emb/extra.npy")),
        /img_emb\/extra\.npy has no metadata shard/,
      ],
    ];
    for (const [name, breakIt, error] of cases) {
      const dir = copyOf(`unpaired-${name}`);
      breakIt(dir);
      await assert.rejects(EmbeddingsFolder.open(dir), error, name);
    }
  });

  test("metadata of hits is decoded once per parquet row group, not once per row", async () => {
    const dir = copyOf("row-groups", EXPORTED);
    for (const name of fs.readdirSync(path.join(dir, "metadata"))) fs.rmSync(path.join(dir, "metadata", name));
    const all = await EmbeddingsFolder.open(EXPORTED);
    const metas = await all.metadata(Array.from({ length: 12 }, (_, i) => i));
    all.close();
    // One metadata file per shard (5, 5, 2 rows), in row groups of 2.
    for (const [n, rows] of [[0, [0, 5]], [1, [5, 10]], [2, [10, 12]]] as const) {
      parquetWriteFile({
        filename: path.join(dir, "metadata", `metadata_${n}.parquet`),
        columnData: [{ name: "image_path", data: metas.slice(rows[0], rows[1]).map((m) => m.image_path!), type: "STRING" }],
        rowGroupSize: 2,
      });
    }
    const folder = await EmbeddingsFolder.open(dir);
    try {
      const wanted = [4, 0, 1, 11, 6, 7, 0];
      const got = await folder.metadata(wanted);
      assert.deepEqual(got.map((m) => m.image_path), wanted.map((row) => metas[row].image_path));
      // Row groups read: rows {0,1} and {4} of shard 0; shard 1's rows 1 and 2 ({6}, {7}) lie in two groups; {11} of shard 2.
      assert.equal(folder.metadataReads, 5);
    } finally {
      folder.close();
    }
  });
});

describe("row counts: export's sidecar and autofaiss's index infos", () => {
  test("export records its row count; a folder that lost its last shard is refused by it", async () => {
    const sidecar = JSON.parse(fs.readFileSync(path.join(EXPORTED, "encoder-compare.json"), "utf8")) as { rows: number };
    assert.equal(sidecar.rows, 12);
    for (const [name, shard] of [["lost-last", "2"], ["lost-first", "0"]]) {
      const dir = copyOf(name, EXPORTED);
      fs.rmSync(path.join(dir, "img_emb", `img_emb_${shard}.npy`));
      fs.rmSync(path.join(dir, "metadata", `metadata_${shard}.parquet`));
      const engine = engineWith({});
      try {
        await assert.rejects(
          engine.query("pixels", dir, QUERIES[0], { k: 2, includeSelf: false }),
          new RegExp(`holds ${shard === "2" ? 10 : 7} rows in 2 shard\\(s\\), but its encoder-compare\\.json records 12 \\(written by export\\)`),
        );
      } finally {
        await engine.close();
      }
    }
  });

  test("index infos beside the index: row count and metric checked, tuned nprobe used, clip-retrieval's image.json found", NEEDS_FAISS, async () => {
    const open = async (dir: string, index = "knn.index") => {
      const log: string[] = [];
      const [config] = embeddingsDatasets(
        { dataset: { embeddings: dir, encoder: "pixels", index: path.join(dir, index) }, datasets: {} },
        ROOT,
        DEFAULTS.embeddingsFolder,
      ).values();
      const dataset = await EmbeddingsDataset.open(config, { cacheDir: path.join(WORK, "cache"), info: (m) => log.push(m), warn: () => {}, sha256: () => "" });
      dataset.close();
      return { dataset, log: log.join("\n") };
    };
    const editInfos = (dir: string, name: string, change: Record<string, unknown>) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, "utf8")), ...change }));
    };
    const plain = await open(CLIP);
    assert.match(plain.log, /faiss index knn\.index \(OPQ16_64,IVF4_HNSW32,PQ16x4np, nprobe 4; index_infos\.json read\) opened/);
    assert.equal(plain.dataset.indexLabel, "OPQ+IVF(HNSW)-PQ");

    const tuned = copyOf("infos-nprobe");
    editInfos(tuned, "index_infos.json", { index_param: "nprobe=2,efSearch=16,ht=2048" });
    const applied = await open(tuned);
    assert.deepEqual(applied.dataset.search.index!.params, { nprobe: 2 });
    assert.match(applied.log, /nprobe 2; index_infos\.json read, its nprobe applied\)/);

    for (const [name, change, error] of [
      ["infos-rows", { "nb vectors": 13 }, /index_infos\.json says the index holds 13 vectors but .* has 12 rows/],
      ["infos-l2", { metric_type: "l2" }, /index_infos\.json says the index uses metric l2; cosine search needs an inner-product index/],
    ] as const) {
      const dir = copyOf(name);
      editInfos(dir, "index_infos.json", change);
      await assert.rejects(open(dir), error);
    }
    // `clip-retrieval index` names them image.index and image.json.
    const clip = copyOf("infos-clip-names");
    fs.renameSync(path.join(clip, "knn.index"), path.join(clip, "image.index"));
    fs.renameSync(path.join(clip, "index_infos.json"), path.join(clip, "image.json"));
    editInfos(clip, "image.json", { "nb vectors": 11 });
    await assert.rejects(open(clip, "image.index"), /image\.json says the index holds 11 vectors/);
  });
});

describe("image_path as clip-retrieval writes it", () => {
  test("the --input_dataset prefix (relative, absolute, or configured) is dropped; hits are the images and the query is excluded", async () => {
    const absolute = copyOf("absolute-prefix");
    fs.rmSync(path.join(absolute, "metadata"), { recursive: true });
    writeMetadata(absolute, plan, (p) => `/home/someone/memes/${path.basename(p)}`);
    const native = engineWith({});
    const expected = await hitsOf(native, DATA);
    await native.close();
    const cases: Array<[string, EmbeddingsDatasetOption, RegExp]> = [
      ["relative", { embeddings: CLIP, encoder: "pixels", images: IMAGES }, /image_path starts with "images\/" \(clip-retrieval's --input_dataset\)/],
      ["absolute", { embeddings: absolute, encoder: "pixels", images: IMAGES }, /image_path starts with "\/home\/someone\/memes\/"/],
      ["configured", { embeddings: CLIP, encoder: "pixels", images: IMAGES, imagePathPrefix: "images/" }, /vectors verified/],
    ];
    for (const [name, option, said] of cases) {
      const log: string[] = [];
      const engine = engineWith({ [name]: option }, log);
      try {
        const result = await engine.query("pixels", option.embeddings, QUERIES[0], { k: K, includeSelf: false });
        assert.equal(result.selfExcluded, true, name);
        assert.deepEqual(result.hits.map((h): [string, string] => [h.image.sha256, h.score.toFixed(3)]), expected, name);
        assert.match(log.join("\n"), said, name);
        assert.doesNotMatch(log.join("\n"), /warning/, name);
      } finally {
        await engine.close();
      }
    }
    // The hits' metadata went through lookup files kept in the engine's cache folder, one per parquet shard read.
    const parquets = (fs.readdirSync(path.join(absolute, "metadata"), { recursive: true, encoding: "utf8" }) as string[]).filter((n) => n.endsWith(".parquet"));
    const lookups = parquets.map((name) => MetadataLookup.fileFor(path.join(WORK, "cache", "metadata-lookup"), path.join(absolute, "metadata", name)));
    assert.ok(lookups.some((file) => fs.existsSync(file)), lookups.join(", "));
  });

  test("paths that do not resolve: one warning naming the first and where it was looked for (strict: an error)", async () => {
    const wrong = path.join(WORK, "elsewhere");
    fs.mkdirSync(wrong, { recursive: true });
    for (const strict of [false, true]) {
      const log: string[] = [];
      const engine = engineWith({ lost: { embeddings: CLIP, encoder: "pixels", images: wrong } }, log, strict);
      try {
        const asked = engine.query("pixels", CLIP, QUERIES[0], { k: K, includeSelf: false });
        const said = /12 of 12 image paths looked at do not resolve; the first, "images\/[^"]+\.png" \(row \d+\), was looked for at .*elsewhere\/images\//;
        if (strict) {
          await assert.rejects(asked, said);
          continue;
        }
        const result = await asked;
        const warnings = log.filter((m) => m.startsWith("warning: "));
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(warnings[0], said);
        assert.match(warnings[0], /a query that is itself a row is not recognised \(it comes back at #1, cosine 1\.000\)/);
        // The symptom the warning names: the query's own row at #1.
        assert.equal(result.hits[0].score.toFixed(3), "1.000");
        assert.equal(result.selfExcluded, false);
        await engine.query("pixels", CLIP, QUERIES[1], { k: K, includeSelf: false });
        assert.equal(log.filter((m) => m.startsWith("warning: ")).length, 1);
      } finally {
        await engine.close();
      }
    }
  });
});

describe("options", () => {
  test("verifySample is a count or \"all\"; minRecall a number from 0 to 1", () => {
    const resolve = (extra: Record<string, unknown>) => () =>
      embeddingsDatasets({ dataset: { embeddings: EXPORTED, encoder: "pixels", ...extra }, datasets: {} }, ROOT, DEFAULTS.embeddingsFolder);
    assert.equal([...resolve({ verifySample: "all" })().values()][0].verifySample, "all");
    assert.equal([...resolve({})().values()][0].minRecall, 0.9);
    for (const bad of ["some", -1, 2.5, "32"]) assert.throws(resolve({ verifySample: bad }), /`verifySample` must be an integer ≥ 0, got .* \(or "all": /);
    for (const bad of [1.5, -0.1, "0.9"]) assert.throws(resolve({ minRecall: bad }), /`minRecall` must be a number from 0 to 1, got /);
  });
});

describe("named entries", () => {
  test("two entries on one folder are two datasets, each with its own name and settings", async () => {
    const options = {
      dataset: DATA,
      datasets: {
        sampled: { embeddings: EXPORTED, encoder: "pixels", images: DATA, verifySample: 4, name: "sampled four" },
        trusted: { embeddings: EXPORTED, encoder: "pixels", verifySample: 0, name: "taken on trust" },
      },
    };
    const engine = testEngine(WORK, { embeddingsDatasets: embeddingsDatasets(options, ROOT, DEFAULTS.embeddingsFolder) });
    try {
      const notes = [];
      for (const name of ["sampled", "trusted", "sampled"]) {
        const ref = resolveRequestedDataset(name, options, ROOT, (dir) => dir);
        const result = await engine.query("pixels", ref, QUERIES[0], { k: 1, includeSelf: false });
        notes.push([result.datasetName, result.datasetNote?.split(";")[0]]);
      }
      assert.deepEqual(notes, [
        ["sampled four", "vectors verified: 4 sampled images (seed 0) re-embedded with pixels, cosine ≥ 1.000"],
        ["taken on trust", "vectors unverified (verifySample is 0): taken on trust as pixels"],
        ["sampled four", "vectors verified: 4 sampled images (seed 0) re-embedded with pixels, cosine ≥ 1.000"],
      ]);
      // The folder itself (the CLI's --dataset) is ambiguous between them, and says so.
      const byFolder = engine.query("pixels", EXPORTED, QUERIES[0], { k: 1, includeSelf: false });
      await assert.rejects(byFolder, /configured more than once \(datasets\.sampled, datasets\.trusted\)/);
    } finally {
      await engine.close();
    }
  });
});

describe("what the sampled check can see", () => {
  test("detection probability is the hypergeometric one", () => {
    const choose = (n: number, k: number): bigint => {
      let r = 1n;
      for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
      return r;
    };
    for (const [rows, bad, sampled] of [[20, 5, 4], [572, 10, 32], [1000, 1, 32], [12, 4, 12], [100, 0, 10]]) {
      const exact = 1 - Number((choose(rows - bad, sampled) * 1_000_000_000n) / choose(rows, sampled)) / 1e9;
      assert.ok(Math.abs(detectionProbability(rows, bad, sampled) - exact) < 1e-8, `${rows} ${bad} ${sampled}`);
    }
  });

  test("a partial sample says its odds; \"all\" checks every local row and names the rows that do not match their images", async () => {
    const partial = engineWith({ some: { embeddings: EXPORTED, encoder: "pixels", images: DATA, verifySample: 4 } });
    try {
      const result = await partial.query("pixels", EXPORTED, QUERIES[0], { k: 1, includeSelf: false });
      assert.equal(
        result.datasetNote,
        "vectors verified: 4 sampled images (seed 0) re-embedded with pixels, cosine ≥ 1.000; " +
          "a sample of 4 of 12 rows catches 1 bad row (1 %) with probability 0.33",
      );
    } finally {
      await partial.close();
    }
    // Two pairs of rows swapped in shard 1 (rows 5-9): four rows carry another image's vector.
    const swapped = copyOf("swapped", EXPORTED);
    const file = path.join(swapped, "img_emb", "img_emb_1.npy");
    const bytes = fs.readFileSync(file);
    const width = 768 * 4;
    const at = bytes.length - 5 * width;
    const row = (i: number) => Buffer.from(bytes.subarray(at + i * width, at + (i + 1) * width));
    const [r0, r1, r2, r3] = [0, 1, 2, 3].map(row);
    for (const [i, data] of [[0, r1], [1, r0], [2, r3], [3, r2]] as const) data.copy(bytes, at + i * width);
    fs.writeFileSync(file, bytes);
    for (const seed of [0, 1, 2]) {
      const engine = engineWith({ all: { embeddings: swapped, encoder: "pixels", images: DATA, verifySample: "all", verifySeed: seed } });
      try {
        await assert.rejects(
          engine.query("pixels", swapped, QUERIES[0], { k: 1, includeSelf: false }),
          joinRegExp(
            /re-embedding 12 images \(every row\) disagrees: rows do not match their images: /,
            /row 5 \(.*\) cosine 0\.\d+, row 6 .*, row 7 .*, row 8 .*; the other 8 sampled rows agree/,
          ),
        );
      } finally {
        await engine.close();
      }
    }
    const all = engineWith({ all: { embeddings: EXPORTED, encoder: "pixels", images: DATA, verifySample: "all" } });
    try {
      const result = await all.query("pixels", EXPORTED, QUERIES[0], { k: 1, includeSelf: false });
      assert.equal(result.datasetNote, "vectors verified: all 12 images found locally re-embedded with pixels, cosine ≥ 1.000; every row checked");
    } finally {
      await all.close();
    }
  });
});

describe("recall of the configured index", () => {
  const title = "the estimate equals recall computed independently (python3-faiss + numpy), is remembered, and is warned about below minRecall";
  test(title, NEEDS_FAISS, async () => {
    const truth = JSON.parse(python("recall-truth", RECALL, "0", "32", "10", "32")) as { rows: number[]; recall: number };
    assert.ok(truth.recall > 0.05 && truth.recall < 0.9, `fixture recall ${truth.recall} should be poor`);
    const option = { embeddings: RECALL, encoder: "pixels", index: path.join(RECALL, "knn.index"), candidates: 32 };
    const [config] = embeddingsDatasets({ dataset: option, datasets: {} }, ROOT, DEFAULTS.embeddingsFolder).values();
    for (const round of [1, 2]) {
      const log: string[] = [];
      const context = {
        cacheDir: path.join(WORK, "cache"),
        info: (m: string) => log.push(m),
        warn: (m: string) => log.push(`warning: ${m}`),
        sha256: () => "",
      };
      const dataset = await EmbeddingsDataset.open(config, context);
      try {
        const report = dataset.recall()!;
        assert.deepEqual(report.estimate.rows, truth.rows);
        assert.ok(Math.abs(report.estimate.recall - truth.recall) < 1e-9, `${report.estimate.recall} vs ${truth.recall}`);
        assert.equal(report.note, `IVF-PQ index, recall@10 ≈ ${truth.recall.toFixed(2)} on 32 sampled queries`);
        assert.equal(report.cached, round === 2);
        const text = log.join("\n");
        const figure = truth.recall.toFixed(3);
        assert.match(text, new RegExp(`IVF-PQ index \\(nprobe 1, 32 candidates rescored\\), recall@10 ≈ ${figure} on 32 sampled queries \\(seed 0\\)`));
        assert.match(text, /warning: embeddings recall: the IVF-PQ index finds only \d+ % of exact search's top 10 \(below minRecall 0\.9\)/);
      } finally {
        dataset.close();
      }
    }
  });
});

describe("a clip-retrieval run through Eleventy", () => {
  test("exact and indexed entries on one folder render their own names and notes, with the native dataset's results", NEEDS_FAISS, async () => {
    const content = path.join(WORK, "content");
    fs.mkdirSync(path.join(content, "posts"), { recursive: true });
    fs.copyFileSync(QUERIES[0], path.join(content, "posts", "q.png"));
    const post = (name: string, dataset?: string) =>
      fs.writeFileSync(
        path.join(content, "posts", `${name}.md`),
        `---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", encoders="pixels", k=3${dataset ? `, dataset="${dataset}"` : ""} %>\n`,
      );
    post("native");
    post("exact", "clip-exact");
    post("indexed", "clip-indexed");
    const rel = (p: string) => path.relative(ROOT, p);
    const summaries: BuildSummary[] = [];
    const pages = await buildWithPlugin(content, path.join(WORK, "_site"), {
      onBuildSummary: (summary: BuildSummary) => summaries.push(summary),
      dataset: rel(DATA),
      datasets: {
        // The README's setup: `images` is the folder of images; image_path carries clip-retrieval's "images/" in front.
        "clip-exact": { embeddings: rel(CLIP), encoder: "pixels", images: rel(IMAGES), name: "dataset" },
        "clip-indexed": { embeddings: rel(CLIP), encoder: "pixels", images: rel(IMAGES), index: rel(path.join(CLIP, "knn.index")), name: "dataset" },
      },
      cacheDir: rel(path.join(WORK, "cache")),
      tileSize: 32,
    });
    const html = (name: string) => pages.find((p) => p.inputPath.endsWith(`${name}.md`))!.content;
    const verified = "vectors verified: 12 sampled images \\(seed 0\\) re-embedded with pixels, cosine ≥ (?:1\\.000|0\\.99\\d); every row checked";
    const notes = {
      exact: new RegExp(` <span class="ec-note">\\(${verified}\\)</span>`),
      indexed: new RegExp(` <span class="ec-note">\\(${verified}; OPQ\\+IVF\\(HNSW\\)-PQ index, recall@10 ≈ 1\\.00 on 12 sampled queries\\)</span>`),
    };
    for (const name of ["exact", "indexed"] as const) {
      const page = html(name);
      assert.match(page, notes[name], name);
      const expected = html("native")
        .replace('<span class="ec-encoder">pixels (16×16 thumbnail)</span>', `$&${notes[name].exec(page)![0]}`)
        .replaceAll('alt="1f436-google.png"', 'alt="Q"')
        .replaceAll("results for 1f436-google.png by", "results for Q by");
      if (page !== expected) fs.writeFileSync(path.join(WORK, `${name}.diff.html`), `${page}\n=====\n${expected}`);
      assert.equal(page, expected, name);
    }
    assert.deepEqual(summaries.map((summary) => [...summary.backends].sort()), [["exact-scan", "faiss-file", "js"]]);
  });
});
