// The engine behind the shortcode and the CLI: loads encoders, embeds a dataset once per
// (encoder, image content), builds one index per encoder and dataset, and answers queries.
// Every expensive step is a memoised promise, so concurrent shortcodes share the work.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { hashImageFile, loadDataset, type Dataset, type DatasetImage } from "../dataset/load.ts";
import { DEFAULT_MAX_IMAGE_BYTES, FileRefusedError, readChecked } from "../dataset/safe-read.ts";
import type { EmbeddingsDataset } from "./embeddings-dataset.ts";
import { embeddingsFolderConfig, isEmbeddingsFolder, type EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import { embedFiles, describeDecodeError } from "../encoders/embed.ts";
import { imageToTensor } from "../encoders/preprocess.ts";
import type { EncoderRegistry } from "../encoders/registry.ts";
import { EncoderSession } from "../encoders/session.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { ModelUnavailableError } from "../models/download.ts";
import { resolveModel } from "../models/resolve.ts";
import { annCacheName, readAnnSnapshot, writeAnnSnapshot } from "../search/ann-cache.ts";
import { faissStatus, IncrementalIndex, type SearchBackend, type VectorIndex } from "../search/index.ts";
import type { EmbeddingsSearch } from "../search/embeddings-search.ts";
import { EmbeddingStore } from "../store/embedding-store.ts";
import type { ProgressFactory } from "./progress.ts";
import { debugLog } from "./logger.ts";
import type { RequestedRun } from "../render/encoder-run.ts";
import { requestedRun } from "../render/requested-run.ts";
import { DEFAULTS } from "./defaults.ts";

export { requestedRun } from "../render/requested-run.ts";

const debug = { engine: debugLog("engine"), dataset: debugLog("dataset"), models: debugLog("models"), search: debugLog("search") };

/** Bump when preprocessing or post-processing changes in a way that changes vectors. */
export const PIPELINE_VERSION = 2;

export interface EngineOptions {
  projectRoot: string;
  cacheDir: string;
  registry: EncoderRegistry;
  batchSize: number;
  intraOpNumThreads: number;
  limitInputPixels: number;
  /** Dataset members and query images above this many bytes are skipped / refused (default DEFAULT_MAX_IMAGE_BYTES). */
  maxImageBytes?: number;
  /** "auto": exact JS search below `annThreshold` images, the faiss ANN index from there on (when faiss loads). */
  indexBackend: "auto" | "faiss" | "js" | "ann";
  /** Data sets with at least this many images use the ANN index under "auto" (default DEFAULTS.search). */
  annThreshold?: number;
  /** faiss factory string of the ANN index (default DEFAULTS.search). */
  annFactory?: string;
  /** Candidates the ANN index proposes per query, rescored exactly (default DEFAULTS.search). */
  annCandidates?: number;
  /** Decoded batches queued ahead of onnxruntime while embedding (default DEFAULTS.embedding). */
  prefetchBatches?: number;
  /** Images decoded at once while embedding (default: one per core). */
  decodeConcurrency?: number;
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
  /** Datasets given as embeddings folders (the `dataset`/`datasets` options' object form), by absolute folder. */
  embeddingsDatasets?: ReadonlyMap<string, EmbeddingsDatasetConfig>;
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

/** Bump when ranking changes (scores, tie-breaking): remembered query results are then ignored. */
const RESULT_CACHE_VERSION = 1;

/** A finished query as remembered in the store: hits by image sha256, so captions stay current. */
interface RememberedResult {
  version: number;
  /** Indexed images (dataset images minus those that could not be embedded). */
  rows: number;
  backend: SearchBackend;
  selfExcluded: boolean;
  hits: Array<[string, number]>;
  /** Dataset images left out of the index, with the reason (reported again on every build). */
  skipped: Array<[string, string]>;
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

/** The model behind an encoder id, without an onnxruntime session (enough to look up vectors). */
export interface EncoderIdentity {
  spec: EncoderSpec;
  standInFor?: LoadedEncoder["standInFor"];
  key: string;
  model: Uint8Array | string;
}

/** The index an encoder keeps for one dataset folder across builds (watch mode). */
interface LiveIndex {
  index?: IncrementalIndex;
  /** Updates of one index run one after another. */
  tail: Promise<unknown>;
  /** The memo entry of the index's current state; dropped when the index changes. */
  memoKey?: string;
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

interface DatasetIndex {
  dataset: Dataset;
  index: VectorIndex;
  rowBySha: Map<string, number>;
}

/** The name an encoder's figures go under in the summary, e.g. "clip-vit-b32→pixels" for a stand-in. */
export function statsName(encoder: Pick<LoadedEncoder, "spec" | "standInFor">): string {
  return encoder.standInFor ? `${encoder.standInFor.spec.id}→${encoder.spec.id}` : encoder.spec.id;
}

/** How a requested encoder ran (its own model, or a stand-in and why), for the display strings. */
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
  readonly #identities = new Map<string, Promise<EncoderIdentity>>();
  /** onnxruntime sessions by the id of the encoder that runs (a stand-in shares its own). */
  readonly #sessions = new Map<string, Promise<EncoderSession>>();
  readonly #indexes = new Map<string, Promise<DatasetIndex>>();
  readonly #live = new Map<string, LiveIndex>();
  readonly #embeddings = new Map<string, Promise<EmbeddingsDataset>>();
  /** How this build changed each index. */
  indexUpdates: IndexUpdate[] = [];
  readonly #imagesBySha = new WeakMap<Dataset, Map<string, DatasetImage>>();
  /** Query image hashes of this build. */
  #queryShas = new Map<string, { sha: string; real: string }>();
  /** Per build: datasets are re-listed each build so edits are seen. */
  #datasets = new Map<string, Dataset>();
  #store?: EmbeddingStore;
  stats = new Map<string, EncoderStats>();
  skippedImages = new Map<string, string>();
  /** Backends that served queries; embeddings folders add "faiss-file" (an index file) or "exact-scan". */
  backendsUsed = new Set<SearchBackend | EmbeddingsSearch["backend"]>();
  /** Indexes already counted in this build's stats (several shortcodes share one). */
  #countedIndexes = new Set<string>();

  constructor(options: EngineOptions) {
    this.options = options;
  }

  get #annFactory(): string {
    return this.options.annFactory ?? DEFAULTS.search.annFactory;
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
    this.indexUpdates = [];
    this.#queryShas = new Map();
  }

  statsFor(encoderId: string): EncoderStats {
    let s = this.stats.get(encoderId);
    if (!s) this.stats.set(encoderId, (s = { embedded: 0, cached: 0, seconds: 0 }));
    return s;
  }

  /** The encoder with a ready onnxruntime session (created on first call, then shared). */
  encoder(id: string): Promise<LoadedEncoder> {
    let loaded = this.#encoders.get(id);
    if (!loaded) {
      loaded = this.#identity(id).then(async (identity) => ({
        spec: identity.spec,
        standInFor: identity.standInFor,
        key: identity.key,
        session: await this.#session(identity),
      }));
      this.#encoders.set(id, loaded);
      loaded.catch(() => this.#encoders.delete(id));
    }
    return loaded;
  }

  /** What runs for an encoder id and its store key, without starting onnxruntime. */
  async encoderIdentity(id: string): Promise<Pick<LoadedEncoder, "spec" | "standInFor" | "key">> {
    const { spec, standInFor, key } = await this.#identity(id);
    return { spec, standInFor, key };
  }

  /**
   * Which encoder runs for `id` (its stand-in when the model cannot be had), its store key and its
   * model (bytes or a file path), without starting a session.
   */
  async runningEncoder(id: string): Promise<Pick<EncoderIdentity, "spec" | "standInFor" | "key" | "model">> {
    const { spec, standInFor, key, model } = await this.#identity(id);
    return { spec, standInFor, key, model };
  }

  /**
   * Model and store key of an encoder, without a session: a build whose vectors are all cached
   * never starts onnxruntime (creating a session for a large model takes seconds).
   */
  #identity(id: string): Promise<EncoderIdentity> {
    let identity = this.#identities.get(id);
    if (!identity) {
      identity = this.#resolveIdentity(this.options.registry.get(id));
      this.#identities.set(id, identity);
      identity.catch(() => this.#identities.delete(id));
    }
    return identity;
  }

  #session(identity: EncoderIdentity): Promise<EncoderSession> {
    let session = this.#sessions.get(identity.spec.id);
    if (!session) {
      session = EncoderSession.create(identity.spec, identity.model, { intraOpNumThreads: this.options.intraOpNumThreads });
      this.#sessions.set(identity.spec.id, session);
      session.catch(() => this.#sessions.delete(identity.spec.id));
    }
    return session;
  }

  async #resolveIdentity(spec: EncoderSpec): Promise<EncoderIdentity> {
    try {
      const model = await resolveModel(spec, {
        projectRoot: this.options.projectRoot,
        modelsDir: this.options.modelsDir,
        offline: this.options.offline,
        baseUrl: this.options.modelBaseUrl,
        log: this.options.info,
      });
      debug.models(() => `${spec.id}: model from ${model.origin}`);
      return { spec, key: encoderKey(spec, model.sha256), model: model.model };
    } catch (error) {
      if (!(error instanceof ModelUnavailableError)) throw error;
      const fetchHint =
        `fetch it with \`npx encoder-compare models pull ${spec.id}\` on a machine with access, or set ENCODER_COMPARE_MODEL_BASE_URL to a mirror`;
      if (this.options.strict || !spec.standIn) {
        const why = this.options.strict ? "strict mode is on" : "it has no stand-in";
        const note = error.note ? ` (${error.note})` : "";
        throw new Error(`${spec.label} (${spec.id}) is not available: ${error.reason}${note}; ${why}, so the build stops — ${fetchHint}`, { cause: error });
      }
      const standIn = await this.#identity(spec.standIn);
      const note = error.note ? ` (${error.note})` : "";
      const uses = `its tables use ${standIn.spec.id} as a stand-in, labelled as such`;
      this.options.warn(`${spec.label} not available (${error.reason})${note}: ${uses}; ${fetchHint}`);
      return { ...standIn, standInFor: { spec, reason: error.reason } };
    }
  }

  /** How an encoder id runs in this build, without starting onnxruntime (models are resolved, maybe downloaded). */
  async runOf(id: string): Promise<RequestedRun> {
    return requestedRun(id, await this.#identity(id));
  }

  dataset(dir: string): Dataset {
    let dataset = this.#datasets.get(dir);
    if (!dataset) {
      if (this.#embeddingsConfig(dir)) {
        throw new Error(`dataset ${dir} is an embeddings folder; encoderEval, rankOf and the index command need a folder of images`);
      }
      const started = performance.now();
      dataset = loadDataset(dir, this.store, { projectRoot: this.options.projectRoot, maxImageBytes: this.options.maxImageBytes });
      const listed = dataset;
      debug.dataset(() => `${dir} listed in ${Math.round(performance.now() - started)} ms: ${listed.images.length} images, ${listed.skipped.length} skipped`);
      this.#datasets.set(dir, dataset);
      for (const s of dataset.skipped) this.skippedImages.set(path.join(dir, s.file), s.reason);
    }
    return dataset;
  }

  async datasetIndex(encoderId: string, datasetDir: string): Promise<DatasetIndex> {
    const encoder = await this.#identity(encoderId);
    const dataset = this.dataset(datasetDir);
    const memoKey = `${encoder.key}:${dataset.dir}:${dataset.fingerprint}`;
    let built = this.#indexes.get(memoKey);
    const countKey = `${statsName(encoder)}:${memoKey}`;
    if (!built) {
      // Rows already counted this build (by a remembered query result) are not counted again.
      built = this.#updateDatasetIndex(encoder, dataset, memoKey, !this.#countedIndexes.has(countKey));
      this.#indexes.set(memoKey, built);
      this.#countedIndexes.add(countKey);
      built.catch(() => this.#indexes.delete(memoKey));
    } else {
      debug.search(() => `${statsName(encoder)} × ${dataset.dir}: index reused from earlier in this process`);
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

  /** The backend an index over `rows` images uses. */
  #chooseBackend(rows: number): SearchBackend {
    const requested = this.options.indexBackend;
    if (requested !== "auto") return requested;
    return rows >= (this.options.annThreshold ?? DEFAULTS.search.annThreshold) && faissStatus().available ? "ann" : "js";
  }

  /**
   * Brings the encoder's live index for this dataset folder up to date with the listing: embeds
   * (or reads from the store) only images it does not hold, drops images no longer listed, and
   * renumbers rows in dataset order. The first call in a process builds it from the store.
   */
  #updateDatasetIndex(encoder: EncoderIdentity, dataset: Dataset, memoKey: string, countRows = true): Promise<DatasetIndex> {
    const liveKey = `${encoder.key}\0${dataset.dir}`;
    let live = this.#live.get(liveKey);
    if (!live) this.#live.set(liveKey, (live = { tail: Promise.resolve() }));
    const entry = live;
    const update = entry.tail.then(async (): Promise<DatasetIndex> => {
      const started = performance.now();
      const stats = this.statsFor(statsName(encoder));
      const backend = this.#chooseBackend(dataset.images.length);
      const annCache = { dir: path.join(this.options.cacheDir, "indexes"), name: annCacheName([encoder.key, dataset.dir, this.#annFactory]) };
      const indexOptions = { backend, annFactory: this.#annFactory, annCandidates: this.options.annCandidates ?? DEFAULTS.search.annCandidates };
      let fromCache = false;
      if (!entry.index || entry.index.backend !== backend) {
        entry.index = undefined;
        if (backend === "ann") {
          entry.index = this.#restoreAnn(encoder, annCache, indexOptions);
          fromCache = entry.index !== undefined;
        }
        entry.index ??= new IncrementalIndex(encoder.spec.dim, indexOptions);
      }
      const index = entry.index;
      const held = dataset.images.filter((image) => index.has(image.sha256)).length;
      const cachedBefore = stats.cached;
      stats.cached += held;
      const vectors = await this.#embed(encoder, held === 0 ? dataset.images : dataset.images.filter((image) => !index.has(image.sha256)));
      if (!countRows) stats.cached = cachedBefore;
      const rows = dataset.images.filter((image) => index.has(image.sha256) || vectors.has(image.sha256));
      const change = index.sync(
        rows.map((image) => image.sha256),
        (sha) => vectors.get(sha)!,
      );
      if (backend === "ann" && (change.added > 0 || change.removed > 0 || change.rebuilt)) {
        const snapshot = index.annSnapshot();
        if (snapshot) {
          try {
            writeAnnSnapshot(annCache.dir, annCache.name, snapshot);
          } catch (error) {
            this.options.warn(`could not cache the ANN index in ${annCache.dir} (${(error as Error).message}); the next build rebuilds it`);
          }
        }
      }
      this.indexUpdates.push({
        encoder: statsName(encoder),
        dataset: dataset.dir,
        backend,
        rows: rows.length,
        added: change.added,
        removed: change.removed,
        rebuilt: change.rebuilt || (held === 0 && !fromCache),
        ...(fromCache ? { fromCache } : {}),
      });
      // Results of the previous state of this index are stale now.
      if (entry.memoKey && entry.memoKey !== memoKey) this.#indexes.delete(entry.memoKey);
      entry.memoKey = memoKey;
      stats.seconds += (performance.now() - started) / 1000;
      debug.search(() => {
        const how = fromCache ? "restored from the ANN cache" : held === 0 ? "built" : "updated";
        const counts = `${rows.length} rows, +${change.added} −${change.removed}${change.rebuilt ? ", rebuilt" : ""}`;
        return `${statsName(encoder)} × ${dataset.dir}: ${backend} index ${how} (${counts}) in ${Math.round(performance.now() - started)} ms`;
      });
      return {
        dataset: { ...dataset, images: rows },
        index,
        rowBySha: new Map(rows.map((image, row) => [image.sha256, row])),
      };
    });
    entry.tail = update.catch(() => undefined);
    return update;
  }

  /** The ANN index of the last build in another process, with vectors from the store. */
  #restoreAnn(
    encoder: EncoderIdentity,
    cache: { dir: string; name: string },
    options: ConstructorParameters<typeof IncrementalIndex>[1],
  ): IncrementalIndex | undefined {
    const snapshot = readAnnSnapshot(cache.dir, cache.name);
    if (!snapshot) return undefined;
    const vectors = this.store.getVectors(encoder.key, snapshot.labels.filter((key): key is string => key !== null));
    try {
      return IncrementalIndex.fromAnnSnapshot(encoder.spec.dim, snapshot, (key) => vectors.get(key), options);
    } catch (error) {
      this.options.warn(`the cached ANN index ${cache.name} could not be read (${(error as Error).message}); rebuilding it`);
      return undefined;
    }
  }

  /** A read-only cache serves what it holds; what is not in it cannot be embedded and kept. */
  #requireWritableStore(what: string): void {
    const reason = this.store.readOnly;
    if (!reason) return;
    const fix = "make it writable, or point the cacheDir option (--cache-dir) at a writable folder";
    throw new Error(`${what} must be embedded, but the cache folder ${this.options.cacheDir} is read-only (${reason}); ${fix}`);
  }

  /** Vectors for images, from the store where present; failures land in skippedImages. */
  async #embed(encoder: EncoderIdentity, images: ReadonlyArray<{ sha256: string; file: string }>): Promise<Map<string, Float32Array>> {
    const stats = this.statsFor(statsName(encoder));
    const vectors = this.store.getVectors(encoder.key, images.map((i) => i.sha256));
    stats.cached += vectors.size;
    const missing = images.filter((i) => !vectors.has(i.sha256));
    if (missing.length === 0) return vectors;
    this.#requireWritableStore(`${missing.length} image(s) of the dataset for ${encoder.spec.id}`);
    const progress = this.options.progress?.(statsName(encoder), missing.length);
    const outcome = await embedFiles(await this.#session(encoder), missing, {
      batchSize: this.options.batchSize,
      prefetchBatches: this.options.prefetchBatches ?? DEFAULTS.embedding.prefetchBatches,
      decodeConcurrency: this.options.decodeConcurrency ?? DEFAULTS.embedding.decodeConcurrency,
      limitInputPixels: this.options.limitInputPixels,
      maxImageBytes: this.options.maxImageBytes,
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
    const embeddings = this.#embeddingsConfig(datasetDir);
    if (embeddings) return this.#queryEmbeddings(encoderId, embeddings, queryFile, options);
    const encoder = await this.#identity(encoderId);
    const dataset = this.dataset(datasetDir);
    const { sha: querySha, real: queryReal } = this.#querySha(queryFile);
    const stats = this.statsFor(statsName(encoder));
    // A finished result for the same question against the same dataset state: no index needed.
    const scope = this.#queryScope(encoder, dataset, querySha, options);
    const remembered = this.#rememberedResult(encoder, dataset, scope, querySha);
    if (remembered) {
      debug.engine(() => `${queryFile} × ${statsName(encoder)}: remembered result used (${remembered.rows} rows, ${remembered.backend})`);
      const countKey = `${statsName(encoder)}:${encoder.key}:${dataset.dir}:${dataset.fingerprint}`;
      if (!this.#countedIndexes.has(countKey)) {
        this.#countedIndexes.add(countKey);
        stats.cached += remembered.rows;
      }
      stats.cached++;
      for (const [file, reason] of remembered.skipped) this.skippedImages.set(file, reason);
      this.backendsUsed.add(remembered.backend);
      return {
        encoder: encoder.spec,
        standInFor: encoder.standInFor,
        query: { file: queryReal, sha256: querySha },
        vector: remembered.vector,
        hits: remembered.hits,
        selfExcluded: remembered.selfExcluded,
        datasetName: dataset.name,
        datasetSize: remembered.rows,
      };
    }
    const { dataset: indexed, index, rowBySha } = await this.datasetIndex(encoderId, datasetDir);
    const vector = await this.#queryVector(encoder, queryFile, querySha);
    const selfRow = rowBySha.get(querySha);
    const exclude = !options.includeSelf && selfRow !== undefined ? new Set([selfRow]) : undefined;
    const hits = index.search(vector, options.k, exclude).map((hit, i) => ({ rank: i + 1, score: hit.score, image: indexed.images[hit.id] }));
    const skipped = dataset.images
      .filter((image) => !rowBySha.has(image.sha256))
      .map((image): [string, string] => [image.file, this.skippedImages.get(image.file) ?? "could not be embedded"]);
    const entry: RememberedResult = {
      version: RESULT_CACHE_VERSION,
      rows: indexed.images.length,
      backend: index.backend,
      selfExcluded: exclude !== undefined,
      hits: hits.map((h) => [h.image.sha256, h.score]),
      skipped,
    };
    this.store.putQueryResult(scope, dataset.fingerprint, JSON.stringify(entry));
    return {
      encoder: encoder.spec,
      standInFor: encoder.standInFor,
      query: { file: queryReal, sha256: querySha },
      vector,
      hits,
      selfExcluded: exclude !== undefined,
      datasetName: indexed.name,
      datasetSize: indexed.images.length,
    };
  }

  /** The query image's vector, from the store or embedded now. */
  async #queryVector(encoder: EncoderIdentity, queryFile: string, querySha: string): Promise<Float32Array> {
    const stats = this.statsFor(statsName(encoder));
    const started = performance.now();
    let vector = this.store.getVectors(encoder.key, [querySha]).get(querySha);
    if (vector) {
      stats.cached++;
    } else {
      this.#requireWritableStore(`the query image ${queryFile} for ${encoder.spec.id}`);
      const queryReal = this.#querySha(queryFile).real;
      let tensor: Float32Array;
      try {
        const bytes = await readChecked(queryReal, { maxBytes: this.options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES });
        tensor = await imageToTensor(bytes, encoder.spec.preprocess, { limitInputPixels: this.options.limitInputPixels });
      } catch (error) {
        throw new Error(`cannot read query image ${queryFile}: ${describeDecodeError(error)}`, { cause: error });
      }
      [vector] = await (await this.#session(encoder)).embedBatch([tensor]);
      this.store.putVectors(encoder.key, [[querySha, vector]]);
      stats.embedded++;
    }
    stats.seconds += (performance.now() - started) / 1000;
    return vector;
  }

  /** Whether a dataset folder holds vectors computed elsewhere (clip-retrieval layout) rather than images. */
  isEmbeddingsDataset(dir: string): boolean {
    return this.#embeddingsConfig(dir) !== undefined;
  }

  /** The embeddings-folder form of a dataset (configured, or a folder holding img_emb/), else undefined. */
  #embeddingsConfig(dir: string): EmbeddingsDatasetConfig | undefined {
    return this.options.embeddingsDatasets?.get(dir) ?? (isEmbeddingsFolder(dir) ? embeddingsFolderConfig(dir) : undefined);
  }

  #openEmbeddings(config: EmbeddingsDatasetConfig): Promise<EmbeddingsDataset> {
    const key = JSON.stringify(config);
    let opened = this.#embeddings.get(key);
    if (!opened) {
      // Imported on use: the parquet reader and faiss loader are for embeddings datasets only.
      opened = import("./embeddings-dataset.ts").then(({ EmbeddingsDataset }) => EmbeddingsDataset.open(config, {
        cacheDir: this.options.cacheDir,
        info: this.options.info,
        warn: this.options.warn,
        sha256: (file) => this.#querySha(file).sha,
      }));
      this.#embeddings.set(key, opened);
      opened.catch(() => this.#embeddings.delete(key));
    }
    return opened;
  }

  /**
   * A query against vectors computed elsewhere: only the encoder they claim can search them, and
   * only after a sample of them matched what that encoder computes here (or labelled unverified).
   */
  async #queryEmbeddings(
    encoderId: string,
    config: EmbeddingsDatasetConfig,
    queryFile: string,
    options: { k: number; includeSelf: boolean },
  ): Promise<QueryResult> {
    const encoder = await this.#identity(encoderId);
    if (encoderId !== config.encoder) {
      throw new Error(
        `dataset ${config.name} holds vectors from ${config.encoder} (${config.dir}); ${encoderId} cannot search them — ` +
          `use encoders="${config.encoder}" with this dataset`,
      );
    }
    if (encoder.standInFor) {
      throw new Error(
        `dataset ${config.name} holds ${config.encoder} vectors, but ${config.encoder} is not available here (${encoder.standInFor.reason}) ` +
          `and its stand-in's vectors cannot search them`,
      );
    }
    const dataset = await this.#openEmbeddings(config);
    const verification = await dataset.verify(async (files) => {
      const images = files.map((file) => ({ file, sha256: this.#querySha(file).sha }));
      const bySha = await this.#embed(encoder, images);
      return new Map(images.filter((image) => bySha.has(image.sha256)).map((image) => [image.file, bySha.get(image.sha256)!]));
    });
    this.backendsUsed.add(dataset.search.backend);
    const { sha: querySha, real: queryReal } = this.#querySha(queryFile);
    const vector = await this.#queryVector(encoder, queryFile, querySha);
    // The query's own image may be among the rows (possibly more than once): ask for a few more.
    const found = dataset.search.search(vector, options.k + (options.includeSelf ? 0 : 4));
    const images = await dataset.hitImages(found);
    const hits: QueryHit[] = [];
    let selfExcluded = false;
    for (const [i, hit] of found.entries()) {
      if (!options.includeSelf && images[i].sha256 === querySha) {
        selfExcluded = true;
        continue;
      }
      if (hits.length < options.k) hits.push({ rank: hits.length + 1, score: hit.score, image: images[i] });
    }
    return {
      encoder: encoder.spec,
      query: { file: queryReal, sha256: querySha },
      vector,
      hits,
      selfExcluded,
      datasetName: config.name,
      datasetSize: dataset.rows,
      datasetNote: verification.note,
    };
  }

  /**
   * sha256 of a query image, memoised like dataset files (path, size, mtime in the store) and
   * per build, so a rebuild does not re-read every query image once per encoder.
   */
  #querySha(file: string): { sha: string; real: string } {
    let known = this.#queryShas.get(file);
    if (known) return known;
    try {
      // Where a query may live is the caller's rule (the plugin keeps it inside the project); here it must be a regular file.
      const hashed = hashImageFile(fs.realpathSync(file), { maxBytes: this.options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES }, this.store);
      known = { sha: hashed.sha256, real: hashed.real };
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      const reason = error instanceof FileRefusedError ? error.message : missing ? "file not found" : (error as Error).message;
      throw new Error(`cannot read query image ${file}: ${reason}`, { cause: error });
    }
    this.#queryShas.set(file, known);
    return known;
  }

  /** Everything a query's answer depends on besides the dataset state (the fingerprint). */
  #queryScope(encoder: EncoderIdentity, dataset: Dataset, querySha: string, options: { k: number; includeSelf: boolean }): string {
    const backend = this.#chooseBackend(dataset.images.length);
    // Exact backends give identical answers; an ANN answer depends on its configuration.
    const search = backend === "ann" ? `ann:${this.#annFactory}:${this.options.annCandidates ?? DEFAULTS.search.annCandidates}` : "exact";
    const parts = [RESULT_CACHE_VERSION, encoder.key, dataset.dir, querySha, options.k, options.includeSelf, search, this.options.limitInputPixels];
    return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  }

  #rememberedResult(encoder: EncoderIdentity, dataset: Dataset, scope: string, querySha: string) {
    const json = this.store.getQueryResult(scope, dataset.fingerprint);
    if (!json) return undefined;
    let entry: RememberedResult;
    try {
      entry = JSON.parse(json);
    } catch {
      return undefined;
    }
    if (entry.version !== RESULT_CACHE_VERSION) return undefined;
    const vector = this.store.getVectors(encoder.key, [querySha]).get(querySha);
    if (!vector) return undefined;
    let bySha = this.#imagesBySha.get(dataset);
    if (!bySha) this.#imagesBySha.set(dataset, (bySha = new Map(dataset.images.map((image) => [image.sha256, image]))));
    const hits: QueryHit[] = [];
    for (const [sha, score] of entry.hits) {
      const image = bySha.get(sha);
      if (!image) return undefined;
      hits.push({ rank: hits.length + 1, score, image });
    }
    return { ...entry, vector, hits };
  }

  /**
   * The indexed images' vectors for one encoder, row-major: row i is `dataset.images[i]` of
   * datasetIndex(). Read from the store, so it works whatever the index keeps in memory.
   */
  async datasetVectors(encoderId: string, datasetDir: string): Promise<{ dataset: Dataset; dim: number; vectors: Float32Array }> {
    const { dataset } = await this.datasetIndex(encoderId, datasetDir);
    const encoder = await this.#identity(encoderId);
    const dim = encoder.spec.dim;
    const found = this.store.getVectors(encoder.key, dataset.images.map((image) => image.sha256));
    const vectors = new Float32Array(dataset.images.length * dim);
    for (const [row, image] of dataset.images.entries()) {
      const vector = found.get(image.sha256);
      if (!vector) {
        const store = path.join(this.options.cacheDir, "embeddings.sqlite");
        throw new Error(`embedding of ${image.relativeFile} for ${encoderId} is missing from the store ${store}; rebuild to re-embed it`);
      }
      vectors.set(vector, row * dim);
    }
    return { dataset, dim, vectors };
  }

  async close(): Promise<void> {
    // A stand-in shares its session with the encoder it stands in for: each is held once here.
    await Promise.all([...this.#encoders.values()].map((loaded) => loaded.catch(() => undefined)));
    for (const pending of this.#sessions.values()) {
      const session = await pending.catch(() => undefined);
      await session?.release();
    }
    this.#encoders.clear();
    this.#identities.clear();
    this.#sessions.clear();
    this.#indexes.clear();
    this.#live.clear();
    for (const opened of this.#embeddings.values()) (await opened.catch(() => undefined))?.close();
    this.#embeddings.clear();
    this.#store?.close();
    this.#store = undefined;
  }
}
