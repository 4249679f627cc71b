// The `dataset` option's second form: vectors someone else's cluster computed (the output folder
// of `clip-retrieval inference`, optionally a faiss index from `clip-retrieval index`/autofaiss).
//   dataset: { embeddings: "laion-subset/", encoder: "clip-vit-b32", images: "https://…/{image_path}", index: "index/image.index" }
// A bare folder string that holds img_emb/ is read the same way, with encoder and images taken
// from its encoder-compare.json (written by `encoder-compare export`).
import fs from "node:fs";
import path from "node:path";
import { requireRegularFile } from "../base/safe-read.ts";

/** The file export writes beside the shards: which encoder made the vectors, and how. */
export const SIDECAR = "encoder-compare.json";

export interface EmbeddingsDatasetOption {
  /** Folder with img_emb/ (and metadata/), relative to the project root. */
  embeddings: string;
  /** Encoder id the vectors claim to come from; only that encoder's tables can search them. */
  encoder?: string;
  /**
   * Where images are: a folder, or a URL template with {image_path}, {url} or {row}. Default: the url column.
   * A folder is where image_path resolves; clip-retrieval writes the --input_dataset it was given in front of each
   * file name, and that prefix is found and dropped when the paths do not resolve as written (or set imagePathPrefix).
   */
  images?: string;
  /** Prefix dropped from every image_path before it is resolved under `images` (e.g. "images/" or "/home/me/photos/"). */
  imagePathPrefix?: string;
  /** faiss index file over the same rows (autofaiss/clip-retrieval's image.index); without one the search scans every row exactly. */
  index?: string;
  /** Override the index's own nprobe (IVF) or efSearch (HNSW). */
  nprobe?: number;
  efSearch?: number;
  /** Candidates taken from the faiss index per query, then rescored exactly from the vectors (default: DEFAULTS.embeddingsFolder). */
  candidates?: number;
  /** Images re-embedded to check the claim (0 skips the check and labels the vectors unverified; "all": every row with a local image). */
  verifySample?: number | "all";
  /** Seed of that sample (shown in the log). */
  verifySeed?: number;
  /** Table caption name (default: the folder's name). */
  name?: string;
  /** A recall@k estimate below this (index against exact search) is warned about. */
  minRecall?: number;
  /** Rows used as queries for that estimate, and its k. */
  recallQueries?: number;
  recallK?: number;
}

/** Resolved: absolute paths, defaults filled. */
export interface EmbeddingsDatasetConfig {
  dir: string;
  name: string;
  encoder: string;
  /** Absolute folder, or a URL template, or undefined (url column). */
  images?: { folder: string } | { template: string };
  imagePathPrefix?: string;
  index?: string;
  nprobe?: number;
  efSearch?: number;
  candidates: number;
  verifySample: number | "all";
  verifySeed: number;
  /** Rows the folder must hold: what `encoder-compare export` recorded in its sidecar. */
  expectedRows?: number;
  minRecall: number;
  /** Sampled queries and k of the recall estimate. */
  recallQueries: number;
  recallK: number;
}

/** What an entry leaves out defaults to (the engine passes DEFAULTS.embeddingsFolder). */
export type EmbeddingsFieldDefaults = Pick<
  EmbeddingsDatasetConfig,
  "candidates" | "verifySample" | "verifySeed" | "minRecall" | "recallQueries" | "recallK"
>;

const KEYS = new Set([
  "embeddings", "encoder", "images", "index", "nprobe", "efSearch", "candidates", "verifySample", "verifySeed", "name", "imagePathPrefix", "minRecall",
  "recallQueries", "recallK",
]);

/** True when `dir` looks like clip-retrieval output (has img_emb/). */
export function isEmbeddingsFolder(dir: string): boolean {
  try {
    return fs.statSync(path.join(dir, "img_emb")).isDirectory();
  } catch {
    return false;
  }
}

/** What export wrote beside the shards. */
interface Sidecar {
  encoder?: string;
  /** Relative to the folder. */
  images?: string;
  /** Rows written, so a shard lost later is noticed. */
  rows?: number;
}

