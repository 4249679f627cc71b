// Datasets embedded elsewhere: our export in clip-retrieval's layout read back, shards and
// indexes written by numpy and python3-faiss (as autofaiss calls it), the sampled check that
// the vectors are what they claim, and the failures a broken folder must name.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import type { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import type { QueryResult } from "../../plugins/encoder-compare/engine/types.ts";
import { EmbeddingsFolder } from "../../plugins/encoder-compare/dataset/clip-retrieval.ts";
import { EmbeddingsDataset } from "../../plugins/encoder-compare/engine/embeddings-dataset.ts";
import { embeddingsDatasets, type EmbeddingsDatasetOption } from "../../plugins/encoder-compare/dataset/embeddings-option.ts";
import { readNpyHeader, readNpyRows } from "../../plugins/encoder-compare/dataset/npy.ts";
import { normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";
import type { BuildSummary } from "../../plugins/encoder-compare/engine/summary.ts";
import { openFaissIndexFile } from "../../plugins/encoder-compare/search/faiss-file.ts";
import { buildWithPlugin } from "../support/eleventy.ts";
import { testEngine } from "../support/engine.ts";
import { serveStatic, type StaticServer } from "../support/static-server.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { CODES, EMOJI, K, NEEDS_FAISS, python, QUERIES } from "../support/embeddings-fixtures.ts";
import { joinRegExp } from "../support/regexp.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/cluster");
const DATA = path.join(WORK, "dataset");
const EXPORTED = path.join(WORK, "exported");
const PYTHON_OUT = path.join(WORK, "python");

function engineWith(datasets: Record<string, EmbeddingsDatasetOption> = {}, log?: string[]): CompareEngine {
  return testEngine(WORK, {
    embeddingsDatasets: embeddingsDatasets({ dataset: "unused", datasets }, ROOT, DEFAULTS.embeddingsFolder),
    info: (m) => log?.push(m),
    warn: (m) => log?.push(`warning: ${m}`),
  });
}

async function answers(
  engine: CompareEngine,
  encoder: string,
  dataset: string,
): Promise<Array<Pick<QueryResult, "selfExcluded" | "datasetSize"> & { hits: Array<[string, string]> }>> {
  const out = [];
  for (const query of QUERIES) {
    const result = await engine.query(encoder, dataset, query, { k: K, includeSelf: false });
    out.push({
      selfExcluded: result.selfExcluded,
      datasetSize: result.datasetSize,
      hits: result.hits.map((h): [string, string] => [h.image.id, h.score.toFixed(12)]),
    });
  }
  return out;
}

before(async () => {
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(path.join(DATA, "images"), { recursive: true });
  for (const code of CODES)
    for (const vendor of ["google", "twitter"]) fs.copyFileSync(EMOJI(vendor, code), path.join(DATA, "images", `${code}-${vendor}.png`));
  let err = "";
  const code = await main(
    [
      "export",
      "--encoder",
      "pixels",
      "--dataset",
      path.relative(ROOT, DATA),
      "--cache-dir",
      path.relative(ROOT, path.join(WORK, "cache")),
      "--shard-rows",
      "5",
      path.relative(ROOT, EXPORTED),
    ],
    { write: () => {} },
    { write: (c: string) => (err += c) },
    { ENCODER_COMPARE_OFFLINE: "1" },
  );
  assert.equal(code, 0, err);
  python("numpy-shards", EXPORTED, PYTHON_OUT);
  python("npy-formats", path.join(WORK, "npy"));
});

