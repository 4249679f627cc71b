// The engine behind the shortcode and the CLI: loads encoders, embeds a dataset once per
// (encoder, image content), builds one index per encoder and dataset, and answers queries.
// Every expensive step is a memoised promise, so concurrent shortcodes share the work.
// The live indexes, the remembered results and embeddings-folder queries are modules of their own, owned here.
import fs from "node:fs";
import path from "node:path";
import { hashImageFile, loadDataset, type Dataset } from "../dataset/load.ts";
import { FileRefusedError, readChecked } from "../base/safe-read.ts";
import { EncoderSession } from "../encoders/session.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { ModelUnavailableError } from "../models/download.ts";
import { resolveModel } from "../models/resolve.ts";
import { EmbeddingStore } from "../store/embedding-store.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { debugLog } from "../base/logger.ts";
import { DatasetIndexes } from "./dataset-indexes.ts";
import { EmbeddingsQueries } from "./embeddings-queries.ts";
import { encoderKey, statsName } from "./encoder-identity.ts";
import { ResultMemo } from "./result-memo.ts";
import type {
  BuildStats, DatasetIndex, EmbedImages, EncoderIdentity, EncoderStats, EngineOptions, LoadedEncoder, ResolvedEngineOptions, QueryOptions, QueryResult,
} from "./types.ts";


const debug = { engine: debugLog("engine"), dataset: debugLog("dataset"), models: debugLog("models") };

/** The settings a hand-built engine (tests, benchmarks) may leave out, filled from DEFAULTS; setup.ts always passes them. */
function withEngineDefaults(options: EngineOptions): ResolvedEngineOptions {
  const { search, embedding, models, images } = DEFAULTS;
  return {
    ...options,
    annThreshold: options.annThreshold ?? search.annThreshold,
    annFactory: options.annFactory ?? search.annFactory,
    annCandidates: options.annCandidates ?? search.annCandidates,
    prefetchBatches: options.prefetchBatches ?? embedding.prefetchBatches,
    decodeConcurrency: options.decodeConcurrency ?? embedding.decodeConcurrency,
    int8CalibrationImages: options.int8CalibrationImages ?? models.int8CalibrationImages,
    int8AgreementImages: options.int8AgreementImages ?? models.int8AgreementImages,
    int8AgreementQueries: options.int8AgreementQueries ?? models.int8AgreementQueries,
    int8AgreementFloor: options.int8AgreementFloor ?? models.int8AgreementFloor,
    maxImageBytes: options.maxImageBytes ?? images.maxImageBytes,
  };
}

function newBuildStats(): BuildStats {
  return { encoders: new Map(), skippedImages: new Map(), backendsUsed: new Set(), indexUpdates: [] };
}

export class CompareEngine {
  readonly options: ResolvedEngineOptions;
  readonly #encoders = new Map<string, Promise<LoadedEncoder>>();
  readonly #identities = new Map<string, Promise<EncoderIdentity>>();
  /** onnxruntime sessions by the id of the encoder that runs (a stand-in shares its own). */
  readonly #sessions = new Map<string, Promise<EncoderSession>>();
  readonly #indexes: DatasetIndexes;
  readonly #memo: ResultMemo;
  readonly #embeddings: EmbeddingsQueries;
  /** This build's counts (see BuildStats); startBuild replaces it. */
  build: BuildStats = newBuildStats();
  /** Query image hashes of this build. */
  #queryShas = new Map<string, { sha: string; real: string }>();
  /** Per build: datasets are re-listed each build so edits are seen. */
  #datasets = new Map<string, Dataset>();
  /** The dataset an int8 encoder is calibrated and measured on: the one listed last. */
  #lastDataset: Dataset | undefined;
  #store?: EmbeddingStore;

