// The `dataset` option's second form: vectors someone else's cluster computed (the output folder
// of `clip-retrieval inference`, optionally a faiss index from `clip-retrieval index`/autofaiss).
//   dataset: { embeddings: "laion-subset/", encoder: "clip-vit-b32", images: "https://…/{image_path}", index: "index/image.index" }
// A bare folder string that holds img_emb/ is read the same way, with encoder and images taken
// from its encoder-compare.json (written by `encoder-compare export`).
import fs from "node:fs";
import path from "node:path";
import { requireRegularFile } from "./safe-read.ts";

/** The file export writes beside the shards: which encoder made the vectors, and how. */
export const SIDECAR = "encoder-compare.json";

export interface EmbeddingsDatasetOption {
  /** Folder with img_emb/ (and metadata/), relative to the project root. */
  embeddings: string;
  /** Encoder id the vectors claim to come from; only that encoder's tables can search them. */
  encoder?: string;
  /** Where images are: a folder that metadata image_path is relative to, or a URL template with {image_path}, {url} or {row}. Default: the url column. */
  images?: string;
  /** faiss index file over the same rows (autofaiss/clip-retrieval's image.index); without one the search scans every row exactly. */
  index?: string;
  /** Override the index's own nprobe (IVF) or efSearch (HNSW). */
  nprobe?: number;
  efSearch?: number;
  /** Candidates taken from the faiss index per query, then rescored exactly from the vectors (default: DEFAULTS.embeddingsFolder). */
  candidates?: number;
  /** Images re-embedded to check the claim (0 skips the check and labels the vectors unverified). */
  verifySample?: number;
  /** Seed of that sample (shown in the log). */
  verifySeed?: number;
  /** Table caption name (default: the folder's name). */
  name?: string;
}

/** Resolved: absolute paths, defaults filled. */
export interface EmbeddingsDatasetConfig {
  dir: string;
  name: string;
  encoder: string;
  /** Absolute folder, or a URL template, or undefined (url column). */
  images?: { folder: string } | { template: string };
  index?: string;
  nprobe?: number;
  efSearch?: number;
  candidates: number;
  verifySample: number;
  verifySeed: number;
}

/** What an entry leaves out defaults to (the engine passes DEFAULTS.embeddingsFolder). */
export type EmbeddingsFieldDefaults = Pick<EmbeddingsDatasetConfig, "candidates" | "verifySample" | "verifySeed">;

const KEYS = new Set(["embeddings", "encoder", "images", "index", "nprobe", "efSearch", "candidates", "verifySample", "verifySeed", "name"]);

/** True when `dir` looks like clip-retrieval output (has img_emb/). */
export function isEmbeddingsFolder(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, "img_emb")).isDirectory();
  } catch {
    return false;
  }
}

function readSidecar(dir: string): Partial<EmbeddingsDatasetOption> {
  const file = path.join(dir, SIDECAR);
  if (!fs.existsSync(file)) return {};
  requireRegularFile(file);
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<EmbeddingsDatasetOption>;
    return { encoder: parsed.encoder, images: parsed.images === undefined ? undefined : path.resolve(dir, parsed.images) };
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); fix it or delete it and set the dataset option's encoder`, { cause: error });
  }
}

function count(where: string, name: string, value: unknown, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new Error(`${where}: \`${name}\` must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks the shape of a dataset option value (a folder path or the object form) without touching the disk. */
export function checkDatasetOption(value: unknown, where: string): void {
  if (typeof value === "string" && value !== "") return;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${where} must be a folder path or { embeddings, encoder, images, index }`);
  }
  const option = value as Record<string, unknown>;
  for (const key of Object.keys(option)) if (!KEYS.has(key)) throw new Error(`${where}: \`${key}\` is unknown; known: ${[...KEYS].join(", ")}`);
  if (typeof option.embeddings !== "string" || option.embeddings === "") {
    throw new Error(`${where}: \`embeddings\` must be the folder written by \`clip-retrieval inference\``);
  }
  for (const key of ["encoder", "images", "index", "name"]) {
    if (option[key] !== undefined && (typeof option[key] !== "string" || option[key] === "")) {
      throw new Error(`${where}: \`${key}\` must be a non-empty string`);
    }
  }
  const counts = [["nprobe", 1], ["efSearch", 1], ["candidates", 1], ["verifySample", 0], ["verifySeed", 0]] as const;
  for (const [key, min] of counts) count(where, key, option[key], min);
}

