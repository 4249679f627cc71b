// layout="versus": one table per query, one column per encoder and one row per rank, so the
// encoders' answers to the same query sit side by side. Pure, no blank lines.
import type { EncoderRun } from "./encoder-run.ts";
import { escapeHtml } from "./escape.ts";
import type { WrittenImage } from "../render/result-images.ts";
import { tallySentence } from "./relevance.ts";
import { encoderCaption, hitItem, responsiveImg, tableEncoder, type TableHit } from "./table.ts";

export interface VersusColumn {
  encoderId: string;
  run: EncoderRun;
  hits: TableHit[];
  /** One thumbnail per hit, in hit order. */
  images: WrittenImage[];
  selfExcluded: boolean;
  rankOf?: string;
}

export interface VersusInput {
  queryAlt: string;
  queryImage: WrittenImage;
  queryFullImage?: string;
  expect?: readonly string[];
  k: number;
  datasetName: string;
  datasetSize: number;
  urlBase: string;
  columns: VersusColumn[];
}

export function renderVersusTable(input: VersusInput): string {
  const relevance = input.expect?.length ? { groups: input.expect } : undefined;
  const encoders = input.columns.map((c) => tableEncoder({ encoderId: c.encoderId, encoderLabel: c.run.ran.label, run: c.run }));
  const query = responsiveImg(input.urlBase, input.queryImage, input.queryAlt, "ec-query-image");
  const lines: string[] = [];
  lines.push(`<table class="encoder-compare-versus" data-encoders="${escapeHtml(input.columns.map((c) => c.encoderId).join(","))}">`);
  lines.push(
    `<caption><span class="ec-versus-query">` +
      `${input.queryFullImage ? `<a href="${escapeHtml(input.urlBase + input.queryFullImage)}">${query}</a>` : query}</span>` +
      `<span class="ec-title">${escapeHtml(input.queryAlt)}</span> ` +
      `<span class="ec-scope">top ${input.k} of ${input.datasetSize} images in ${escapeHtml(input.datasetName)} per encoder, ` +
      `by cosine similarity</span></caption>`,
  );
  lines.push(`<thead><tr><th scope="col" class="ec-rank">Rank</th>${encoders.map((d) => `<th scope="col">${encoderCaption(d)}</th>`).join("")}</tr></thead>`);
  lines.push(`<tbody>`);
  const rows = Math.max(0, ...input.columns.map((c) => c.hits.length));
  for (let r = 0; r < rows; r++) {
    const cells = input.columns.map((c) => {
      const hit = c.hits[r];
      if (!hit) return `<td></td>`;
      const image = responsiveImg(input.urlBase, c.images[r], "", "ec-hit-image");
      return `<td><ul class="ec-hits ec-versus-hit">${hitItem(input.urlBase, hit, relevance).replace(/^<li([^>]*)>/, `<li$1>${image}`)}</ul></td>`;
    });
    lines.push(`<tr><th scope="row" class="ec-rank">${r + 1}</th>${cells.join("")}</tr>`);
  }
  lines.push(`</tbody>`);
  const notes = input.columns.map((c) => {
    const parts = [
      relevance ? tallySentence(c.hits, relevance) : "",
      c.rankOf ?? "",
      c.selfExcluded ? "the query is in the dataset and left out of its own results" : "",
    ].filter(Boolean);
    return `<td>${parts.map((p) => `<p class="ec-tally">${escapeHtml(p)}</p>`).join("")}</td>`;
  });
  if (notes.some((n) => n.includes("ec-tally"))) lines.push(`<tfoot><tr><th scope="row" class="ec-rank">Total</th>${notes.join("")}</tr></tfoot>`);
  lines.push(`</table>`);
  return lines.join("\n");
}
