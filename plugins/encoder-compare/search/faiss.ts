// Lazy access to the optional faiss-node addon: importing this module never loads it, and a
// missing or broken addon becomes a status with a reason instead of an exception.
import { createRequire } from "node:module";

/** The slice of faiss-node's API this project uses (declared here: the package is optional). */
export interface FaissFlatIndex {
  add(vectors: number[]): void;
  search(query: number[], k: number): { distances: number[]; labels: number[] };
  ntotal(): number;
}

/** Any faiss index: flat indexes support removeIds; HNSW indexes must never be asked to (it aborts the process). */
export interface FaissAnyIndex extends FaissFlatIndex {
  removeIds(ids: number[]): number;
  toBuffer(): Buffer;
  getDimension(): number;
}

interface FaissModule {
  IndexFlatIP: { new (dim: number): FaissAnyIndex; fromBuffer(buffer: Buffer): FaissAnyIndex };
  Index: {
    fromFactory(dim: number, descriptor: string, metric: number): FaissAnyIndex;
    fromBuffer(buffer: Buffer): FaissAnyIndex;
    read(file: string): FaissAnyIndex;
  };
}

const METRIC_INNER_PRODUCT = 0;

export type FaissStatus = { available: true } | { available: false; reason: string };

const REBUILD_HINT = "run `npm run build:faiss` (needs libfaiss-dev) to build it";

let loaded: { status: FaissStatus; module?: FaissModule } | undefined;

function load(): { status: FaissStatus; module?: FaissModule } {
  if (loaded) return loaded;
  try {
    // OpenMP reads OMP_NUM_THREADS once, when faiss loads. One thread makes HNSW graphs (built
    // with racing inserts otherwise) identical from run to run, so ANN results are deterministic;
    // single-query searches run on one thread anyway. A value set by the user is kept.
    const ompWasSet = process.env.OMP_NUM_THREADS !== undefined;
    if (!ompWasSet) process.env.OMP_NUM_THREADS = "1";
    let module: FaissModule;
    try {
      module = createRequire(import.meta.url)("faiss-node") as FaissModule;
    } finally {
      if (!ompWasSet) delete process.env.OMP_NUM_THREADS;
    }
    // Loading can succeed while the binary is unusable, so run one tiny search.
    const probe = new module.IndexFlatIP(2);
    probe.add([1, 0, 0, 1]);
    if (probe.search([0, 1], 1).labels[0] !== 1) throw new Error("faiss-node returned a wrong probe result");
    loaded = { status: { available: true }, module };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    let reason = `faiss-node did not load (${detail}); ${REBUILD_HINT}`;
    if (code === "MODULE_NOT_FOUND" && /'faiss-node'/.test(detail)) reason = `faiss-node is not installed; ${REBUILD_HINT}`;
    if (/Could not locate the bindings file/.test(detail)) {
      reason = `faiss-node is installed but its compiled addon (build/Release/faiss-node.node) is missing; ${REBUILD_HINT}`;
    }
    loaded = { status: { available: false, reason } };
  }
  return loaded;
}

/** Whether the faiss backend can be used; the addon is loaded once, on first call. */
export function faissStatus(): FaissStatus {
  return load().status;
}

/** A new empty IndexFlatIP; throws with the reason when faiss-node is unavailable. */
export function createFlatInnerProductIndex(dim: number): FaissFlatIndex {
  const { status, module } = load();
  if (!status.available || !module) {
    const reason = status.available ? "unknown" : status.reason;
    throw new Error(`The faiss search backend was requested but is unavailable: ${reason}. Use backend "auto" or "js" to search without it.`);
  }
  return new module.IndexFlatIP(dim);
}

function faissModule(): FaissModule {
  const { status, module } = load();
  if (!status.available || !module) {
    const reason = status.available ? "unknown" : status.reason;
    throw new Error(`The faiss search backend was requested but is unavailable: ${reason}. Use backend "auto" or "js" to search without it.`);
  }
  return module;
}

