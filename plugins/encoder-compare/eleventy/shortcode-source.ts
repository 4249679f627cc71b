// Nunjucks hands a shortcode values, not the text that was written: a keyword it could not read
// arrives as undefined. This recovers the written text from the page's source for the message.
import path from "node:path";
import { readCheckedSync, realRoots } from "../dataset/safe-read.ts";
import { UnreadableKeywordError } from "./shortcode-args.ts";

const MAX_PAGE_BYTES = 16 * 1024 ** 2;

/** The text after `keyword=` up to the next top-level comma (quotes and brackets respected). */
function valueText(body: string, start: number): string {
  let depth = 0;
  let quote: string | undefined;
  let i = start;
  for (; i < body.length; i++) {
    const c = body[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "(" || c === "{") depth++;
    else if (c === "]" || c === ")" || c === "}") depth--;
    else if (c === "," && depth <= 0) break;
  }
  return body.slice(start, i).trim();
}

/** How `keyword=` was written in the page's `shortcode` tags (distinct texts, in page order). */
export function writtenKeywordValues(source: string, shortcode: string, keyword: string): string[] {
  const found: string[] = [];
  const tags = new RegExp(`(?:<%|\\{%)-?\\s*${shortcode}\\b([\\s\\S]*?)-?(?:%>|%\\})`, "g");
  for (const [, body] of source.matchAll(tags)) {
    const assignment = new RegExp(`(?:^|[\\s,])${keyword}\\s*=(?!=)`, "g");
    for (const match of body.matchAll(assignment)) {
      const text = `${keyword}=${valueText(body, match.index + match[0].length)}`;
      if (!found.includes(text)) found.push(text);
    }
  }
  return found;
}

/** The error's message, with the written text of an unreadable keyword when the page shows it. */
export function describeArgumentError(error: Error, inputPath: string | undefined, shortcode: string, projectRoot: string): string {
  if (!(error instanceof UnreadableKeywordError) || !inputPath) return error.message;
  let written: string[];
  try {
    const file = path.resolve(projectRoot, inputPath);
    const source = readCheckedSync(file, { roots: realRoots(projectRoot), maxBytes: MAX_PAGE_BYTES }).toString("utf8");
    written = writtenKeywordValues(source, shortcode, error.keyword);
  } catch {
    return error.message;
  }
  // Quoted strings and plain numbers were read; the others are the culprits.
  const suspects = written.filter((text) => !/=\s*("[^"]*"|'[^']*'|\d+|true|false)$/.test(text));
  const shown = (suspects.length ? suspects : written).slice(0, 3);
  return shown.length ? `${error.message}; written as ${shown.map((t) => JSON.stringify(t)).join(", ")}` : error.message;
}
