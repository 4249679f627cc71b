// Scans a built site for places where a stand-in's figures could be read as a real model's: every
// piece of visible text or accessible name (table rows and cells, list items, paragraphs,
// captions, SVG text, <title>/<desc>, details, alt/title/aria-label attributes, meta
// descriptions) that names a replaced model next to a figure must carry the stand-in mark, with
// the encoder that ran named first. Listings and meta descriptions that name a replaced model must
// carry the mark even without a figure.
import fs from "node:fs";
import path from "node:path";

export interface StandInScanOptions {
  /** Names of the models that did not run (labels, ids, short names): "CLIP ViT-B/32", "clip-vit-b32", "CLIP". */
  replaced: string[];
  /** Names of the encoders that ran in their place: "pixels", "phash". */
  ran: string[];
}

const UNIT_TAGS = ["tr", "th", "td", "li", "p", "caption", "figcaption", "text", "desc", "title", "summary", "details", "h1", "h2", "h3", "dt", "dd", "a"];
const ATTRIBUTES = ["alt", "title", "aria-label"];
/** A score or metric (0.123), a rank (#5) or a tally (2 of 3). */
const FIGURE = /(?:^|[^\w.])-?[01]\.\d{3}\b|#\d+\b|\b\d+ of \d+\b/;
const MARK = /stand-in|standing in/i;

function decode(text: string): string {
  return text
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#10;/g, "\n").replace(/&amp;/g, "&");
}

function textOf(html: string): string {
  return decode(html.replace(/<[^>]*>/g, " ")).replace(/\s+/g, " ").trim();
}

function firstIndex(text: string, names: readonly string[]): number {
  const found = names.map((n) => new RegExp(`(?<![\\w-])${n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?![\\w-])`).exec(text)?.index ?? -1).filter((i) => i >= 0);
  return found.length ? Math.min(...found) : -1;
}

/** Every text unit of one HTML document, with where it came from. */
export function textUnits(html: string): Array<{ where: string; text: string; listing: boolean }> {
  const units: Array<{ where: string; text: string; listing: boolean }> = [];
  for (const tag of UNIT_TAGS) {
    for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>([\\s\\S]*?)</${tag}>`, "g"))) {
      units.push({ where: `<${tag}${m[1].slice(0, 60)}>`, text: textOf(m[2]), listing: /post-card/.test(m[1]) });
    }
  }
  for (const attr of ATTRIBUTES) {
    for (const m of html.matchAll(new RegExp(`\\s${attr}="([^"]*)"`, "g"))) units.push({ where: `${attr}=`, text: decode(m[1]), listing: false });
  }
  for (const m of html.matchAll(/<meta name="description" content="([^"]*)"/g)) units.push({ where: "meta description", text: decode(m[1]), listing: true });
  return units;
}

/** The problems found in one document ("where: text"). */
export function scanHtml(html: string, options: StandInScanOptions): string[] {
  const problems: string[] = [];
  for (const unit of textUnits(html)) {
    const real = firstIndex(unit.text, options.replaced);
    if (real < 0) continue;
    const figure = FIGURE.test(unit.text);
    if (!figure && !unit.listing) continue;
    const ran = firstIndex(unit.text, options.ran);
    const marked = MARK.test(unit.text);
    if (!marked)
      problems.push(`${unit.where} names a replaced model ${figure ? "next to a figure " : ""}without the stand-in mark: ${unit.text.slice(0, 200)}`);
    else if (figure && !(ran >= 0 && ran < real))
      problems.push(`${unit.where} names the replaced model before the encoder that ran: ${unit.text.slice(0, 200)}`);
  }
  return problems;
}

/** Every .html and .svg file under a built site, scanned. */
export function scanSite(dir: string, options: StandInScanOptions): string[] {
  const problems: string[] = [];
  for (const file of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!/\.(html|svg)$/.test(file)) continue;
    for (const p of scanHtml(fs.readFileSync(path.join(dir, file), "utf8"), options)) problems.push(`${file}: ${p}`);
  }
  return problems;
}
