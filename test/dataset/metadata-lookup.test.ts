// Metadata lookup files: a shard's metadata decoded once into a file under the cache, read back by row. What is read
// through them must equal what is read from the parquet directly (caps, control characters, nulls, unread chunks), a
// second open reuses them, and a file that is damaged or no longer matches its parquet is rebuilt, not read.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { before, describe, test } from "node:test";
import { parquetWriteFile } from "hyparquet-writer";
import { EmbeddingsFolder, type RowMetadata } from "../../plugins/encoder-compare/dataset/clip-retrieval.ts";
import { MetadataLookup } from "../../plugins/encoder-compare/dataset/metadata-lookup.ts";
import { encodeNpy } from "../../plugins/encoder-compare/dataset/npy.ts";
import { openCheckedParquet, readRows } from "../../plugins/encoder-compare/dataset/parquet-check.ts";

const WORK = path.join(process.cwd(), "test/.output/metadata-lookup");
const SHARDS = [5, 5, 2];
/** Every row, shuffled, with a repeat: results come back in the order asked. */
const WANTED = [11, 0, 3, 5, 2, 7, 1, 6, 4, 9, 8, 10, 3];

/** Row i's values: multi-byte text, nulls, control characters, a caption over its cap, a path over the url cap, an int64 id. */
function rowValues(i: number, edit = "") {
  return {
    id: BigInt(1000 + i),
    image_path: i === 3 ? `images/${"x".repeat(5000)}.jpg` : `images/ü${i}😀.jpg`,
    caption: i % 4 === 1 ? null : i === 2 ? `bell\u0007 and esc\u001b[31m red${edit}` : i === 6 ? "long ".repeat(400) : `caption ${i}${edit} — ✓ 日本`,
    url: i === 7 ? "" : `https://example.org/${i}`,
  };
}

function writeShardMetadata(dir: string, n: number, edit = ""): void {
  const first = SHARDS.slice(0, n).reduce((a, b) => a + b, 0);
  const values = Array.from({ length: SHARDS[n] }, (_, i) => rowValues(first + i, edit));
  parquetWriteFile({
    filename: path.join(dir, "metadata", `metadata_${n}.parquet`),
    columnData: [
      { name: "id", data: values.map((v) => v.id), type: "INT64" },
      { name: "image_path", data: values.map((v) => v.image_path), type: "STRING" },
      { name: "caption", data: values.map((v) => v.caption), type: "STRING" },
      { name: "url", data: values.map((v) => v.url), type: "STRING" },
    ],
    rowGroupSize: 2,
  });
}

function makeFolder(name: string): string {
  const dir = path.join(WORK, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "img_emb"), { recursive: true });
  fs.mkdirSync(path.join(dir, "metadata"), { recursive: true });
  for (const [n, rows] of SHARDS.entries()) {
    fs.writeFileSync(path.join(dir, "img_emb", `img_emb_${n}.npy`), encodeNpy(new Float32Array(rows * 4).fill(0.5), rows, 4));
    writeShardMetadata(dir, n);
  }
  return dir;
}

interface Read {
  metas: RowMetadata[];
  cut: number;
  reads: number;
  builds: number;
}

async function read(dir: string, lookupDir?: string, rows = WANTED): Promise<Read> {
  const folder = await EmbeddingsFolder.open(dir, { lookupDir });
  try {
    const metas = await folder.metadata(rows);
    return { metas, cut: folder.textCaps.count, reads: folder.metadataReads, builds: folder.metadataLookupBuilds };
  } finally {
    folder.close();
  }
}

const lookupFiles = (dir: string) => fs.readdirSync(dir).filter((name) => name.endsWith(".bin")).sort();

