// An index that follows a changing data set: `sync(keys)` adds the vectors of new keys and drops
// those of removed keys, without touching the rest, and renumbers rows to the new key order. Row
// numbers are what searches return and what ties are broken by, so a data set kept in a fixed
// order (by dataset id) ranks exactly as an index built from scratch over the same rows.
//
// Three backends, one answer for the exact ones:
//   "js"    exact: the WebAssembly SIMD kernel (slab.ts) scores every row in float32, the rows
//           that can still reach the top k are rescored exactly (pure JS where wasm is missing);
//   "faiss" exact: faiss IndexFlatIP proposes candidates, rescored exactly (as the test oracle, test/reference/flat-index.ts);
//           rows are appended with add() and dropped with removeIds();
//   "ann"   approximate: a faiss factory index (default "HNSW32,Flat") proposes `candidates`
//           rows, rescored exactly; removed rows become tombstones (HNSW cannot remove) until
//           they pass a quarter of the graph, which is then rebuilt.
import { TopK, type SearchHit } from "./exact.ts";
import { addVectors, createFactoryIndex, faissStatus, flatIndexFromRows, indexFromBuffer, type FaissAnyIndex } from "./faiss.ts";
import type { SearchBackend, VectorIndex } from "./vector-index.ts";
import { float32Tolerance, slabTopK, VectorSlab } from "./slab.ts";

export interface IncrementalIndexOptions {
  /** "auto" = "js" (see README: it builds and searches faster than faiss's flat index here). */
  backend?: "auto" | "js" | "faiss" | "ann";
  /** faiss factory string of the "ann" backend (the plugin's search.annFactory); required for "ann". */
  annFactory?: string;
  /** Candidates the ANN index proposes per query, HNSW's efSearch (the plugin's search.annCandidates); required for "ann". */
  annCandidates?: number;
}

export interface SyncResult {
  added: number;
  removed: number;
  /** True when the ANN graph was rebuilt from all rows (first build or too many tombstones). */
  rebuilt: boolean;
}

/** Extra candidates beyond k + excluded rows, so near-ties rarely need a second faiss call. */
const CANDIDATE_MARGIN = 16;
/** Rebuild the ANN graph once tombstones exceed this share of its rows. */
const MAX_TOMBSTONE_SHARE = 0.25;

export class IncrementalIndex implements VectorIndex {
  readonly backend: SearchBackend;
  readonly dim: number;
  /** Set for the "ann" backend only. */
  readonly ann?: { factory: string; candidates: number };
  #size = 0;
  readonly #slab: VectorSlab;
  /** Slots ever allocated; slots below this are used or free. */
  #slotCount = 0;
  #freeSlots: number[] = [];
  readonly #slotOfKey = new Map<string, number>();
  #keyOfSlot: Array<string | undefined> = [];
  /** Row (position in the last synced key list) of each slot; -1 for free slots. */
  #rowOfSlot = new Int32Array(0);
  #maxNorm = 0;
  #faiss?: FaissAnyIndex;
  /** faiss label → slot (-1: tombstone in an ANN graph). */
  #slotOfLabel: number[] = [];
  #tombstones = 0;