/** A new empty index from a faiss factory string (e.g. "HNSW32,Flat"), inner-product metric. */
export function createFactoryIndex(dim: number, descriptor: string): FaissAnyIndex {
  try {
    return faissModule().Index.fromFactory(dim, descriptor, METRIC_INNER_PRODUCT);
  } catch (error) {
    if (/unavailable/.test((error as Error).message)) throw error;
    throw new Error(`faiss cannot build an index from the factory string "${descriptor}": ${(error as Error).message.split("\n")[0]}`, { cause: error });
  }
}

/** An index serialised by `toBuffer()` (flat or factory-built). */
export function indexFromBuffer(buffer: Buffer): FaissAnyIndex {
  return faissModule().Index.fromBuffer(buffer);
}

let serialisedFlatWorks: boolean | undefined;

/** faiss's on-disk IndexFlatIP: "IxFI", d, ntotal, 2 dummies, is_trained, metric, then the float count and floats. */
function flatHeader(dim: number, count: number): Buffer {
  const header = Buffer.alloc(45);
  header.write("IxFI", 0, "latin1");
  header.writeInt32LE(dim, 4);
  header.writeBigInt64LE(BigInt(count), 8);
  header.writeBigInt64LE(1n << 20n, 16);
  header.writeBigInt64LE(1n << 20n, 24);
  header.writeUInt8(1, 32);
  header.writeInt32LE(METRIC_INNER_PRODUCT, 33);
  header.writeBigInt64LE(BigInt(count * dim), 37);
  return header;
}

/**
 * An IndexFlatIP holding `vectors` (row-major n×dim). faiss-node's add() reads plain arrays at
 * ~80 ns per value (4 s for 100k×512); handing faiss its own serialised form is several times
 * faster. That format is checked once against add() and not used if this faiss writes another.
 */
export function flatIndexFromVectors(vectors: Float32Array, dim: number): FaissAnyIndex {
  const count = vectors.length / dim;
  const bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
  return flatIndexFromRows(count, dim, (target, offset) => target.set(bytes, offset), () => vectors);
}

/**
 * Same, with the rows written by `writeRows` straight into the buffer faiss reads (count·dim
 * float32, little-endian, from byte `offset`): no intermediate copy of the whole matrix.
 * `packed` gives them as one array for the add() fallback.
 */
export function flatIndexFromRows(count: number, dim: number, writeRows: (target: Buffer, offset: number) => void, packed: () => Float32Array): FaissAnyIndex {
  const module = faissModule();
  if (serialisedFlatWorks === undefined) {
    try {
      const probe = new module.IndexFlatIP(3);
      probe.add([1, 2, 3, 4, 5, 6]);
      const data = new Float32Array([1, 2, 3, 4, 5, 6]);
      const built = module.IndexFlatIP.fromBuffer(Buffer.concat([flatHeader(3, 2), Buffer.from(data.buffer)]));
      serialisedFlatWorks = built.ntotal() === 2 && probe.toBuffer().equals(built.toBuffer());
    } catch {
      serialisedFlatWorks = false;
    }
  }
  if (serialisedFlatWorks && count > 0) {
    const header = flatHeader(dim, count);
    const buffer = Buffer.allocUnsafe(header.length + count * dim * 4);
    header.copy(buffer, 0);
    writeRows(buffer, header.length);
    return module.IndexFlatIP.fromBuffer(buffer);
  }
  const index = new module.IndexFlatIP(dim);
  if (count > 0) addVectors(index, packed(), dim);
  return index;
}

/** Values handed to faiss per add() call: bounds the temporary plain array. */
const ADD_CHUNK_VALUES = 1 << 16;

/** Appends row-major vectors through faiss-node's add() (plain arrays), in bounded chunks. */
export function addVectors(index: FaissFlatIndex, vectors: Float32Array, dim: number): void {
  const chunk = Math.max(dim, ADD_CHUNK_VALUES - (ADD_CHUNK_VALUES % dim));
  for (let start = 0; start < vectors.length; start += chunk) {
    const part = vectors.subarray(start, start + chunk);
    const values: number[] = [];
    for (let i = 0; i < part.length; i++) values.push(part[i]);
    index.add(values);
  }
}