describe(".npy shards", () => {
  test("numpy's versions 1, 2 and 3 and float16 read as numpy reads them; other layouts are refused by name", () => {
    const read = (name: string) => {
      const matrix = readNpyHeader(path.join(WORK, "npy", `${name}.npy`));
      const values = new Float32Array(matrix.rows * matrix.dim);
      const fd = fs.openSync(matrix.file, "r");
      readNpyRows(matrix, fd, 0, matrix.rows, values);
      fs.closeSync(fd);
      return { matrix, values: Array.from(values) };
    };
    const v1 = read("v1");
    assert.deepEqual([v1.matrix.rows, v1.matrix.dim, v1.matrix.dtype], [3, 4, "float32"]);
    assert.deepEqual(read("v2").values, v1.values);
    assert.deepEqual(read("v3").values, v1.values);
    assert.deepEqual(read("f16").values, read("f16-as-f32").values);
    assert.throws(() => read("fortran"), /fortran\.npy: is in Fortran order/);
    assert.throws(() => read("big-endian"), /big-endian\.npy: holds dtype '>f4'/);
    assert.throws(() => read("vector"), /vector\.npy: has shape \(4,\); a 2-D array/);
  });

  test("the exporter writes 3 shards numpy loads, zero-padded as clip-retrieval names them", async () => {
    assert.deepEqual(fs.readdirSync(path.join(EXPORTED, "img_emb")), ["img_emb_0.npy", "img_emb_1.npy", "img_emb_2.npy"]);
    assert.deepEqual(fs.readdirSync(path.join(EXPORTED, "metadata")), ["metadata_0.parquet", "metadata_1.parquet", "metadata_2.parquet"]);
    const folder = await EmbeddingsFolder.open(path.join(PYTHON_OUT, "f32"));
    assert.deepEqual([folder.rows, folder.dim, folder.shards.map((s) => s.npy.rows)], [12, 768, [5, 5, 2]]);
    assert.deepEqual(await folder.metadata([11, 0]), [
      { row: 11, id: "images/1f697-twitter.png", image_path: "images/1f697-twitter.png", caption: "1f697-twitter.png" },
      { row: 0, id: "images/1f34e-google.png", image_path: "images/1f34e-google.png", caption: "1f34e-google.png" },
    ]);
    folder.close();
  });

  test("metadata strings lose terminal control bytes; other columns are ignored", async () => {
    const folder = path.join(WORK, "hostile");
    fs.cpSync(EXPORTED, folder, { recursive: true });
    parquetWriteFile({
      filename: path.join(folder, "metadata", "metadata_2.parquet"),
      columnData: [
        { name: "image_path", data: ["images/1f697-google.png", "images/1f697-twitter.png"], type: "STRING" },
        { name: "caption", data: ["\u001b[2J<b>car</b>\r\n", null], type: "STRING" },
        { name: "aesthetic", data: [6.5, 4.25], type: "DOUBLE" },
      ],
    });
    const opened = await EmbeddingsFolder.open(folder);
    assert.deepEqual(await opened.metadata([10, 11]), [
      { row: 10, image_path: "images/1f697-google.png", caption: " [2J<b>car</b>  " },
      { row: 11, image_path: "images/1f697-twitter.png" },
    ]);
    opened.close();
  });

  test("a shard cut at any byte is refused naming the file (header or data)", () => {
    const source = path.join(EXPORTED, "img_emb", "img_emb_2.npy");
    const bytes = fs.readFileSync(source);
    const cut = path.join(WORK, "cut.npy");
    for (const length of [0, 3, 8, 11, 60, 127, 128, 129, bytes.length - 1]) {
      fs.writeFileSync(cut, bytes.subarray(0, length));
      assert.throws(
        () => readNpyHeader(cut),
        (error: Error) => error.message.startsWith(`${cut}: `) && /truncated|not a \.npy file/.test(error.message),
        `cut at ${length}`,
      );
    }
  });

  test("a truncated shard is an error naming the file; a metadata shard left without its .npy too", async () => {
    const broken = path.join(WORK, "truncated");
    fs.cpSync(EXPORTED, broken, { recursive: true });
    const shard = path.join(broken, "img_emb", "img_emb_1.npy");
    fs.truncateSync(shard, fs.statSync(shard).size - 100);
    await assert.rejects(EmbeddingsFolder.open(broken), (error: Error) => error.message.startsWith(`${shard}: is truncated: its header says 5×768 float32`));
    fs.rmSync(shard);
    // A gap in the numbers is what clip-retrieval leaves for an empty partition; the orphaned metadata is the error.
    await assert.rejects(EmbeddingsFolder.open(broken), /metadata\/metadata_1\.parquet has no img_emb shard \(expected img_emb\/img_emb_1\.npy\)/);
  });
});

