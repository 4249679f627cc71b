import { describe, test } from "node:test";
import { seededRandom } from "../support/prng.ts";
import assert from "node:assert/strict";
import { faissStatus, IncrementalIndex, type SearchHit, type VectorIndex } from "../../plugins/encoder-compare/search/index.ts";
import { buildIndex } from "../reference/flat-index.ts";

const status = faissStatus();
/** false, or the visible reason every faiss-specific test is skipped. */
const skipFaiss = status.available ? false : `faiss-node unavailable: ${status.reason}`;


function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function normalise(vector: Float32Array): Float32Array {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

function randomUnitVectors(count: number, dim: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count * dim);
  for (let row = 0; row < count; row++) {
    const vector = normalise(Float32Array.from({ length: dim }, () => gaussian(random)));
    out.set(vector, row * dim);
  }
  return out;
}

function row(vectors: Float32Array, id: number, dim: number): Float32Array {
  return vectors.slice(id * dim, (id + 1) * dim);
}

/** Brute force: score every row (double precision, in index order), full sort, then filter. */
function referenceSearch(
  vectors: Float32Array,
  dim: number,
  query: Float32Array,
  k: number,
  exclude: ReadonlySet<number> = new Set(),
): SearchHit[] {
  const hits: SearchHit[] = [];
  for (let id = 0; id < vectors.length / dim; id++) {
    let score = 0;
    for (let i = 0; i < dim; i++) score += vectors[id * dim + i] * query[i];
    hits.push({ id, score });
  }
  hits.sort((a, b) => (a.score !== b.score ? b.score - a.score : a.id - b.id));
  return hits.filter((hit) => !exclude.has(hit.id)).slice(0, k);
}

function bothBackends(vectors: Float32Array, dim: number): VectorIndex[] {
  const indexes = [productionIndex(vectors, dim, "js")];
  if (status.available) indexes.push(productionIndex(vectors, dim, "faiss"));
  return indexes;
}

describe("faissStatus", () => {
  // Not skipped when faiss is missing: this is the one test that turns the faiss tests' skips into a failure
  // (npm install builds the addon against libfaiss-dev, which .ci/run installs).
  test("reports faiss-node available on this machine", () => {
    assert.deepEqual(faissStatus(), { available: true }, "faiss-node does not load: run `npm run build:faiss` after installing libfaiss-dev");
  });

  test("is memoised", () => {
    assert.equal(faissStatus(), faissStatus());
  });

  test("auto picks faiss when it loads", { skip: skipFaiss }, () => {
    assert.equal(buildIndex(new Float32Array([1, 0]), 2).backend, "faiss");
  });
});

/** The index production searches (IncrementalIndex), holding `vectors` as rows 0 … n−1 (the key of row i is "i"). */
function productionIndex(vectors: Float32Array, dim: number, backend: "js" | "faiss"): IncrementalIndex {
  const index = new IncrementalIndex(dim, { backend });
  const keys = Array.from({ length: vectors.length / dim }, (_, i) => String(i));
  index.sync(keys, (key) => vectors.subarray(Number(key) * dim, (Number(key) + 1) * dim));
  return index;
}

describe("search matches a brute-force reference", () => {
  const dim = 48;
  const vectors = randomUnitVectors(600, dim, 1);
  const queries = randomUnitVectors(12, dim, 2);

  for (const backend of ["js", "faiss"] as const) {
    test(`${backend} backend`, { skip: backend === "faiss" && skipFaiss }, () => {
      const index = productionIndex(vectors, dim, backend);
      assert.equal(index.backend, backend);
      assert.equal(index.size, 600);
      assert.equal(index.dim, dim);
      for (let q = 0; q < 12; q++) {
        const query = row(queries, q, dim);
        for (const k of [1, 5, 37]) {
          assert.deepEqual(index.search(query, k), referenceSearch(vectors, dim, query, k), `query ${q}, k ${k}`);
        }
      }
    });
  }

  test("faiss and js give identical scores at dim 512", { skip: skipFaiss }, () => {
    const wide = randomUnitVectors(3000, 512, 3);
    const [js, faiss] = bothBackends(wide, 512);
    for (let q = 0; q < 5; q++) {
      const query = row(randomUnitVectors(5, 512, 4), q, 512);
      const expected = referenceSearch(wide, 512, query, 10);
      assert.deepEqual(js.search(query, 10), expected);
      assert.deepEqual(faiss.search(query, 10), expected);
    }
  });

  test("near-ties that float32 cannot order still match the double-precision reference", { skip: skipFaiss }, () => {
    // Tiny perturbations of one vector: scores differ around the 7th decimal, where faiss's
    // float32 ranking and the exact ranking disagree, so candidates must be widened correctly.
    const dim = 256;
    const random = seededRandom(5);
    const base = randomUnitVectors(1, dim, 6);
    const vectors = new Float32Array(400 * dim);
    for (let id = 0; id < 400; id++) {
      const perturbed = base.map((value) => value + 2e-5 * gaussian(random));
      vectors.set(normalise(perturbed), id * dim);
    }
    const [js, faiss] = bothBackends(vectors, dim);
    for (const k of [1, 3, 10, 50]) {
      const expected = referenceSearch(vectors, dim, base, k);
      assert.deepEqual(js.search(base, k), expected, `js, k ${k}`);
      assert.deepEqual(faiss.search(base, k), expected, `faiss, k ${k}`);
    }
  });
});

