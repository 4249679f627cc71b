// Turns what Nunjucks passes to `encoderCompare` (positional query paths, then a keyword
// object marked __keywords) into a validated request, or one error saying what is wrong.
import { defaultDatasetName } from "../dataset/embeddings-option.ts";
import type { PluginOptions } from "../engine/options.ts";

export interface CompareRequest {
  queries: string[];
  k: number;
  encoders: string[];
  dataset: string;
  includeSelf: boolean;
  /** A dataset id whose rank under each encoder is shown for every query. */
  rankOf?: string;
  /** Dataset groups a result must be in to be marked a match (else the query's own group, when it is a dataset member). */
  expect?: string[];
  /** "tables": one table per encoder (default); "versus": one table per query, one column per encoder. */
  layout: "tables" | "versus";
  /** Add the "Try your own image" control under the tables (absent = no). */
  tryIt?: true;
}

/** What every shortcode's keywords fall back to (the plugin's options) and the encoders it may name. */
export interface KeywordDefaults {
  k: number;
  maxK: number;
  encoders: readonly string[];
  dataset: string;
  includeSelf: boolean;
  knownEncoders: readonly string[];
}

/** What a shortcode's keywords fall back to: the plugin's options, and the encoders it knows. */
export function keywordDefaults({ options, registry }: {
  options: Pick<PluginOptions, "k" | "maxK" | "encoders" | "dataset" | "includeSelf">;
  registry: { ids(): string[] };
}): KeywordDefaults {
  return {
    k: options.k,
    maxK: options.maxK,
    encoders: options.encoders,
    dataset: defaultDatasetName(options.dataset),
    includeSelf: options.includeSelf,
    knownEncoders: registry.ids(),
  };
}

export interface RequestDefaults extends KeywordDefaults {
  tryIt?: boolean;
}

const KEYWORDS = ["k", "encoders", "dataset", "includeSelf", "rankOf", "expect", "layout", "tryIt"] as const;
export const LAYOUTS = ["tables", "versus"] as const;

export class ShortcodeArgumentError extends Error {}

/**
 * A keyword given with a value Nunjucks could not read: it takes a bare word (clipp) or a
 * malformed number (1e9, 5x) for a variable name, and an unset variable is undefined.
 */
export class UnreadableKeywordError extends ShortcodeArgumentError {
  /** `none`: the value was Nunjucks' none/null literal, which would silently mean "the default". */
  constructor(readonly keyword: string, none = false) {
    super(
      none
        ? `${keyword}= is none (null); give it a value, or leave the keyword out to use the default`
        : `${keyword}= has a value Nunjucks could not read (a bare word, or a number such as 1e9 or 5x, is taken for an unset variable); ` +
            `quote text ("…") and write whole numbers as digits`,
    );
  }
}

/**
 * A name or id as written, for messages: quoted, with every character outside printable ASCII as
 * a \u escape, so a lookalike ("pix\u0435ls" with a Cyrillic e, a full-width "\uff4b") is told apart
 * from the name it imitates.
 */
export function shownName(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function isKeywordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && (value as { __keywords?: unknown }).__keywords === true;
}

/**
 * Splits a shortcode's arguments into positional ones and the keyword object Nunjucks passes
 * last (marked __keywords). A keyword that is present but undefined is an UnreadableKeywordError.
 */
export function splitShortcodeArgs(args: readonly unknown[]): { positional: unknown[]; keywords: Record<string, unknown> } {
  const last = args[args.length - 1];
  if (!isKeywordObject(last)) return { positional: [...args], keywords: {} };
  const { __keywords: _, ...keywords } = last;
  for (const [key, value] of Object.entries(keywords)) if (value === undefined || value === null) throw new UnreadableKeywordError(key, value === null);
  return { positional: args.slice(0, -1), keywords };
}

/** The `encoders=` keyword (a list, or a comma-separated string), checked against the known ids. */
export function parseEncoderList(value: unknown, fallback: readonly string[], known: readonly string[]): string[] {
  let encoders = [...fallback];
  if (value !== undefined) {
    const raw = typeof value === "string" ? value.split(",") : value;
    if (!Array.isArray(raw) || raw.length === 0 || raw.some((e) => typeof e !== "string" || e.trim() === "")) {
      throw new ShortcodeArgumentError(`encoders must be a list of encoder ids such as ["pixels", "phash"], got ${JSON.stringify(value)}`);
    }
    encoders = raw.map((e: string) => e.trim());
  }
  for (const id of encoders) {
    if (!known.includes(id)) throw new ShortcodeArgumentError(`unknown encoder ${shownName(id)}; known encoders: ${known.join(", ")}`);
  }
  if (new Set(encoders).size !== encoders.length) throw new ShortcodeArgumentError(`encoders lists an encoder twice: ${encoders.join(", ")}`);
  return encoders;
}

/**
 * `pageDefaults` is the post's front matter `encoderCompare:` object (same keys as the
 * keywords); the shortcode's own keywords win over it.
 */
