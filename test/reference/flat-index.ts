// The test oracle for search: exact cosine search over one whole n×dim matrix, by the JS kernel or by faiss flat
// proposing candidates that are rescored exactly, so both backends give one answer. Production searches with
// IncrementalIndex (search/incremental.ts), which the search tests check against this.
import { dotRow, exactSearch, TopK, type SearchHit } from "../../plugins/encoder-compare/search/exact.ts";
import { faissStatus, flatIndexFromVectors, type FaissFlatIndex } from "../../plugins/encoder-compare/search/faiss.ts";
import { slabTopK, VectorSlab } from "../../plugins/encoder-compare/search/slab.ts";
import type { SearchBackend, VectorIndex } from "../../plugins/encoder-compare/search/vector-index.ts";

export interface BuildIndexOptions {
  /** "auto" (default) uses faiss when it loads and the exact JS search otherwise. */
  backend?: "auto" | "faiss" | "js";
}

/** Extra candidates asked from faiss beyond k + excluded, so near-ties rarely need a second call. */
const CANDIDATE_MARGIN = 16;

/**
 * Indexes `vectors` (row-major n×dim). The index keeps a reference to `vectors` to compute exact
 * scores: do not modify the array afterwards.
 */
export function buildIndex(vectors: Float32Array, dim: number, options: BuildIndexOptions = {}): VectorIndex {
  if (!Number.isInteger(dim) || dim <= 0) throw new Error(`Index dimension must be a positive integer, got ${dim}.`);
  if (!(vectors instanceof Float32Array)) throw new Error("Index vectors must be a Float32Array (row-major n×dim).");
  if (vectors.length % dim !== 0) {
    throw new Error(
      `Index vectors have ${vectors.length} values, which is not a multiple of dim ${dim}: ` +
        "check that every embedding has the encoder's dimension.",
    );
  }
  const maxNorm = checkRowsAndMaxNorm(vectors, dim);
  const backend = options.backend ?? "auto";
  if (backend !== "auto" && backend !== "faiss" && backend !== "js") {
    throw new Error(`Unknown search backend "${String(backend)}": use "auto", "faiss" or "js".`);
  }
  if (backend === "js" || (backend === "auto" && !faissStatus().available)) return new JsIndex(vectors, dim, maxNorm);
  return new FaissIndex(vectors, dim, maxNorm);
}

/** Rejects NaN/Infinity (they would make rankings meaningless) and returns the largest row norm. */
function checkRowsAndMaxNorm(vectors: Float32Array, dim: number): number {
  let maxSquared = 0;
  for (let row = 0, offset = 0; offset < vectors.length; row++, offset += dim) {
    let squared = 0;
    for (let i = offset; i < offset + dim; i++) squared += vectors[i] * vectors[i];
    if (!Number.isFinite(squared)) throw new Error(`Index vector ${row} contains NaN or Infinity; re-embed that image.`);
    if (squared > maxSquared) maxSquared = squared;
  }
  return Math.sqrt(maxSquared);
}

abstract class BaseIndex implements VectorIndex {
  abstract readonly backend: SearchBackend;
  readonly size: number;

  constructor(
    protected readonly vectors: Float32Array,
    readonly dim: number,
  ) {
    this.size = vectors.length / dim;
  }

  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    if (!(query instanceof Float32Array)) throw new Error("Search query must be a Float32Array.");
    if (query.length !== this.dim) {
      throw new Error(
        `Search query has dimension ${query.length} but the index has dimension ${this.dim}: ` +
          "embed the query with the same encoder as the dataset.",
      );
    }
    if (!Number.isInteger(k) || k <= 0) throw new Error(`Search k must be a positive integer, got ${k}.`);
    const query64 = Float64Array.from(query);
    if (!query64.every(Number.isFinite)) throw new Error("Search query contains NaN or Infinity.");
    if (this.size === 0) return [];
    return this.searchValid(query64, Math.min(k, this.size), exclude);
  }

  protected abstract searchValid(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[];
}

class JsIndex extends BaseIndex {
  readonly backend = "js" as const;
  /** A copy of the rows in WebAssembly memory for the SIMD kernel; absent without wasm SIMD. */
  private readonly slab?: VectorSlab;

  constructor(
    vectors: Float32Array,
    dim: number,
    private readonly maxNorm: number,
  ) {
    super(vectors, dim);
    const slab = new VectorSlab(dim, this.size);
    if (slab.usesKernel) {
      for (let row = 0; row < this.size; row++) slab.set(row, vectors.subarray(row * dim, (row + 1) * dim));
      this.slab = slab;
    }
  }

  protected searchValid(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    if (!this.slab) return exactSearch(this.vectors, this.size, query, k, exclude);
    return slabTopK(this.slab, this.size, null, query, k, exclude, this.maxNorm);
  }
}

class FaissIndex extends BaseIndex {
  readonly backend = "faiss" as const;
  private readonly faiss: FaissFlatIndex;

  constructor(
    vectors: Float32Array,
    dim: number,
    private readonly maxNorm: number,
  ) {
    super(vectors, dim);
    this.faiss = flatIndexFromVectors(vectors, dim);
  }

  protected searchValid(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    const tolerance = this.float32Tolerance(query);
    const queryValues = toPlainArray(query);
    let fetch = Math.min(this.size, k + (exclude?.size ?? 0) + CANDIDATE_MARGIN);
    for (;;) {
      const { labels, distances } = this.faiss.search(queryValues, fetch);
      const top = new TopK(k);
      for (const id of labels) {
        if (id < 0 || exclude?.has(id)) continue;
        top.offer(id, dotRow(this.vectors, id, query));
      }
      if (fetch === this.size) return top.sorted();
      // Every row faiss did not return has a float32 score <= the last candidate's, so its exact
      // score is at most that plus the rounding bound. If the k-th exact score is strictly above,
      // no unseen row can enter (or tie into) the top k; otherwise ask faiss for more.
      const lastCandidate = distances[fetch - 1];
      if (top.isFull && top.worstScore > lastCandidate + tolerance) return top.sorted();
      fetch = Math.min(this.size, fetch * 2);
    }
  }

  /**
   * Bound on |faiss float32 score − exact score|: summing dim products in float32 errs by at most
   * about dim·2⁻²⁴·Σ|qᵢxᵢ| ≤ dim·2⁻²⁴·‖q‖·‖x‖ (Cauchy–Schwarz); doubled for safety.
   */
  private float32Tolerance(query: Float64Array): number {
    let squared = 0;
    for (const value of query) squared += value * value;
    return 2 * this.dim * 2 ** -24 * Math.sqrt(squared) * this.maxNorm + 1e-12;
  }
}

/** A packed plain array; a push loop is several times faster than Array.from on typed arrays. */
function toPlainArray(values: Float32Array | Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) out.push(values[i]);
  return out;
}
