// What one build did, as data (for the `onBuildSummary` option and tests) and as the one line
// a build prints, e.g.
// "pixels: 0 embedded, 312 cached (0.0 s) · phash: 0 embedded, 312 cached (0.0 s) · index: faiss · 4 queries"
import type { BuildStats, IndexUpdate } from "./types.ts";

export interface BuildSummary {
  encoders: Array<{ id: string; embedded: number; cached: number; seconds: number }>;
  /** Search backends that served queries ("js", "faiss", "ann"). */
  backends: string[];
  /** How each index changed in this build: rows added and removed, or rebuilt from all rows. */
  indexes?: IndexUpdate[];
  queries: number;
  /** encoderEval rankings (queries × encoders): ranked in this build, or remembered from an earlier one. */
  evaluations?: { ranked: number; remembered: number };
  /** encoderMap panels: laid out in this build, or remembered from an earlier one. */
  maps?: { laidOut: number; remembered: number };
  imagesWritten: number;
  skipped: Array<{ file: string; reason: string }>;
}

export function collectSummary(
  build: BuildStats,
  queries: number,
  imagesWritten: number,
  evaluations?: BuildSummary["evaluations"],
  maps?: BuildSummary["maps"],
): BuildSummary {
  return {
    encoders: [...build.encoders].map(([id, s]) => ({ id, ...s })),
    backends: [...build.backendsUsed].sort(),
    indexes: [...build.indexUpdates],
    queries,
    ...(evaluations ? { evaluations: { ...evaluations } } : {}),
    ...(maps ? { maps: { ...maps } } : {}),
    imagesWritten,
    skipped: [...build.skippedImages].map(([file, reason]) => ({ file, reason })),
  };
}

export function formatSummary(summary: BuildSummary): string {
  const parts = summary.encoders.map((e) => `${e.id}: ${e.embedded} embedded, ${e.cached} cached (${e.seconds.toFixed(1)} s)`);
  const changed = (summary.indexes ?? []).filter((u) => !u.rebuilt && (u.added > 0 || u.removed > 0));
  const change = changed.length ? ` (${changed.map((u) => `+${u.added} −${u.removed}`).join(", ")} rows)` : "";
  parts.push(`index: ${summary.backends.length ? summary.backends.join("+") : "none"}${change}`);
  parts.push(`${summary.queries} ${summary.queries === 1 ? "query" : "queries"}`);
  const evals = summary.evaluations;
  if (evals && evals.ranked + evals.remembered > 0) parts.push(`eval: ${evals.ranked} queries ranked, ${evals.remembered} remembered`);
  const maps = summary.maps;
  if (maps && maps.laidOut + maps.remembered > 0) parts.push(`maps: ${maps.laidOut} laid out, ${maps.remembered} remembered`);
  if (summary.imagesWritten > 0) parts.push(`${summary.imagesWritten} images written`);
  return parts.join(" · ");
}
