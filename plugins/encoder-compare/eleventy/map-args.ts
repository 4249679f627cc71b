// Validates what Nunjucks passes to `encoderMap` (optional query paths, then keywords) into a map request.
import { parseDatasetName, type KeywordDefaults, parseEncoderList, parseK, ShortcodeArgumentError, shownName, splitShortcodeArgs } from "./shortcode-args.ts";

export interface MapRequest {
  /** Query images placed on the maps (none: a map of the dataset alone). */
  queries: string[];
  k: number;
  encoders: string[];
  dataset: string;
  includeSelf: boolean;
  /** Groups a neighbour must be in to be marked a match (else the query's own group, when it is a dataset member). */
  expect?: string[];
}

export type MapDefaults = KeywordDefaults;

export const MAP_KEYWORDS = ["k", "encoders", "dataset", "includeSelf", "expect"] as const;

export function parseMapArgs(args: readonly unknown[], defaults: MapDefaults): MapRequest {
  const { positional, keywords } = splitShortcodeArgs(args);
  for (const key of Object.keys(keywords)) {
    if (!(MAP_KEYWORDS as readonly string[]).includes(key)) {
      throw new ShortcodeArgumentError(`unknown keyword ${shownName(key)}; known keywords: ${MAP_KEYWORDS.join(", ")}`);
    }
  }
  const queries: string[] = [];
  for (const arg of positional) {
    for (const item of Array.isArray(arg) ? arg : [arg]) {
      if (typeof item !== "string" || item.trim() === "") {
        throw new ShortcodeArgumentError(`query images must be non-empty path strings, got ${JSON.stringify(item) ?? String(item)}`);
      }
      queries.push(item);
    }
  }
  const k = parseK(keywords.k, defaults);
  const encoders = parseEncoderList(keywords.encoders, defaults.encoders, defaults.knownEncoders);
  const dataset = parseDatasetName(keywords.dataset, defaults.dataset);
  const includeSelf = keywords.includeSelf ?? defaults.includeSelf;
  if (typeof includeSelf !== "boolean") throw new ShortcodeArgumentError(`includeSelf must be true or false, got ${JSON.stringify(keywords.includeSelf)}`);
  let expect: string[] | undefined;
  if (keywords.expect !== undefined) {
    const raw = typeof keywords.expect === "string" ? keywords.expect.split(",") : keywords.expect;
    if (!Array.isArray(raw) || raw.length === 0 || raw.some((g) => typeof g !== "string" || g.trim() === "")) {
      throw new ShortcodeArgumentError(`expect must be a dataset group such as "dog-face" or a list of groups, got ${JSON.stringify(keywords.expect)}`);
    }
    expect = [...new Set(raw.map((g: string) => g.trim()))];
  }
  if (expect && queries.length === 0) throw new ShortcodeArgumentError(`expect= marks a query's neighbours; give a query image, or leave expect out`);
  return { queries, k, encoders, dataset, includeSelf, ...(expect ? { expect } : {}) };
}
