// Every plugin option, its default, and what it does. Shortcode keywords override the
// per-query ones (k, encoders, dataset, includeSelf) for one call.
import { checkDatasetOption, type DatasetOption } from "../dataset/embeddings-option.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { DEFAULT_LIMIT_INPUT_PIXELS } from "../encoders/preprocess.ts";
import type { BuildSummary } from "./summary.ts";
import { PrefixedError } from "./logger.ts";

export interface PluginOptions {
  /** Encoders a shortcode shows when it names none, in table order. */
  encoders: string[];
  /** Folder of dataset images (+ optional manifest.json), relative to the project root; or an embeddings folder (see "Datasets bigger than your machine"). */
  dataset: DatasetOption;
  /** Named datasets a shortcode can pick with dataset="name" (folder paths or embeddings folders). */
  datasets: Record<string, DatasetOption>;
  /** Results per query. */
  k: number;
  /** Largest k a shortcode may ask for. */
  maxK: number;
  /** Show the query's own file when it is in the dataset (default: leave it out and say so). */
  includeSelf: boolean;
  /** Put a "Try your own image" control under every comparison (shortcodes can also ask with tryIt=true). */
  tryIt: boolean;
  /** Encoder ids whose downloaded model the "Try your own image" widget may offer; readers see its size and load it on request. */
  tryItModels: string[];
  /** Embedding store and other build caches, relative to the project root. */
  cacheDir: string;
  /** Folder under the site output where montages and thumbnails are written. */
  outputSubdir: string;
  /** Edge of one result tile in CSS pixels (the 2× image doubles it). */
  tileSize: number;
  /** "auto" uses faiss-node when its addon loads, else the exact JS search. */
  indexBackend: "auto" | "faiss" | "js" | "ann";
  /** With indexBackend "auto", data sets of at least this many images use the ANN index (faiss HNSW). */
  annThreshold: number;
  /** faiss factory string of the ANN index; inner-product metric. */
  annFactory: string;
  /** Candidates the ANN index proposes per query (HNSW's efSearch); all are rescored exactly. */
  annCandidates: number;
  /** Decoded batches kept ready ahead of onnxruntime while embedding (0 = decode, then infer). */
  prefetchBatches: number;
  /** Images sharp decodes at the same time while embedding; 0 = one per core. */
  decodeConcurrency: number;
  /** Images per onnxruntime run. */
  batchSize: number;
  /** onnxruntime intra-op threads; 0 = one per core. */
  intraOpNumThreads: number;
  /** Images with more pixels than this are refused (decompression bombs). */
  limitInputPixels: number;
  /** Where downloaded and converted models are cached (default: $ENCODER_COMPARE_MODELS_DIR, else ~/.cache/encoder-compare/models). */
  modelsDir: string | undefined;
  /** Never download models (also ENCODER_COMPARE_OFFLINE=1); a model not in the cache is unavailable. */
  offline: boolean;
  /** Mirror for model downloads (also ENCODER_COMPARE_MODEL_BASE_URL): replaces the URL's origin, keeps its path. */
  modelBaseUrl: string | undefined;
  /** An unavailable model fails the build instead of running its stand-in (also ENCODER_COMPARE_STRICT=1). */
  strict: boolean;
  /** Extra encoders (your own ONNX models), usable by id like the built-ins. */
  customEncoders: EncoderSpec[];
  /** Called after each build with what it did (counts, timings, skipped images). */
  onBuildSummary: ((summary: BuildSummary) => void) | undefined;
}

export const DEFAULT_OPTIONS: Readonly<PluginOptions> = Object.freeze({
  encoders: ["pixels", "phash"],
  dataset: "content/datasets/emoji-memes",
  datasets: {},
  k: 3,
  maxK: 50,
  includeSelf: false,
  tryIt: false,
  tryItModels: [],
  cacheDir: ".cache/encoder-compare",
  outputSubdir: "encoder-compare",
  tileSize: 160,
  indexBackend: "auto",
  annThreshold: 200_000,
  annFactory: "HNSW32,Flat",
  annCandidates: 128,
  prefetchBatches: 2,
  decodeConcurrency: 0,
  batchSize: 16,
  intraOpNumThreads: 0,
  limitInputPixels: DEFAULT_LIMIT_INPUT_PIXELS,
  modelsDir: undefined,
  offline: false,
  modelBaseUrl: undefined,
  strict: false,
  customEncoders: [],
  onBuildSummary: undefined,
});

