// Side-by-side maps of encoders' spaces as static SVG: one panel per encoder, every dataset image a point coloured
// by group, the queries placed among their neighbours and joined to their top k (marked ✓/✗ as in the tables), the
// faithfulness figure, a legend and a text summary per panel. Pure: data in, string out, no blank lines.
import { describeRun, type EncoderRun } from "./encoder-run.ts";
import { escapeHtml } from "./escape.ts";
import { groupsInWords, hitMark, isMatch, tallySentence } from "./relevance.ts";
import { encoderCaption, formatScore } from "./table.ts";

/** Groups drawn in a colour of their own (the largest); the rest share "other groups". */
export const MAP_COLOURS = ["#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#b8860b", "#a6761d", "#17becf"] as const;
const OTHER_COLOUR = "#8c8c8c";
/** Up to this many images, a panel lists them all (every point reachable by keyboard and screen reader without JS). */
const LISTED_POINTS = 1000;

export interface MapPoint {
  x: number;
  y: number;
  caption: string;
  group?: string;
  /** File name (under urlBase) of the full-size image. */
  fullImage?: string;
}

export interface MapHit {
  rank: number;
  score: number;
  /** Index into the panel's points. */
  point: number;
}

export interface MapQuery {
  label: string;
  x: number;
  y: number;
  /** The table's top k, in rank order. */
  hits: MapHit[];
  /** Groups a hit must be in to count as a match; absent: no marks. */
  expect?: readonly string[];
  selfExcluded: boolean;
}

export interface GroupSummary {
  group: string;
  count: number;
  /** Members in the group's largest cluster on this map. */
  clustered: number;
}

export interface MapPanel {
  encoderId: string;
  run: EncoderRun;
  points: MapPoint[];
  queries: MapQuery[];
  faithfulness: { k: number; share: number; measuredOn: number; of: number; chance: number };
  /** Indexed images of the dataset (more than the points when a sample was laid out). */
  datasetSize: number;
  /** Set when a seeded sample was laid out: its seed. */
  sampleSeed?: number;
  groups: GroupSummary[];
}

export interface MapInput {
  datasetName: string;
  urlBase: string;
  /** Unique on the page: prefixes element ids. */
  idBase: string;
  seed: number;
  /** The map script's URL (hover and focus details); absent: none. */
  script?: string;
  panels: MapPanel[];
}

const percent = (share: number) => `${Math.round(share * 100)}%`;
const count = (n: number, word: string) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

/** The groups a panel's queries are about: those they expect, then those of their neighbours, in order of first mention. */
function queryGroups(panel: Pick<MapPanel, "points" | "queries">): string[] {
  const groups = panel.queries.flatMap((q) => [...(q.expect ?? []), ...q.hits.map((h) => panel.points[h.point].group)]);
  return [...new Set(groups.filter((g): g is string => g !== undefined))];
}

/**
 * Colour index of each group: the queries' groups first, then the largest groups (ties by name), while colours
 * last; -1 for the others.
 */
function groupColours(points: readonly MapPoint[], first: readonly string[] = []): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const p of points) if (p.group !== undefined) sizes.set(p.group, (sizes.get(p.group) ?? 0) + 1);
  const rank = (g: string) => (first.includes(g) ? first.indexOf(g) : first.length);
  const order = [...sizes].sort((a, b) => rank(a[0]) - rank(b[0]) || b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(order.map(([group], i) => [group, i < MAP_COLOURS.length ? i : -1]));
}

function colourOf(colours: Map<string, number>, group: string | undefined): string {
  const i = group === undefined ? -1 : (colours.get(group) ?? -1);
  return i < 0 ? OTHER_COLOUR : MAP_COLOURS[i];
}

function pointTitle(p: MapPoint): string {
  return p.group === undefined ? p.caption : `${p.caption} (group ${p.group})`;
}

// A point is a circle whose <title> names it (the browser's own tooltip, and the map script's text), in a link to
// its image. Colours are fill attributes, so the map keeps them without the stylesheet.
function pointLink(urlBase: string, p: MapPoint, inner: string, attributes: string): string {
  return p.fullImage ? `<a href="${escapeHtml(urlBase + p.fullImage)}"${attributes}>${inner}</a>` : `<g${attributes}>${inner}</g>`;
}

function faithfulnessText(f: MapPanel["faithfulness"]): string {
  const on = f.measuredOn === f.of ? `all ${count(f.of, "image")}` : `a seeded sample of ${f.measuredOn.toLocaleString("en-US")} of ${count(f.of, "image")}`;
  return (
    `Faithfulness: on average ${percent(f.share)} of an image's ${f.k} nearest neighbours in the encoder's space are among its ` +
    `${f.k} nearest on this map (measured on ${on}; a map unrelated to the space would score about ${percent(f.chance)}). ` +
    `Distances between clusters are not meaningful.`
  );
}

/** "dog-face: 14 images, 12 of them within one cluster". */
export function groupSentence(g: GroupSummary): string {
  if (g.count === 1) return `${g.group}: 1 image`;
  if (g.clustered === g.count) return `${g.group}: ${g.count} images, all ${g.count} within one cluster`;
  const where = g.clustered <= 1 ? "no two of them within one cluster" : `${g.clustered} of them within one cluster`;
  return `${g.group}: ${g.count} images, ${where}`;
}

