// One encoder's comparison as an HTML table: "Query image | Top k results", one row per
// query, as in the original post. Pure: data in, string out, no blank lines (markdown-it
// would end the HTML block at one).
import { describeRun, type EncoderRun, type RunDisplay } from "./encoder-run.ts";
import { escapeHtml } from "./escape.ts";
import type { WrittenImage } from "../render/result-images.ts";
import { hitMark, tallySentence, type Relevance } from "./relevance.ts";

export interface TableHit {
  rank: number;
  score: number;
  caption: string;
  /** File name (under urlBase) of the full-size image the result links to. */
  fullImage?: string;
  /** The result's dataset group, when the dataset has groups. */
  group?: string;
}

export interface TableRow {
  queryAlt: string;
  queryImage: WrittenImage;
  /** File name (under urlBase) of the full-size query image the thumbnail links to. */
  queryFullImage?: string;
  /** Absent when the search returned nothing. */
  montage?: WrittenImage;
  hits: TableHit[];
  selfExcluded: boolean;
  /** Where a chosen dataset image ranks for this query (the shortcode's rankOf), as plain text. */
  rankOf?: string;
  /** The groups a result must be in to count as a match (the query's group, or `expect=`); absent: no marks. */
  expect?: readonly string[];
}

export interface TableInput {
  /** The encoder asked for (the table's data-encoder). */
  encoderId: string;
  encoderLabel: string;
  /** What ran, when known: a stand-in is named and marked from this (encoderLabel is then unused). */
  run?: EncoderRun;
  /** Extra words after the label. */
  note?: string;
  datasetName: string;
  datasetSize: number;
  k: number;
  /** URL of the folder the images were written to, ending in "/". */
  urlBase: string;
  rows: TableRow[];
}

export function formatScore(score: number): string {
  return score.toFixed(3);
}

/** A lazy-loaded <img> with its 1×/2× srcset, width and height. */
export function responsiveImg(urlBase: string, image: WrittenImage, alt: string, className: string): string {
  const src = escapeHtml(urlBase + image.name);
  const src2x = escapeHtml(urlBase + image.name2x);
  return (
    `<img class="${className}" src="${src}" srcset="${src} 1x, ${src2x} 2x" width="${image.width}" height="${image.height}" ` +
    `alt="${escapeHtml(alt)}" loading="lazy" decoding="async">`
  );
}

/** The html, wrapped in a link to the full-size image when there is one. */
function linkedToFull(urlBase: string, file: string | undefined, html: string): string {
  return file ? `<a href="${escapeHtml(urlBase + file)}">${html}</a>` : html;
}

export function hitCaption(urlBase: string, hit: TableHit): string {
  const text = escapeHtml(hit.caption);
  return hit.fullImage ? `<a class="ec-caption" href="${escapeHtml(urlBase + hit.fullImage)}">${text}</a>` : `<span class="ec-caption">${text}</span>`;
}

// The list below the montage names every result, so the image's alt only says what it shows.
function resultsAlt(row: TableRow, encoderName: string): string {
  return `Top ${row.hits.length} results for ${row.queryAlt} by ${encoderName}, side by side in the order of the list below`;
}

/** The display strings of the table's encoder: the run when given, else the plain label. */
export function tableEncoder(input: Pick<TableInput, "encoderId" | "encoderLabel" | "run">): RunDisplay {
  return describeRun(input.run ?? { ran: { id: input.encoderId, label: input.encoderLabel }, standingInFor: [] });
}

/** The caption's encoder part: what ran, its stand-in mark, and the plain reason (details in the title). */
export function encoderCaption(display: RunDisplay): string {
  return display.reason ? `${display.html} <span class="ec-reason">(${escapeHtml(display.reason)})</span>` : display.html;
}