describe("ties between duplicate vectors", () => {
  const dim = 16;
  // 100 copies of the same vector at scattered ids, more than faiss's first candidate batch.
  const vectors = randomUnitVectors(1000, dim, 7);
  const duplicate = row(vectors, 0, dim);
  const duplicateIds = Array.from({ length: 100 }, (_, i) => 997 - i * 9);
  for (const id of duplicateIds) vectors.set(duplicate, id * dim);
  const expectedIds = [0, ...duplicateIds].sort((a, b) => a - b);

  for (const backend of ["js", "faiss"] as const) {
    test(`${backend} backend breaks ties by smaller id`, { skip: backend === "faiss" && skipFaiss }, () => {
      const index = productionIndex(vectors, dim, backend);
      const hits = index.search(duplicate, 5);
      assert.deepEqual(
        hits.map((hit) => hit.id),
        expectedIds.slice(0, 5),
      );
      assert.equal(new Set(hits.map((hit) => hit.score)).size, 1, "duplicates share one score");
      assert.deepEqual(hits, referenceSearch(vectors, dim, duplicate, 5));
      // All 101 copies, then the best distinct vector: the whole tie group comes back in id order.
      assert.deepEqual(index.search(duplicate, 102), referenceSearch(vectors, dim, duplicate, 102));
    });
  }
});

describe("exclude and k", () => {
  const dim = 8;
  const vectors = randomUnitVectors(50, dim, 8);
  const query = row(vectors, 17, dim);

  for (const backend of ["js", "faiss"] as const) {
    test(`${backend}: excluded ids are never returned`, { skip: backend === "faiss" && skipFaiss }, () => {
      const index = productionIndex(vectors, dim, backend);
      assert.equal(index.search(query, 1)[0].id, 17, "a dataset vector finds itself first");
      const exclude = new Set([17, 3, 4, 5, 999, -1]);
      const hits = index.search(query, 10, exclude);
      assert.equal(hits.length, 10);
      assert.ok(hits.every((hit) => !exclude.has(hit.id)));
      assert.deepEqual(hits, referenceSearch(vectors, dim, query, 10, exclude));
      const everything = new Set(Array.from({ length: 50 }, (_, id) => id));
      assert.deepEqual(index.search(query, 3, everything), []);
    });

    test(`${backend}: k larger than n returns n hits`, { skip: backend === "faiss" && skipFaiss }, () => {
      const index = productionIndex(vectors, dim, backend);
      assert.deepEqual(index.search(query, 500), referenceSearch(vectors, dim, query, 50));
      assert.equal(index.search(query, 500, new Set([1, 2])).length, 48);
    });

    test(`${backend}: an empty index returns no hits`, { skip: backend === "faiss" && skipFaiss }, () => {
      assert.deepEqual(productionIndex(new Float32Array(0), dim, backend).search(query, 3), []);
    });
  }

  test("backend js is used when asked for, even with faiss present", () => {
    const index = productionIndex(vectors, dim, "js");
    assert.equal(index.backend, "js");
    assert.deepEqual(index.search(query, 4), referenceSearch(vectors, dim, query, 4));
  });
});

describe("validation", () => {
  const index = buildIndex(randomUnitVectors(10, 4, 9), 4, { backend: "js" });

  test("query dimension mismatch", () => {
    assert.throws(() => index.search(new Float32Array(5), 1), /dimension 5 but the index has dimension 4/);
  });

  test("k must be a positive integer", () => {
    for (const k of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => index.search(new Float32Array(4), k), /k must be a positive integer/, `k ${k}`);
    }
  });

  test("vector count must be a multiple of dim", () => {
    assert.throws(() => buildIndex(new Float32Array(10), 4), /10 values, which is not a multiple of dim 4/);
  });

  test("dim must be a positive integer", () => {
    assert.throws(() => buildIndex(new Float32Array(4), 0), /dimension must be a positive integer/);
  });

  test("NaN in vectors or query is refused", () => {
    assert.throws(() => buildIndex(new Float32Array([1, 0, Number.NaN, 0]), 2), /vector 1 contains NaN/);
    assert.throws(() => index.search(new Float32Array([1, Number.NaN, 0, 0]), 1), /query contains NaN/);
  });

  test("faiss backend requested without faiss throws, with auto falling back", { skip: !skipFaiss && "faiss-node is available here" }, () => {
    assert.throws(() => buildIndex(new Float32Array(4), 4, { backend: "faiss" }), /faiss search backend was requested but is unavailable/);
    assert.equal(buildIndex(new Float32Array(4), 4).backend, "js");
  });
});