describe("embeddings dataset options", () => {
  test("the object form is checked key by key, in one line naming the option", () => {
    const bad = (dataset: unknown) => () => normalizeOptions({ dataset } as never);
    assert.throws(bad({ embeddings: "e", nprobe: 0 }), /^Error: \[encoder-compare\] plugin option `dataset`: `nprobe` must be an integer ≥ 1, got 0$/);
    assert.throws(bad({ embeddings: "e", indx: "i" }), /plugin option `dataset`: `indx` is unknown; known: embeddings, encoder, images, index/);
    assert.throws(bad({ encoder: "pixels" }), /plugin option `dataset`: `embeddings` must be the folder written by `clip-retrieval inference`/);
    assert.throws(bad(""), /plugin option `dataset` must be a folder path or \{ embeddings, encoder, images, index \}/);
    assert.throws(
      () => normalizeOptions({ datasets: { big: { embeddings: "e", verifySample: -1 } } }),
      /plugin option `datasets.big`: `verifySample` must be an integer ≥ 0, got -1/,
    );
    assert.throws(() => normalizeOptions({ datasets: [] as never }), /plugin option `datasets` must be an object of name → dataset/);
    assert.throws(
      () => embeddingsDatasets({ dataset: { embeddings: path.relative(ROOT, DATA) }, datasets: {} }, ROOT, DEFAULTS.embeddingsFolder),
      /plugin option `dataset`: `encoder` is missing; name the encoder id that computed the vectors in /,
    );
  });
});

