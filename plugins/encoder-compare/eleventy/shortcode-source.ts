// Nunjucks hands a shortcode values, not the text that was written: a keyword it could not read
// arrives as undefined, and a keyword written twice arrives once. This reads the written text from
// the page's source (page-source.ts) for the check and the message.
import { readPageSource, shortcodeTags, type ShortcodeName } from "./page-source.ts";
import { ShortcodeArgumentError, shownName, UnreadableKeywordError } from "./shortcode-args.ts";

/** Positions of `body` from `start` that are outside quotes and are not brackets, with the bracket depth there. */
function* unquoted(body: string, start = 0): Generator<{ i: number; depth: number }> {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < body.length; i++) {
    const c = body[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "(" || c === "{") depth++;
    else if (c === "]" || c === ")" || c === "}") depth--;
    else yield { i, depth };
  }
}

/** The text after `keyword=` up to the next top-level comma (quotes and brackets respected). */
function valueText(body: string, start: number): string {
  for (const { i, depth } of unquoted(body, start)) if (body[i] === "," && depth <= 0) return body.slice(start, i).trim();
  return body.slice(start).trim();
}

/** The tag bodies of every `shortcode` tag in the page source. */
function tagBodies(source: string, shortcode: ShortcodeName): string[] {
  return shortcodeTags(source).flatMap((tag) => (tag.name === shortcode ? [tag.body] : []));
}

/** Keywords assigned at the top level of a tag body (not inside quotes or brackets), in order, with their written text. */
function topLevelAssignments(body: string): Array<{ keyword: string; text: string }> {
  const found: Array<{ keyword: string; text: string }> = [];
  const assignment = /([^\s=,"'()[\]{}<>!]+)\s*=(?!=)/y;
  for (const { i, depth } of unquoted(body)) {
    if (depth > 0 || (i > 0 && !/[\s,]/.test(body[i - 1]))) continue;
    assignment.lastIndex = i;
    const match = assignment.exec(body);
    if (match) found.push({ keyword: match[1], text: `${match[1]}=${valueText(body, i + match[0].length)}` });
  }
  return found;
}

/**
 * Nunjucks keeps only the last of a keyword given twice in one tag (`k=1, k=3` is k=3), so the
 * first is lost without a word. Throws a ShortcodeArgumentError naming the keyword and both texts.
 */
export function assertNoRepeatedKeywords(source: string, shortcode: ShortcodeName): void {
  for (const body of tagBodies(source, shortcode)) {
    const seen = new Map<string, string>();
    for (const { keyword, text } of topLevelAssignments(body)) {
      const earlier = seen.get(keyword);
      if (earlier !== undefined) {
        throw new ShortcodeArgumentError(
          `keyword ${shownName(keyword)} is given twice in one tag (${JSON.stringify(earlier)}, then ${JSON.stringify(text)}); ` +
            `Nunjucks would keep only the last: give it once`,
        );
      }
      seen.set(keyword, text);
    }
  }
}

/** The repeated-keyword check for a page, when its source can be read (a page that cannot be read has nothing to check). */
export function checkPageKeywords(inputPath: string | undefined, shortcode: ShortcodeName, projectRoot: string): void {
  if (!inputPath) return;
  let source: string;
  try {
    source = readPageSource(inputPath, projectRoot);
  } catch {
    return;
  }
  assertNoRepeatedKeywords(source, shortcode);
}

/** How `keyword=` was written in the page's `shortcode` tags (distinct texts, in page order). */
export function writtenKeywordValues(source: string, shortcode: ShortcodeName, keyword: string): string[] {
  const found: string[] = [];
  for (const body of tagBodies(source, shortcode)) {
    const assignment = new RegExp(`(?:^|[\\s,])${keyword}\\s*=(?!=)`, "g");
    for (const match of body.matchAll(assignment)) {
      const text = `${keyword}=${valueText(body, match.index + match[0].length)}`;
      if (!found.includes(text)) found.push(text);
    }
  }
  return found;
}

/** The error's message, with the written text of an unreadable keyword when the page shows it. */
export function describeArgumentError(error: Error, inputPath: string | undefined, shortcode: ShortcodeName, projectRoot: string): string {
  if (!(error instanceof UnreadableKeywordError) || !inputPath) return error.message;
  let written: string[];
  try {
    const source = readPageSource(inputPath, projectRoot);
    written = writtenKeywordValues(source, shortcode, error.keyword);
  } catch {
    return error.message;
  }
  // Quoted strings and plain numbers were read; the others are the culprits.
  const suspects = written.filter((text) => !/=\s*("[^"]*"|'[^']*'|\d+|true|false)$/.test(text));
  const shown = (suspects.length ? suspects : written).slice(0, 3);
  return shown.length ? `${error.message}; written as ${shown.map((t) => JSON.stringify(t)).join(", ")}` : error.message;
}