/** One listed result: relevance mark, caption link, group label, score. */
export function hitItem(urlBase: string, hit: TableHit, relevance: Relevance | undefined): string {
  const mark = relevance ? hitMark(hit.group, relevance) : "";
  const matchClass = relevance ? ` class="${hit.group !== undefined && relevance.groups.includes(hit.group) ? "ec-match" : "ec-miss"}"` : "";
  return `<li${matchClass}>${mark}${hitCaption(urlBase, hit)} ` +
    `<span class="ec-score">cosine <data value="${formatScore(hit.score)}">${formatScore(hit.score)}</data></span></li>`;
}

// Invisible links laid over the montage's tiles, so a click on a tile opens that result. They
// are for pointers only: the list carries the same links for keyboards and screen readers.
// Tiles are evenly spaced with gaps only between them, so the links share the width the same way.
function tileLinks(urlBase: string, row: TableRow, montage: WrittenImage): string {
  if (!row.hits.every((h) => h.fullImage)) return "";
  const tileShare = ((100 * montage.height) / montage.width).toFixed(3);
  const links = row.hits.map(
    (h) => `<a href="${escapeHtml(urlBase + h.fullImage)}" tabindex="-1" title="${h.rank}. ${escapeHtml(h.caption)} (cosine ${formatScore(h.score)})"></a>`,
  );
  return `<div class="ec-tiles" style="--ec-tile-share:${tileShare}%" aria-hidden="true">${links.join("")}</div>`;
}

export function renderComparisonTable(input: TableInput): string {
  const lines: string[] = [];
  const note = input.note ? ` <span class="ec-note">${escapeHtml(input.note)}</span>` : "";
  const encoder = tableEncoder(input);
  const ran = encoder.id !== input.encoderId ? ` data-ran="${escapeHtml(encoder.id)}"` : "";
  lines.push(`<table class="encoder-compare" data-encoder="${escapeHtml(input.encoderId)}"${ran}>`);
  lines.push(
    `<caption>${encoderCaption(encoder)}${note} ` +
      `<span class="ec-scope">top ${input.k} of ${input.datasetSize} images in ${escapeHtml(input.datasetName)}, by cosine similarity</span></caption>`,
  );
  lines.push(`<colgroup><col class="ec-col-query"><col class="ec-col-results"></colgroup>`);
  lines.push(`<thead><tr><th scope="col">Query image</th><th scope="col">Top ${input.k} results</th></tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of input.rows) {
    lines.push(`<tr>`);
    const queryImg = responsiveImg(input.urlBase, row.queryImage, row.queryAlt, "ec-query-image");
    lines.push(`<td class="ec-query">${linkedToFull(input.urlBase, row.queryFullImage, queryImg)}</td>`);
    lines.push(`<td class="ec-results">`);
    if (row.montage) {
      lines.push(`<div class="ec-montage">`);
      lines.push(responsiveImg(input.urlBase, row.montage, resultsAlt(row, encoder.name), "ec-montage-image") + tileLinks(input.urlBase, row, row.montage));
      lines.push(`</div>`);
    }
    if (row.hits.length === 0) {
      lines.push(`<p class="ec-empty">No results: the dataset has no other images.</p>`);
    } else {
      const relevance = row.expect?.length ? { groups: row.expect } : undefined;
      lines.push(`<ol class="ec-hits">`);
      for (const hit of row.hits) lines.push(hitItem(input.urlBase, hit, relevance));
      lines.push(`</ol>`);
      if (relevance) lines.push(`<p class="ec-tally">${escapeHtml(tallySentence(row.hits, relevance))}</p>`);
    }
    if (row.rankOf) lines.push(`<p class="ec-rank-of">${escapeHtml(row.rankOf)}</p>`);
    if (row.selfExcluded) lines.push(`<p class="ec-self">The query image is itself in the dataset; it is left out of its own results.</p>`);
    lines.push(`</td>`);
    lines.push(`</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  return lines.join("\n");
}

/** What a failing shortcode renders while previewing, so the author sees the error in place. */
export function renderErrorBox(message: string): string {
  return `<div class="ec-error" role="alert"><strong>Shortcode failed:</strong> ${escapeHtml(message)}</div>`;
}
