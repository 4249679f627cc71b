// The 2D map of an encoder's space: a seeded UMAP layout of L2-normalised vectors (umap-js on an exact k-nearest-
// neighbour graph we compute), scaled into a square of MAP_SIZE units, and how faithful it is (kNN preservation,
// measured against the full space). Pure computation: vectors in, numbers out; the same inputs give the same numbers.
import { UMAP } from "umap-js";
import { seededRandom, seededSample } from "../base/seeded-random.ts";
import { slabTopK, VectorSlab } from "./slab.ts";

/** Side of the square the positions are scaled into (the SVG's viewBox). */
export const MAP_SIZE = 1000;
/** Empty border kept inside the square, so points and their rings are not cut off. */
const MAP_MARGIN = 30;

export interface MapLayoutOptions {
  /** Seed of every random choice (UMAP's initial layout and sampling, PCA's start, the faithfulness sample). */
  seed: number;
  /** Neighbours per point in UMAP's graph. */
  nNeighbors: number;
  /** UMAP's minimum distance between points in the map. */
  minDist: number;
  /** Optimisation epochs; 0 lets umap-js choose by size (500 up to 2,500 points … 200 above 7,500). */
  epochs: number;
  /** Dimensions of the PCA subspace the neighbour graph is computed in, for large data sets. */
  pcaDims: number;
  /** From this many points on (and when the vectors have more than pcaDims dimensions), the graph uses PCA first. */
  pcaFrom: number;
  /** k of the faithfulness figure: neighbours per point compared between the full space and the map. */
  faithfulnessK: number;
  /** Points the faithfulness figure is measured on (a seeded sample when there are more). */
  faithfulnessSample: number;
}

export interface Faithfulness {
  k: number;
  /** Mean share of a point's k nearest in the full space (cosine) that are among its k nearest in the map, 0..1. */
  share: number;
  /** Points it was measured on, and how many points the map has. */
  measuredOn: number;
  of: number;
  /** What a layout with no relation to the space would score on average: k / (points − 1). */
  chance: number;
}

export interface MapLayout {
  /** x, y of row i at [2i, 2i + 1], in 0..MAP_SIZE, rounded to 0.1 (what is drawn and what is measured). */
  xy: number[];
  faithfulness: Faithfulness;
  /** Where the neighbour graph was computed: the full space, or a PCA subspace of this many dimensions. */
  graphDims: number;
  /** Two points closer than this in the map count as one cluster (twice the median distance to a nearest point). */
  linkDistance: number;
}

/**
 * Coordinates of the rows in a `dims`-dimensional subspace close to their top principal components (randomised
 * subspace iteration from a seeded start). Distances within it approximate the full space's; the basis order is
 * not by variance, which no distance depends on.
 */
export function pcaProject(vectors: Float32Array, n: number, dim: number, dims: number, random: () => number): Float64Array[] {
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let d = 0; d < dim; d++) mean[d] += vectors[r * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  // basis: dims columns of length dim, stored column by column.
  let basis = Array.from({ length: dims }, () => Float64Array.from({ length: dim }, () => gaussian(random)));
  orthonormalise(basis);
  const project = (columns: Float64Array[]): Float64Array[] => {
    const shift = columns.map((c) => dot(c, mean));
    const out = Array.from({ length: n }, () => new Float64Array(columns.length));
    for (let r = 0; r < n; r++) {
      const row = vectors.subarray(r * dim, (r + 1) * dim);
      for (let c = 0; c < columns.length; c++) out[r][c] = dotMixed(columns[c], row) - shift[c];
    }
    return out;
  };
  for (let iteration = 0; iteration < 2; iteration++) {
    const scores = project(basis);
    // basis ← Xcᵀ · scores, column by column.
    const next = Array.from({ length: dims }, () => new Float64Array(dim));
    for (let r = 0; r < n; r++) {
      const s = scores[r];
      for (let d = 0; d < dim; d++) {
        const centred = vectors[r * dim + d] - mean[d];
        for (let c = 0; c < dims; c++) next[c][d] += centred * s[c];
      }
    }
    orthonormalise(next);
    basis = next;
  }
  return project(basis);
}

