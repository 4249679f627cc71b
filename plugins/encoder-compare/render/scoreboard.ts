// The scoreboard: a build-time summary an author can put in prose. One row per encoder that ran,
// one column per query: matches in the top k and the rank of the first match over the whole
// dataset. Pure, no blank lines.
import { describeRun, type EncoderRun } from "./encoder-run.ts";
import { escapeHtml } from "./escape.ts";
import { encoderCaption } from "./table.ts";

export interface ScoreboardCell {
  matches: number;
  shown: number;
  /** Rank of the first match over the whole dataset; undefined when the dataset has none. */
  firstMatch?: number;
}

export interface ScoreboardInput {
  k: number;
  datasetName: string;
  /** Per query: its name and the groups that count as a match. */
  queries: Array<{ name: string; groups: readonly string[] }>;
  rows: Array<{ run: EncoderRun; cells: ScoreboardCell[] }>;
}

export function cellText(cell: ScoreboardCell, groups: readonly string[]): string {
  const first = cell.firstMatch === undefined ? "no match in the dataset" : cell.firstMatch === 1 ? "first match at #1" : `first match at #${cell.firstMatch}`;
  return `${cell.matches} of ${cell.shown} are ${groups.join(" or ")}; ${first}`;
}

export function renderScoreboard(input: ScoreboardInput): string {
  const lines: string[] = [];
  lines.push(`<table class="encoder-scoreboard" data-k="${input.k}">`);
  lines.push(
    `<caption><span class="ec-title">Scoreboard</span> <span class="ec-scope">${escapeHtml(
      `matches in the top ${input.k} of ${input.datasetName} per query, and where the first match ranks among all images`,
    )}</span></caption>`,
  );
  lines.push(`<thead><tr><th scope="col">Encoder</th>${input.queries.map((q) => `<th scope="col">${escapeHtml(q.name)}</th>`).join("")}</tr></thead>`);
  lines.push(`<tbody>`);
  for (const row of input.rows) {
    const display = describeRun(row.run);
    const cells = row.cells.map((cell, i) => {
      const groups = input.queries[i].groups;
      return `<td data-matches="${cell.matches}"><strong>${cell.matches} of ${cell.shown}</strong> ` +
        `<span class="ec-sr">${escapeHtml(input.queries[i].name)}: </span>` +
        `<span class="ec-scope">${escapeHtml(cellText(cell, groups).replace(/^\d+ of \d+ /, ""))}</span></td>`;
    });
    lines.push(`<tr data-encoder="${escapeHtml(display.id)}"><th scope="row">${encoderCaption(display)}</th>${cells.join("")}</tr>`);
  }
  lines.push(`</tbody>`);
  lines.push(`</table>`);
  return lines.join("\n");
}
