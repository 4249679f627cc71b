// The engine behind the shortcode and the CLI: loads encoders, embeds a dataset once per
// (encoder, image content), builds one index per encoder and dataset, and answers queries.
// Every expensive step is a memoised promise, so concurrent shortcodes share the work.
import crypto from "node:crypto";
import path from "node:path";
import { loadDataset, sha256File, type Dataset, type DatasetImage } from "./dataset/load.ts";
import { embedFiles, describeDecodeError } from "./encoders/embed.ts";
import { imageToTensor } from "./encoders/preprocess.ts";
import type { EncoderRegistry } from "./encoders/registry.ts";
import { EncoderSession } from "./encoders/session.ts";
import type { EncoderSpec } from "./encoders/spec.ts";
import { ModelUnavailableError } from "./models/download.ts";
import { resolveModel } from "./models/resolve.ts";
import { buildIndex, type SearchBackend, type VectorIndex } from "./search/index.ts";
import { EmbeddingStore } from "./store/embedding-store.ts";
import type { ProgressFactory } from "./progress.ts";

/** Bump when preprocessing or post-processing changes in a way that changes vectors. */
export const PIPELINE_VERSION = 2;

export interface EngineOptions {
  projectRoot: string;
  cacheDir: string;
  registry: EncoderRegistry;
  batchSize: number;
  intraOpNumThreads: number;
  limitInputPixels: number;
  indexBackend: "auto" | "faiss" | "js";
  modelsDir: string;
  /** Never download; a model not in the cache is unavailable. */
  offline: boolean;
  /** Mirror replacing the origin of model URLs. */
  modelBaseUrl?: string;
  /** An unavailable model fails the build instead of running its stand-in. */
  strict: boolean;
  warn: (message: string) => void;
  info: (message: string) => void;
  /** Shows progress of long embedding runs (none when absent). */
  progress?: ProgressFactory;
}

export interface LoadedEncoder {
  /** The encoder that actually runs (the stand-in when `standInFor` is set). */
  spec: EncoderSpec;
  /** Set when the requested encoder's model could not be had and its stand-in runs instead. */
  standInFor?: { spec: EncoderSpec; reason: string };
  /** sha256 over model bytes, tensor names and preprocessing: the store's key. */
  key: string;
  session: EncoderSession;
}

export interface EncoderStats {
  embedded: number;
  cached: number;
  seconds: number;
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
  hits: QueryHit[];
  /** True when the query's own file was in the dataset and left out of the results. */
  selfExcluded: boolean;
}

interface DatasetIndex {
  dataset: Dataset;
  index: VectorIndex;
  rowBySha: Map<string, number>;
}

/** The name an encoder's figures go under in the summary, e.g. "clip-vit-b32→pixels" for a stand-in. */
export function statsName(encoder: Pick<LoadedEncoder, "spec" | "standInFor">): string {
  return encoder.standInFor ? `${encoder.standInFor.spec.id}→${encoder.spec.id}` : encoder.spec.id;
}

export function encoderKey(spec: EncoderSpec, modelSha256: string): string {
  const identity = {
    pipeline: PIPELINE_VERSION,
    model: modelSha256,
    input: spec.inputName,
    output: spec.outputName,
    dim: spec.dim,
    preprocess: spec.preprocess,
  };
  return crypto.createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}

export class CompareEngine {
  readonly options: EngineOptions;
  readonly #encoders = new Map<string, Promise<LoadedEncoder>>();
  readonly #indexes = new Map<string, Promise<DatasetIndex>>();
  /** Per build: datasets are re-listed each build so edits are seen. */
  #datasets = new Map<string, Dataset>();
  #store?: EmbeddingStore;
  stats = new Map<string, EncoderStats>();
  skippedImages = new Map<string, string>();
  backendsUsed = new Set<SearchBackend>();
  /** Indexes already counted in this build's stats (several shortcodes share one). */
  #countedIndexes = new Set<string>();

