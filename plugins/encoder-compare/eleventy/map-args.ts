// Validates what Nunjucks passes to `encoderMap` (optional query paths, then keywords) into a map request.
import {
  parseDatasetName,
  parseEncoderList,
  parseExpect,
  parseIncludeSelf,
  parseK,
  parseQueryPaths,
  ShortcodeArgumentError,
  shownName,
  splitShortcodeArgs,
  type KeywordDefaults,
} from "./shortcode-args.ts";

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
  const queries = parseQueryPaths(positional);
  const k = parseK(keywords.k, defaults);
  const encoders = parseEncoderList(keywords.encoders, defaults.encoders, defaults.knownEncoders);
  const dataset = parseDatasetName(keywords.dataset, defaults.dataset);
  const includeSelf = parseIncludeSelf(keywords.includeSelf, defaults.includeSelf);
  const expect = parseExpect(keywords.expect);
  if (expect && queries.length === 0) throw new ShortcodeArgumentError(`expect= marks a query's neighbours; give a query image, or leave expect out`);
  return { queries, k, encoders, dataset, includeSelf, ...(expect ? { expect } : {}) };
}