describe("embeddings folder as a dataset", () => {
  let engine: CompareEngine;
  after(async () => engine?.close());

  test("export → import gives the native dataset's answers exactly (self-exclusion included), verified by sample", async () => {
    const log: string[] = [];
    engine = engineWith({}, log);
    const native = await answers(engine, "pixels", DATA);
    const imported = await answers(engine, "pixels", EXPORTED);
    assert.deepEqual(imported, native);
    assert.equal(native[0].selfExcluded, true);
    assert.equal(native[0].hits.length, K);
    const result = await engine.query("pixels", EXPORTED, QUERIES[1], { k: K, includeSelf: false });
    assert.equal(result.datasetNote, "vectors verified: 12 sampled images (seed 0) re-embedded with pixels, cosine ≥ 1.000; every row checked");
    assert.ok(log.includes("embeddings exported: 12 rows × 768 in 3 shard(s) from pixels; no faiss index: every row is scored exactly"), log.join("\n"));
  });

  test("numpy-written shards (float32) with IVF-PQ and HNSW indexes from python3-faiss give the same answers", NEEDS_FAISS, async () => {
    const native = await answers(engine, "pixels", DATA);
    for (const index of ["ivf.index", "hnsw.index"]) {
      const log: string[] = [];
      const indexed = { embeddings: path.join(PYTHON_OUT, "f32"), encoder: "pixels", images: DATA, index: path.join(PYTHON_OUT, index) };
      const e = engineWith({ [index]: indexed }, log);
      try {
        assert.deepEqual(await answers(e, "pixels", path.join(PYTHON_OUT, "f32")), native, index);
        assert.match(
          log.join("\n"),
          index === "ivf.index" ? /faiss index ivf\.index \(IwPQ, nprobe 4\) opened/ : /faiss index hnsw\.index \(IHNf, efSearch 64\) opened/,
        );
      } finally {
        await e.close();
      }
    }
  });

  test("nprobe and efSearch overrides reach faiss; an L2 index is refused by name", NEEDS_FAISS, () => {
    const ivf = openFaissIndexFile(path.join(PYTHON_OUT, "ivf.index"), { nprobe: 1 });
    assert.deepEqual([ivf.fourcc, ivf.rows, ivf.dim, ivf.params], ["IwPQ", 12, 768, { nprobe: 1 }]);
    const hnsw = openFaissIndexFile(path.join(PYTHON_OUT, "hnsw.index"), { efSearch: 5 });
    assert.deepEqual(hnsw.params, { efSearch: 5 });
    assert.throws(() => openFaissIndexFile(path.join(PYTHON_OUT, "hnsw.index"), { nprobe: 3 }), /hnsw\.index \(IHNf\) has no nprobe to set/);
    assert.throws(() => openFaissIndexFile(path.join(PYTHON_OUT, "l2.index")), /l2\.index uses metric L2; cosine search needs an inner-product index/);
  });

  test("float16 shards are verified within tolerance and rank the same images", async () => {
    const e = engineWith({ half: { embeddings: path.join(PYTHON_OUT, "f16"), encoder: "pixels", images: DATA } });
    try {
      const native = await answers(engine, "pixels", DATA);
      const half = await answers(e, "pixels", path.join(PYTHON_OUT, "f16"));
      assert.deepEqual(half.map((q) => q.hits.map((h) => h[0])), native.map((q) => q.hits.map((h) => h[0])));
      const result = await e.query("pixels", path.join(PYTHON_OUT, "f16"), QUERIES[1], { k: 1, includeSelf: false });
      assert.match(result.datasetNote!, /^vectors verified: 12 sampled images \(seed 0\)/);
    } finally {
      await e.close();
    }
  });

  test("a folder claiming the wrong encoder fails verification naming both; another encoder's tables are refused", async () => {
    const e = engineWith({ wrong: { embeddings: EXPORTED, encoder: "phash", images: DATA } });
    try {
      await assert.rejects(
        e.query("phash", EXPORTED, QUERIES[0], { k: 3, includeSelf: false }),
        joinRegExp(
          /embeddings exported \(.*exported\) claim encoder phash, but re-embedding 12 sampled images \(seed 0\) disagrees: /,
          /wrong model: the vectors have 768 dimensions but phash produces 64/,
        ),
      );
      await assert.rejects(
        e.query("pixels", EXPORTED, QUERIES[0], { k: 3, includeSelf: false }),
        /holds vectors from phash .*; pixels cannot search them — use encoders="phash"/,
      );
    } finally {
      await e.close();
    }
  });

  test("same dimensions, other vectors: the sampled cosine names the row and image", async () => {
    const shuffled = path.join(WORK, "shuffled");
    fs.cpSync(EXPORTED, shuffled, { recursive: true });
    // Rows of shard 0 rotated by one: every vector now belongs to another image.
    const file = path.join(shuffled, "img_emb", "img_emb_0.npy");
    const matrix = readNpyHeader(file);
    const bytes = fs.readFileSync(file);
    const rowBytes = matrix.dim * 4;
    const data = bytes.subarray(matrix.dataOffset);
    const rotated = Buffer.concat([data.subarray(rowBytes), data.subarray(0, rowBytes)]);
    rotated.copy(bytes, matrix.dataOffset);
    fs.writeFileSync(file, bytes);
    const e = engineWith({ shuffled: { embeddings: shuffled, encoder: "pixels", images: DATA } });
    try {
      await assert.rejects(
        e.query("pixels", shuffled, QUERIES[0], { k: 3, includeSelf: false }),
        joinRegExp(
          /disagrees: rows do not match their images: row \d \(images\/[^)]+\.png\) cosine 0\.\d{3}, /,
          /(row \d \(images\/[^)]+\.png\) cosine 0\.\d{3}(, )?){4}; the other 7 sampled rows agree with pixels/,
        ),
      );
    } finally {
      await e.close();
    }
  });

  test("an image_path that climbs out of its URL template's folder (../) gets no URL; the template's own paths do", async () => {
    /** The URL of row 0 under `template`, once per metadata given. */
    const urlUnder = async (template: string, metas: Array<{ image_path?: string; url?: string }>) => {
      const options = { dataset: { embeddings: EXPORTED, encoder: "pixels", images: template }, datasets: {} };
      const [config] = embeddingsDatasets(options, ROOT, DEFAULTS.embeddingsFolder).values();
      const dataset = await EmbeddingsDataset.open(config, { cacheDir: path.join(WORK, "cache"), info: () => {}, warn: () => {}, sha256: () => "" });
      try {
        return metas.map((meta) => dataset.imageUrl({ row: 0, ...meta })?.href);
      } finally {
        dataset.close();
      }
    };
    const paths = ["images/a b.png", "../secret.png", "images/../../secret.png", "./../secret.png", "..\\secret.png", "%2e%2e/secret.png"];
    assert.deepEqual(await urlUnder("http://127.0.0.1:9/memes/{image_path}", paths.map((image_path) => ({ image_path }))), [
      "http://127.0.0.1:9/memes/images/a%20b.png",
      undefined,
      undefined,
      undefined,
      // Backslashes and percent signs are encoded, so these stay names under the template's folder.
      "http://127.0.0.1:9/memes/..%5Csecret.png",
      "http://127.0.0.1:9/memes/%252e%252e/secret.png",
    ]);
    // The url column is placed as written: it may not climb either, encoded or not.
    const urls = ["a/b.png", "../../secret.png", "%2e%2e/%2e%2e/secret.png"];
    assert.deepEqual(await urlUnder("http://127.0.0.1:9/memes/{url}", urls.map((url) => ({ url }))), [
      "http://127.0.0.1:9/memes/a/b.png",
      undefined,
      undefined,
    ]);
  });

  describe("images served over HTTP", () => {
    let server: StaticServer;
    before(async () => {
      server = await serveStatic(DATA);
    });
    after(async () => server?.close());

    test("unreachable locally → unverified in the note; thumbnails fetched from the URL template and cached", async () => {
      const remote = path.join(WORK, "remote");
      fs.cpSync(EXPORTED, remote, { recursive: true });
      fs.rmSync(path.join(remote, "encoder-compare.json"));
      const e = engineWith({ remote: { embeddings: remote, encoder: "pixels", images: `${server.origin}/{image_path}` } });
      try {
        const result = await e.query("pixels", remote, QUERIES[1], { k: 2, includeSelf: false });
        assert.equal(result.datasetNote, "vectors unverified: none of 12 sampled rows (seed 0) has an image reachable locally; taken on trust as pixels");
        const native = await engine.query("pixels", DATA, QUERIES[1], { k: 2, includeSelf: false });
        assert.deepEqual(result.hits.map((h) => [h.image.id, h.image.sha256]), native.hits.map((h) => [h.image.id, h.image.sha256]));
        for (const hit of result.hits) assert.equal(path.dirname(hit.image.file), path.join(WORK, "cache", "remote-images"));
        assert.deepEqual(server.notFound, []);
      } finally {
        await e.close();
      }
    });
  });
});