  constructor(options: EngineOptions) {
    this.options = options;
  }

  get store(): EmbeddingStore {
    this.#store ??= EmbeddingStore.open(path.join(this.options.cacheDir, "embeddings.sqlite"), this.options.warn);
    return this.#store;
  }

  /** Forget per-build state (dataset listings, counters); keeps sessions and indexes. */
  startBuild(): void {
    this.#datasets = new Map();
    this.stats = new Map();
    this.skippedImages = new Map();
    this.backendsUsed = new Set();
    this.#countedIndexes = new Set();
  }

  statsFor(encoderId: string): EncoderStats {
    let s = this.stats.get(encoderId);
    if (!s) this.stats.set(encoderId, (s = { embedded: 0, cached: 0, seconds: 0 }));
    return s;
  }

  encoder(id: string): Promise<LoadedEncoder> {
    let loaded = this.#encoders.get(id);
    if (!loaded) {
      loaded = this.#loadEncoder(this.options.registry.get(id));
      this.#encoders.set(id, loaded);
      loaded.catch(() => this.#encoders.delete(id));
    }
    return loaded;
  }

  async #loadEncoder(spec: EncoderSpec): Promise<LoadedEncoder> {
    try {
      const model = await resolveModel(spec, {
        projectRoot: this.options.projectRoot,
        modelsDir: this.options.modelsDir,
        offline: this.options.offline,
        baseUrl: this.options.modelBaseUrl,
        log: this.options.info,
      });
      const session = await EncoderSession.create(spec, model.model, { intraOpNumThreads: this.options.intraOpNumThreads });
      return { spec, key: encoderKey(spec, model.sha256), session };
    } catch (error) {
      if (!(error instanceof ModelUnavailableError)) throw error;
      const fetchHint = `fetch it with \`npx encoder-compare models pull ${spec.id}\` on a machine with access, or set ENCODER_COMPARE_MODEL_BASE_URL to a mirror`;
      if (this.options.strict || !spec.standIn) {
        const why = this.options.strict ? "strict mode is on" : "it has no stand-in";
        throw new Error(`${spec.label} (${spec.id}) is not available: ${error.reason}; ${why}, so the build stops — ${fetchHint}`, { cause: error });
      }
      const standIn = await this.encoder(spec.standIn);
      this.options.warn(`${spec.label} not available (${error.reason}): its tables use ${standIn.spec.id} as a stand-in, labelled as such; ${fetchHint}`);
      return { ...standIn, standInFor: { spec, reason: error.reason } };
    }
  }

  dataset(dir: string): Dataset {
    let dataset = this.#datasets.get(dir);
    if (!dataset) {
      dataset = loadDataset(dir, this.store);
      this.#datasets.set(dir, dataset);
      for (const s of dataset.skipped) this.skippedImages.set(path.join(dir, s.file), s.reason);
    }
    return dataset;
  }

  async datasetIndex(encoderId: string, datasetDir: string): Promise<DatasetIndex> {
    const encoder = await this.encoder(encoderId);
    const dataset = this.dataset(datasetDir);
    const memoKey = `${encoder.key}:${dataset.fingerprint}`;
    let built = this.#indexes.get(memoKey);
    const countKey = `${statsName(encoder)}:${memoKey}`;
    if (!built) {
      built = this.#buildDatasetIndex(encoder, dataset);
      this.#indexes.set(memoKey, built);
      this.#countedIndexes.add(countKey);
      built.catch(() => this.#indexes.delete(memoKey));
    }
    const result = await built;
    if (!this.#countedIndexes.has(countKey)) {
      // Built earlier (another shortcode's encoder sharing the model, or an earlier watch build):
      // every row counts as cached for this encoder.
      this.#countedIndexes.add(countKey);
      this.statsFor(statsName(encoder)).cached += result.rowBySha.size;
    }
    this.backendsUsed.add(result.index.backend);
    return result;
  }

  async #buildDatasetIndex(encoder: LoadedEncoder, dataset: Dataset): Promise<DatasetIndex> {
    const started = performance.now();
    const vectors = await this.#embed(encoder, dataset.images);
    const rows = dataset.images.filter((image) => vectors.has(image.sha256));
    const matrix = new Float32Array(rows.length * encoder.spec.dim);
    rows.forEach((image, row) => matrix.set(vectors.get(image.sha256)!, row * encoder.spec.dim));
    const index = buildIndex(matrix, encoder.spec.dim, { backend: this.options.indexBackend });
    this.statsFor(statsName(encoder)).seconds += (performance.now() - started) / 1000;
    return {
      dataset: { ...dataset, images: rows },
      index,
      rowBySha: new Map(rows.map((image, row) => [image.sha256, row])),
    };
  }