function renderSvg(input: MapInput, panel: MapPanel, id: string, colours: Map<string, number>): string {
  const { urlBase } = input;
  const highlighted = new Set(panel.queries.flatMap((q) => q.hits.map((h) => h.point)));
  const parts: string[] = [];
  parts.push(`<svg class="ec-map-svg" viewBox="0 0 1000 1000" role="group" aria-labelledby="${id}-title" aria-describedby="${id}-summary">`);
  // Pointer-only links: the list under the map carries the same links for keyboards and screen readers.
  parts.push(`<g class="ec-map-points" aria-hidden="true">`);
  for (const [i, p] of panel.points.entries()) {
    if (highlighted.has(i)) continue;
    const dot = `<circle cx="${p.x}" cy="${p.y}" r="7" fill="${colourOf(colours, p.group)}"><title>${escapeHtml(pointTitle(p))}</title></circle>`;
    parts.push(pointLink(urlBase, p, dot, ` tabindex="-1"`));
  }
  parts.push(`</g>`);
  for (const [qi, q] of panel.queries.entries()) {
    const relevance = q.expect?.length ? { groups: q.expect } : undefined;
    parts.push(`<g class="ec-map-query" data-query="${qi}">`);
    for (const h of q.hits) {
      const p = panel.points[h.point];
      const miss = relevance && !isMatch(p.group, relevance);
      parts.push(`<line x1="${q.x}" y1="${q.y}" x2="${p.x}" y2="${p.y}" class="ec-map-link${miss ? " ec-map-miss" : ""}" aria-hidden="true"/>`);
    }
    for (const h of q.hits) {
      const p = panel.points[h.point];
      const mark = relevance ? (isMatch(p.group, relevance) ? "✓" : "✗") : "";
      const words = relevance ? (mark === "✓" ? "match: " : "not a match: ") : "";
      const label = `${q.label}, result ${h.rank}: ${words}${pointTitle(p)}, cosine ${formatScore(h.score)}`;
      const inner =
        `<circle cx="${p.x}" cy="${p.y}" r="13" class="ec-map-ring"/>` +
        `<circle cx="${p.x}" cy="${p.y}" r="8" fill="${colourOf(colours, p.group)}"><title>${escapeHtml(pointTitle(p))}</title></circle>` +
        (mark ? `<text x="${p.x + 15}" y="${p.y - 9}" class="ec-map-mark" aria-hidden="true">${mark}</text>` : "");
      parts.push(pointLink(urlBase, p, inner, ` class="ec-map-hit" aria-label="${escapeHtml(label)}"`));
    }
    const s = 16;
    parts.push(
      `<path d="M${q.x} ${q.y - s}L${q.x + s} ${q.y}L${q.x} ${q.y + s}L${q.x - s} ${q.y}Z" class="ec-map-query-mark" aria-hidden="true"/>`,
      `<text x="${q.x}" y="${q.y - s - 8}" text-anchor="middle" class="ec-map-query-label" aria-hidden="true">${escapeHtml(q.label)}</text>`,
    );
    parts.push(`</g>`);
  }
  parts.push(`</svg>`);
  return parts.join("");
}

function legendItem(cls: string, colour: string, html: string, n: number | undefined): string {
  return `<li><span class="ec-swatch ${cls}" style="background:${colour}"></span>${html} <span class="ec-count">${n ?? 0}</span></li>`;
}

function renderLegend(panel: MapPanel, colours: Map<string, number>): string {
  const items: string[] = [];
  const sizes = new Map<string, number>();
  for (const p of panel.points) if (p.group !== undefined) sizes.set(p.group, (sizes.get(p.group) ?? 0) + 1);
  let others = 0;
  for (const [group, i] of colours) {
    if (i < 0) {
      others += sizes.get(group) ?? 0;
      continue;
    }
    items[i] = legendItem(`ec-g${i}`, MAP_COLOURS[i], escapeHtml(group), sizes.get(group));
  }
  const ungrouped = panel.points.filter((p) => p.group === undefined).length;
  if (others > 0) items.push(legendItem("ec-gx", OTHER_COLOUR, "other groups", others));
  if (ungrouped > 0) items.push(legendItem("ec-gx", OTHER_COLOUR, "no group", ungrouped));
  if (panel.queries.length) items.push(`<li><span class="ec-swatch ec-query-swatch"></span>query image, joined to its top results</li>`);
  return `<ul class="ec-map-legend" aria-label="Legend">${items.join("")}</ul>`;
}