function readSidecar(dir: string): Sidecar {
  const file = path.join(dir, SIDECAR);
  if (!fs.existsSync(file)) return {};
  requireRegularFile(file);
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Sidecar;
    const rows = Number.isSafeInteger(parsed.rows) && parsed.rows! >= 0 ? parsed.rows : undefined;
    return { encoder: parsed.encoder, images: parsed.images === undefined ? undefined : path.resolve(dir, parsed.images), rows };
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
  for (const key of ["encoder", "images", "imagePathPrefix", "index", "name"]) {
    if (option[key] !== undefined && (typeof option[key] !== "string" || option[key] === "")) {
      throw new Error(`${where}: \`${key}\` must be a non-empty string`);
    }
  }
  const counts = [["nprobe", 1], ["efSearch", 1], ["candidates", 1], ["verifySeed", 0], ["recallQueries", 1], ["recallK", 1]] as const;
  for (const [key, min] of counts) count(where, key, option[key], min);
  const sample = option.verifySample;
  if (sample !== undefined && sample !== "all" && (typeof sample !== "number" || !Number.isInteger(sample) || sample < 0)) {
    throw new Error(`${where}: \`verifySample\` must be an integer ≥ 0, got ${JSON.stringify(sample)} (or "all": every row whose image is local)`);
  }
  const floor = option.minRecall;
  if (floor !== undefined && (typeof floor !== "number" || !(floor >= 0 && floor <= 1))) {
    throw new Error(`${where}: \`minRecall\` must be a number from 0 to 1, got ${JSON.stringify(floor)}`);
  }
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
    imagePathPrefix: value.imagePathPrefix,
    index: value.index === undefined ? undefined : path.resolve(projectRoot, value.index),
    nprobe: count(where, "nprobe", value.nprobe, 1),
    efSearch: count(where, "efSearch", value.efSearch, 1),
    candidates: count(where, "candidates", value.candidates, 1) ?? defaults.candidates,
    verifySample: value.verifySample === "all" ? "all" : (count(where, "verifySample", value.verifySample, 0) ?? defaults.verifySample),
    verifySeed: count(where, "verifySeed", value.verifySeed, 0) ?? defaults.verifySeed,
    expectedRows: sidecar.rows,
    minRecall: value.minRecall ?? defaults.minRecall,
    recallQueries: count(where, "recallQueries", value.recallQueries, 1) ?? defaults.recallQueries,
    recallK: count(where, "recallK", value.recallK, 1) ?? defaults.recallK,
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

/**
 * What an object-form dataset entry is looked up by: its place in the options, not its folder, since two entries
 * (an indexed one and an exact one, say) may read the same folder. Never a path, so it cannot collide with one.
 */
export function embeddingsDatasetRef(entry: "dataset" | `datasets.${string}`): string {
  return `embeddings-dataset:${entry}`;
}

/** Every object-form dataset of the options, resolved, by reference (see embeddingsDatasetRef). */
export function embeddingsDatasets(
  options: { dataset: DatasetOption; datasets: Readonly<Record<string, DatasetOption>> },
  projectRoot: string,
  defaults: EmbeddingsFieldDefaults,
): Map<string, EmbeddingsDatasetConfig> {
  const found = new Map<string, EmbeddingsDatasetConfig>();
  const entries: Array<["dataset" | `datasets.${string}`, DatasetOption]> = [
    ["dataset", options.dataset],
    ...Object.entries(options.datasets).map(([name, value]): [`datasets.${string}`, DatasetOption] => [`datasets.${name}`, value]),
  ];
  for (const [entry, value] of entries) {
    if (typeof value === "string") continue;
    found.set(embeddingsDatasetRef(entry), resolveEmbeddingsOption(value, projectRoot, `plugin option \`${entry}\``, defaults));
  }
  return found;
}

/**
 * The configured entry for a reference, or for a folder named directly (the CLI, a shortcode's dataset="folder"):
 * the one entry on that folder, the plugin's own `dataset` where several are, else a refusal naming them.
 */
export function findEmbeddingsDataset(configs: ReadonlyMap<string, EmbeddingsDatasetConfig>, ref: string): EmbeddingsDatasetConfig | undefined {
  const named = configs.get(ref);
  if (named) return named;
  const onFolder = [...configs.entries()].filter(([, config]) => config.dir === ref);
  if (onFolder.length <= 1) return onFolder[0]?.[1];
  const own = onFolder.find(([key]) => key === embeddingsDatasetRef("dataset"));
  if (own) return own[1];
  const names = onFolder.map(([key]) => key.slice(key.indexOf(":") + 1)).join(", ");
  throw new Error(`dataset folder ${ref} is configured more than once (${names}); name the one meant with dataset="<name>"`);
}

/** What a shortcode's dataset= defaults to: the folder path, or the embeddings dataset's name. */
export function defaultDatasetName(value: DatasetOption): string {
  return typeof value === "string" ? value : (value.name ?? value.embeddings);
}

/**
 * A shortcode's dataset= value → absolute folder (or an embeddings entry's reference): the plugin's own dataset, a
 * name in `datasets`, or else a folder checked by `resolveFolder` (which refuses paths outside the project).
 */
export function resolveRequestedDataset(
  requested: string,
  options: { dataset: DatasetOption; datasets: Readonly<Record<string, DatasetOption>> },
  projectRoot: string,
  resolveFolder: (dir: string) => string,
): string {
  if (requested === defaultDatasetName(options.dataset)) {
    return typeof options.dataset === "string" ? datasetLocation(options.dataset, {}, projectRoot) : embeddingsDatasetRef("dataset");
  }
  if (Object.hasOwn(options.datasets, requested)) {
    const named = options.datasets[requested];
    return typeof named === "string" ? datasetLocation(named, {}, projectRoot) : embeddingsDatasetRef(`datasets.${requested}`);
  }
  return resolveFolder(requested);
}
