// `rankOf="<dataset id>"` on encoderCompare: where one dataset image ranks for a query under
// one encoder, over the whole dataset, with the same scores and tie-breaking as the results.
import crypto from "node:crypto";
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { QueryResult } from "../engine/types.ts";
import type { Dataset } from "../dataset/load.ts";
import { asRun, describeRun } from "../render/encoder-run.ts";
import { requestedRun } from "../render/requested-run.ts";
import { formatScore } from "../render/table.ts";
import { ranksOf, scoreRows } from "../search/ranking.ts";

/** Dataset vectors per (encoder, dataset content), so several queries do not re-read the store. */
export class DatasetVectorCache {
  readonly #entries = new Map<string, Promise<{ dataset: Dataset; dim: number; vectors: Float32Array }>>();

  constructor(
    readonly engine: CompareEngine,
    private readonly capacity = 4,
  ) {}

  async get(encoderId: string, datasetDir: string): Promise<{ dataset: Dataset; dim: number; vectors: Float32Array }> {
    const encoder = await this.engine.encoderIdentity(encoderId);
    const key = `${encoder.key}:${this.engine.dataset(datasetDir).fingerprint}`;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = this.engine.datasetVectors(encoderId, datasetDir);
      this.#entries.set(key, entry);
      entry.catch(() => this.#entries.delete(key));
      // Oldest first in a Map: drop beyond capacity.
      while (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value!);
    }
    return entry;
  }
}

export class RankOfError extends Error {}

/** Bump when ranking changes: remembered ranks are then ignored. */
const RANK_MEMO_VERSION = 1;

/**
 * One sentence, e.g. "dog-face--twitter is #5 under bit-m-r50x1, cosine 0.734". The rank is
 * remembered in the store with the query results, so a rebuild with the same encoder, dataset
 * state and query reads neither the dataset's vectors nor the index.
 */
export async function describeRankOf(cache: DatasetVectorCache, encoderId: string, datasetDir: string, result: QueryResult, targetId: string): Promise<string> {
  const under = describeRun(asRun(requestedRun(encoderId, { spec: result.encoder, standInFor: result.standInFor }))).shortName;
  const { store } = cache.engine;
  const dataset = cache.engine.dataset(datasetDir);
  const { key } = await cache.engine.encoderIdentity(encoderId);
  const asked = ["rankOf", RANK_MEMO_VERSION, key, dataset.dir, result.query.sha256, result.selfExcluded, targetId, cache.engine.options.limitInputPixels];
  const scope = crypto.createHash("sha256").update(JSON.stringify(asked)).digest("hex");
  let found = asRank(store.recall("query", scope, dataset.fingerprint, RANK_MEMO_VERSION));
  if (!found) {
    found = await rankOf(cache, encoderId, datasetDir, result, targetId);
    store.remember("query", scope, dataset.fingerprint, RANK_MEMO_VERSION, found);
  }
  if (found.self) return `${targetId} is the query image itself, left out of its own results under ${under}`;
  return `${targetId} is #${found.rank} under ${under}, cosine ${formatScore(found.score)}`;
}

type Rank = { self: true; rank?: undefined; score?: undefined } | { self?: undefined; rank: number; score: number };

function asRank(r: Record<string, unknown> | undefined): Rank | undefined {
  return r && (r.self === true || (Number.isInteger(r.rank) && typeof r.score === "number")) ? (r as Rank) : undefined;
}

async function rankOf(cache: DatasetVectorCache, encoderId: string, datasetDir: string, result: QueryResult, targetId: string): Promise<Rank> {
  const { dataset, dim, vectors } = await cache.get(encoderId, datasetDir);
  const row = dataset.images.findIndex((image) => image.id === targetId);
  if (row < 0) {
    const examples = dataset.images.slice(0, 2).map((image) => `"${image.id}"`).join(", ");
    throw new RankOfError(
      `rankOf: no indexed image with id "${targetId}" in dataset ${dataset.name} (duplicates and unreadable files are not indexed); ids look like ${examples}`,
    );
  }
  const target = dataset.images[row];
  if (result.selfExcluded && target.sha256 === result.query.sha256) return { self: true };
  const scores = scoreRows(vectors, dim, result.vector);
  const selfRow = result.selfExcluded ? dataset.images.findIndex((image) => image.sha256 === result.query.sha256) : -1;
  const [rank] = ranksOf(scores, [row], selfRow >= 0 ? new Set([selfRow]) : undefined);
  return { rank, score: scores[row] };
}

/** Rank of the first result in one of `groups` over the whole dataset (query left out when it was); undefined when none is indexed. */
export async function firstMatchRank(
  cache: DatasetVectorCache,
  encoderId: string,
  datasetDir: string,
  result: QueryResult,
  groups: readonly string[],
): Promise<number | undefined> {
  const { dataset, dim, vectors } = await cache.get(encoderId, datasetDir);
  const targets: number[] = [];
  let selfRow = -1;
  dataset.images.forEach((image, row) => {
    if (result.selfExcluded && image.sha256 === result.query.sha256) selfRow = row;
    else if (image.group !== undefined && groups.includes(image.group)) targets.push(row);
  });
  if (targets.length === 0) return undefined;
  const ranks = ranksOf(scoreRows(vectors, dim, result.vector), targets, selfRow >= 0 ? new Set([selfRow]) : undefined);
  return Math.min(...ranks);
}
