// One encoder's comparison as an HTML table: "Query image | Top k results", one row per
// query, as in the original post. Pure: data in, string out, no blank lines (markdown-it
// would end the HTML block at one).
import { escapeHtml } from "./escape.ts";
import type { WrittenImage } from "./montage.ts";

export interface TableHit {
  rank: number;
  score: number;
  caption: string;
}

export interface TableRow {
  queryAlt: string;
  queryImage: WrittenImage;
  /** Absent when the search returned nothing. */
  montage?: WrittenImage;
  hits: TableHit[];
  selfExcluded: boolean;
}

export interface TableInput {
  encoderId: string;
  encoderLabel: string;
  /** Extra words after the label, e.g. why a stand-in ran. */
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

function img(urlBase: string, image: WrittenImage, alt: string, className: string): string {
  const src = escapeHtml(urlBase + image.name);
  const src2x = escapeHtml(urlBase + image.name2x);
  return (
    `<img class="${className}" src="${src}" srcset="${src} 1x, ${src2x} 2x" width="${image.width}" height="${image.height}" ` +
    `alt="${escapeHtml(alt)}" loading="lazy" decoding="async">`
  );
}

function resultsAlt(row: TableRow, encoderLabel: string): string {
  const list = row.hits.map((h) => `${h.rank}. ${h.caption}`).join("; ");
  return `Top ${row.hits.length} results for ${row.queryAlt} by ${encoderLabel}: ${list}`;
}

export function renderComparisonTable(input: TableInput): string {
  const lines: string[] = [];
  const note = input.note ? ` <span class="ec-note">${escapeHtml(input.note)}</span>` : "";
  lines.push(`<table class="encoder-compare" data-encoder="${escapeHtml(input.encoderId)}">`);
  lines.push(
    `<caption><span class="ec-encoder">${escapeHtml(input.encoderLabel)}</span>${note} ` +
      `<span class="ec-scope">top ${input.k} of ${input.datasetSize} images in ${escapeHtml(input.datasetName)}, by cosine similarity</span></caption>`,
  );
  lines.push(`<colgroup><col class="ec-col-query"><col class="ec-col-results"></colgroup>`);
  lines.push(`<thead><tr><th scope="col">Query image</th><th scope="col">Top ${input.k} results</th></tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of input.rows) {
    lines.push(`<tr>`);
    lines.push(`<td class="ec-query">${img(input.urlBase, row.queryImage, row.queryAlt, "ec-query-image")}</td>`);
    lines.push(`<td class="ec-results">`);
    if (row.montage) lines.push(img(input.urlBase, row.montage, resultsAlt(row, input.encoderLabel), "ec-montage"));
    if (row.hits.length === 0) {
      lines.push(`<p class="ec-empty">No results: the dataset has no other images.</p>`);
    } else {
      lines.push(`<ol class="ec-hits">`);
      for (const hit of row.hits) {
        lines.push(
          `<li><span class="ec-caption">${escapeHtml(hit.caption)}</span> <span class="ec-score">cosine <data value="${formatScore(hit.score)}">${formatScore(hit.score)}</data></span></li>`,
        );
      }
      lines.push(`</ol>`);
    }
    if (row.selfExcluded) lines.push(`<p class="ec-self">The query image is itself in the dataset; it is left out of its own results.</p>`);
    lines.push(`</td>`);
    lines.push(`</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  return lines.join("\n");
}
