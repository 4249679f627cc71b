// A dataset's whole vector matrix under one encoder, for ranks over the whole dataset (rankOf=, a scoreboard's first
// match): read from the store once per (encoder, dataset content) and kept for the next queries of the build.
import type { Dataset } from "../dataset/load.ts";
import type { CompareEngine } from "./compare-engine.ts";

export interface DatasetVectors {
  dataset: Dataset;
  dim: number;
  /** Row-major, one row per `dataset.images` entry. */
  vectors: Float32Array;
}

/** Dataset vectors per (encoder, dataset content), so several queries do not re-read the store. */
export class DatasetVectorCache {
  readonly #entries = new Map<string, Promise<DatasetVectors>>();

  constructor(
    readonly engine: CompareEngine,
    private readonly capacity = 4,
  ) {}

  async get(encoderId: string, datasetDir: string): Promise<DatasetVectors> {
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
