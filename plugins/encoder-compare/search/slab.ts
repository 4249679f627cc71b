// Row storage for the exact search, plus a WebAssembly SIMD kernel that scores every row of it
// against a query in float32 (about 3× faster than the double-precision JS loop). The kernel only
// ranks candidates: final scores are always recomputed by `dotRow` semantics, in double precision
// and in index order, so results do not depend on whether the kernel ran.
//
// The kernel is a few dozen bytes of WebAssembly assembled below (no toolchain, no dependency).
// Rows live inside the kernel's memory, each padded with zeros to a multiple of 16 floats, so a
// query is scored without copying the data set.

import { TopK, type SearchHit } from "./exact.ts";

const WASM_PAGE = 65536;
/** wasm32 memories stop at 4 GiB (65536 pages). */
const MAX_PAGES = 65536;
/** Floats per kernel step: four 128-bit lanes. Rows are padded to a multiple of this. */
const LANE_BLOCK = 16;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && !(byte & 0x40)) || (value === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/**
 * `dots(query, rows, count, rowBytes, out)`: out[r] = Σ query[i]·rows[r][i] in float32, with
 * four f32x4 accumulators. Byte offsets; rowBytes a multiple of 64.
 */
function kernelBytes(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f;
  const V128 = 0x7b;
  const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
  const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const simd = (op: number, ...rest: number[]) => [0xfd, ...uleb(op), ...rest];
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const tee = (i: number) => [0x22, i];
  const i32 = (v: number) => [0x41, ...sleb(v)];
  const V128_LOAD = 0x00;
  const V128_CONST = 0x0c;
  const F32X4_EXTRACT = 0x1f;
  const F32X4_ADD = 0xe4;
  const F32X4_MUL = 0xe6;
  const [Q, ROWS, COUNT, ROW_BYTES, OUT, I, ACC] = [0, 1, 2, 3, 4, 5, 6];
  const load = (offset: number) => simd(V128_LOAD, 4, ...uleb(offset));
  const body: number[] = [
    ...vec([
      [1, I32],
      [4, V128],
    ]),
    0x02, 0x40, // block
    ...get(COUNT), 0x45, 0x0d, 0, // if count == 0: break
    0x03, 0x40, // loop over rows
    ...simd(V128_CONST, ...new Array(16).fill(0)), ...tee(ACC), ...tee(ACC + 1), ...tee(ACC + 2), ...set(ACC + 3),
    ...i32(0), ...set(I),
    0x03, 0x40, // loop over 16-float blocks
  ];
  for (let a = 0; a < 4; a++) {
    body.push(...get(ACC + a), ...get(Q), ...get(I), 0x6a, ...load(a * 16), ...get(ROWS), ...get(I), 0x6a, ...load(a * 16));
    body.push(...simd(F32X4_MUL), ...simd(F32X4_ADD), ...set(ACC + a));
  }
  body.push(...get(I), ...i32(64), 0x6a, ...tee(I), ...get(ROW_BYTES), 0x49, 0x0d, 0, 0x0b); // i += 64; loop while i < rowBytes
  body.push(...get(ACC), ...get(ACC + 1), ...simd(F32X4_ADD), ...get(ACC + 2), ...get(ACC + 3), ...simd(F32X4_ADD), ...simd(F32X4_ADD), ...set(ACC));
  body.push(...get(OUT));
  body.push(...get(ACC), ...simd(F32X4_EXTRACT, 0), ...get(ACC), ...simd(F32X4_EXTRACT, 1), 0x92);
  body.push(...get(ACC), ...simd(F32X4_EXTRACT, 2), ...get(ACC), ...simd(F32X4_EXTRACT, 3), 0x92, 0x92);
  body.push(0x38, 2, 0); // f32.store
  body.push(...get(OUT), ...i32(4), 0x6a, ...set(OUT), ...get(ROWS), ...get(ROW_BYTES), 0x6a, ...set(ROWS));
  body.push(...get(COUNT), ...i32(1), 0x6b, ...tee(COUNT), 0x0d, 0, 0x0b, 0x0b, 0x0b); // loop while --count; end loop; end block; end
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0]])),
    ...section(2, vec([[...name("env"), ...name("memory"), 0x02, 0x00, 1]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name("dots"), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled kernel, or null where WebAssembly SIMD is unavailable (then JS scores every row). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = process.env.ENCODER_COMPARE_NO_WASM ? null : new WebAssembly.Module(kernelBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the SIMD kernel is available (for logs and benchmarks). */
export function simdKernelAvailable(): boolean {
  return kernelModule() !== null;
}

type DotsFn = (query: number, rows: number, count: number, rowBytes: number, out: number) => void;

/**
 * Fixed-width rows of float32, addressed by slot, growing on demand. Unused and cleared slots
 * hold zeros. With the kernel, the rows live in WebAssembly memory laid out as
 * [rows … | query | scores]; without it (or beyond 4 GiB), in a plain Float32Array.
 */
export class VectorSlab {
  readonly dim: number;
  /** Floats per row: dim rounded up to a multiple of 16 when the kernel is used. */
  readonly stride: number;
  #capacity = 0;
  #data = new Float32Array(0);
  #memory?: WebAssembly.Memory;
  #dots?: DotsFn;

  constructor(dim: number, capacity = 0, options: { kernel?: boolean } = {}) {
    this.dim = dim;
    const module = options.kernel === false ? null : kernelModule();
    if (module) {
      this.stride = Math.ceil(dim / LANE_BLOCK) * LANE_BLOCK;
      try {
        this.#memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
        this.#dots = new WebAssembly.Instance(module, { env: { memory: this.#memory } }).exports.dots as DotsFn;
      } catch {
        this.#memory = undefined;
      }
    } else {
      this.stride = dim;
    }
    this.ensureCapacity(capacity);
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** All rows, slot s at [s·stride, s·stride + dim). Re-read after ensureCapacity (it may move). */
  get data(): Float32Array {
    return this.#data;
  }

  get usesKernel(): boolean {
    return this.#dots !== undefined;
  }

  ensureCapacity(rows: number): void {
    if (rows <= this.#capacity) return;
    const capacity = Math.max(rows, Math.ceil(this.#capacity * 1.5), 16);
    if (this.#memory) {
      const bytes = capacity * this.stride * 4 + this.stride * 4 + capacity * 4;
      const pages = Math.ceil(bytes / WASM_PAGE);
      const current = this.#memory.buffer.byteLength / WASM_PAGE;
      try {
        if (pages > current) this.#memory.grow(pages - current);
        this.#data = new Float32Array(this.#memory.buffer, 0, capacity * this.stride);
        this.#capacity = capacity;
        return;
      } catch {
        // Over the wasm32 limit (or out of memory): continue with plain storage, no kernel.
        const old = this.#data;
        this.#memory = undefined;
        this.#dots = undefined;
        this.#data = new Float32Array(capacity * this.stride);
        this.#data.set(old);
        this.#capacity = capacity;
        return;
      }
    }
    const data = new Float32Array(capacity * this.stride);
    data.set(this.#data);
    this.#data = data;
    this.#capacity = capacity;
  }

  set(slot: number, vector: ArrayLike<number>): void {
    this.ensureCapacity(slot + 1);
    if (vector.length !== this.dim) throw new Error(`a vector of ${vector.length} values in a slab of dimension ${this.dim}`);
    this.#data.set(vector, slot * this.stride);
  }

  clear(slot: number): void {
    if (slot < this.#capacity) this.#data.fill(0, slot * this.stride, slot * this.stride + this.dim);
  }

  /** Row `slot` without padding (a view: copy it to keep it). */
  row(slot: number): Float32Array {
    return this.#data.subarray(slot * this.stride, slot * this.stride + this.dim);
  }

  /** Exact inner product, summed in index order in double precision (same value as `dotRow`). */
  dot(slot: number, query: Float64Array): number {
    const data = this.#data;
    const start = slot * this.stride;
    let sum = 0;
    for (let i = 0; i < this.dim; i++) sum += data[start + i] * query[i];
    return sum;
  }

  /**
   * float32 scores of slots [0, count) against `query`, or undefined without the kernel. Each
   * differs from the exact score by at most `float32Tolerance`. The array is reused by the next call.
   */
  approximateScores(query: Float64Array, count: number): Float32Array | undefined {
    if (!this.#dots || !this.#memory) return undefined;
    const rowBytes = this.stride * 4;
    const queryOffset = this.#capacity * rowBytes;
    const outOffset = queryOffset + rowBytes;
    const buffer = this.#memory.buffer;
    const q = new Float32Array(buffer, queryOffset, this.stride);
    q.fill(0);
    for (let i = 0; i < this.dim; i++) q[i] = query[i];
    this.#dots(queryOffset, 0, count, rowBytes, outOffset);
    return new Float32Array(buffer, outOffset, count);
  }
}

/**
 * Bound on |float32 score − exact score| for a query of norm ‖q‖ and rows of norm ≤ maxNorm:
 * summing dim float32 products errs by at most about dim·2⁻²⁴·Σ|qᵢxᵢ| ≤ dim·2⁻²⁴·‖q‖·‖x‖
 * (Cauchy–Schwarz), for any summation order; doubled for safety.
 */
export function float32Tolerance(query: Float64Array, dim: number, maxNorm: number): number {
  let squared = 0;
  for (const value of query) squared += value * value;
  return 2 * dim * 2 ** -24 * Math.sqrt(squared) * maxNorm + 1e-12;
}

/**
 * Exact top-k over slots [0, count) of a slab: float32 kernel scores pick the rows that can still
 * reach the top k, those are rescored exactly (pure JS scan without the kernel). `rowOfSlot[slot]`
 * is a slot's row id (what ties are broken by and `exclude` holds), -1 to skip the slot; null
 * means row = slot.
 */
export function slabTopK(
  slab: VectorSlab,
  count: number,
  rowOfSlot: Int32Array | null,
  query: Float64Array,
  k: number,
  exclude: ReadonlySet<number> | undefined,
  maxNorm: number,
): SearchHit[] {
  const top = new TopK(k);
  const approx = slab.approximateScores(query, count);
  if (!approx) {
    for (let slot = 0; slot < count; slot++) {
      const row = rowOfSlot ? rowOfSlot[slot] : slot;
      if (row >= 0 && !exclude?.has(row)) top.offer(row, slab.dot(slot, query));
    }
    return top.sorted();
  }
  // The (k + excluded)-th best float32 score of live rows is at most the k-th best of eligible
  // rows. Any row below it by more than 2·tolerance scores exactly below each of those rows, so
  // it can neither enter nor tie into the top k.
  const keep = k + (exclude?.size ?? 0);
  const best = new Float64Array(keep).fill(-Infinity); // ascending; best[0] is the kept minimum
  let kept = 0;
  for (let slot = 0; slot < count; slot++) {
    const score = approx[slot];
    if (score <= best[0] && kept >= keep) continue;
    if (rowOfSlot && rowOfSlot[slot] < 0) continue;
    // Insert into the small sorted array, dropping its minimum.
    let i = 0;
    while (i + 1 < keep && best[i + 1] < score) {
      best[i] = best[i + 1];
      i++;
    }
    best[i] = score;
    if (kept < keep) kept++;
  }
  const threshold = kept >= keep ? best[0] - 2 * float32Tolerance(query, slab.dim, maxNorm) : -Infinity;
  for (let slot = 0; slot < count; slot++) {
    if (approx[slot] < threshold) continue;
    const row = rowOfSlot ? rowOfSlot[slot] : slot;
    if (row >= 0 && !exclude?.has(row)) top.offer(row, slab.dot(slot, query));
  }
  return top.sorted();
}
