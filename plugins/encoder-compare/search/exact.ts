// The exact scoring and ranking that both backends share, so their output is identical.

export interface SearchHit {
  /** Row position in the indexed vectors, 0..size-1. */
  id: number;
  /** Inner product in double precision (= cosine for L2-normalised vectors). */
  score: number;
}

/**
 * Inner product of one row with the query, summed in order in double precision. Products of two
 * float32 values are exact in double, so the result only depends on this summation order.
 */
export function dotRow(vectors: Float32Array, row: number, query: Float64Array): number {
  const dim = query.length;
  const start = row * dim;
  let sum = 0;
  for (let i = 0; i < dim; i++) sum += vectors[start + i] * query[i];
  return sum;
}

/**
 * Whether a score may enter a ranking. A vector holding NaN or ±Infinity (a bad record in an
 * imported embeddings folder) scores NaN or ±Infinity against every query: such a row would
 * break the heap's order and be shown as "NaN" or beat every real match, so it is never ranked.
 */
export function isRankable(score: number): boolean {
  return Number.isFinite(score);
}

/** Ranking order: higher score first, then smaller id. */
export function compareHits(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || a.id - b.id;
}

/** True when (scoreA, idA) ranks strictly after (scoreB, idB). */
function ranksAfter(scoreA: number, idA: number, scoreB: number, idB: number): boolean {
  return scoreA < scoreB || (scoreA === scoreB && idA > idB);
}

/**
 * Keeps the best `capacity` hits seen so far in a binary heap whose root is the worst kept
 * hit: O(log k) per accepted hit, O(1) per rejected one, no full sort of all rows.
 */
export class TopK {
  private readonly ids: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly capacity: number) {}

  get count(): number {
    return this.ids.length;
  }

  get isFull(): boolean {
    return this.ids.length >= this.capacity;
  }

  /** Score of the worst kept hit; only meaningful when count > 0. */
  get worstScore(): number {
    return this.scores[0];
  }

  offer(id: number, score: number): void {
    if (!isRankable(score)) return;
    const { ids, scores } = this;
    if (ids.length < this.capacity) {
      ids.push(id);
      scores.push(score);
      this.siftUp(ids.length - 1);
    } else if (this.capacity > 0 && ranksAfter(scores[0], ids[0], score, id)) {
      ids[0] = id;
      scores[0] = score;
      this.siftDown(0);
    }
  }

  /** The kept hits, best first. */
  sorted(): SearchHit[] {
    return this.ids.map((id, i) => ({ id, score: this.scores[i] })).sort(compareHits);
  }

  private siftUp(position: number): void {
    let child = position;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.worse(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(position: number): void {
    const size = this.ids.length;
    let parent = position;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let worst = parent;
      if (left < size && this.worse(left, worst)) worst = left;
      if (right < size && this.worse(right, worst)) worst = right;
      if (worst === parent) return;
      this.swap(parent, worst);
      parent = worst;
    }
  }

  private worse(a: number, b: number): boolean {
    return ranksAfter(this.scores[a], this.ids[a], this.scores[b], this.ids[b]);
  }

  private swap(a: number, b: number): void {
    const { ids, scores } = this;
    [ids[a], ids[b]] = [ids[b], ids[a]];
    [scores[a], scores[b]] = [scores[b], scores[a]];
  }
}

/** Scores every row exactly and keeps the top k, skipping excluded ids. */
export function exactSearch(
  vectors: Float32Array,
  size: number,
  query: Float64Array,
  k: number,
  exclude: ReadonlySet<number> | undefined,
): SearchHit[] {
  const top = new TopK(k);
  for (let row = 0; row < size; row++) {
    if (exclude?.has(row)) continue;
    top.offer(row, dotRow(vectors, row, query));
  }
  return top.sorted();
}
