// The engine's public shapes: what it is built from (EngineOptions) and what it answers (encoders, index updates,
// stats, query results). Type-only, so eval/, render/ and cli/ can name them without importing the engine class.
import type { Dataset, DatasetImage } from "../dataset/load.ts";
import type { EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import type { EncoderRegistry } from "../encoders/registry.ts";
import type { EncoderSession } from "../encoders/session.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import type { ModelUnavailableKind } from "../models/model-file.ts";
import type { EmbeddingsSearch } from "../search/embeddings-search.ts";
import type { SearchBackend, VectorIndex } from "../search/index.ts";
import type { DEFAULTS } from "../base/defaults.ts";
import type { ProgressFactory } from "../base/progress.ts";

/** The option groups (defaults.ts) the engine reads; setup.ts hands every option of them on as resolved, none copied by name. */
export type EngineOptionGroup = "search" | "embedding" | "models";

type Defaults = typeof DEFAULTS;
type SettingName = { [G in EngineOptionGroup]: keyof Defaults[G] }[EngineOptionGroup];
type SettingValue<K> = { [G in EngineOptionGroup]: K extends keyof Defaults[G] ? Defaults[G][K] : never }[EngineOptionGroup];

// Derived from DEFAULTS rather than imported from options.ts, which reaches this file through summary.ts (a type loop).
/** The resolved plugin options of those groups, typed as options.ts types them. */
export type EngineSettings = { -readonly [K in SettingName]: SettingValue<K> };

/** Settings a caller that builds an engine by hand (tests, benchmarks) may leave out: the engine fills them from DEFAULTS. */
export type OptionalSetting =
  | "annThreshold"
  | "annFactory"
  | "annCandidates"
  | "prefetchBatches"
  | "decodeConcurrency"
  | "int8CalibrationImages"
  | "int8AgreementImages"
  | "int8AgreementQueries"
  | "int8AgreementFloor";

export interface EngineOptions extends Omit<EngineSettings, OptionalSetting | "modelsDir" | "modelBaseUrl">, Partial<Pick<EngineSettings, OptionalSetting>> {
  /** Mirror replacing the origin of model URLs (none: each model's own URL). */
  modelBaseUrl?: string;
  projectRoot: string;
  /** Absolute: the embedding store, ANN snapshots, remote images and reports live here. */
  cacheDir: string;
  registry: EncoderRegistry;
  /** Resolved (option, $ENCODER_COMPARE_MODELS_DIR or the user cache); `offline`, `modelBaseUrl` and `strict` include their env switches. */
  modelsDir: string;
  /** Dataset members and query images above this many bytes are skipped / refused (default DEFAULTS.images.maxImageBytes). */
  maxImageBytes?: number;
  warn: (message: string) => void;
  info: (message: string) => void;
  /** Shows progress of long embedding runs (none when absent). */
  progress?: ProgressFactory;
  /** Datasets given as embeddings folders (the `dataset`/`datasets` options' object form), by reference (embeddingsDatasetRef). */
  embeddingsDatasets?: ReadonlyMap<string, EmbeddingsDatasetConfig>;
}

/** EngineOptions with every setting present: what the engine and the stages it calls read. */
export type ResolvedEngineOptions = EngineOptions & Pick<EngineSettings, OptionalSetting> & Required<Pick<EngineOptions, "maxImageBytes">>;

export interface LoadedEncoder {
  /** The encoder that actually runs (the stand-in when `standInFor` is set). */
  spec: EncoderSpec;
  /** Set when the requested encoder's model could not be had and its stand-in runs instead. */
  standInFor?: { spec: EncoderSpec; kind: ModelUnavailableKind; reason: string };
  /** sha256 over model bytes, tensor names and preprocessing: the store's key. */
  key: string;
  session: EncoderSession;
}

/** The model behind an encoder id, without an onnxruntime session (enough to look up vectors). */
export interface EncoderIdentity {
  spec: EncoderSpec;
  standInFor?: LoadedEncoder["standInFor"];
  key: string;
  model: Uint8Array | string;
}

/** How one build changed one index (for the summary, tests and benchmarks). */
export interface IndexUpdate {
  encoder: string;
  dataset: string;
  backend: SearchBackend;
  rows: number;
  added: number;
  removed: number;
  /** The index was built from every row (first use in this process, or an ANN rebuild). */
  rebuilt: boolean;
  /** Loaded from the ANN cache file instead of being rebuilt. */
  fromCache?: boolean;
}

export interface EncoderStats {
  embedded: number;
  cached: number;
  seconds: number;
}

/** What one build did, for its summary line; the engine replaces it whole at the start of each build. */
export interface BuildStats {
  /** Per encoder that ran (statsName: "clip-vit-b32→pixels" for a stand-in): images embedded, found cached, seconds. */
  encoders: Map<string, EncoderStats>;
  /** Dataset images left out, by absolute path, with the reason. */
  skippedImages: Map<string, string>;
  /** Backends that served queries; embeddings folders add "faiss-file" (an index file) or "exact-scan". */
  backendsUsed: Set<SearchBackend | EmbeddingsSearch["backend"]>;
  /** How this build changed each index. */
  indexUpdates: IndexUpdate[];
}

/** An encoder's index over one dataset's images: row i is `dataset.images[i]`. */
export interface DatasetIndex {
  dataset: Dataset;
  index: VectorIndex;
  rowBySha: Map<string, number>;
}

export interface QueryOptions {
  k: number;
  includeSelf: boolean;
}

export interface QueryHit {
  rank: number;
  score: number;
  image: DatasetImage;
}

export interface QueryResult {
  encoder: EncoderSpec;
  standInFor?: LoadedEncoder["standInFor"];
  query: { file: string; sha256: string };
  /** The query's embedding (for ranking beyond the top k, e.g. rankOf). */
  vector: Float32Array;
  hits: QueryHit[];
  /** True when the query's own file was in the dataset and left out of the results. */
  selfExcluded: boolean;
  /** The dataset's name and its number of indexed images (what the table's caption shows). */
  datasetName: string;
  datasetSize: number;
  /** Where the dataset's vectors came from when not computed here (an embeddings folder: verified or not). */
  datasetNote?: string;
}

/** Vectors of images for one encoder, from the store where present (failures are recorded by the engine). */
export type EmbedImages = (encoder: EncoderIdentity, images: ReadonlyArray<{ sha256: string; file: string }>) => Promise<Map<string, Float32Array>>;
