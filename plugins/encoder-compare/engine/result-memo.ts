// Finished query results remembered in the store: the same question against the same dataset state is answered
// without building an index. Hits are kept by image sha256, so captions and files come from the current listing.
import crypto from "node:crypto";
import type { Dataset, DatasetImage } from "../dataset/load.ts";
import type { SearchBackend } from "../search/index.ts";
import type { EmbeddingStore } from "../store/embedding-store.ts";
import type { EncoderIdentity, QueryHit, QueryOptions, ResolvedEngineOptions } from "./types.ts";

/** Bump when ranking changes (scores, tie-breaking): remembered query results are then ignored. */
const RESULT_CACHE_VERSION = 1;

/** A finished query as remembered in the store. */
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

/** A remembered result made whole again: its hits' images from the listing, the query's vector from the store. */
export interface RecalledResult extends Omit<RememberedResult, "hits"> {
  hits: QueryHit[];
  vector: Float32Array;
}

/** What is remembered of a fresh result. */
export type ResultToRemember = Omit<RememberedResult, "version" | "hits"> & { hits: readonly QueryHit[] };

export interface MemoHost {
  options: Pick<ResolvedEngineOptions, "annFactory" | "annCandidates" | "limitInputPixels">;
  store: () => EmbeddingStore;
  chooseBackend: (rows: number) => SearchBackend;
}

export class ResultMemo {
  readonly #host: MemoHost;
  readonly #imagesBySha = new WeakMap<Dataset, Map<string, DatasetImage>>();

  constructor(host: MemoHost) {
    this.#host = host;
  }

  /** Everything a query's answer depends on besides the dataset state (the fingerprint). */
  scope(encoder: EncoderIdentity, dataset: Dataset, querySha: string, options: QueryOptions): string {
    const { annFactory, annCandidates, limitInputPixels } = this.#host.options;
    const backend = this.#host.chooseBackend(dataset.images.length);
    // Exact backends give identical answers; an ANN answer depends on its configuration.
    const search = backend === "ann" ? `ann:${annFactory}:${annCandidates}` : "exact";
    const parts = [RESULT_CACHE_VERSION, encoder.key, dataset.dir, querySha, options.k, options.includeSelf, search, limitInputPixels];
    return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  }

  /** The remembered answer, when there is one of this version whose query vector and hit images are all still at hand. */
  recall(encoder: EncoderIdentity, dataset: Dataset, scope: string, querySha: string): RecalledResult | undefined {
    const store = this.#host.store();
    const entry = store.recall("query", scope, dataset.fingerprint, RESULT_CACHE_VERSION) as RememberedResult | undefined;
    if (!entry) return undefined;
    const vector = store.getVectors(encoder.key, [querySha]).get(querySha);
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

  remember(scope: string, dataset: Dataset, result: ResultToRemember): void {
    const entry: Omit<RememberedResult, "version"> = {
      rows: result.rows,
      backend: result.backend,
      selfExcluded: result.selfExcluded,
      hits: result.hits.map((h) => [h.image.sha256, h.score]),
      skipped: result.skipped,
    };
    this.#host.store().remember("query", scope, dataset.fingerprint, RESULT_CACHE_VERSION, entry);
  }
}