export function parseCompareArgs(args: readonly unknown[], defaults: RequestDefaults, pageDefaults?: unknown): CompareRequest {
  const given = splitShortcodeArgs(args);
  if (pageDefaults !== undefined && (typeof pageDefaults !== "object" || pageDefaults === null || Array.isArray(pageDefaults))) {
    throw new ShortcodeArgumentError(`front matter "encoderCompare" must be an object of defaults such as { k: 5 }, got ${JSON.stringify(pageDefaults)}`);
  }
  for (const key of Object.keys(pageDefaults ?? {})) {
    if (!(KEYWORDS as readonly string[]).includes(key)) {
      throw new ShortcodeArgumentError(`front matter "encoderCompare" has unknown key ${shownName(key)}; known keys: ${KEYWORDS.join(", ")}`);
    }
  }
  const keywords = { ...(pageDefaults as Record<string, unknown> | undefined), ...given.keywords };
  const positional = given.positional;

  const queries = parseQueryPaths(positional);
  if (queries.length === 0) throw new ShortcodeArgumentError(`give at least one query image, e.g. <% encoderCompare "inputs/doge.png" %>`);

  for (const key of Object.keys(keywords)) {
    if (!(KEYWORDS as readonly string[]).includes(key)) {
      throw new ShortcodeArgumentError(`unknown keyword ${shownName(key)}; known keywords: ${KEYWORDS.join(", ")}`);
    }
  }

  const k = parseK(keywords.k, defaults);
  const encoders = parseEncoderList(keywords.encoders, defaults.encoders, defaults.knownEncoders);
  const dataset = parseDatasetName(keywords.dataset, defaults.dataset);

  const includeSelf = parseIncludeSelf(keywords.includeSelf, defaults.includeSelf);

  let rankOf: string | undefined;
  if (keywords.rankOf !== undefined) {
    if (typeof keywords.rankOf !== "string" || keywords.rankOf.trim() === "") {
      throw new ShortcodeArgumentError(`rankOf must be a dataset image id such as "dog-face--twitter", got ${JSON.stringify(keywords.rankOf)}`);
    }
    // Dataset ids and groups are kept in Unicode NFC (dataset/dataset-text.ts); a post's spelling is compared in it too.
    rankOf = keywords.rankOf.trim().normalize("NFC");
  }

  const expect = parseExpect(keywords.expect);

  const layout = keywords.layout ?? "tables";
  if (typeof layout !== "string" || !(LAYOUTS as readonly string[]).includes(layout)) {
    throw new ShortcodeArgumentError(`layout must be one of ${LAYOUTS.map((l) => `"${l}"`).join(", ")}, got ${JSON.stringify(keywords.layout)}`);
  }

  const tryIt = keywords.tryIt ?? defaults.tryIt ?? false;
  if (typeof tryIt !== "boolean") throw new ShortcodeArgumentError(`tryIt must be true or false, got ${JSON.stringify(keywords.tryIt)}`);

  return {
    queries,
    k,
    encoders,
    dataset,
    includeSelf,
    layout: layout as CompareRequest["layout"],
    ...(rankOf === undefined ? {} : { rankOf }),
    ...(expect === undefined ? {} : { expect }),
    ...(tryIt ? { tryIt } : {}),
  };
}

/** Positional query image paths (a string or a list each), in order. */
export function parseQueryPaths(positional: readonly unknown[]): string[] {
  const queries: string[] = [];
  for (const arg of positional) {
    for (const item of Array.isArray(arg) ? arg : [arg]) {
      if (typeof item !== "string" || item.trim() === "") {
        throw new ShortcodeArgumentError(`query images must be non-empty path strings, got ${JSON.stringify(item) ?? String(item)}`);
      }
      queries.push(item);
    }
  }
  return queries;
}

/** The `includeSelf` keyword: true or false; absent, the default. */
export function parseIncludeSelf(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ShortcodeArgumentError(`includeSelf must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * The `expect` keyword: one group, a comma-separated string or a list, each once; absent, undefined. Dataset groups
 * are kept in Unicode NFC (dataset/dataset-text.ts), so a post's spelling is compared in it too.
 */
export function parseExpect(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const raw = typeof value === "string" ? value.split(",") : value;
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((g) => typeof g !== "string" || g.trim() === "")) {
    throw new ShortcodeArgumentError(`expect must be a dataset group such as "dog-face" or a list of groups, got ${JSON.stringify(value)}`);
  }
  return [...new Set(raw.map((g: string) => g.trim().normalize("NFC")))];
}

/** A whole-number keyword from `min` to `max` (a digit string is read as one). */
export function parseWholeNumber(name: string, value: unknown, min: number, max: number): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    throw new ShortcodeArgumentError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** The `k` keyword: a whole number from 1 to maxK; absent, the default. */
export function parseK(value: unknown, defaults: { k: number; maxK: number }): number {
  return value === undefined ? defaults.k : parseWholeNumber("k", value, 1, defaults.maxK);
}

/** The `dataset` keyword: a folder path or the name of a configured dataset; absent, the default. */
export function parseDatasetName(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value.trim() === "") {
    throw new ShortcodeArgumentError(`dataset must be a folder path, got ${JSON.stringify(value)}`);
  }
  return value;
}