describe("embeddings dataset through Eleventy", () => {
  test("dataset=\"name\" from the datasets option renders the native dataset's table, plus where its vectors came from", async () => {
    const content = path.join(WORK, "content");
    fs.mkdirSync(path.join(content, "posts"), { recursive: true });
    fs.copyFileSync(QUERIES[0], path.join(content, "posts", "q.png"));
    fs.writeFileSync(
      path.join(content, "posts", "native.md"),
      '---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", encoders="pixels", k=3 %>\n',
    );
    fs.writeFileSync(
      path.join(content, "posts", "cluster.md"),
      '---\ntemplateEngineOverride: njk,md\n---\n<% encoderCompare "q.png", encoders="pixels", k=3, dataset="memes-at-scale" %>\n',
    );
    const rel = (p: string) => path.relative(ROOT, p);
    const summaries: BuildSummary[] = [];
    const pages = await buildWithPlugin(content, path.join(WORK, "_site"), {
      onBuildSummary: (summary: BuildSummary) => summaries.push(summary),
      dataset: rel(DATA),
      datasets: { "memes-at-scale": { embeddings: rel(EXPORTED), name: "dataset" } },
      cacheDir: rel(path.join(WORK, "cache")),
      tileSize: 32,
    });
    const html = (name: string) => pages.find((p) => p.inputPath.endsWith(`${name}.md`))!.content;
    const note = ' <span class="ec-note">(vectors verified: 12 sampled images (seed 0) re-embedded with pixels, cosine ≥ 1.000; every row checked)</span>';
    // The query's alt text comes from its own file name here: an embeddings folder is not scanned
    // for the query's caption, as an image folder is (the results are what must be identical).
    const expected = html("native")
      .replace('<span class="ec-encoder">pixels (16×16 thumbnail)</span>', `$&${note}`)
      .replaceAll('alt="1f436-google.png"', 'alt="Q"')
      .replaceAll("results for 1f436-google.png by", "results for Q by");
    assert.notEqual(expected, html("native"));
    assert.equal(html("cluster"), expected);
    assert.deepEqual(summaries.map((summary) => summary.backends), [["exact-scan", "js"]]);
  });
});
