// What every search index answers, exact or approximate; its own file so the indexes share it without importing each other.
import type { SearchHit } from "./exact.ts";

/** "ann": a faiss factory index (HNSW) proposes candidates; approximate, scores still exact. */
export type SearchBackend = "faiss" | "js" | "ann";

export interface VectorIndex {
  readonly backend: SearchBackend;
  /** Number of indexed rows. */
  readonly size: number;
  readonly dim: number;
  /** Top-k by cosine, ties broken by smaller id first; ids in `exclude` are never returned. */
  search(query: Float32Array, k: number, exclude?: ReadonlySet<number>): SearchHit[];
}
