// Search over an embeddings folder: a faiss index file proposes candidates, which are rescored
// exactly from the folder's vectors (read by row offset); without an index every row is scored
// exactly, a block at a time. Ranking is the project's (score, then row) with the same double-
// precision dot product as the native exact search, so both give identical answers.
import type { EmbeddingsFolder } from "../dataset/clip-retrieval.ts";
import { compareHits, dotRow, isRankable, TopK, type SearchHit } from "./exact.ts";
import type { FaissIndexFile } from "./faiss-file.ts";

export class EmbeddingsSearch {
  readonly folder: EmbeddingsFolder;
  readonly index?: FaissIndexFile;
  readonly candidates: number;
  readonly #row: Float32Array<ArrayBuffer>;

  constructor(folder: EmbeddingsFolder, index: FaissIndexFile | undefined, candidates: number) {
    if (index && index.dim !== folder.dim) {
      throw new Error(`faiss index ${index.file} has ${index.dim} dimensions but the vectors in ${folder.dir} have ${folder.dim}`);
    }
    if (index && index.rows !== folder.rows) {
      throw new Error(
        `faiss index ${index.file} holds ${index.rows} vectors but ${folder.dir} has ${folder.rows} rows; ` +
          `build the index from this folder (clip-retrieval index)`,
      );
    }
    this.folder = folder;
    this.index = index;
    this.candidates = candidates;
    this.#row = new Float32Array(folder.dim);
  }

  get backend(): "faiss-file" | "exact-scan" {
    return this.index ? "faiss-file" : "exact-scan";
  }

  /** The best `n` rows for a unit query vector, exact scores. */
  search(query: Float32Array, n: number): SearchHit[] {
    if (query.length !== this.folder.dim) {
      throw new Error(`query vector has ${query.length} dimensions but ${this.folder.dir} holds ${this.folder.dim}-dimensional vectors`);
    }
    const q = Float64Array.from(query);
    const want = Math.min(n, this.folder.rows);
    if (want === 0) return [];
    if (!this.index) {
      const top = new TopK(want);
      this.folder.forEachBlock((first, block, count) => {
        for (let i = 0; i < count; i++) top.offer(first + i, dotRow(block, i, q));
      });
      return top.sorted();
    }
    const asked = Math.min(Math.max(this.candidates, want), this.index.rows);
    const { labels } = this.index.index.search(Array.from(query), asked);
    const hits: SearchHit[] = [];
    // Read in row order: neighbouring rows share pages of the shard files.
    const rows = [...new Set(labels)].filter((label) => label >= 0).sort((a, b) => a - b);
    for (const label of rows) {
      this.folder.readRows(label, 1, this.#row);
      const score = dotRow(this.#row, 0, q);
      if (isRankable(score)) hits.push({ id: label, score });
    }
    return hits.sort(compareHits).slice(0, want);
  }

  /** Vector of one row (a copy). */
  vector(row: number): Float32Array {
    return this.folder.readRows(row, 1);
  }
}
