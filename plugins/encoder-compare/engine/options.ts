// Every plugin option and what it does; the defaults live in defaults.ts (DEFAULTS, grouped by concern). Options may
// be given grouped (`search: { annThreshold }`) or by their flat names, kept as aliases so older configs still work.
// Shortcode keywords override the per-query ones (k, encoders, dataset, includeSelf) for one call.
import { checkDatasetOption, type DatasetOption } from "../dataset/embeddings-option.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { DEFAULTS, OPTION_GROUPS } from "../base/defaults.ts";
import type { BuildSummary } from "./summary.ts";
import { PrefixedError } from "../base/logger.ts";

type Defaults = typeof DEFAULTS;
type Group<G extends (typeof OPTION_GROUPS)[number]> = { -readonly [K in keyof Defaults[G]]: Defaults[G][K] };
type SearchOptions = Group<"search">;
type EmbeddingOptions = Group<"embedding">;
type ModelOptions = Group<"models">;
type OutputOptions = Group<"output">;
type MapOptions = Group<"map">;

/** The options the engine reads: every group flattened (see DEFAULTS for each one's default and meaning). */
export interface PluginOptions extends SearchOptions, EmbeddingOptions, ModelOptions, OutputOptions, MapOptions {
  encoders: string[];
  /** Folder of dataset images (+ optional manifest.json), relative to the project root; or an embeddings folder (see "Datasets bigger than your machine"). */
  dataset: DatasetOption;
  /** Named datasets a shortcode can pick with dataset="name" (folder paths or embeddings folders). */
  datasets: Record<string, DatasetOption>;
  k: number;
  maxK: number;
  includeSelf: boolean;
  /** Put a "Try your own image" control under every comparison (shortcodes can also ask with tryIt=true). */
  tryIt: boolean;
  /** Encoder ids whose downloaded model the "Try your own image" widget may offer; readers see its size and load it on request. */
  tryItModels: string[];
  cacheDir: string;
  /** Extra encoders (your own ONNX models), usable by id like the built-ins. */
  customEncoders: EncoderSpec[];
  /** Called after each build with what it did (counts, timings, skipped images). */
  onBuildSummary: ((summary: BuildSummary) => void) | undefined;
}

/** What a user passes: flat names, and/or the grouped form (`search`, `embedding`, `models`, `output`). */
export type UserOptions = Partial<PluginOptions> & { [G in (typeof OPTION_GROUPS)[number]]?: Partial<Group<G>> };

/**
 * DEFAULTS flattened: the options an empty config runs with. Not a second copy of any value: the top-level defaults
 * and the option groups' are spread in as they are, and the lists are fresh copies a config may not share.
 */
export const FLAT_DEFAULTS: Readonly<PluginOptions> = Object.freeze({
  encoders: [...DEFAULTS.encoders],
  dataset: DEFAULTS.dataset,
  datasets: { ...DEFAULTS.datasets },
  k: DEFAULTS.k,
  maxK: DEFAULTS.maxK,
  includeSelf: DEFAULTS.includeSelf,
  tryIt: DEFAULTS.tryIt,
  tryItModels: [...DEFAULTS.tryItModels],
  cacheDir: DEFAULTS.cacheDir,
  ...DEFAULTS.output,
  ...DEFAULTS.search,
  ...DEFAULTS.embedding,
  ...DEFAULTS.models,
  ...DEFAULTS.map,
  customEncoders: [...DEFAULTS.customEncoders],
  onBuildSummary: DEFAULTS.onBuildSummary,
});

/** A bad plugin option; `problem` is what is wrong with it (the CLI words it as a flag's problem). */
export class PluginOptionError extends PrefixedError {
  readonly problem: string;
  constructor(problem: string) {
    super(`plugin option ${problem}`);
    this.problem = problem;
  }
}

/**
 * Grouped options moved to their flat names. A name given both ways must agree; layers meant to override each
 * other (site config, --config, flags) are flattened one by one before they are merged.
 */
export function flattenOptions(user: UserOptions): Partial<PluginOptions> {
  const flat: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(user)) if (!(OPTION_GROUPS as readonly string[]).includes(key)) flat[key] = value;
  for (const group of OPTION_GROUPS) {
    const given: unknown = user[group];
    if (given === undefined) continue;
    if (typeof given !== "object" || given === null || Array.isArray(given)) fail(`\`${group}\` must be an object of ${group} options`);
    const known = Object.keys(DEFAULTS[group]);
    for (const [key, value] of Object.entries(given)) {
      if (!known.includes(key)) fail(`\`${group}.${key}\` is unknown; known ${group} options: ${known.join(", ")}`);
      if (key in flat && flat[key] !== value) fail(`\`${key}\` is given twice, as \`${group}.${key}\` and as its flat alias, with different values`);
      flat[key] = value;
    }
  }
  return flat as Partial<PluginOptions>;
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
export function normalizeOptions(grouped: UserOptions = {}): PluginOptions {
  const user = flattenOptions(grouped);
  const known = new Set(Object.keys(FLAT_DEFAULTS));
  for (const key of Object.keys(user)) {
    if (!known.has(key)) fail(`\`${key}\` is unknown; known options: ${[...OPTION_GROUPS, ...known].join(", ")}`);
  }
  const options: PluginOptions = { ...FLAT_DEFAULTS, ...user } as PluginOptions;
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
  for (const name of ["int8CalibrationImages", "int8AgreementImages", "int8AgreementQueries"] as const) positiveInt(name, options[name]);
  if (typeof options.int8AgreementFloor !== "number" || !(options.int8AgreementFloor >= 0 && options.int8AgreementFloor <= 10)) {
    fail(`\`int8AgreementFloor\` must be a number from 0 to 10 (neighbours of 10), got ${JSON.stringify(options.int8AgreementFloor)}`);
  }
  if (!["auto", "faiss", "js", "ann"].includes(options.indexBackend)) {
    fail(`\`indexBackend\` must be "auto", "js", "faiss" or "ann", got ${JSON.stringify(options.indexBackend)}`);
  }
  positiveInt("annThreshold", options.annThreshold);
  positiveInt("annCandidates", options.annCandidates);
  positiveInt("prefetchBatches", options.prefetchBatches, true);
  positiveInt("decodeConcurrency", options.decodeConcurrency, true);
  for (const name of ["mapNeighbors", "mapPcaDims", "mapPcaFrom", "mapMaxPoints", "mapFaithfulnessK", "mapFaithfulnessSample", "mapPlaceNeighbors"] as const) {
    positiveInt(name, options[name]);
  }
  positiveInt("mapSeed", options.mapSeed, true);
  positiveInt("mapEpochs", options.mapEpochs, true);
  if (typeof options.mapMinDist !== "number" || !(options.mapMinDist >= 0 && options.mapMinDist <= 1)) {
    fail(`\`mapMinDist\` must be a number from 0 to 1, got ${JSON.stringify(options.mapMinDist)}`);
  }
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
  if (typeof options.previewHost !== "string" || !/^[A-Za-z0-9.:-]+$/.test(options.previewHost)) {
    fail(`\`previewHost\` must be an address or host name such as "127.0.0.1", got ${JSON.stringify(options.previewHost)}`);
  }
  return options;
}
