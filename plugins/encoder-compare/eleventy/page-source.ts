// A page's source as its author wrote it, for what Nunjucks does not hand a shortcode: the tags themselves (a keyword
// written twice, the text of a value it could not read) and, before anything renders, which encoders a page asks for.
// One reader and one tag pattern for both: the source is read through the checked reader (a regular file inside the
// project after links, at most DEFAULTS.pages.maxSourceBytes: a page is text an author writes), and SHORTCODE_TAG
// finds a tag of every shortcode the plugin registers.
import path from "node:path";
import { DEFAULTS } from "../base/defaults.ts";
import { readCheckedSync, realRoots, statChecked } from "../base/safe-read.ts";

/** Every shortcode plugin.ts registers (test/eleventy/page-source.test.ts holds the two lists together). */
export const SHORTCODE_NAMES = ["encoderCompare", "encoderScoreboard", "encoderEval", "encoderMap", "encoderName"] as const;
export type ShortcodeName = (typeof SHORTCODE_NAMES)[number];

/**
 * One tag of a plugin shortcode: `<% name … %>` (the block tags the plugin's pages use) or Nunjucks' own `{% name … %}`,
 * either with the `-` whitespace marks. Group 1 is the shortcode's name, group 2 the rest of the tag. Use it with
 * matchAll (it is global), or through shortcodeTags.
 */
export const SHORTCODE_TAG = new RegExp(`(?:<%|\\{%)-?\\s*(${SHORTCODE_NAMES.join("|")})\\b([\\s\\S]*?)-?(?:%>|%\\})`, "g");

/** A shortcode tag printed as text: markdown escapes a tag that no template engine ran. */
export const PRINTED_SHORTCODE_TAG = new RegExp(`&lt;%-?\\s*(?:${SHORTCODE_NAMES.join("|")})\\b`);

export interface ShortcodeTag {
  name: ShortcodeName;
  /** The tag's text after the name: its arguments and keywords as written. */
  body: string;
}

/** The page's shortcode tags in page order. */
export function shortcodeTags(source: string): ShortcodeTag[] {
  return [...source.matchAll(SHORTCODE_TAG)].map((match) => ({ name: match[1] as ShortcodeName, body: match[2] }));
}

/** Sources by absolute path, with the size and modification time they were read at (one read per page per change). */
const sources = new Map<string, { key: string; text: string }>();

/** The source of the page at `inputPath` (Eleventy's, relative to the project); throws FileRefusedError outside the project or over the cap. */
export function readPageSource(inputPath: string, projectRoot: string): string {
  const file = path.resolve(projectRoot, inputPath);
  const policy = { roots: realRoots(projectRoot), maxBytes: DEFAULTS.pages.maxSourceBytes };
  const { stat } = statChecked(file, policy);
  const key = `${stat.size}:${stat.mtimeMs}`;
  const cached = sources.get(file);
  if (cached?.key === key) return cached.text;
  const text = readCheckedSync(file, policy).toString("utf8");
  sources.set(file, { key, text });
  return text;
}
