// What autofaiss writes beside an index it built: `index_infos.json` by default, `<name>.json` when
// `clip-retrieval index` calls it (image.index → image.json). Read for what the index file does not
// say plainly: the factory key it was built from, the tuned search parameters, the metric, and the
// row count autofaiss counted while reading the embeddings.
import fs from "node:fs";
import path from "node:path";
import { requireRegularFile } from "../base/safe-read.ts";

export interface IndexInfos {
  file: string;
  /** "nb vectors". */
  rows?: number;
  /** "vectors dimension". */
  dim?: number;
  /** faiss factory string, e.g. "OPQ64_256,IVF16384_HNSW32,PQ64". */
  indexKey?: string;
  /** "ip" or "l2", where the file says. */
  metric?: string;
  /** "index_param" as written, e.g. "nprobe=16,efSearch=32,ht=2048". */
  indexParam?: string;
  /** The parameters of index_param this tool can apply. */
  params: { nprobe?: number; efSearch?: number };
}

/** Largest infos file read: autofaiss writes a few hundred bytes. */
const MAX_BYTES = 1 << 20;

/** The infos file beside `indexFile`, clip-retrieval's name first, else undefined. */
function findIndexInfos(indexFile: string): string | undefined {
  const dir = path.dirname(indexFile);
  const candidates = [path.join(dir, `${path.basename(indexFile, path.extname(indexFile))}.json`), path.join(dir, "index_infos.json")];
  return candidates.find((file) => fs.existsSync(file));
}

function whole(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** Parses "nprobe=16,efSearch=32,ht=2048" (autofaiss's index_param, ParameterSpace syntax). */
function parseIndexParam(text: string): { nprobe?: number; efSearch?: number } {
  const params: { nprobe?: number; efSearch?: number } = {};
  for (const part of text.split(",")) {
    const [name, value] = part.split("=").map((s) => s.trim());
    const number = Number(value);
    if ((name === "nprobe" || name === "efSearch") && Number.isSafeInteger(number) && number >= 1) params[name] = number;
  }
  return params;
}

export function readIndexInfos(indexFile: string): IndexInfos | undefined {
  const file = findIndexInfos(indexFile);
  if (!file) return undefined;
  let parsed: Record<string, unknown>;
  try {
    if (requireRegularFile(file).size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
  } catch (error) {
    throw new Error(`${file} (autofaiss's index infos) cannot be read: ${(error as Error).message}; fix or remove it`, { cause: error });
  }
  const text = (key: string) => (typeof parsed[key] === "string" && parsed[key] !== "" ? (parsed[key] as string) : undefined);
  const indexParam = text("index_param");
  return {
    file,
    rows: whole(parsed["nb vectors"]),
    dim: whole(parsed["vectors dimension"]),
    indexKey: text("index_key"),
    metric: text("metric_type")?.toLowerCase(),
    indexParam,
    params: indexParam ? parseIndexParam(indexParam) : {},
  };
}

/** A short name for the kind of index, from its factory key or else its outermost four-character code. */
export function indexFamily(indexKey: string | undefined, fourcc: string): string {
  if (indexKey) {
    const parts = indexKey.split(",").map((p) => p.trim());
    const transform = parts.filter((p) => /^(OPQ|PCA|L2norm)/.test(p)).map((p) => p.replace(/[\d_].*$/, ""));
    const ivf = parts.find((p) => p.startsWith("IVF"));
    const codes = parts.at(-1) ?? "";
    const coding = /^PQ/.test(codes) ? "PQ" : /^SQ/.test(codes) ? "SQ" : /^Flat/.test(codes) ? "Flat" : codes.replace(/\d.*$/, "");
    const core = ivf ? `IVF${ivf.includes("_HNSW") ? "(HNSW)" : ""}-${coding}` : parts.some((p) => p.startsWith("HNSW")) ? "HNSW" : coding;
    return [...transform, core].join("+");
  }
  const known: Record<string, string> = { IwPQ: "IVF-PQ", IwFl: "IVF-Flat", IwSQ: "IVF-SQ", IHNf: "HNSW", IHNp: "HNSW-PQ", IxPT: "transformed", IxFI: "Flat" };
  return known[fourcc] ?? fourcc;
}