function renderQueryList(input: MapInput, panel: MapPanel): string {
  if (!panel.queries.length) return "";
  const rows = panel.queries.map((q) => {
    const relevance = q.expect?.length ? { groups: q.expect } : undefined;
    const hits = q.hits.map((h) => {
      const p = panel.points[h.point];
      const mark = relevance ? hitMark(p.group, relevance) : "";
      const caption = p.fullImage ? `<a href="${escapeHtml(input.urlBase + p.fullImage)}">${escapeHtml(p.caption)}</a>` : escapeHtml(p.caption);
      return `<li>${mark}${caption} <span class="ec-score">cosine ${formatScore(h.score)}</span></li>`;
    });
    const tally = relevance ? ` ${escapeHtml(tallySentence(q.hits.map((h) => ({ group: panel.points[h.point].group })), relevance))}.` : "";
    const self = q.selfExcluded ? " The query is itself in the dataset and is left out of its own results." : "";
    const expectWords = relevance ? ` (a match is ${escapeHtml(groupsInWords(relevance))})` : "";
    return `<li><span class="ec-map-query-name">${escapeHtml(q.label)}</span>${expectWords}:${tally}${self}<ol>${hits.join("")}</ol></li>`;
  });
  return `<ul class="ec-map-queries">${rows.join("")}</ul>`;
}

/** "Of 82 groups, 12 lie within one cluster each and 30 have no two images together." */
export function clusterOverview(groups: readonly GroupSummary[]): string {
  const many = groups.filter((g) => g.count > 1);
  if (many.length === 0) return "No group has two or more images on this map.";
  const whole = many.filter((g) => g.clustered === g.count).length;
  const apart = many.filter((g) => g.clustered <= 1).length;
  return `Of ${count(many.length, "group")} with two or more images, ${whole} lie within one cluster each and ${apart} have no two images together.`;
}

function renderPanel(input: MapInput, panel: MapPanel, index: number): string {
  const id = `${input.idBase}-${index}`;
  const display = describeRun(panel.run);
  // The queries' groups lead; then the groups the map keeps together best (largest share in one cluster).
  const share = (g: GroupSummary) => (g.count > 1 ? g.clustered / g.count : -1);
  const byCluster = [...panel.groups].sort((a, b) => share(b) - share(a) || b.count - a.count || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  const first = [...new Set([...queryGroups(panel), ...byCluster.map((g) => g.group)])];
  const colours = groupColours(panel.points, first);
  const ran = display.id !== panel.encoderId ? ` data-ran="${escapeHtml(display.id)}"` : "";
  const shown = panel.points.length;
  const scope =
    panel.sampleSeed === undefined
      ? `${count(shown, "image")} of ${escapeHtml(input.datasetName)}`
      : `a seeded sample of ${shown.toLocaleString("en-US")} of the ${count(panel.datasetSize, "image")} of ${escapeHtml(input.datasetName)} ` +
        `(seed ${panel.sampleSeed}), every query's neighbours included`;
  const lines: string[] = [];
  lines.push(`<figure class="ec-map" data-encoder="${escapeHtml(panel.encoderId)}"${ran}>`);
  lines.push(
    `<figcaption id="${id}-title"><span class="ec-map-encoder">${encoderCaption(display)}</span> ` +
      `<span class="ec-scope">map of ${scope}: UMAP of the cosine space, seed ${input.seed}</span></figcaption>`,
  );
  lines.push(`<div class="ec-map-canvas">${renderSvg(input, panel, id, colours)}<div class="ec-map-tip" hidden></div></div>`);
  lines.push(`<p class="ec-map-faith">${escapeHtml(faithfulnessText(panel.faithfulness))}</p>`);
  lines.push(renderLegend(panel, colours));
  lines.push(renderQueryList(input, panel));
  const rank = (g: GroupSummary) => (first.includes(g.group) ? first.indexOf(g.group) : first.length);
  const ordered = [...panel.groups].sort((a, b) => rank(a) - rank(b));
  const listed = ordered.slice(0, 12).map((g) => `<li>${escapeHtml(groupSentence(g))}</li>`);
  const more = panel.groups.length > 12 ? `<li>and ${panel.groups.length - 12} more groups</li>` : "";
  lines.push(
    `<div class="ec-map-summary" id="${id}-summary"><p>${escapeHtml(clusterOverview(panel.groups))}</p>` +
      `<details><summary>Where each group falls (a cluster: points linked by short hops)</summary><ul>${listed.join("")}${more}</ul></details></div>`,
  );
  if (shown <= LISTED_POINTS) {
    const items = panel.points.map((p) => {
      const text = escapeHtml(pointTitle(p));
      return `<li>${p.fullImage ? `<a href="${escapeHtml(input.urlBase + p.fullImage)}">${text}</a>` : text}</li>`;
    });
    lines.push(`<details class="ec-map-all"><summary>All ${count(shown, "image")} on this map</summary><ul>${items.join("")}</ul></details>`);
  }
  lines.push(`</figure>`);
  // No blank line: markdown-it would end the HTML block there.
  return lines.filter((line) => line !== "").join("\n");
}

export function renderEncoderMaps(input: MapInput): string {
  const panels = input.panels.map((panel, i) => renderPanel(input, panel, i));
  const script = input.script ? `\n<script type="module" src="${escapeHtml(input.script)}"></script>` : "";
  return `<div class="encoder-map" id="${input.idBase}">\n${panels.join("\n")}\n</div>${script}`;
}
