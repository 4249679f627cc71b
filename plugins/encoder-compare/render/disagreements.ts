// "Where they disagree": for a pair of encoders, the queries whose first same-group result they
// rank furthest apart, each as one row — the query, then each encoder's top results (montage
// plus a list that says in words which results share the query's group). Pure, no blank lines.
import { describeRun, type EncoderRun } from "./encoder-run.ts";
import { escapeHtml } from "./escape.ts";
import type { WrittenImage } from "../render/result-images.ts";
import { groupLabel, tallySentence } from "./relevance.ts";
import { hitItem, responsiveImg, type TableHit } from "./table.ts";

export interface DisagreementColumn {
  encoderId: string;
  firstRelevantRank: number;
  montage?: WrittenImage;
  results: TableHit[];
}

export interface DisagreementRow {
  queryId: string;
  queryCaption: string;
  group: string;
  queryImage: WrittenImage;
  /** File name (under urlBase) of the full-size query image. */
  queryFullImage?: string;
  columns: [DisagreementColumn, DisagreementColumn];
}

export interface DisagreementsInput {
  /** The two encoders as they ran (a stand-in is named and marked). */
  pair: [EncoderRun & { requestedId: string }, EncoderRun & { requestedId: string }];
  datasetName: string;
  /** Results shown per encoder. */
  shown: number;
  urlBase: string;
  rows: DisagreementRow[];
  /** Shown instead of the table when there are no rows (e.g. both encoders ran the same model). */
  emptyText?: string;
}


export function renderDisagreements(input: DisagreementsInput): string {
  const [a, b] = input.pair.map((run) => describeRun(run));
  // Labels, as in every table; the column headers carry the stand-in marks. Two runs of one model are told apart by their marks.
  const [nameA, nameB] = a.label === b.label ? [a.name, b.name] : [a.label, b.label];
  const title = `Where ${nameA} and ${nameB} disagree most on ${input.datasetName}`;
  if (input.rows.length === 0) {
    const text = `${title}: ${input.emptyText ?? "they rank the first same-group result of every query alike."}`;
    return `<p class="encoder-eval-disagreements-none">${escapeHtml(text)}</p>`;
  }
  const lines: string[] = [];
  lines.push(`<table class="encoder-eval-disagreements" data-encoders="${escapeHtml(`${input.pair[0].requestedId},${input.pair[1].requestedId}`)}">`);
  lines.push(
    `<caption>${escapeHtml(title)} <span class="ec-scope">${escapeHtml(
      `queries whose first result from the same group ranks furthest apart; top ${input.shown} results of each, the query itself left out`,
    )}</span></caption>`,
  );
  lines.push(`<thead><tr><th scope="col">Query</th><th scope="col">${a.html}</th><th scope="col">${b.html}</th></tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of input.rows) {
    lines.push(`<tr data-query="${escapeHtml(row.queryId)}">`);
    const query = responsiveImg(input.urlBase, row.queryImage, row.queryCaption, "ec-query-image");
    lines.push(
      `<td class="ec-query">${row.queryFullImage ? `<a href="${escapeHtml(input.urlBase + row.queryFullImage)}">${query}</a>` : query}` +
        `<p><span class="ec-caption">${escapeHtml(row.queryCaption)}</span> ${groupLabel(row.group)}</p></td>`,
    );
    const relevance = { groups: [row.group] };
    for (const [side, column] of row.columns.entries()) {
      const display = [a, b][side];
      lines.push(`<td class="ec-results">`);
      lines.push(`<p class="ec-first-relevant">First ${escapeHtml(row.group)} result under ${escapeHtml(display.label)}: #${column.firstRelevantRank}</p>`);
      if (column.montage) {
        const alt = `Top ${column.results.length} results by ${display.name}, side by side in the order of the list below`;
        lines.push(`<div class="ec-montage">${responsiveImg(input.urlBase, column.montage, alt, "ec-montage-image")}</div>`);
      }
      lines.push(`<ol class="ec-hits">`);
      for (const r of column.results) lines.push(hitItem(input.urlBase, r, relevance));
      lines.push(`</ol>`);
      lines.push(`<p class="ec-tally">${escapeHtml(tallySentence(column.results, relevance))}</p>`);
      lines.push(`</td>`);
    }
    lines.push(`</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  return lines.join("\n");
}
