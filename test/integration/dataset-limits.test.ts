// What a dataset's own data can make a build do: strings cut to their caps, work that grows with distinct files
// (not manifest entries), one unlistable folder skipped rather than fatal, .npy and parquet files that lie about
// their size refused by name, and ids that differ only in their Unicode spelling refused. Through the real entry
// points: Eleventy builds, and the CLI as a child process under a kill timer.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parquetWriteBuffer } from "hyparquet-writer";
import { main } from "../../plugins/encoder-compare/cli/main.ts";
import { listDataset } from "../../plugins/encoder-compare/dataset/load.ts";
import { columnsWithin, openCheckedParquet } from "../../plugins/encoder-compare/dataset/parquet-check.ts";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import { buildProject, chain, EMOJI, projectMaker, type SmallProject } from "../support/small-project.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/dataset-limits");
const MODELS = path.join(WORK, "models");
const rel = (p: string) => path.relative(ROOT, p);
const project = projectMaker(WORK);
const { maxCaptionChars, maxIdChars } = DEFAULTS.datasetLimits;

/** Removes a tree too deep for path-based removal (GNU rm walks it by descriptor). */
function removeDeep(dir: string): void {
  if (fs.existsSync(dir)) execFileSync("rm", ["-rf", "--", dir]);
}

