// Incremental indexes: adding, changing or deleting one dataset image embeds only that image and
// patches the index (no re-adding of the rest), with results identical to a full rebuild; a new
// process reuses finished query results and the cached ANN graph.
import { seededRandom } from "../support/prng.ts";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import type { EngineOptions, IndexUpdate } from "../../plugins/encoder-compare/engine/types.ts";
import { faissStatus, IncrementalIndex, type SearchHit } from "../../plugins/encoder-compare/search/index.ts";
import { buildIndex } from "../reference/flat-index.ts";
import { testEngine } from "../support/engine.ts";

const ROOT = process.cwd();
const EMOJI_DIR = path.join(ROOT, "node_modules/emoji-datasource-google/img/google/64");
const EMOJI = fs.readdirSync(EMOJI_DIR).filter((f) => f.endsWith(".png")).sort();
const skipFaiss = faissStatus().available ? false : "faiss-node unavailable";


const temps: string[] = [];
after(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-incr-"));
  temps.push(dir);
  return dir;
}

/** A dataset folder of `count` distinct emoji PNGs (no manifest: the listing is the dataset). */
function makeDataset(root: string, count: number, offset = 0): string {
  const dir = path.join(root, "data");
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) fs.copyFileSync(path.join(EMOJI_DIR, EMOJI[offset + i * 7]), path.join(dir, `img-${String(i).padStart(3, "0")}.png`));
  return dir;
}

function engineFor(root: string, backend: "js" | "faiss" | "ann" | "auto", extra: Partial<EngineOptions> = {}): CompareEngine {
  return testEngine(root, { batchSize: 8, indexBackend: backend, ...extra });
}

/** One "build": fresh per-build state, the index for `encoder`, and what changed. */
async function build(engine: CompareEngine, dir: string, encoder = "pixels") {
  engine.startBuild();
  const indexed = await engine.datasetIndex(encoder, dir);
  return { indexed, stats: engine.statsFor(encoder), updates: [...engine.build.indexUpdates] };
}

/** Every dataset image as a query against two indexes: same ids, same scores. */
function assertSameResults(a: Awaited<ReturnType<CompareEngine["datasetIndex"]>>, b: typeof a, k = 5): void {
  assert.deepEqual(
    a.dataset.images.map((i) => i.id),
    b.dataset.images.map((i) => i.id),
  );
  for (const image of a.dataset.images) {
    const vector = (a.index as IncrementalIndex).vector(image.sha256)!;
    const exclude = new Set([a.rowBySha.get(image.sha256)!]);
    assert.deepEqual(a.index.search(vector, k, exclude), b.index.search(vector, k, exclude), `query ${image.id}`);
  }
}

function onlyUpdate(updates: IndexUpdate[]): IndexUpdate {
  assert.equal(updates.length, 1, JSON.stringify(updates));
  return updates[0];
}

for (const backend of ["js", "faiss", "ann"] as const) {
  describe(`incremental dataset index (${backend})`, { skip: backend !== "js" && skipFaiss }, () => {
    test("add, change, delete one image: exactly that image is embedded, the index is patched, results equal a full rebuild", async () => {
      const root = tempDir();
      const dir = makeDataset(root, 40);
      const engine = engineFor(root, backend);
      const first = await build(engine, dir);
      assert.equal(first.stats.embedded, 40);
      assert.deepEqual(onlyUpdate(first.updates), { encoder: "pixels", dataset: dir, backend, rows: 40, added: 40, removed: 0, rebuilt: true });

      const fresh = async () => {
        const other = engineFor(root, backend);
        const result = await build(other, dir);
        assert.equal(result.stats.embedded, 0, "a full rebuild reads every vector from the store");
        return { other, result };
      };
      const check = async (live: Awaited<ReturnType<typeof build>>) => {
        const { other, result } = await fresh();
        assertSameResults(live.indexed, result.indexed);
        await other.close();
      };

      // Add: an image whose id sorts in the middle, so every later row moves.
      fs.copyFileSync(path.join(EMOJI_DIR, EMOJI[1000]), path.join(dir, "img-010b.png"));
      const added = await build(engine, dir);
      assert.equal(added.stats.embedded, 1);
      assert.deepEqual(onlyUpdate(added.updates), { encoder: "pixels", dataset: dir, backend, rows: 41, added: 1, removed: 0, rebuilt: false });
      assert.equal(added.indexed.dataset.images[11].id, "img-010b.png");
      await check(added);

      // Change: new content under an existing name.
      fs.copyFileSync(path.join(EMOJI_DIR, EMOJI[1001]), path.join(dir, "img-020.png"));
      const changed = await build(engine, dir);
      assert.equal(changed.stats.embedded, 1);
      assert.deepEqual(onlyUpdate(changed.updates), { encoder: "pixels", dataset: dir, backend, rows: 41, added: 1, removed: 1, rebuilt: false });
      await check(changed);

      // Delete.
      fs.rmSync(path.join(dir, "img-005.png"));
      const deleted = await build(engine, dir);
      assert.equal(deleted.stats.embedded, 0);
      assert.deepEqual(onlyUpdate(deleted.updates), { encoder: "pixels", dataset: dir, backend, rows: 40, added: 0, removed: 1, rebuilt: false });
      await check(deleted);

      // No change: the index is reused as is.
      const same = await build(engine, dir);
      assert.equal(same.stats.embedded, 0);
      assert.deepEqual(same.updates, []);
      assert.equal(same.stats.cached, 40);
      await engine.close();
    });
  });
}