  constructor(given: EngineOptions) {
    const options = (this.options = withEngineDefaults(given));
    const store = () => this.store;
    const statsFor = (name: string) => this.statsFor(name);
    const embed: EmbedImages = (encoder, images) => this.#embed(encoder, images);
    this.#indexes = new DatasetIndexes({
      options,
      store,
      statsFor,
      embed,
      indexUpdated: (update) => this.build.indexUpdates.push(update),
      backendUsed: (backend) => this.build.backendsUsed.add(backend),
    });
    this.#memo = new ResultMemo({ options, store, chooseBackend: (rows) => this.#indexes.chooseBackend(rows) });
    this.#embeddings = new EmbeddingsQueries({
      options,
      querySha: (file) => this.#querySha(file),
      embed,
      queryVector: (encoder, queryFile, querySha) => this.#queryVector(encoder, queryFile, querySha),
      backendUsed: (backend) => this.build.backendsUsed.add(backend),
    });
  }

  get store(): EmbeddingStore {
    this.#store ??= EmbeddingStore.open(path.join(this.options.cacheDir, "embeddings.sqlite"), this.options.warn);
    return this.#store;
  }

  /** Forget per-build state (dataset listings, counters); keeps sessions and indexes. */
  startBuild(): void {
    this.#datasets = new Map();
    this.build = newBuildStats();
    this.#indexes.startBuild();
    this.#queryShas = new Map();
  }

  statsFor(encoderId: string): EncoderStats {
    let s = this.build.encoders.get(encoderId);
    if (!s) this.build.encoders.set(encoderId, (s = { embedded: 0, cached: 0, seconds: 0 }));
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
      if (spec.precision === "int8") return await this.#int8Identity(spec, model);
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
      return { ...standIn, standInFor: { spec, kind: error.kind, reason: error.reason } };
    }
  }

  /**
   * An int8 encoder: quantized from its fp32 model on the dataset listed last (calibration and
   * agreement samples), cached in the models dir. Its label carries the agreement with fp32.
   */
  async #int8Identity(spec: EncoderSpec, fp32: { model: Uint8Array | string; sha256: string }): Promise<EncoderIdentity> {
    const dataset = this.#lastDataset;
    if (!dataset) throw new Error(`encoder "${spec.id}": int8 is calibrated and measured on a dataset; use it with a dataset of images`);
    const started = performance.now();
    const { prepareInt8, describeAgreement } = await import("../models/int8-graph.ts");
    const int8 = await prepareInt8(spec, fp32, dataset.images, this.options.modelsDir, {
      calibrationImages: this.options.int8CalibrationImages,
      agreementImages: this.options.int8AgreementImages,
      agreementQueries: this.options.int8AgreementQueries,
      agreementK: 10,
      seed: 0,
      limitInputPixels: this.options.limitInputPixels,
      intraOpNumThreads: this.options.intraOpNumThreads,
    });
    const said = describeAgreement(int8.agreement);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    this.options.info(`${spec.id}: ${int8.quantized ? "quantized to int8" : "int8 graph from the cache"}; ${said} (${seconds} s; ${int8.model})`);
    if (int8.agreement.topKOverlap < this.options.int8AgreementFloor) {
      this.options.warn(
        `${spec.label}: ${said}, below the floor of ${this.options.int8AgreementFloor} (int8AgreementFloor); its neighbours differ from fp32's — ` +
          `use the fp32 encoder "${spec.id.replace(/-int8$/, "")}" for this dataset`,
      );
    }
    const measured: EncoderSpec = { ...spec, label: `${spec.label.replace(/ \(int8\)$/, "")} (${said})` };
    return { spec: measured, key: encoderKey(spec, int8.sha256), model: int8.model };
  }

  dataset(dir: string): Dataset {
    let dataset = this.#datasets.get(dir);
    if (!dataset) {
      const embeddings = this.#embeddings.config(dir);
      if (embeddings) {
        const what = `dataset ${embeddings.name} (${embeddings.dir}) is an embeddings folder`;
        throw new Error(`${what}; encoderEval, rankOf and the index command need a folder of images`);
      }
      const started = performance.now();
      dataset = loadDataset(dir, this.store, { projectRoot: this.options.projectRoot, maxImageBytes: this.options.maxImageBytes });
      const listed = dataset;
      debug.dataset(() => `${dir} listed in ${Math.round(performance.now() - started)} ms: ${listed.images.length} images, ${listed.skipped.length} skipped`);
      this.#datasets.set(dir, dataset);
      this.#lastDataset = dataset;
      for (const s of dataset.skipped) this.build.skippedImages.set(path.join(dir, s.file), s.reason);
      for (const warning of dataset.warnings) this.options.warn(warning);
    }
    return dataset;
  }

  async datasetIndex(encoderId: string, datasetDir: string): Promise<DatasetIndex> {
    const dataset = this.dataset(datasetDir);
    return this.#indexes.get(await this.#identity(encoderId), dataset);
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
    // Decoding and embedding code loads only when something must be embedded: a warm build never needs it.
    const { embedFiles } = await import("../encoders/embed.ts");
    const outcome = await embedFiles(await this.#session(encoder), missing, {
      batchSize: encoder.spec.batchSize ?? this.options.batchSize,
      prefetchBatches: this.options.prefetchBatches,
      decodeConcurrency: this.options.decodeConcurrency,
      limitInputPixels: this.options.limitInputPixels,
      maxImageBytes: this.options.maxImageBytes,
      onBatch: (entries, done) => {
        this.store.putVectors(encoder.key, entries);
        progress?.update(done);
      },
    }).finally(() => progress?.end());
    stats.embedded += outcome.vectors.size;
    for (const [sha, vector] of outcome.vectors) vectors.set(sha, vector);
    for (const f of outcome.failed) this.build.skippedImages.set(f.file, f.reason);
    return vectors;
  }

  async query(encoderId: string, datasetDir: string, queryFile: string, options: QueryOptions): Promise<QueryResult> {
    const embeddings = this.#embeddings.config(datasetDir);
    if (embeddings) return this.#embeddings.query(encoderId, await this.#identity(encoderId), embeddings, queryFile, options);
    // Listed first: an int8 encoder is calibrated and measured on it.
    const dataset = this.dataset(datasetDir);
    const encoder = await this.#identity(encoderId);
    const { sha: querySha, real: queryReal } = this.#querySha(queryFile);
    const stats = this.statsFor(statsName(encoder));
    // A finished result for the same question against the same dataset state: no index needed.
    const scope = this.#memo.scope(encoder, dataset, querySha, options);
    const remembered = this.#memo.recall(encoder, dataset, scope, querySha);
    if (remembered) {
      debug.engine(() => `${queryFile} × ${statsName(encoder)}: remembered result used (${remembered.rows} rows, ${remembered.backend})`);
      if (this.#indexes.countOnce(encoder, dataset)) stats.cached += remembered.rows;
      stats.cached++;
      for (const [file, reason] of remembered.skipped) this.build.skippedImages.set(file, reason);
      this.build.backendsUsed.add(remembered.backend);
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
      .map((image): [string, string] => [image.file, this.build.skippedImages.get(image.file) ?? "could not be embedded"]);
    this.#memo.remember(scope, dataset, { rows: indexed.images.length, backend: index.backend, selfExcluded: exclude !== undefined, hits, skipped });
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
      const [{ imageToTensor }, { describeDecodeError }] = await Promise.all([import("../encoders/preprocess.ts"), import("../encoders/embed.ts")]);
      let tensor: Float32Array;
      try {
        const bytes = await readChecked(queryReal, { maxBytes: this.options.maxImageBytes });
        tensor = await imageToTensor(bytes, encoder.spec.preprocess, { limitInputPixels: this.options.limitInputPixels, file: queryReal });
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
    return this.#embeddings.config(dir) !== undefined;
  }

  /** The folder an embeddings dataset reads (its reference is an entry of the options, not a path); undefined for images. */
  embeddingsFolder(dir: string): string | undefined {
    return this.#embeddings.config(dir)?.dir;
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
      const hashed = hashImageFile(fs.realpathSync(file), { maxBytes: this.options.maxImageBytes }, this.store);
      known = { sha: hashed.sha256, real: hashed.real };
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
      const reason = error instanceof FileRefusedError ? error.message : missing ? "file not found" : (error as Error).message;
      throw new Error(`cannot read query image ${file}: ${reason}`, { cause: error });
    }
    this.#queryShas.set(file, known);
    return known;
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
    await this.#embeddings.close();
    this.#store?.close();
    this.#store = undefined;
  }
}