describe("metadata lookup files", () => {
  let dir: string;
  let direct: Read;
  before(async () => {
    fs.rmSync(WORK, { recursive: true, force: true });
    dir = makeFolder("folder");
    direct = await read(dir);
  });

  test("lookups give what the parquet gives: same strings, caps, dropped paths and control characters replaced", async () => {
    // The fixture exercises every rule, so equality below is not vacuous.
    assert.equal(direct.metas[2].image_path, undefined);
    assert.equal(direct.metas[4].caption, "bell  and esc [31m red");
    assert.equal(direct.metas[7].caption!.length, 1_000);
    assert.equal(direct.metas[1].caption, "caption 0 — ✓ 日本");
    assert.equal(direct.metas[0].id, "1011");
    assert.equal(direct.metas[5].url, undefined);
    assert.equal(direct.metas[6].caption, undefined);
    assert.equal(direct.cut, 2);
    const lookups = path.join(WORK, "lookups-same");
    const first = await read(dir, lookups);
    assert.deepEqual(first.metas, direct.metas);
    assert.equal(first.cut, direct.cut);
    assert.equal(first.builds, 3);
    assert.equal(lookupFiles(lookups).length, 3);
    // Single rows and rows of one shard, in other orders.
    for (const rows of [[5], [9, 8], [0, 11, 0]]) {
      assert.deepEqual((await read(dir, lookups, rows)).metas, (await read(dir, undefined, rows)).metas);
    }
  });

  test("a second open reuses the lookup files: no parquet row group decoded, nothing built", async () => {
    const lookups = path.join(WORK, "lookups-reuse");
    const first = await read(dir, lookups);
    // Building decodes each row group once (3 + 3 + 1), whatever the hits.
    assert.deepEqual([first.builds, first.reads], [3, 7]);
    const stamps = lookupFiles(lookups).map((name) => fs.statSync(path.join(lookups, name)).mtimeMs);
    const second = await read(dir, lookups);
    assert.deepEqual([second.builds, second.reads], [0, 0]);
    assert.deepEqual(second.metas, direct.metas);
    assert.deepEqual(lookupFiles(lookups).map((name) => fs.statSync(path.join(lookups, name)).mtimeMs), stamps);
  });

  // 4 columns: a table entry is 8 + 4 × 4 + 4 bytes; shard 0 has 5 rows, so its strings start at byte 140.
  const damages: Array<[string, (file: string) => void]> = [
    ["a flipped byte in the strings", (file) => flip(file, 150)],
    ["a flipped byte in a row's table entry", (file) => flip(file, 28 + 2)],
    ["a flipped byte in the header", (file) => flip(file, fs.statSync(file).size - 40)],
    ["a truncated file", (file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
    ["a file of something else", (file) => fs.writeFileSync(file, "not a lookup file at all, but long enough to have a trailer")],
    ["an empty file", (file) => fs.writeFileSync(file, "")],
  ];
  for (const [what, damage] of damages) {
    test(`a damaged lookup file is rebuilt, never read: ${what}`, async () => {
      const lookups = path.join(WORK, `lookups-damaged-${what.replace(/\W+/g, "-")}`);
      await read(dir, lookups);
      const shard0 = MetadataLookup.fileFor(lookups, path.join(dir, "metadata", "metadata_0.parquet"));
      assert.ok(fs.existsSync(shard0));
      damage(shard0);
      const again = await read(dir, lookups);
      assert.deepEqual(again.metas, direct.metas);
      assert.equal(again.builds, 1);
      assert.equal((await read(dir, lookups)).builds, 0);
    });
  }

  test("a changed parquet invalidates its lookup file: new content, or the same content touched", async () => {
    const changed = makeFolder("changed");
    const lookups = path.join(WORK, "lookups-changed");
    await read(changed, lookups);
    writeShardMetadata(changed, 1, " (edited)");
    const edited = await read(changed, lookups);
    assert.equal(edited.builds, 1);
    assert.deepEqual(edited.metas, (await read(changed)).metas);
    assert.equal(edited.metas[WANTED.indexOf(8)].caption, "caption 8 (edited) — ✓ 日本");
    // Same bytes, newer modification time: rebuilt too (the file could have been rewritten in place).
    const shard2 = path.join(changed, "metadata", "metadata_2.parquet");
    const later = new Date(fs.statSync(shard2).mtimeMs + 5_000);
    fs.utimesSync(shard2, later, later);
    assert.equal((await read(changed, lookups)).builds, 1);
    // A shard rewritten with other strings (same rows, columns and row groups), so it is rebuilt.
    writeShardMetadata(changed, 0, " (edit2)");
    const replaced = await read(changed, lookups);
    assert.equal(replaced.builds, 1);
    assert.equal(replaced.metas[WANTED.indexOf(0)].caption, "caption 0 (edit2) — ✓ 日本");
  });

  test("a row group larger than a build's slice is decoded a slice at a time, with the same rows", async () => {
    const single = path.join(WORK, "single-group.parquet");
    const rows = Array.from({ length: 7 }, (_, i) => rowValues(i));
    parquetWriteFile({
      filename: single,
      columnData: [
        { name: "image_path", data: rows.map((v) => v.image_path), type: "STRING" },
        { name: "caption", data: rows.map((v) => v.caption), type: "STRING" },
      ],
    });
    const parquet = await openCheckedParquet(single);
    assert.equal(parquet.metadata.row_groups.length, 1);
    let groups = 0;
    const lookup = await MetadataLookup.build(path.join(WORK, "lookups-slices"), single, parquet, ["image_path", "caption"], () => groups++, 3);
    try {
      const direct = await readRows(single, parquet, 0, 7, ["image_path", "caption"]);
      assert.deepEqual(
        Array.from({ length: 7 }, (_, r) => lookup.row(r)),
        direct.map((record) => ({ image_path: String(record.image_path), caption: record.caption === null ? "" : String(record.caption) })),
      );
      assert.equal(groups, 1);
    } finally {
      lookup.close();
    }
  });

  test("a build sweeps the temp files of killed builds, not those of a live process", async () => {
    const lookups = path.join(WORK, "lookups-leftovers");
    fs.mkdirSync(lookups, { recursive: true });
    const name = (pid: number) => `${"a".repeat(32)}.bin.${pid}-1.tmp`;
    // 2^22 + 1 is above the largest pid Linux hands out (pid_max ≤ 2^22); the test's own pid is alive.
    fs.writeFileSync(path.join(lookups, name(4_194_305)), "partial");
    fs.writeFileSync(path.join(lookups, name(process.pid)), "in progress");
    assert.equal((await read(dir, lookups)).builds, 3);
    assert.deepEqual(fs.readdirSync(lookups).filter((n) => n.endsWith(".tmp")), [name(process.pid)]);
  });

  test("a lookup folder that cannot be written: lookups read the parquet, with the same results and the reason kept", async () => {
    const blocked = path.join(WORK, "blocked");
    fs.writeFileSync(blocked, "a file where the lookup folder would be");
    const folder = await EmbeddingsFolder.open(dir, { lookupDir: path.join(blocked, "lookups") });
    try {
      assert.deepEqual(await folder.metadata(WANTED), direct.metas);
      assert.match(folder.metadataLookupError ?? "", /metadata_\d\.parquet: ENOTDIR/);
    } finally {
      folder.close();
    }
  });
});

function flip(file: string, at: number): void {
  const bytes = fs.readFileSync(file);
  bytes[at] ^= 0xff;
  fs.writeFileSync(file, bytes);
}
