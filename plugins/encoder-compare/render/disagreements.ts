// "Where they disagree": for a pair of encoders, the queries whose first same-group result they
// rank furthest apart, each as one row — the query, then each encoder's top results (montage
// plus a list that says in words which results share the query's group). Pure, no blank lines.
import { escapeHtml } from "./escape.ts";
import type { WrittenImage } from "./montage.ts";
import { responsiveImg } from "./table.ts";

export interface DisagreementColumn {
  encoderId: string;
  encoderLabel: string;
  firstRelevantRank: number;
  montage?: WrittenImage;
  results: Array<{ rank: number; caption: string; relevant: boolean }>;
}

export interface DisagreementRow {
  queryId: string;
  queryCaption: string;
  group: string;
  queryImage: WrittenImage;
  columns: [DisagreementColumn, DisagreementColumn];
}

export interface DisagreementsInput {
  pair: [{ id: string; label: string }, { id: string; label: string }];
  datasetName: string;
  /** Results shown per encoder. */
  shown: number;
  urlBase: string;
  rows: DisagreementRow[];
  /** Shown instead of the table when there are no rows (e.g. both encoders ran the same model). */
  emptyText?: string;
}


export function renderDisagreements(input: DisagreementsInput): string {
  const [a, b] = input.pair;
  const title = `Where ${a.id} and ${b.id} disagree most on ${input.datasetName}`;
  if (input.rows.length === 0) {
    return `<p class="encoder-eval-disagreements-none">${escapeHtml(`${title}: ${input.emptyText ?? "they rank the first same-group result of every query alike."}`)}</p>`;
  }
  const lines: string[] = [];
  lines.push(`<table class="encoder-eval-disagreements" data-encoders="${escapeHtml(`${a.id},${b.id}`)}">`);
  lines.push(
    `<caption>${escapeHtml(title)} <span class="ec-scope">${escapeHtml(
      `queries whose first result from the same group ranks furthest apart; top ${input.shown} results of each, the query itself left out`,
    )}</span></caption>`,
  );
  lines.push(`<thead><tr><th scope="col">Query</th><th scope="col">${escapeHtml(a.label)}</th><th scope="col">${escapeHtml(b.label)}</th></tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of input.rows) {
    lines.push(`<tr data-query="${escapeHtml(row.queryId)}">`);
    lines.push(
      `<td class="ec-query">${responsiveImg(input.urlBase, row.queryImage, `Query ${row.queryCaption}`, "ec-query-image")}` +
        `<p><span class="ec-caption">${escapeHtml(row.queryCaption)}</span> <span class="ec-group">group ${escapeHtml(row.group)}</span></p></td>`,
    );
    for (const column of row.columns) {
      lines.push(`<td class="ec-results">`);
      lines.push(`<p class="ec-first-relevant">First same-group result under ${escapeHtml(column.encoderId)}: #${column.firstRelevantRank}</p>`);
      if (column.montage) {
        const alt = `Top ${column.results.length} results by ${column.encoderLabel}: ${column.results.map((r) => `${r.rank}. ${r.caption}${r.relevant ? " (same group)" : ""}`).join("; ")}`;
        lines.push(`<div class="ec-montage">${responsiveImg(input.urlBase, column.montage, alt, "ec-montage-image")}</div>`);
      }
      lines.push(`<ol class="ec-hits">`);
      for (const r of column.results) {
        const mark = r.relevant ? ` <span class="ec-relevant">same group</span>` : "";
        lines.push(`<li><span class="ec-caption">${escapeHtml(r.caption)}</span>${mark}</li>`);
      }
      lines.push(`</ol>`);
      lines.push(`</td>`);
    }
    lines.push(`</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  return lines.join("\n");
}
