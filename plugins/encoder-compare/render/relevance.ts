// Relevance marks: whether a result is in the group the query should find, as a visible mark with
// words for screen readers (never colour alone), and the per-query tally. Pure.
import { escapeHtml } from "./escape.ts";

export interface Relevance {
  /** A result in any of these dataset groups counts as a match. */
  groups: readonly string[];
}

export function isMatch(group: string | undefined, relevance: Relevance): boolean {
  return group !== undefined && relevance.groups.includes(group);
}

/** "dog-face", "dog-face or cat-face". */
export function groupsInWords(relevance: Relevance): string {
  const g = relevance.groups;
  return g.length <= 1 ? (g[0] ?? "") : `${g.slice(0, -1).join(", ")} or ${g[g.length - 1]}`;
}

/** The mark in front of a result: ✓ or ✗ on screen, "match" or "not a match" for screen readers. */
export function hitMark(group: string | undefined, relevance: Relevance): string {
  return isMatch(group, relevance)
    ? `<span class="ec-mark" aria-hidden="true">✓</span><span class="ec-sr">match: </span>`
    : `<span class="ec-mark" aria-hidden="true">✗</span><span class="ec-sr">not a match: </span>`;
}

export function countMatches(hits: ReadonlyArray<{ group?: string }>, relevance: Relevance): number {
  return hits.filter((h) => isMatch(h.group, relevance)).length;
}

/** "2 of 3 results are dog-face". */
export function tallySentence(hits: ReadonlyArray<{ group?: string }>, relevance: Relevance): string {
  const n = hits.length;
  return `${countMatches(hits, relevance)} of ${n} result${n === 1 ? " is" : "s are"} ${groupsInWords(relevance)}`;
}

/** A styled group label: `<span class="ec-group">group <b>dog-face</b></span>`. */
export function groupLabel(group: string): string {
  return `<span class="ec-group"><span class="ec-group-word">group</span> <span class="ec-group-name">${escapeHtml(group)}</span></span>`;
}