before(() => removeDeep(WORK));
after(() => removeDeep(WORK));

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The CLI (bin.js) as a child process, SIGKILLed after `seconds`: a hang fails the test instead of the suite. */
function cliChild(args: string[], seconds = 60, env: Record<string, string> = {}): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["plugins/encoder-compare/bin.js", ...args], {
      cwd: ROOT,
      env: { ...process.env, ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: MODELS, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `index` over the project's dataset with the pixels encoder, in a child process. */
function indexChild(p: SmallProject, seconds = 60): Promise<ChildResult> {
  return cliChild(["index", "--dataset", rel(p.dataset), "--cache-dir", rel(path.join(p.dir, ".cache")), "--encoders", "pixels"], seconds);
}

/** The page of a build of `p` (one post). */
async function page(p: SmallProject, options: Record<string, unknown> = {}): Promise<string> {
  const { pages } = await buildProject(p.dir, options);
  return pages[0].content;
}

/** The build of `p` fails with one message naming the post and matching `message`. */
async function buildFails(p: SmallProject, message: RegExp, options: Record<string, unknown> = {}): Promise<string> {
  let text = "";
  await assert.rejects(buildProject(p.dir, options), (error) => {
    text = chain(error);
    assert.match(text, /posts\/p\/index\.md/);
    assert.match(text, message);
    return true;
  });
  return text;
}

const writeManifest = (p: SmallProject, images: unknown[]) => fs.writeFileSync(path.join(p.dataset, "manifest.json"), JSON.stringify({ images }));

describe("strings from a dataset are cut to their caps when read", () => {
  test("manifest.json: a 5 MB caption and a 1 MB id give a page of the usual size, cut with an ellipsis", async () => {
    const plain = project(`<% encoderCompare "query.png", k=3 %>`);
    const usual = (await page(plain)).length;
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    const caption = "caption ".repeat(640 * 1024);
    writeManifest(p, [
      { id: "i".repeat(1024 * 1024), file: "1f436.png", caption },
      { file: "1f431.png", caption: "a cat" },
      { file: "1f34e.png", caption: "an apple" },
    ]);
    const html = await page(p);
    assert.ok(html.length < usual + 4 * (maxCaptionChars + maxIdChars), `${html.length} characters, ${usual} usually`);
    assert.ok(html.includes(`${caption.slice(0, 100)}`) && html.includes("…"), "the cut caption is shown with an ellipsis");
    assert.ok(!html.includes(caption.slice(0, maxCaptionChars + 10)), "no more than the cap is shown");
  });

  test("manifest.csv: long caption and group → one warning line naming the manifest and the first row; index keeps working", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    const rows = [["id", "file", "caption", "group"], ["dog", "1f436.png", "w".repeat(3_000_000), "g".repeat(100_000)], ["cat", "1f431.png", "c", "x"]];
    fs.writeFileSync(path.join(p.dataset, "manifest.csv"), rows.map((r) => r.join(",")).join("\n") + "\n");
    const result = await indexChild(p);
    assert.equal(result.code, 0, result.stderr);
    const warnings = result.stderr.split("\n").filter((line) => line.includes("longer than the caps"));
    assert.equal(warnings.length, 1, result.stderr);
    assert.match(warnings[0], /manifest\.csv: 2 string\(s\) longer than the caps were cut with "…" \(first: row 2 \(line 2\) caption, 3,000,000 characters\)/);
    assert.ok(result.stderr.length < 4_000, `${result.stderr.length} characters on stderr`);
  });

  test("file names: a dataset without manifest whose paths run to 2,000 characters keeps ids and captions within the caps", async () => {
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    let dir = p.dataset;
    for (let i = 0; i < 8; i++) dir = path.join(dir, `${"d".repeat(240)}${i}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.renameSync(path.join(p.dataset, "1f436.png"), path.join(dir, `${"n".repeat(240)}.png`));
    const listing = listDataset(p.dataset);
    for (const entry of listing.entries) {
      assert.ok(entry.id.length <= maxIdChars && entry.caption.length <= maxCaptionChars, entry.id);
    }
    assert.ok(listing.entries.some((e) => e.id.endsWith("…")));
    assert.equal(listing.warnings.length, 1);
    const html = await page(p);
    assert.ok(html.length < 40_000, `${html.length} characters`);
  });
});

describe("embeddings folders: parquet metadata strings and footers", () => {
  let exported: string;
  let images: string;
  before(async () => {
    const p = project("");
    images = p.dataset;
    exported = path.join(p.dir, "exported");
    let err = "";
    const args = ["export", "--encoder", "pixels", "--dataset", rel(p.dataset), "--cache-dir", rel(path.join(p.dir, ".cache")), rel(exported)];
    const code = await main(args, { write: () => {} }, { write: (c: string) => (err += c) }, { ENCODER_COMPARE_OFFLINE: "1" });
    assert.equal(code, 0, err);
  });

  /** A copy of the exported folder whose metadata parquet is `parquet`. */
  function folderWith(name: string, parquet: Buffer): string {
    const dir = path.join(WORK, "folders", name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.cpSync(exported, dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "metadata", "metadata_0.parquet"), parquet);
    return dir;
  }

  const metadataParquet = (columns: Record<string, string[]>) =>
    Buffer.from(parquetWriteBuffer({ columnData: Object.entries(columns).map(([name, data]) => ({ name, data, type: "STRING" as const })) }));

  const withDataset = (dir: string) => ({ datasets: { big: { embeddings: rel(dir), encoder: "pixels", verifySample: 0, images: rel(images) } } });

  test("captions of 30 MB each (they compress to little) give a page of the usual size", async () => {
    const paths = ["1f34e.png", "1f431.png", "1f436.png"];
    const plain = folderWith("plain", metadataParquet({ image_path: paths, caption: ["a", "b", "c"] }));
    const big = "x".repeat(30 * 1024 * 1024);
    const hostile = folderWith("captions", metadataParquet({ image_path: paths, caption: [big, big, big], id: paths.map((p) => p + "y".repeat(5e6)) }));
    assert.ok(fs.statSync(path.join(hostile, "metadata", "metadata_0.parquet")).size < 8 * 1024 * 1024);
    const usual = (await page(project(`<% encoderCompare "query.png", k=3, dataset="big" %>`), withDataset(plain))).length;
    const html = await page(project(`<% encoderCompare "query.png", k=3, dataset="big" %>`), withDataset(hostile));
    assert.ok(html.length < usual + 6 * (maxCaptionChars + maxIdChars), `${html.length} characters, ${usual} usually`);
    assert.match(html, /x{100}…/);
    // A chunk that decodes to more than the cap is not read at all (here with a cap of 1 MiB: the 30 MB dictionary).
    const parquet = await openCheckedParquet(path.join(hostile, "metadata", "metadata_0.parquet"));
    assert.deepEqual(columnsWithin(parquet, 2, ["image_path", "caption", "id"], 1024 ** 2), { read: ["image_path"], tooLarge: ["caption", "id"] });
    assert.ok(DEFAULTS.datasetLimits.maxMetadataChunkBytes >= 64 * 1024 ** 2);
  });

  /** The exported parquet (3 rows) with the footer's row counts claiming `claimed` rows. */
  function lyingParquet(claimed: number): Buffer {
    const bytes = metadataParquet({ image_path: ["1f34e.png", "1f431.png", "1f436.png"], caption: ["a", "b", "c"] });
    const footer = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
    // Thrift compact: field delta 1, type i64 (0x16), then zigzag varint 3 → 6. FileMetaData.num_rows,
    // RowGroup.num_rows and each ColumnMetaData.num_values are all spelled so here.
    let patched = 0;
    for (let i = footer; i < bytes.length - 9; i++) {
      if (bytes[i] === 0x16 && bytes[i + 1] === 6) {
        bytes[i + 1] = claimed * 2;
        patched++;
      }
    }
    assert.ok(patched >= 3, `patched ${patched} counts`);
    return bytes;
  }

  test("a parquet footer claiming more rows than its data holds is refused by name, not shown as empty rows", async () => {
    // The .npy shard is made to agree with the footer, so only the parquet data can tell.
    const dir = folderWith("lying", lyingParquet(40));
    const npy = path.join(dir, "img_emb", "img_emb_0.npy");
    const header = fs.readFileSync(npy).subarray(0, 128).toString("latin1");
    const dim = Number(/'shape': \(3, (\d+)\)/.exec(header)![1]);
    const headerBytes = fs.readFileSync(npy).length - 3 * dim * 4;
    const values = new Float32Array(40 * dim).map((_, i) => ((i * 7919) % 1000) / 1000);
    const { encodeNpy } = await import("../../plugins/encoder-compare/dataset/npy.ts");
    fs.writeFileSync(npy, encodeNpy(values, 40, dim));
    assert.ok(headerBytes > 0);
    const p = project(`<% encoderCompare "query.png", k=3, dataset="big" %>`);
    await buildFails(p, /metadata_0\.parquet: its footer claims 40 rows but row 39 is not in its data/, withDataset(dir));
  });

  test("further parquet lies: a footer whose row groups do not add up, and a file cut short", async () => {
    const good = metadataParquet({ image_path: ["1f34e.png", "1f431.png", "1f436.png"], caption: ["a", "b", "c"] });
    const cut = folderWith("cut", good.subarray(0, good.length - 20));
    await buildFails(project(`<% encoderCompare "query.png", dataset="big" %>`), /metadata_0\.parquet: is not a readable parquet file/, withDataset(cut));
    const empty = folderWith("empty", Buffer.alloc(0));
    await buildFails(project(`<% encoderCompare "query.png", dataset="big" %>`), /metadata_0\.parquet: is not a readable parquet file/, withDataset(empty));
  });
});

describe(".npy shards that lie about their size are refused by name", () => {
  const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
  /** A version 2.0 .npy: a 4-byte header length (`declared`), the header text, then `data`. */
  function npyV2(header: string, data = Buffer.alloc(0), declared = header.length): Buffer {
    const prefix = Buffer.alloc(12);
    MAGIC.copy(prefix);
    prefix[6] = 2;
    prefix.writeUInt32LE(declared >>> 0, 8);
    return Buffer.concat([prefix, Buffer.from(header, "latin1"), data]);
  }
  const header = (shape: string, descr = "<f4") => `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape}), }\n`;

  // [name, bytes, message, size of the file (sparse beyond the bytes)]
  const cases: Array<[string, Buffer, RegExp, number?]> = [
    ["header length 0xFFFFFF00, 5 GiB sparse file", npyV2(header("1, 4"), Buffer.alloc(16), 0xffffff00), /declares a \.npy header of 4294967040/, 5 * 2 ** 30],
    ["header length 0xFFFFFF00", npyV2(header("1, 4"), Buffer.alloc(16), 0xffffff00), /declares a \.npy header of 4294967040 bytes/],
    ["shape (0, 4e12)", npyV2(header("0, 4000000000000")), /has shape \(0, 4000000000000\): vectors of 4000000000000 dimensions/],
    ["shape (2**40, 2**20)", npyV2(header("1099511627776, 1048576")), /vectors of 1048576 dimensions/],
    ["shape (2**50, 8)", npyV2(header("1125899906842624, 8")), /more values than a file can hold|is truncated/],
    ["truncated data", npyV2(header("3, 4"), Buffer.alloc(40)), /is truncated: its header says 3×4 float32 \(\d+ bytes\) but the file has \d+ bytes/],
    ["wrong dtype", npyV2(header("3, 4", "<f8"), Buffer.alloc(96)), /holds dtype '<f8'/],
    ["one dimension", npyV2(header("12,"), Buffer.alloc(48)), /has shape \(12,\); a 2-D array/],
  ];
  for (const [name, bytes, message, size] of cases) {
    test(`${name}: the CLI query names the shard and what is wrong, in one line`, async () => {
      const dir = path.join(WORK, "npy", name.replace(/\W+/g, "-"));
      fs.mkdirSync(path.join(dir, "img_emb"), { recursive: true });
      fs.writeFileSync(path.join(dir, "img_emb", "img_emb_0.npy"), bytes);
      if (size) fs.truncateSync(path.join(dir, "img_emb", "img_emb_0.npy"), size);
      fs.writeFileSync(path.join(dir, "encoder-compare.json"), JSON.stringify({ encoder: "pixels" }));
      const result = await cliChild(["query", "--dataset", rel(dir), "--cache-dir", rel(path.join(WORK, "npy-cache")), "--encoders", "pixels", EMOJI("1f415")]);
      assert.equal(result.signal, null, "killed by the timer");
      assert.notEqual(result.code, 0);
      const lines = result.stderr.trim().split("\n");
      assert.ok(lines.length <= 2, result.stderr);
      assert.match(result.stderr, /img_emb_0\.npy: /);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /out of range|Invalid typed array length|RangeError|    at /);
    });
  }
});

describe("work grows with distinct files, not manifest entries; one bad folder never fails the dataset", () => {
  test("a 1,000,000-entry manifest naming 10 files: index finishes and counts the 999,990 dropped entries", async () => {
    const p = project("");
    const files: string[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `f${i}.png`;
      fs.copyFileSync(EMOJI(["1f436", "1f431", "1f34e", "1f697", "1f438", "1f42d", "1f680", "1f40c", "1f41d", "1f355"][i]), path.join(p.dataset, name));
      files.push(name);
    }
    const images = Array.from({ length: 1_000_000 }, (_, i) => `{"id":"e${i}","file":"${files[i % 10]}"}`);
    fs.writeFileSync(path.join(p.dataset, "manifest.json"), `{"images":[${images.join(",")}]}`);
    const result = await indexChild(p, 120);
    assert.equal(result.signal, null, "index did not finish within 120 s");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pixels: 10 embedded/);
    assert.match(result.stderr, /manifest\.json: 999,990 entries dropped: they name 10 file\(s\) that an earlier entry already names/);
  });

  test("further spellings of one file (./a.png, sub/../a.png) in a CSV manifest are read once and counted", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    fs.mkdirSync(path.join(p.dataset, "sub"));
    const rows = ["id,file", "a,1f436.png", "b,./1f436.png", "c,sub/../1f436.png", "d,1f431.png", "e,.//1f431.png"];
    fs.writeFileSync(path.join(p.dataset, "manifest.csv"), rows.join("\n"));
    const result = await indexChild(p);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /manifest\.csv: 3 entries dropped: they name 2 file\(s\)/);
  });

  /** A chain of `depth` folders named `name` under `dir`, made by descriptor-relative steps (paths past PATH_MAX). */
  function deepFolders(dir: string, depth: number, name: string): void {
    const script = "import os,sys\nos.chdir(sys.argv[1])\nfor _ in range(int(sys.argv[2])):\n os.mkdir(sys.argv[3]); os.chdir(sys.argv[3])\n" +
      "open('deep.png','wb').write(open(sys.argv[4],'rb').read())\n";
    execFileSync("/usr/bin/python3", ["-c", script, dir, String(depth), name, EMOJI("1f697")]);
  }

  test("one folder nested 2,100 deep: the build succeeds with the other images, the deep member skipped in a short line", async () => {
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    deepFolders(p.dataset, 2_100, "d");
    const html = await page(p);
    assert.match(html, /1f436\.png/);
    const result = await indexChild(p);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /pixels: 3 images indexed/);
    assert.match(result.stderr, /1 dataset image\(s\) skipped: .*\(folder not listed: nested deeper than 64 folders\)/);
    assert.ok(result.stderr.length < 1_000, `${result.stderr.length} characters on stderr`);
  });

  test("folders of 250-character names 20 deep (ENAMETOOLONG before the depth bound) are skipped the same way", async () => {
    const p = project(`<% encoderCompare "query.png", k=3 %>`);
    deepFolders(p.dataset, 20, "n".repeat(250));
    const result = await indexChild(p);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /pixels: 3 embedded/);
    assert.match(result.stderr, /1 dataset image\(s\) skipped: .*\(folder not listed: its path is longer than the system allows \(ENAMETOOLONG\)\)/);
    assert.ok(result.stderr.length < 1_000, `${result.stderr.length} characters on stderr`);
  });
});

describe("lookalike identities: ids and groups are compared in Unicode NFC", () => {
  const NFC = "caf\u00e9";
  const NFD = "cafe\u0301";

  test("manifest ids café (NFC) and café (NFD): the build fails naming both entries", async () => {
    const p = project(`<% encoderCompare "query.png" %>`);
    writeManifest(p, [{ id: NFC, file: "1f436.png" }, { id: "x", file: "1f431.png" }, { id: NFD, file: "1f34e.png" }]);
    await buildFails(p, /images\[0\] id "caf\\u00e9" and images\[2\] id "cafe\\u0301" are the same id once normalised \(Unicode NFC/);
  });

  test("further lookalikes: Å as U+212B and U+00C5 in a CSV manifest; two file names without manifest", async () => {
    const csv = project(`<% encoderCompare "query.png" %>`);
    fs.writeFileSync(path.join(csv.dataset, "manifest.csv"), "id,file\n\u212B,1f436.png\n\u00C5,1f431.png\n");
    await buildFails(csv, /row 2 \(line 2\) id "\\u212b" and row 3 \(line 3\) id "\\u00c5" are the same id once normalised/);
    const names = project(`<% encoderCompare "query.png" %>`);
    fs.renameSync(path.join(names.dataset, "1f436.png"), path.join(names.dataset, `${NFC}.png`));
    fs.renameSync(path.join(names.dataset, "1f431.png"), path.join(names.dataset, `${NFD}.png`));
    await buildFails(names, /dataset folder .*: file "cafe\\u0301\.png" and file "caf\\u00e9\.png" are the same id once normalised/);
  });

  test("a post's expect= and rankOf= in NFD find the dataset's NFC group and id", async () => {
    const p = project(`<% encoderCompare "query.png", k=3, expect="${NFD}", rankOf="${NFD}-dog" %>`);
    writeManifest(p, [
      { id: `${NFC}-dog`, file: "1f436.png", group: NFC },
      { id: "cat", file: "1f431.png", group: "cat" },
      { id: "apple", file: "1f34e.png", group: "apple" },
    ]);
    const html = await page(p);
    assert.match(html, /class="ec-match"/);
  });

  test("groups spelled in NFC and NFD are one group (Hangul syllable and its jamo too)", () => {
    const p = project("");
    writeManifest(p, [
      { file: "1f436.png", group: NFC },
      { file: "1f431.png", group: NFD },
      { file: "1f34e.png", group: "\u1112\u1161\u11AB" },
    ]);
    assert.deepEqual(new Set(listDataset(p.dataset).entries.map((e) => e.group)), new Set([NFC, "\uD55C"]));
  });
});