function gaussian(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function dotMixed(a: Float64Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Modified Gram–Schmidt in place; a column that vanishes (rank deficiency) becomes zero. */
function orthonormalise(columns: Float64Array[]): void {
  for (let c = 0; c < columns.length; c++) {
    const col = columns[c];
    for (let p = 0; p < c; p++) {
      const projection = dot(col, columns[p]);
      for (let d = 0; d < col.length; d++) col[d] -= projection * columns[p][d];
    }
    const norm = Math.sqrt(dot(col, col));
    for (let d = 0; d < col.length; d++) col[d] = norm > 1e-12 ? col[d] / norm : 0;
  }
}

/**
 * Exact k nearest rows by Euclidean distance (the row itself included, ties to the smaller row), through the
 * search's inner-product kernel: with rows [y, −‖y‖²/2] and the query [q, 1], the inner product is
 * (‖q‖² − ‖q − y‖²) / 2, which ranks rows as their distance does.
 */
export function euclideanNeighbours(rows: ArrayLike<number>[], k: number): { indices: number[][]; distances: number[][] } {
  const n = rows.length;
  const dim = n ? rows[0].length : 0;
  const slab = new VectorSlab(dim + 1, n);
  let maxNorm = 0;
  const augmented = new Float64Array(dim + 1);
  for (let r = 0; r < n; r++) {
    let squared = 0;
    for (let d = 0; d < dim; d++) {
      augmented[d] = rows[r][d];
      squared += rows[r][d] * rows[r][d];
    }
    augmented[dim] = -squared / 2;
    slab.set(r, augmented);
    maxNorm = Math.max(maxNorm, Math.sqrt(squared + (squared * squared) / 4));
  }
  const indices: number[][] = [];
  const distances: number[][] = [];
  const query = new Float64Array(dim + 1);
  for (let r = 0; r < n; r++) {
    let squared = 0;
    for (let d = 0; d < dim; d++) {
      query[d] = rows[r][d];
      squared += rows[r][d] * rows[r][d];
    }
    query[dim] = 1;
    const hits = slabTopK(slab, n, null, query, Math.min(k, n), undefined, maxNorm);
    indices.push(hits.map((h) => h.id));
    distances.push(hits.map((h) => Math.sqrt(Math.max(0, squared - 2 * h.score))));
  }
  return { indices, distances };
}

/** The k nearest other rows of each of `rows` by cosine (inner product of normalised vectors), ties to the smaller row. */
export function cosineNeighbours(vectors: Float32Array, n: number, dim: number, rows: readonly number[], k: number): number[][] {
  const slab = new VectorSlab(dim, n);
  let maxNorm = 0;
  for (let r = 0; r < n; r++) {
    const row = vectors.subarray(r * dim, (r + 1) * dim);
    slab.set(r, row);
    let squared = 0;
    for (const v of row) squared += v * v;
    maxNorm = Math.max(maxNorm, Math.sqrt(squared));
  }
  return rows.map((r) => {
    const query = Float64Array.from(vectors.subarray(r * dim, (r + 1) * dim));
    return slabTopK(slab, n, null, query, k, new Set([r]), maxNorm).map((h) => h.id);
  });
}

/** The k nearest other points of `row` in the map (ties to the smaller index). */
export function mapNeighbours(xy: readonly number[], row: number, k: number): number[] {
  const n = xy.length / 2;
  const x = xy[2 * row];
  const y = xy[2 * row + 1];
  const order: Array<[number, number]> = [];
  for (let j = 0; j < n; j++) if (j !== row) order.push([(xy[2 * j] - x) ** 2 + (xy[2 * j + 1] - y) ** 2, j]);
  order.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return order.slice(0, k).map(([, j]) => j);
}

/** kNN preservation of a drawn map, measured on `rows` (see Faithfulness). */
export function measureFaithfulness(vectors: Float32Array, dim: number, xy: readonly number[], rows: readonly number[], k: number): Faithfulness {
  const n = xy.length / 2;
  const kk = Math.min(k, n - 1);
  if (kk < 1) return { k: kk, share: 1, measuredOn: n, of: n, chance: 1 };
  const full = cosineNeighbours(vectors, n, dim, rows, kk);
  let kept = 0;
  rows.forEach((row, i) => {
    const inMap = new Set(mapNeighbours(xy, row, kk));
    kept += full[i].filter((j) => inMap.has(j)).length;
  });
  return { k: kk, share: kept / (kk * rows.length), measuredOn: rows.length, of: n, chance: kk / (n - 1) };
}

/** Scales raw 2D positions into the square, keeping their aspect, centred, rounded to 0.1. */
function fitToSquare(points: ArrayLike<number>[]): number[] {
  let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of points as number[][]) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const span = Math.max(maxX - minX, maxY - minY) || 1;
  const scale = (MAP_SIZE - 2 * MAP_MARGIN) / span;
  const offsetX = (MAP_SIZE - (maxX - minX) * scale) / 2;
  const offsetY = (MAP_SIZE - (maxY - minY) * scale) / 2;
  const round = (v: number) => Math.round(v * 10) / 10;
  return (points as number[][]).flatMap(([x, y]) => [round(offsetX + (x - minX) * scale), round(offsetY + (y - minY) * scale)]);
}

/** Twice the median distance from a point to its nearest other point in the map (0 for fewer than two points). */
function linkDistanceOf(xy: readonly number[]): number {
  const n = xy.length / 2;
  if (n < 2) return 0;
  const nearest: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    for (let j = 0; j < n; j++) if (j !== i) best = Math.min(best, (xy[2 * i] - xy[2 * j]) ** 2 + (xy[2 * i + 1] - xy[2 * j + 1]) ** 2);
    nearest.push(Math.sqrt(best));
  }
  nearest.sort((a, b) => a - b);
  return Math.round(2 * nearest[Math.floor(n / 2)] * 10) / 10;
}