  constructor(dim: number, options: IncrementalIndexOptions = {}) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`Index dimension must be a positive integer, got ${dim}.`);
    const backend = options.backend ?? "auto";
    if (!["auto", "js", "faiss", "ann"].includes(backend)) {
      throw new Error(`Unknown search backend "${String(backend)}": use "auto", "js", "faiss" or "ann".`);
    }
    if ((backend === "faiss" || backend === "ann") && !faissStatus().available) {
      const status = faissStatus();
      throw new Error(
        `The faiss search backend was requested but is unavailable: ${status.available ? "unknown" : status.reason}. ` +
          `Use backend "auto" or "js" to search without it.`,
      );
    }
    this.backend = backend === "auto" ? "js" : backend;
    this.dim = dim;
    if (this.backend === "ann") {
      const { annFactory: factory, annCandidates: candidates } = options;
      if (typeof factory !== "string" || factory === "") throw new Error(`The "ann" search backend needs annFactory (a faiss factory string).`);
      if (!Number.isInteger(candidates) || candidates! < 1) throw new Error(`annCandidates must be a positive integer, got ${candidates}.`);
      this.ann = { factory, candidates: candidates! };
    }
    this.#slab = new VectorSlab(dim, 0, { kernel: this.backend === "js" });
  }

  get size(): number {
    return this.#size;
  }

  has(key: string): boolean {
    return this.#slotOfKey.has(key);
  }

  /** Keys in row order. */
  keys(): string[] {
    const keys = new Array<string>(this.#size);
    for (let slot = 0; slot < this.#slotCount; slot++) {
      const row = this.#rowOfSlot[slot];
      if (row >= 0) keys[row] = this.#keyOfSlot[slot]!;
    }
    return keys;
  }

  /** The stored vector of a key (a copy), if indexed. */
  vector(key: string): Float32Array | undefined {
    const slot = this.#slotOfKey.get(key);
    return slot === undefined ? undefined : this.#slab.row(slot).slice();
  }

  /**
   * Makes the index hold exactly `keys` (unique), row i = keys[i]. `vectorOf` is called only for
   * keys not indexed yet; each vector must have `dim` finite values.
   */
  sync(keys: readonly string[], vectorOf: (key: string) => ArrayLike<number>): SyncResult {
    const wanted = new Map<string, number>();
    keys.forEach((key, row) => {
      if (wanted.has(key)) throw new Error(`Index key "${key}" appears twice.`);
      wanted.set(key, row);
    });
    const removedSlots: number[] = [];
    for (const [key, slot] of this.#slotOfKey) if (!wanted.has(key)) removedSlots.push(slot);
    const added: Array<{ key: string; vector: ArrayLike<number> }> = [];
    for (const key of keys) {
      if (this.#slotOfKey.has(key)) continue;
      const vector = vectorOf(key);
      if (!vector || vector.length !== this.dim) {
        throw new Error(
          `Index vector for "${key}" has ${vector?.length ?? 0} values, the index has dimension ${this.dim}: ` +
            `check that every embedding has the encoder's dimension.`,
        );
      }
      added.push({ key, vector });
    }
    // Validate before changing anything, so a bad vector leaves the index as it was.
    const norms = added.map(({ key, vector }) => {
      let squared = 0;
      for (let i = 0; i < vector.length; i++) squared += vector[i] * vector[i];
      if (!Number.isFinite(squared)) throw new Error(`Index vector for "${key}" contains NaN or Infinity; re-embed that image.`);
      return Math.sqrt(squared);
    });

    this.#remove(removedSlots);
    this.#slab.ensureCapacity(this.#slotCount + Math.max(0, added.length - this.#freeSlots.length));
    const newSlots = added.map(({ key, vector }, i) => {
      const slot = this.#freeSlots.pop() ?? this.#slotCount++;
      this.#slab.set(slot, vector);
      this.#slotOfKey.set(key, slot);
      this.#keyOfSlot[slot] = key;
      if (norms[i] > this.#maxNorm) this.#maxNorm = norms[i];
      return slot;
    });
    if (this.#rowOfSlot.length < this.#slab.capacity) {
      const grown = new Int32Array(this.#slab.capacity).fill(-1);
      grown.set(this.#rowOfSlot);
      this.#rowOfSlot = grown;
    }
    for (const [key, row] of wanted) this.#rowOfSlot[this.#slotOfKey.get(key)!] = row;
    this.#size = keys.length;
    const rebuilt = this.#syncFaiss(newSlots);
    return { added: added.length, removed: removedSlots.length, rebuilt };
  }

  #remove(slots: number[]): void {
    if (slots.length === 0) return;
    const removed = new Set(slots);
    for (const slot of slots) {
      this.#slotOfKey.delete(this.#keyOfSlot[slot]!);
      this.#keyOfSlot[slot] = undefined;
      this.#rowOfSlot[slot] = -1;
      this.#slab.clear(slot);
      this.#freeSlots.push(slot);
    }
    // Reuse low slots first, so the same history always gives the same layout.
    this.#freeSlots.sort((a, b) => b - a);
    if (!this.#faiss) return;
    if (this.backend === "faiss") {
      const labels: number[] = [];
      this.#slotOfLabel.forEach((slot, label) => removed.has(slot) && labels.push(label));
      this.#faiss.removeIds(labels);
      // IndexFlat compacts in order: mirror it.
      this.#slotOfLabel = this.#slotOfLabel.filter((slot) => !removed.has(slot));
    } else {
      this.#slotOfLabel.forEach((slot, label) => {
        if (removed.has(slot)) {
          this.#slotOfLabel[label] = -1;
          this.#tombstones++;
        }
      });
    }
  }

  /** Brings the faiss index up to date; returns true when it was (re)built from all rows. */
  #syncFaiss(newSlots: number[]): boolean {
    if (this.backend === "js") return false;
    const fresh = !this.#faiss || (this.backend === "ann" && this.#tombstones > MAX_TOMBSTONE_SHARE * this.#slotOfLabel.length);
    if (fresh) {
      // All live rows, in row order: the same rows always give the same faiss index.
      const slots = new Array<number>(this.#size);
      for (let slot = 0; slot < this.#slotCount; slot++) if (this.#rowOfSlot[slot] >= 0) slots[this.#rowOfSlot[slot]] = slot;
      if (this.backend === "faiss") {
        const rowBytes = this.dim * 4;
        const data = this.#slab.data;
        const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const writeRows = (target: Buffer, offset: number) =>
          slots.forEach((slot, i) => target.set(bytes.subarray(slot * this.#slab.stride * 4, slot * this.#slab.stride * 4 + rowBytes), offset + i * rowBytes));
        this.#faiss = flatIndexFromRows(slots.length, this.dim, writeRows, () => this.#pack(slots));
      } else {
        this.#faiss = withEfSearch(createFactoryIndex(this.dim, this.ann!.factory), this.ann!.candidates);
        this.#addToFaiss(slots);
      }
      this.#slotOfLabel = slots;
      this.#tombstones = 0;
      return true;
    }
    if (newSlots.length) {
      this.#addToFaiss(newSlots);
      this.#slotOfLabel.push(...newSlots);
    }
    return false;
  }

  /** Appends rows to the faiss index through add(), a bounded chunk of rows at a time. */
  #addToFaiss(slots: readonly number[]): void {
    const rowsPerChunk = Math.max(1, Math.floor(65_536 / this.dim));
    for (let start = 0; start < slots.length; start += rowsPerChunk) {
      addVectors(this.#faiss!, this.#pack(slots.slice(start, start + rowsPerChunk)), this.dim);
    }
  }

  /** The rows of `slots`, contiguous (no padding). */
  #pack(slots: readonly number[]): Float32Array {
    const out = new Float32Array(slots.length * this.dim);
    slots.forEach((slot, i) => out.set(this.#slab.row(slot), i * this.dim));
    return out;
  }

  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    if (!(query instanceof Float32Array)) throw new Error("Search query must be a Float32Array.");
    if (query.length !== this.dim) {
      throw new Error(
        `Search query has dimension ${query.length} but the index has dimension ${this.dim}: embed the query with the same encoder as the dataset.`,
      );
    }
    if (!Number.isInteger(k) || k <= 0) throw new Error(`Search k must be a positive integer, got ${k}.`);
    const query64 = Float64Array.from(query);
    if (!query64.every(Number.isFinite)) throw new Error("Search query contains NaN or Infinity.");
    if (this.#size === 0) return [];
    k = Math.min(k, this.#size);
    if (this.backend === "faiss") return this.#searchFaissFlat(query64, k, exclude);
    if (this.backend === "ann") return this.#searchAnn(query64, k, exclude);
    return this.#searchJs(query64, k, exclude);
  }

  /** Usable row of a slot, or -1 (free slot or excluded row). */
  #eligibleRow(slot: number, exclude?: ReadonlySet<number>): number {
    const row = slot >= 0 ? this.#rowOfSlot[slot] : -1;
    return row >= 0 && !exclude?.has(row) ? row : -1;
  }

  #searchJs(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    return slabTopK(this.#slab, this.#slotCount, this.#rowOfSlot, query, k, exclude, this.#maxNorm);
  }

  #searchFaissFlat(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    const faiss = this.#faiss!;
    const total = this.#slotOfLabel.length;
    const tolerance = float32Tolerance(query, this.dim, this.#maxNorm);
    const values = Array.from(query);
    let fetch = Math.min(total, k + (exclude?.size ?? 0) + CANDIDATE_MARGIN);
    for (;;) {
      const { labels, distances } = faiss.search(values, fetch);
      const top = new TopK(k);
      for (const label of labels) {
        const slot = label >= 0 ? this.#slotOfLabel[label] : -1;
        const row = this.#eligibleRow(slot, exclude);
        if (row >= 0) top.offer(row, this.#slab.dot(slot, query));
      }
      if (fetch === total) return top.sorted();
      // Rows faiss did not return have float32 scores ≤ the last candidate's; see test/reference/flat-index.ts.
      if (top.isFull && top.worstScore > distances[fetch - 1] + tolerance) return top.sorted();
      fetch = Math.min(total, fetch * 2);
    }
  }

  #searchAnn(query: Float64Array, k: number, exclude?: ReadonlySet<number>): SearchHit[] {
    const faiss = this.#faiss!;
    const total = this.#slotOfLabel.length;
    const values = Array.from(query);
    // efSearch = annCandidates (set in the graph), so faiss explores that many and returns them.
    let fetch = Math.min(total, Math.max(this.ann!.candidates, k + (exclude?.size ?? 0) + CANDIDATE_MARGIN));
    for (;;) {
      const { labels } = faiss.search(values, fetch);
      const top = new TopK(k);
      for (const label of labels) {
        const slot = label >= 0 ? this.#slotOfLabel[label] : -1;
        const row = this.#eligibleRow(slot, exclude);
        if (row >= 0) top.offer(row, this.#slab.dot(slot, query));
      }
      // Approximate by design; only widen when exclusions and tombstones left fewer than k.
      if (top.isFull || fetch === total) return top.sorted();
      fetch = Math.min(total, fetch * 2);
    }
  }

  /** The ANN graph and its label → key table, for a cache file; undefined for exact backends. */
  annSnapshot(): { graph: Buffer; labels: Array<string | null> } | undefined {
    if (this.backend !== "ann" || !this.#faiss) return undefined;
    return { graph: this.#faiss.toBuffer(), labels: this.#slotOfLabel.map((slot) => (slot >= 0 ? this.#keyOfSlot[slot]! : null)) };
  }

  /**
   * An "ann" index restored from `annSnapshot()`: its rows are the snapshot's live keys (in label
   * order until the next sync). `vectorOf` must return every live key's vector.
   */
  static fromAnnSnapshot(
    dim: number,
    snapshot: { graph: Buffer; labels: ReadonlyArray<string | null> },
    vectorOf: (key: string) => ArrayLike<number> | undefined,
    options: IncrementalIndexOptions = {},
  ): IncrementalIndex | undefined {
    const index = new IncrementalIndex(dim, { ...options, backend: "ann" });
    setHnswEfSearch(snapshot.graph, index.ann!.candidates);
    const faiss = indexFromBuffer(snapshot.graph);
    if (faiss.ntotal() !== snapshot.labels.length) return undefined;
    const live: string[] = [];
    const slotOfLabel: number[] = [];
    for (const key of snapshot.labels) {
      const vector = key === null ? undefined : vectorOf(key);
      if (key === null || !vector || vector.length !== dim || index.#slotOfKey.has(key)) {
        slotOfLabel.push(-1);
        index.#tombstones++;
        continue;
      }
      const slot = index.#slotCount++;
      index.#slab.set(slot, vector);
      index.#slotOfKey.set(key, slot);
      index.#keyOfSlot[slot] = key;
      let squared = 0;
      for (let i = 0; i < dim; i++) squared += vector[i] * vector[i];
      index.#maxNorm = Math.max(index.#maxNorm, Math.sqrt(squared));
      slotOfLabel.push(slot);
      live.push(key);
    }
    index.#rowOfSlot = new Int32Array(index.#slab.capacity).fill(-1);
    live.forEach((_, row) => (index.#rowOfSlot[row] = row));
    index.#size = live.length;
    index.#faiss = faiss;
    index.#slotOfLabel = slotOfLabel;
    return index;
  }
}

/**
 * Sets efSearch in a serialised faiss HNSW index (faiss-node has no setter; faiss writes it in
 * the index file). Layout (faiss/impl/index_write.cpp): fourcc "IHN?", the index header (d,
 * ntotal, two dummies, is_trained, metric_type[, metric_arg]), then the HNSW struct: five
 * vectors (size_t count + items: assign_probas f64, cum_nneighbor_per_level i32, levels i32,
 * offsets u64, neighbors i32), then entry_point, max_level, efConstruction, efSearch,
 * upper_beam (i32), then the storage index ("Ix…"). Returns false, changing nothing, when the
 * buffer does not look like that.
 */
export function setHnswEfSearch(buffer: Buffer, efSearch: number): boolean {
  try {
    if (buffer.toString("latin1", 0, 3) !== "IHN") return false;
    let at = 4 + 4 + 8 + 8 + 8 + 1;
    const metric = buffer.readInt32LE(at);
    at += 4 + (metric > 1 ? 4 : 0);
    for (const itemBytes of [8, 4, 4, 8, 4]) {
      const count = Number(buffer.readBigUInt64LE(at));
      at += 8 + count * itemBytes;
    }
    const efConstruction = buffer.readInt32LE(at + 8);
    const upperBeam = buffer.readInt32LE(at + 16);
    if (efConstruction < 1 || upperBeam < 1 || buffer.toString("latin1", at + 20, at + 22) !== "Ix") return false;
    buffer.writeInt32LE(efSearch, at + 12);
    return true;
  } catch {
    return false;
  }
}

/** The same index with efSearch set (through a serialised copy: cheap while the index is empty). */
function withEfSearch(index: FaissAnyIndex, efSearch: number): FaissAnyIndex {
  const buffer = index.toBuffer();
  return setHnswEfSearch(buffer, efSearch) ? indexFromBuffer(buffer) : index;
}
