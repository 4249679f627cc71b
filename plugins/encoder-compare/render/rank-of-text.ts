// A rankOf= line in words, e.g. "dog-face--twitter is #5 under bit-m-r50x1, cosine 0.734". Pure.
import { formatScore } from "./table.ts";

/** `under` is the short name of what ran (a stand-in's own id leads). */
export function rankOfText(targetId: string, under: string, found: { self: true } | { self?: undefined; rank: number; score: number }): string {
  if (found.self) return `${targetId} is the query image itself, left out of its own results under ${under}`;
  return `${targetId} is #${found.rank} under ${under}, cosine ${formatScore(found.score)}`;
}
