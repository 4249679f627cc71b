// Does a folder's vector for an image match what our encoder computes for the same image?
// Pure: pairs in, verdict out. Each pair must reach cosine ≥ MIN_COSINE and the folder's vector
// must have unit length (inner-product search ranks by length otherwise). The failure names the
// likely cause: another model (cosines near 0), other preprocessing or weights (high but below
// the bar), or unnormalised vectors.

export const MIN_COSINE = 0.99;
const NORM_TOLERANCE = 0.01;

export interface SamplePair {
  row: number;
  image: string;
  theirs: Float32Array;
  ours: Float32Array;
}

export type Verdict = { ok: true; minCosine: number } | { ok: false; reason: string };

function norm(v: Float32Array): number {
  let sum = 0;
  for (const x of v) sum += x * x;
  return Math.sqrt(sum);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot / (norm(a) * norm(b) || 1);
}

export function judgeSample(pairs: readonly SamplePair[], encoder: string): Verdict {
  if (pairs.length === 0) return { ok: true, minCosine: NaN };
  const first = pairs[0];
  if (first.theirs.length !== first.ours.length) {
    return { ok: false, reason: `wrong model: the vectors have ${first.theirs.length} dimensions but ${encoder} produces ${first.ours.length}` };
  }
  const broken = pairs.find((pair) => pair.theirs.some((x) => !Number.isFinite(x)));
  if (broken) {
    const value = broken.theirs.find((x) => !Number.isFinite(x));
    return { ok: false, reason: `broken vectors: row ${broken.row} (${broken.image}) holds ${value}; every value must be a finite number` };
  }
  const scored = pairs.map((pair) => ({ ...pair, cosine: cosine(pair.theirs, pair.ours), norm: norm(pair.theirs) }));
  const worst = scored.reduce((a, b) => (b.cosine < a.cosine ? b : a));
  if (worst.cosine < MIN_COSINE) {
    const sorted = scored.map((s) => s.cosine).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const cause =
      median < 0.5
        ? `wrong model: these vectors were not computed by ${encoder} (median cosine ${median.toFixed(3)})`
        : `wrong preprocessing or weights: close to ${encoder} but not the same (median cosine ${median.toFixed(3)}); check resize, crop and normalisation`;
    return { ok: false, reason: `row ${worst.row} (${worst.image}) has cosine ${worst.cosine.toFixed(3)} < ${MIN_COSINE} with ${encoder} — ${cause}` };
  }
  const unnormalised = scored.find((s) => Math.abs(s.norm - 1) > NORM_TOLERANCE);
  if (unnormalised) {
    const where = `row ${unnormalised.row} (${unnormalised.image}) has length ${unnormalised.norm.toFixed(3)}`;
    return { ok: false, reason: `unnormalised vectors: ${where}; inner-product search needs unit vectors (L2-normalise them before writing)` };
  }
  return { ok: true, minCosine: worst.cosine };
}