  /** Vectors for images, from the store where present; failures land in skippedImages. */
  async #embed(encoder: LoadedEncoder, images: ReadonlyArray<{ sha256: string; file: string }>): Promise<Map<string, Float32Array>> {
    const stats = this.statsFor(statsName(encoder));
    const vectors = this.store.getVectors(encoder.key, images.map((i) => i.sha256));
    stats.cached += vectors.size;
    const missing = images.filter((i) => !vectors.has(i.sha256));
    if (missing.length === 0) return vectors;
    const progress = this.options.progress?.(statsName(encoder), missing.length);
    const outcome = await embedFiles(encoder.session, missing, {
      batchSize: this.options.batchSize,
      limitInputPixels: this.options.limitInputPixels,
      onBatch: (entries, done) => {
        this.store.putVectors(encoder.key, entries);
        progress?.update(done);
      },
    }).finally(() => progress?.end());
    stats.embedded += outcome.vectors.size;
    for (const [sha, vector] of outcome.vectors) vectors.set(sha, vector);
    for (const f of outcome.failed) this.skippedImages.set(f.file, f.reason);
    return vectors;
  }

  async query(encoderId: string, datasetDir: string, queryFile: string, options: { k: number; includeSelf: boolean }): Promise<QueryResult> {
    const { dataset, index, rowBySha } = await this.datasetIndex(encoderId, datasetDir);
    const encoder = await this.encoder(encoderId);
    const querySha = sha256File(queryFile);
    const started = performance.now();
    let vector = this.store.getVectors(encoder.key, [querySha]).get(querySha);
    const stats = this.statsFor(statsName(encoder));
    if (vector) {
      stats.cached++;
    } else {
      let tensor: Float32Array;
      try {
        tensor = await imageToTensor(queryFile, encoder.spec.preprocess, { limitInputPixels: this.options.limitInputPixels });
      } catch (error) {
        throw new Error(`cannot read query image ${queryFile}: ${describeDecodeError(error)}`, { cause: error });
      }
      [vector] = await encoder.session.embedBatch([tensor]);
      this.store.putVectors(encoder.key, [[querySha, vector]]);
      stats.embedded++;
    }
    stats.seconds += (performance.now() - started) / 1000;
    const selfRow = rowBySha.get(querySha);
    const exclude = !options.includeSelf && selfRow !== undefined ? new Set([selfRow]) : undefined;
    const hits = index.search(vector, options.k, exclude).map((hit, i) => ({ rank: i + 1, score: hit.score, image: dataset.images[hit.id] }));
    return { encoder: encoder.spec, standInFor: encoder.standInFor, query: { file: queryFile, sha256: querySha }, hits, selfExcluded: exclude !== undefined };
  }

  async close(): Promise<void> {
    // A stand-in shares its session with the encoder it stands in for: release each once.
    const sessions = new Set<EncoderSession>();
    for (const loaded of this.#encoders.values()) {
      const encoder = await loaded.catch(() => undefined);
      if (encoder) sessions.add(encoder.session);
    }
    for (const session of sessions) await session.release();
    this.#encoders.clear();
    this.#indexes.clear();
    this.#store?.close();
    this.#store = undefined;
  }
}