/** A bad plugin option; `problem` is what is wrong with it (the CLI words it as a flag's problem). */
export class PluginOptionError extends PrefixedError {
  readonly problem: string;
  constructor(problem: string) {
    super(`plugin option ${problem}`);
    this.problem = problem;
  }
}

function fail(message: string): never {
  throw new PluginOptionError(message);
}

function positiveInt(name: string, value: unknown, allowZero = false): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    fail(`\`${name}\` must be a ${allowZero ? "non-negative" : "positive"} integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** True for "1", "true", "yes" (any case): how the ENCODER_COMPARE_* switches are read. */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value.trim());
}

/** Merges user options over the defaults and validates them. */
export function normalizeOptions(user: Partial<PluginOptions> = {}): PluginOptions {
  const known = new Set(Object.keys(DEFAULT_OPTIONS));
  for (const key of Object.keys(user)) {
    if (!known.has(key)) fail(`\`${key}\` is unknown; known options: ${[...known].join(", ")}`);
  }
  const options: PluginOptions = { ...DEFAULT_OPTIONS, ...user } as PluginOptions;
  if (!Array.isArray(options.encoders) || options.encoders.length === 0 || options.encoders.some((e) => typeof e !== "string")) {
    fail(`\`encoders\` must be a non-empty array of encoder ids, got ${JSON.stringify(options.encoders)}`);
  }
  if (typeof options.datasets !== "object" || options.datasets === null || Array.isArray(options.datasets)) {
    fail("`datasets` must be an object of name → dataset");
  }
  for (const [where, value] of [["dataset", options.dataset], ...Object.entries(options.datasets).map(([name, v]) => [`datasets.${name}`, v])]) {
    try {
      checkDatasetOption(value, `\`${where}\``);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  positiveInt("k", options.k);
  positiveInt("maxK", options.maxK);
  if (options.k > options.maxK) fail(`\`k\` (${options.k}) is above \`maxK\` (${options.maxK})`);
  positiveInt("tileSize", options.tileSize);
  positiveInt("batchSize", options.batchSize);
  positiveInt("intraOpNumThreads", options.intraOpNumThreads, true);
  positiveInt("limitInputPixels", options.limitInputPixels);
  if (!["auto", "faiss", "js", "ann"].includes(options.indexBackend)) {
    fail(`\`indexBackend\` must be "auto", "js", "faiss" or "ann", got ${JSON.stringify(options.indexBackend)}`);
  }
  positiveInt("annThreshold", options.annThreshold);
  positiveInt("annCandidates", options.annCandidates);
  positiveInt("prefetchBatches", options.prefetchBatches, true);
  positiveInt("decodeConcurrency", options.decodeConcurrency, true);
  if (typeof options.annFactory !== "string" || options.annFactory.trim() === "") fail("`annFactory` must be a faiss factory string such as \"HNSW32,Flat\"");
  for (const name of ["includeSelf", "offline", "strict", "tryIt"] as const) {
    if (typeof options[name] !== "boolean") fail(`\`${name}\` must be true or false`);
  }
  for (const name of ["modelsDir", "modelBaseUrl"] as const) {
    if (options[name] !== undefined && (typeof options[name] !== "string" || options[name] === "")) fail(`\`${name}\` must be a non-empty string`);
  }
  if (!Array.isArray(options.tryItModels) || options.tryItModels.some((e) => typeof e !== "string")) {
    fail(`\`tryItModels\` must be an array of encoder ids, got ${JSON.stringify(options.tryItModels)}`);
  }
  if (!Array.isArray(options.customEncoders)) fail("`customEncoders` must be an array of encoder specs");
  if (options.onBuildSummary !== undefined && typeof options.onBuildSummary !== "function") fail("`onBuildSummary` must be a function");
  if (!/^[A-Za-z0-9._-]+$/.test(options.outputSubdir)) fail("`outputSubdir` must be a single folder name");
  return options;
}