/** Checks and resolves one option value; `where` names it in errors (e.g. "plugin option `dataset`"). */
export function resolveEmbeddingsOption(
  value: EmbeddingsDatasetOption,
  projectRoot: string,
  where: string,
  defaults: EmbeddingsFieldDefaults,
): EmbeddingsDatasetConfig {
  checkDatasetOption(value, where);
  const dir = path.resolve(projectRoot, value.embeddings);
  const sidecar = isEmbeddingsFolder(dir) ? readSidecar(dir) : {};
  const encoder = value.encoder ?? sidecar.encoder;
  if (!encoder) throw new Error(`${where}: \`encoder\` is missing; name the encoder id that computed the vectors in ${dir} (e.g. "clip-vit-b32")`);
  const images = value.images ?? sidecar.images;
  return {
    dir,
    name: value.name ?? path.basename(dir),
    encoder,
    images: images === undefined ? undefined : /^[a-z][a-z0-9+.-]*:\/\//i.test(images) ? { template: images } : { folder: path.resolve(projectRoot, images) },
    index: value.index === undefined ? undefined : path.resolve(projectRoot, value.index),
    nprobe: count(where, "nprobe", value.nprobe, 1),
    efSearch: count(where, "efSearch", value.efSearch, 1),
    candidates: count(where, "candidates", value.candidates, 1) ?? defaults.candidates,
    verifySample: count(where, "verifySample", value.verifySample, 0) ?? defaults.verifySample,
    verifySeed: count(where, "verifySeed", value.verifySeed, 0) ?? defaults.verifySeed,
  };
}

/** A bare folder holding img_emb/: its sidecar must name the encoder. */
export function embeddingsFolderConfig(dir: string, defaults: EmbeddingsFieldDefaults): EmbeddingsDatasetConfig {
  return resolveEmbeddingsOption({ embeddings: dir }, dir, `embeddings folder ${dir}`, defaults);
}

export type DatasetOption = string | EmbeddingsDatasetOption;

/** The folder a dataset option (or the name of one in `datasets`) stands for, absolute. */
export function datasetLocation(value: DatasetOption, named: Readonly<Record<string, DatasetOption>>, projectRoot: string): string {
  const resolved = typeof value === "string" && Object.hasOwn(named, value) ? named[value] : value;
  return path.resolve(projectRoot, typeof resolved === "string" ? resolved : resolved.embeddings);
}

/** Every object-form dataset of the options, resolved, by folder (what the engine looks datasets up by). */
export function embeddingsDatasets(
  options: { dataset: DatasetOption; datasets: Readonly<Record<string, DatasetOption>> },
  projectRoot: string,
  defaults: EmbeddingsFieldDefaults,
): Map<string, EmbeddingsDatasetConfig> {
  const found = new Map<string, EmbeddingsDatasetConfig>();
  const entries: Array<[string, DatasetOption]> = [
    ["plugin option `dataset`", options.dataset],
    ...Object.entries(options.datasets).map(([name, value]): [string, DatasetOption] => [`plugin option \`datasets.${name}\``, value]),
  ];
  for (const [where, value] of entries) {
    if (typeof value === "string") continue;
    const config = resolveEmbeddingsOption(value, projectRoot, where, defaults);
    found.set(config.dir, config);
  }
  return found;
}

/** What a shortcode's dataset= defaults to: the folder path, or the embeddings dataset's name. */
export function defaultDatasetName(value: DatasetOption): string {
  return typeof value === "string" ? value : (value.name ?? value.embeddings);
}

/**
 * A shortcode's dataset= value → absolute folder: the plugin's own dataset, a name in
 * `datasets`, or else a folder checked by `resolveFolder` (which refuses paths outside the project).
 */
export function resolveRequestedDataset(
  requested: string,
  options: { dataset: DatasetOption; datasets: Readonly<Record<string, DatasetOption>> },
  projectRoot: string,
  resolveFolder: (dir: string) => string,
): string {
  if (requested === defaultDatasetName(options.dataset)) return datasetLocation(options.dataset, {}, projectRoot);
  if (Object.hasOwn(options.datasets, requested)) return datasetLocation(options.datasets[requested], {}, projectRoot);
  return resolveFolder(requested);
}
