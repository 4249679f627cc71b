// The search stage's face: the incremental index production searches, its types, and whether faiss loads.
// The whole-matrix reference index the tests check it against lives in test/reference/flat-index.ts.
export type { SearchHit } from "./exact.ts";
export type { SearchBackend, VectorIndex } from "./vector-index.ts";
export { faissStatus } from "./faiss.ts";
export { simdKernelAvailable } from "./slab.ts";
export { IncrementalIndex, type IncrementalIndexOptions, type SyncResult } from "./incremental.ts";
