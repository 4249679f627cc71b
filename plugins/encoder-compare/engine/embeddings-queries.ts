// Queries against embeddings folders (vectors computed elsewhere, clip-retrieval layout): which dataset folders are
// such folders, opening each once, and answering a query once a sample of its vectors matched what the claimed
// encoder computes here (or labelled unverified).
import { DEFAULTS } from "../base/defaults.ts";
import { embeddingsFolderConfig, findEmbeddingsDataset, isEmbeddingsFolder, type EmbeddingsDatasetConfig } from "../dataset/embeddings-option.ts";
import type { EmbeddingsSearch } from "../search/embeddings-search.ts";
import type { EmbeddingsDataset } from "./embeddings-dataset.ts";
import type { EmbedImages, EncoderIdentity, EngineOptions, QueryHit, QueryOptions, QueryResult } from "./types.ts";

export interface EmbeddingsHost {
  options: Pick<EngineOptions, "embeddingsDatasets" | "cacheDir" | "info" | "warn" | "strict" | "limitInputPixels" | "maxImageBytes">;
  /** sha256 and real path of a local image (memoised by the engine). */
  querySha: (file: string) => { sha: string; real: string };
  embed: EmbedImages;
  queryVector: (encoder: EncoderIdentity, queryFile: string, querySha: string) => Promise<Float32Array>;
  backendUsed: (backend: EmbeddingsSearch["backend"]) => void;
}

export class EmbeddingsQueries {
  readonly #host: EmbeddingsHost;
  readonly #opened = new Map<string, Promise<EmbeddingsDataset>>();

  constructor(host: EmbeddingsHost) {
    this.#host = host;
  }

  /** The embeddings-folder form of a dataset (a configured entry's reference or folder, or a folder holding img_emb/), else undefined. */
  config(ref: string): EmbeddingsDatasetConfig | undefined {
    const configured = this.#host.options.embeddingsDatasets;
    const found = configured && findEmbeddingsDataset(configured, ref);
    return found ?? (isEmbeddingsFolder(ref) ? embeddingsFolderConfig(ref, DEFAULTS.embeddingsFolder) : undefined);
  }

  /**
   * A query against vectors computed elsewhere: only the encoder they claim can search them, and
   * only after a sample of them matched what that encoder computes here (or labelled unverified).
   */
  async query(
    encoderId: string,
    encoder: EncoderIdentity,
    config: EmbeddingsDatasetConfig,
    queryFile: string,
    options: QueryOptions,
  ): Promise<QueryResult> {
    const host = this.#host;
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
    const dataset = await this.#open(config);
    const verification = await dataset.verify(async (files) => {
      const images = files.map((file) => ({ file, sha256: host.querySha(file).sha }));
      const bySha = await host.embed(encoder, images);
      return new Map(images.filter((image) => bySha.has(image.sha256)).map((image) => [image.file, bySha.get(image.sha256)!]));
    });
    const recall = dataset.recall();
    host.backendUsed(dataset.search.backend);
    const { sha: querySha, real: queryReal } = host.querySha(queryFile);
    const vector = await host.queryVector(encoder, queryFile, querySha);
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
      datasetNote: recall ? `${verification.note}; ${recall.note}` : verification.note,
    };
  }

  #open(config: EmbeddingsDatasetConfig): Promise<EmbeddingsDataset> {
    const key = JSON.stringify(config);
    let opened = this.#opened.get(key);
    if (!opened) {
      const { cacheDir, info, warn, strict, limitInputPixels, maxImageBytes } = this.#host.options;
      // Imported on use: the parquet reader and faiss loader are for embeddings datasets only.
      opened = import("./embeddings-dataset.ts").then(({ EmbeddingsDataset }) => EmbeddingsDataset.open(config, {
        cacheDir,
        info,
        warn,
        strict,
        limitInputPixels,
        maxImageBytes,
        sha256: (file) => this.#host.querySha(file).sha,
      }));
      this.#opened.set(key, opened);
      opened.catch(() => this.#opened.delete(key));
    }
    return opened;
  }

  /** Closes every opened folder (its parquet readers). */
  async close(): Promise<void> {
    for (const opened of this.#opened.values()) (await opened.catch(() => undefined))?.close();
    this.#opened.clear();
  }
}