/** Lays out n vectors of `dim` values (row-major, L2-normalised) and measures the result. */
export function layoutMap(vectors: Float32Array, n: number, dim: number, options: MapLayoutOptions): MapLayout {
  const random = seededRandom(options.seed);
  const usePca = dim > options.pcaDims && n >= options.pcaFrom;
  const rows: ArrayLike<number>[] = usePca
    ? pcaProject(vectors, n, dim, options.pcaDims, random)
    : Array.from({ length: n }, (_, r) => vectors.subarray(r * dim, (r + 1) * dim));
  let raw: ArrayLike<number>[];
  if (n <= 2) {
    raw = Array.from({ length: n }, (_, i) => [i, 0]);
  } else {
    const nNeighbors = Math.min(options.nNeighbors, n - 1);
    const { indices, distances } = euclideanNeighbours(rows, nNeighbors);
    const umap = new UMAP({ nComponents: 2, nNeighbors, minDist: options.minDist, random, ...(options.epochs > 0 ? { nEpochs: options.epochs } : {}) });
    umap.setPrecomputedKNN(indices, distances);
    // With the graph given, umap-js reads only the number of rows from its input.
    raw = umap.fit(Array.from({ length: n }, () => [0]));
  }
  const xy = fitToSquare(raw);
  const sample = seededSample(n, options.faithfulnessSample, random);
  return {
    xy,
    faithfulness: measureFaithfulness(vectors, dim, xy, sample, options.faithfulnessK),
    graphDims: usePca ? options.pcaDims : dim,
    linkDistance: linkDistanceOf(xy),
  };
}
