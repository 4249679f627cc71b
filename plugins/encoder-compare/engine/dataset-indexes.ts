// The engine's live indexes: one per (encoder, dataset folder), kept across builds (watch mode) and brought up to
// date with each build's listing; ANN indexes are snapshotted to the cache so the next process need not rebuild them.
// Also owns which indexes this build's stats already counted, so shortcodes sharing an index count its rows once.
import path from "node:path";
import type { Dataset } from "../dataset/load.ts";
import { annCacheName, readAnnSnapshot, writeAnnSnapshot } from "../search/ann-cache.ts";
import { faissStatus, IncrementalIndex, type SearchBackend } from "../search/index.ts";
import type { EmbeddingStore } from "../store/embedding-store.ts";
import { statsName } from "./encoder-identity.ts";
import { debugLog } from "../base/logger.ts";
import type { DatasetIndex, EmbedImages, EncoderIdentity, EncoderStats, IndexUpdate, ResolvedEngineOptions } from "./types.ts";

const debug = debugLog("search");

/** What the indexes need of the engine that owns them; per-build state is reached through calls, as it is replaced each build. */
export interface IndexHost {
  options: ResolvedEngineOptions;
  store: () => EmbeddingStore;
  statsFor: (name: string) => EncoderStats;
  embed: EmbedImages;
  indexUpdated: (update: IndexUpdate) => void;
  backendUsed: (backend: SearchBackend) => void;
}

/** The index an encoder keeps for one dataset folder across builds (watch mode). */
interface LiveIndex {
  index?: IncrementalIndex;
  /** Updates of one index run one after another. */
  tail: Promise<unknown>;
  /** The memo entry of the index's current state; dropped when the index changes. */
  memoKey?: string;
}

export class DatasetIndexes {
  readonly #host: IndexHost;
  /** Each index state, by encoder key, dataset folder and listing fingerprint. */
  readonly #indexes = new Map<string, Promise<DatasetIndex>>();
  readonly #live = new Map<string, LiveIndex>();
  /** Indexes already counted in this build's stats (several shortcodes share one). */
  #counted = new Set<string>();

  constructor(host: IndexHost) {
    this.#host = host;
  }

  /** Forget which indexes this build counted; keeps the indexes. */
  startBuild(): void {
    this.#counted = new Set();
  }

  /**
   * Whether this build has yet to count the rows of the encoder's index over this dataset state (marked counted now):
   * a remembered query result counts them without building the index.
   */
  countOnce(encoder: EncoderIdentity, dataset: Dataset): boolean {
    const countKey = this.#countKey(encoder, dataset);
    if (this.#counted.has(countKey)) return false;
    this.#counted.add(countKey);
    return true;
  }

  /** The figures of stand-ins and of the encoder they share a model with are counted apart. */
  #countKey(encoder: EncoderIdentity, dataset: Dataset): string {
    return `${statsName(encoder)}:${encoder.key}:${dataset.dir}:${dataset.fingerprint}`;
  }

  /** The encoder's index over this dataset state: built or updated once, then shared by every query of the process. */
  async get(encoder: EncoderIdentity, dataset: Dataset): Promise<DatasetIndex> {
    const memoKey = `${encoder.key}:${dataset.dir}:${dataset.fingerprint}`;
    let built = this.#indexes.get(memoKey);
    const countKey = this.#countKey(encoder, dataset);
    if (!built) {
      // Rows already counted this build (by a remembered query result) are not counted again.
      built = this.#update(encoder, dataset, memoKey, !this.#counted.has(countKey));
      this.#indexes.set(memoKey, built);
      this.#counted.add(countKey);
      built.catch(() => this.#indexes.delete(memoKey));
    } else {
      debug(() => `${statsName(encoder)} × ${dataset.dir}: index reused from earlier in this process`);
    }
    const result = await built;
    if (!this.#counted.has(countKey)) {
      // Built earlier (another shortcode's encoder sharing the model, or an earlier watch build):
      // every row counts as cached for this encoder.
      this.#counted.add(countKey);
      this.#host.statsFor(statsName(encoder)).cached += result.rowBySha.size;
    }
    this.#host.backendUsed(result.index.backend);
    return result;
  }

  /** The backend an index over `rows` images uses. */
  chooseBackend(rows: number): SearchBackend {
    const { indexBackend, annThreshold } = this.#host.options;
    if (indexBackend !== "auto") return indexBackend;
    return rows >= annThreshold && faissStatus().available ? "ann" : "js";
  }

  clear(): void {
    this.#indexes.clear();
    this.#live.clear();
  }

  /**
   * Brings the encoder's live index for this dataset folder up to date with the listing: embeds
   * (or reads from the store) only images it does not hold, drops images no longer listed, and
   * renumbers rows in dataset order. The first call in a process builds it from the store.
   */
  #update(encoder: EncoderIdentity, dataset: Dataset, memoKey: string, countRows = true): Promise<DatasetIndex> {
    const { options } = this.#host;
    const liveKey = `${encoder.key}\0${dataset.dir}`;
    let live = this.#live.get(liveKey);
    if (!live) this.#live.set(liveKey, (live = { tail: Promise.resolve() }));
    const entry = live;
    const update = entry.tail.then(async (): Promise<DatasetIndex> => {
      const started = performance.now();
      const stats = this.#host.statsFor(statsName(encoder));
      const backend = this.chooseBackend(dataset.images.length);
      const annCache = { dir: path.join(options.cacheDir, "indexes"), name: annCacheName([encoder.key, dataset.dir, options.annFactory]) };
      const indexOptions = { backend, annFactory: options.annFactory, annCandidates: options.annCandidates };
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
      const vectors = await this.#host.embed(encoder, held === 0 ? dataset.images : dataset.images.filter((image) => !index.has(image.sha256)));
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
            options.warn(`could not cache the ANN index in ${annCache.dir} (${(error as Error).message}); the next build rebuilds it`);
          }
        }
      }
      this.#host.indexUpdated({
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
      debug(() => {
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
    const snapshot = readAnnSnapshot(cache.dir, cache.name, this.#host.options.warn);
    if (!snapshot) return undefined;
    const vectors = this.#host.store().getVectors(encoder.key, snapshot.labels.filter((key): key is string => key !== null));
    try {
      return IncrementalIndex.fromAnnSnapshot(encoder.spec.dim, snapshot, (key) => vectors.get(key), options);
    } catch (error) {
      this.#host.options.warn(`the cached ANN index ${cache.name} could not be read (${(error as Error).message}); rebuilding it`);
      return undefined;
    }
  }
}