describe("a new process", () => {
  test("answers a repeated query from the remembered result without building an index", async () => {
    const root = tempDir();
    const dir = makeDataset(root, 30);
    const query = path.join(dir, "img-003.png");
    const first = engineFor(root, "js");
    first.startBuild();
    const expected = await first.query("pixels", dir, query, { k: 4, includeSelf: false });
    assert.equal(first.build.indexUpdates.length, 1);
    await first.close();

    const second = engineFor(root, "js");
    second.startBuild();
    const again = await second.query("pixels", dir, query, { k: 4, includeSelf: false });
    assert.deepEqual(second.build.indexUpdates, [], "no index was built");
    assert.deepEqual(
      again.hits.map((h) => [h.rank, h.image.id, h.score]),
      expected.hits.map((h) => [h.rank, h.image.id, h.score]),
    );
    assert.equal(again.selfExcluded, true);
    assert.equal(again.datasetSize, 30);
    assert.deepEqual(second.statsFor("pixels"), { ...second.statsFor("pixels"), embedded: 0, cached: 31 });
    // Another k is another question.
    await second.query("pixels", dir, query, { k: 2, includeSelf: false });
    assert.equal(second.build.indexUpdates.length, 1);
    await second.close();

    // After a dataset change the remembered result is not used.
    fs.rmSync(path.join(dir, expected.hits[0].image.relativeFile));
    const third = engineFor(root, "js");
    third.startBuild();
    const changed = await third.query("pixels", dir, query, { k: 4, includeSelf: false });
    assert.equal(third.build.indexUpdates.length, 1);
    assert.deepEqual(
      changed.hits.map((h) => h.image.id),
      expected.hits.slice(1).map((h) => h.image.id).concat(changed.hits[3].image.id),
    );
    await third.close();
  });

  test("reuses the cached ANN graph and adds one image to it", { skip: skipFaiss }, async () => {
    const root = tempDir();
    const dir = makeDataset(root, 30);
    const first = engineFor(root, "auto", { annThreshold: 10 });
    const built = await build(first, dir);
    assert.equal(onlyUpdate(built.updates).backend, "ann");
    await first.close();
    assert.ok(fs.readdirSync(path.join(root, "cache/indexes")).some((f) => f.endsWith(".faiss")));

    fs.copyFileSync(path.join(EMOJI_DIR, EMOJI[2000]), path.join(dir, "img-100.png"));
    const second = engineFor(root, "auto", { annThreshold: 10 });
    const patched = await build(second, dir);
    assert.deepEqual(onlyUpdate(patched.updates), {
      encoder: "pixels",
      dataset: dir,
      backend: "ann",
      rows: 31,
      added: 1,
      removed: 0,
      rebuilt: false,
      fromCache: true,
    });
    assert.equal(patched.stats.embedded, 1);
    const exact = engineFor(root, "js");
    assertSameResults(patched.indexed, (await build(exact, dir)).indexed);
    await second.close();
    await exact.close();
  });
});

describe("IncrementalIndex.sync", () => {
  const dim = 24;
  const random = seededRandom(11);
  const vectors = new Map<string, Float32Array>();
  const fresh = () => {
    const v = Float32Array.from({ length: dim }, () => random() - 0.5);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };

  for (const backend of ["js", "faiss"] as const) {
    test(`${backend}: random adds and removes rank exactly like an index built from scratch`, { skip: backend === "faiss" && skipFaiss }, () => {
      const index = new IncrementalIndex(dim, { backend });
      let keys: string[] = [];
      for (let step = 0; step < 25; step++) {
        for (let edit = 0; edit < 12; edit++) {
          if (keys.length > 0 && random() < 0.4) keys.splice(Math.floor(random() * keys.length), 1);
          else {
            const key = `k-${step}-${edit}`;
            // Some exact duplicates of existing vectors, to exercise tie-breaking by row.
            vectors.set(key, keys.length > 0 && random() < 0.2 ? vectors.get(keys[0])! : fresh());
            keys.push(key);
          }
        }
        keys = keys.sort();
        const change = index.sync(keys, (key) => vectors.get(key)!);
        assert.equal(change.rebuilt, step === 0 && backend === "faiss");
        assert.deepEqual(index.keys(), keys);
        const matrix = new Float32Array(keys.length * dim);
        keys.forEach((key, row) => matrix.set(vectors.get(key)!, row * dim));
        const reference = buildIndex(matrix, dim, { backend: "js" });
        for (let q = 0; q < 4; q++) {
          const query = vectors.get(keys[Math.floor(random() * keys.length)])!;
          const exclude = new Set([0, 3]);
          const expected: SearchHit[] = reference.search(query, 7, exclude);
          assert.deepEqual(index.search(query, 7, exclude), expected, `step ${step}`);
        }
      }
    });
  }

  test("a vector of the wrong dimension or with NaN leaves the index unchanged", () => {
    const index = new IncrementalIndex(3, { backend: "js" });
    index.sync(["a"], () => [1, 0, 0]);
    assert.throws(() => index.sync(["a", "b"], () => [1, 0]), /has 2 values, the index has dimension 3/);
    assert.throws(() => index.sync(["b"], () => [Number.NaN, 0, 0]), /contains NaN/);
    assert.deepEqual(index.keys(), ["a"]);
  });
});
