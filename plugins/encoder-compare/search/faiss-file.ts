// A faiss index file written elsewhere (autofaiss, `clip-retrieval index`), opened through
// faiss-node. faiss-node 0.5.1 exposes neither read_index's IO flags (no mmap: the index is read
// into memory whole) nor ParameterSpace (no nprobe/efSearch setter). autofaiss tunes those and
// saves them inside the file, so by default the file's own values are used; an override is
// written into the serialised bytes (the IVF header's nprobe, the HNSW struct's efSearch)
// before faiss parses them.
import fs from "node:fs";
import { requireRegularFile } from "../base/safe-read.ts";
import { checkFaissBytes, faissBytesSha256, FaissCheckError } from "./faiss-check.ts";
import { faissStatus, indexFromBuffer, type FaissAnyIndex } from "./faiss.ts";

const METRIC_INNER_PRODUCT = 0;
/** write_index_header: fourcc, d, ntotal, two dummies, is_trained, metric (+ metric_arg when metric > 1). */
const HEADER_BYTES = 37;
const DUMMY = 1n << 20n;

export interface SearchParams {
  /** IVF: inverted lists visited per query. */
  nprobe?: number;
  /** HNSW: candidate list size during search. */
  efSearch?: number;
}

export interface FaissIndexFile {
  file: string;
  index: FaissAnyIndex;
  /** Outermost index type as faiss's four-character code (IwPQ = IVF-PQ, IHNf = HNSW flat, IxPT = with a pre-transform such as OPQ). */
  fourcc: string;
  dim: number;
  rows: number;
  /** The search parameters in effect (the file's own unless overridden). */
  params: SearchParams;
  /** The names whose `tuned` value (OpenOptions) replaced the file's own. */
  tunedApplied: Array<keyof SearchParams>;
  /** sha256 of the bytes faiss parsed (the file with any parameters written in): what the file is, for memos. */
  sha256: string;
}

interface Header {
  fourcc: string;
  dim: number;
  rows: number;
  metric: number;
}

function readHeader(bytes: Buffer, at: number): Header | undefined {
  if (at + HEADER_BYTES > bytes.length) return undefined;
  return {
    fourcc: bytes.toString("latin1", at, at + 4),
    dim: bytes.readInt32LE(at + 4),
    rows: Number(bytes.readBigInt64LE(at + 8)),
    metric: bytes.readInt32LE(at + 33),
  };
}

function looksLikeHeader(bytes: Buffer, at: number, rows: number): boolean {
  return (
    at + HEADER_BYTES <= bytes.length &&
    bytes.readBigInt64LE(at + 16) === DUMMY &&
    bytes.readBigInt64LE(at + 24) === DUMMY &&
    Number(bytes.readBigInt64LE(at + 8)) === rows
  );
}

/**
 * Byte offsets of the nprobe (size_t) of the IVF index and of the efSearch (int32) of the HNSW
 * index inside a serialised index, found by their headers (the outer index may wrap them, e.g.
 * OPQ's IxPT): a fourcc of the family followed by the same ntotal and faiss's two dummy fields.
 */
function paramOffsets(bytes: Buffer, rows: number): { nprobe?: number; efSearch?: number } {
  const found: { nprobe?: number; efSearch?: number } = {};
  for (let at = bytes.indexOf("I", 0, "latin1"); at >= 0 && at + HEADER_BYTES <= bytes.length; at = bytes.indexOf("I", at + 1, "latin1")) {
    const tag = bytes.toString("latin1", at, at + 3);
    if ((tag.startsWith("Iw") || tag === "IHN") && looksLikeHeader(bytes, at, rows)) {
      const metric = bytes.readInt32LE(at + 33);
      const body = at + HEADER_BYTES + (metric > 1 ? 4 : 0);
      if (tag.startsWith("Iw")) found.nprobe ??= body + 8;
      else found.efSearch ??= hnswEfSearchOffset(bytes, body);
      if (found.nprobe !== undefined || found.efSearch !== undefined) return found;
    }
  }
  return found;
}

/**
 * write_HNSW: five vectors (assign_probas f64, cum_nneighbor_per_level i32, levels i32, offsets u64, neighbors i32),
 * then entry_point, max_level, efConstruction, efSearch.
 */
