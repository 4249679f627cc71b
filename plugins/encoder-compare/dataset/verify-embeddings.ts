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

/**
 * The chance that a sample of `sampled` distinct rows out of `rows` includes at least one of `bad` bad rows:
 * 1 − C(rows − bad, sampled) / C(rows, sampled) (hypergeometric, drawn without replacement).
 */
export function detectionProbability(rows: number, bad: number, sampled: number): number {
  if (bad <= 0 || sampled <= 0) return 0;
  if (sampled > rows - bad) return 1;
  let missAll = 1;
  for (let i = 0; i < sampled; i++) missAll *= (rows - bad - i) / (rows - i);
  return 1 - missAll;
}

/** Rows named in a "rows do not match" diagnosis before the rest are counted. */
const NAMED_ROWS = 5;

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
    const bad = scored.filter((s) => s.cosine < MIN_COSINE);
    if (bad.length * 2 < scored.length) {
      // Most rows agree exactly: the model is right, these rows carry another image's vector (reordered or edited rows).
      const named = bad.slice(0, NAMED_ROWS).map((s) => `row ${s.row} (${s.image}) cosine ${s.cosine.toFixed(3)}`).join(", ");
      const more = bad.length > NAMED_ROWS ? ` and ${bad.length - NAMED_ROWS} more` : "";
      const good = scored.filter((s) => s.cosine >= MIN_COSINE);
      const floor = Math.min(...good.map((s) => s.cosine));
      return {
        ok: false,
        reason:
          `rows do not match their images: ${named}${more}; the other ${good.length} sampled rows agree with ${encoder} (cosine ≥ ${floor.toFixed(3)}), ` +
          `so vectors and metadata were reordered or edited after the vectors were computed`,
      };
    }
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