function hnswEfSearchOffset(bytes: Buffer, at: number): number | undefined {
  let position = at;
  for (const width of [8, 4, 4, 8, 4]) {
    if (position + 8 > bytes.length) return undefined;
    position += 8 + Number(bytes.readBigUInt64LE(position)) * width;
  }
  return position + 12 + 4 <= bytes.length ? position + 12 : undefined;
}

function readParams(bytes: Buffer, offsets: { nprobe?: number; efSearch?: number }): SearchParams {
  return {
    ...(offsets.nprobe !== undefined && offsets.nprobe + 8 <= bytes.length ? { nprobe: Number(bytes.readBigUInt64LE(offsets.nprobe)) } : {}),
    ...(offsets.efSearch !== undefined && offsets.efSearch + 4 <= bytes.length ? { efSearch: bytes.readInt32LE(offsets.efSearch) } : {}),
  };
}

/** How many bytes of the file are searched for the headers and parameters (coarse quantiser and transforms sit there; the codes come later). */
const HEAD_BYTES = 64 << 20;

export interface OpenOptions {
  /** A cache folder where the verdicts of the child-process check are remembered by content hash. */
  verdictDir?: string;
  /**
   * Values tuned elsewhere (autofaiss's index_infos.json): each is written where the file has a
   * slot for it and saves another value, unless an override names it. A slot the file lacks is
   * not an error, as it is for an override.
   */
  tuned?: SearchParams;
}

/**
 * Opens an inner-product faiss index file, optionally with other search parameters. The file is
 * read once; those bytes (with the overrides and tuned values written in) are checked in a child process and
 * then parsed here, so what faiss parses is what was checked.
 */
export function openFaissIndexFile(file: string, override: SearchParams = {}, options: OpenOptions = {}): FaissIndexFile {
  let bytes: Buffer;
  try {
    requireRegularFile(file);
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new Error(`faiss index ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const head = bytes.subarray(0, HEAD_BYTES);
  const header = readHeader(head, 0);
  if (!header || !looksLikeHeader(head, 0, header.rows)) throw new Error(`${file} is not a faiss index file (no index header)`);
  if (header.metric !== METRIC_INNER_PRODUCT) {
    throw new Error(
      `faiss index ${file} uses metric ${header.metric === 1 ? "L2" : header.metric}; cosine search needs an inner-product index (autofaiss --metric_type ip)`,
    );
  }
  const offsets = paramOffsets(head, header.rows);
  const wanted = Object.entries(override).filter(([, value]) => value !== undefined) as Array<[keyof SearchParams, number]>;
  for (const [name] of wanted) {
    const at = offsets[name];
    if (at === undefined) throw new Error(`faiss index ${file} (${header.fourcc}) has no ${name} to set; remove the ${name} option for this index`);
    if (at + (name === "nprobe" ? 8 : 4) > bytes.length) {
      const where = `it ends (${bytes.length} bytes) inside the header that holds ${name}`;
      throw new Error(`faiss index ${file} (${header.fourcc}) is cut short: ${where}; re-create it or copy it again`);
    }
  }
  const own = readParams(bytes, offsets);
  const tuned = options.tuned ?? {};
  const tunedApplied = (["nprobe", "efSearch"] as const).filter(
    (name) => override[name] === undefined && tuned[name] !== undefined && own[name] !== undefined && own[name] !== tuned[name],
  );
  for (const [name, value] of [...wanted, ...tunedApplied.map((name) => [name, tuned[name]!] as const)]) {
    if (name === "nprobe") bytes.writeBigUInt64LE(BigInt(value), offsets.nprobe!);
    else bytes.writeInt32LE(value, offsets.efSearch!);
  }
  const params = readParams(bytes, offsets);
  const sha256 = faissBytesSha256(bytes);
  let index: FaissAnyIndex;
  try {
    if (faissStatus().available) checkFaissBytes(file, bytes, sha256, options.verdictDir);
    index = indexFromBuffer(bytes);
  } catch (error) {
    if (error instanceof FaissCheckError || /unavailable/.test((error as Error).message)) throw error;
    throw new Error(`faiss cannot read the index ${file}: ${(error as Error).message.split("\n")[0]}`, { cause: error });
  }
  return { file, index, fourcc: header.fourcc, dim: header.dim, rows: header.rows, params, tunedApplied, sha256 };
}
