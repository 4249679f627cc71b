// `encoder-compare query <image…>`: top-k per encoder in the terminal, as JSON, or as a
// standalone HTML page with its images beside it.
import fs from "node:fs";
import path from "node:path";
import { answersAsRan, askEncoders, resultsByQuery, type EncoderResults, type RunResult } from "../compose/compare-answers.ts";
import { tableInputs } from "../compose/compare-views.ts";
import { queryJson } from "../compose/query-json.ts";
import { describeFileKind } from "../base/safe-read.ts";
import { asRun, describeRun } from "../render/encoder-run.ts";
import { escapeHtml } from "../render/escape.ts";
import { terminalText } from "../base/terminal-text.ts";
import { createMontageWriter } from "../compose/montage-writer.ts";
import { renderComparisonTable } from "../render/table.ts";
import { parseArgs, positiveIntegerFlag, UsageError, type Command, type CommandIO } from "./common.ts";
import { describeDefaults, ENGINE_FLAGS, engineForCommand, optionsFromArgs, reportSkipped, requireDataset } from "./site-options.ts";

export function truncate(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : text.slice(0, Math.max(0, width - 1)) + "…";
}

/**
 * Encoders side by side: one column per encoder, one line per rank. Columns are as wide as their
 * longest cell; only when `width` (a terminal's) is given and too narrow for them all are the
 * widest columns shortened, never below 24 characters. Dataset text is escaped (terminalText).
 */
export function formatSideBySide(query: string, encoders: readonly RunResult[], width?: number): string {
  const headings = encoders.map(({ run, result }) => terminalText(run.standingInFor ? describeRun(asRun(run)).shortName : result.encoder.label));
  const results = encoders.map((e) => e.result);
  const rows = Math.max(0, ...results.map((r) => r.hits.length));
  const cells = results.map((r) =>
    Array.from({ length: rows }, (_, i) => (r.hits[i] ? `${r.hits[i].score.toFixed(3)} ${terminalText(r.hits[i].image.caption)}` : "")),
  );
  const columns = fitColumns(
    results.map((_, c) => Math.max(headings[c].length, ...cells[c].map((cell) => cell.length))),
    width === undefined ? Infinity : width - 4 - 2 * Math.max(0, results.length - 1),
  );
  const lines = [`query: ${terminalText(query)}`, `    ${headings.map((h, c) => truncate(h, columns[c])).join("  ")}`.trimEnd()];
  for (let i = 0; i < rows; i++) {
    lines.push(`${String(i + 1).padStart(2)}. ${cells.map((column, c) => truncate(column[i], columns[c])).join("  ")}`.trimEnd());
  }
  const excluded = [...new Set(results.filter((r) => r.selfExcluded).map((r) => r.encoder.id))];
  if (excluded.length === results.length && results.length > 0) lines.push("    (the query itself is in the dataset and left out of the results)");
  else if (excluded.length > 0) lines.push(`    (the query itself is in the dataset and left out of ${excluded.join(", ")}'s results)`);
  return lines.join("\n");
}

/** Column widths within `room`: the widest columns give up characters first, none below 24 (or its own width). */
export function fitColumns(wanted: readonly number[], room: number): number[] {
  const widths = [...wanted];
  let excess = widths.reduce((sum, w) => sum + w, 0) - room;
  while (excess > 0) {
    const widest = Math.max(...widths);
    if (widest <= 24) break;
    const next = Math.max(24, ...widths.filter((w) => w < widest));
    const atWidest = widths.filter((w) => w === widest).length;
    const cut = Math.min(widest - next, Math.ceil(excess / atWidest));
    for (let c = 0; c < widths.length && excess > 0; c++) {
      if (widths[c] === widest) {
        widths[c] -= Math.min(cut, excess);
        excess -= Math.min(cut, excess);
      }
    }
  }
  return widths;
}

/** Names in `dir` now (none when it does not exist). */
function namesIn(dir: string): Set<string> {
  try {
    return new Set(fs.readdirSync(dir));
  } catch {
    return new Set();
  }
}

/**
 * The standalone page and its images in <file>_files/. The page is written last; when anything
 * fails first, the images this call added are removed again (and the folder, if it made it), so
 * no _files/ folder is left without its page. Files that were there before are kept.
 */
/** What the --html page shows: the answers, the query paths as given, and how its images are drawn. */
interface HtmlPage {
  asked: EncoderResults[];
  queryPaths: readonly string[];
  k: number;
  tile: number;
  limitInputPixels: number;
}

async function writeHtmlPage(file: string, page: HtmlPage): Promise<void> {
  const assetsName = `${path.basename(file, path.extname(file))}_files`;
  const assets = path.join(path.dirname(file), assetsName);
  const existed = fs.existsSync(assets);
  const before = namesIn(assets);
  try {
    await writeHtmlPageFiles(file, { dir: assets, name: assetsName }, page);
  } catch (error) {
    try {
      for (const name of namesIn(assets)) if (!before.has(name)) fs.rmSync(path.join(assets, name), { force: true });
      if (!existed && fs.statSync(assets, { throwIfNoEntry: false })?.isDirectory()) fs.rmSync(assets, { recursive: true, force: true });
    } catch {
      // Best effort: the error below is what the user needs to see.
    }
    throw new Error(`--html ${file} was not written (${(error as Error).message})`, { cause: error });
  }
}

async function writeHtmlPageFiles(file: string, assets: { dir: string; name: string }, page: HtmlPage): Promise<void> {
  const { asked, queryPaths, k, tile, limitInputPixels } = page;
  // One table per encoder asked for, named by what ran, each query by its file name.
  const encoders = answersAsRan(asked, (i) => `Query image ${path.basename(queryPaths[i])}`);
  const place = { writer: createMontageWriter(assets.dir, { limitInputPixels }), tile, urlBase: `${assets.name}/` };
  const tables = (await tableInputs(encoders, place, k)).map(renderComparisonTable);
  const html = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(queryPaths.map((q) => path.basename(q)).join(", "))} — encoder-compare</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}" +
      "table{width:100%;border-collapse:collapse;margin:1.5rem 0}caption{text-align:left;padding:.5rem 0}" +
      "th,td{border:1px solid #ccc;padding:.5rem;vertical-align:top;text-align:left}.ec-col-query{width:25%}img{max-width:100%;height:auto}</style>",
    "</head><body>",
    `<h1>Nearest neighbours by encoder</h1>`,
    ...tables,
    "</body></html>",
  ].join("\n");
  fs.writeFileSync(file, html + "\n");
}

async function runQuery(args: string[], io: CommandIO): Promise<number> {
  const parsed = parseArgs(args, ["--json", "--include-self"], [...ENGINE_FLAGS, "--k", "--html"]);
  if (parsed.positional.length === 0) throw new UsageError("give at least one query image path");
  const options = await optionsFromArgs(parsed, io.cwd);
  const k = positiveIntegerFlag(parsed, "--k", options.k);
  if (k > options.maxK) {
    throw new UsageError(
      `--k must be at most ${options.maxK} (the plugin's maxK option); to raise it, set maxK in the site's plugin options ` +
        `or pass --config <module> whose default export is e.g. { maxK: ${Math.max(k, 100)} }`,
    );
  }
  const queries = parsed.positional.map((q) => path.resolve(io.cwd, q));
  for (const q of queries) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(q);
    } catch {
      throw new UsageError(`query image ${q} does not exist`);
    }
    if (!stat.isFile()) throw new UsageError(`query image ${q} is not a regular file (${describeFileKind(stat)})`);
  }
  const datasetDir = requireDataset(options, io.cwd);
  const engine = engineForCommand(options, io);
  try {
    const includeSelf = parsed.flags.has("--include-self");
    const asked = await askEncoders(engine, { encoders: options.encoders, queryFiles: queries, datasetDir, k, includeSelf });
    const queryPaths = queries.map((q) => path.relative(io.cwd, q) || q);
    const all = resultsByQuery(asked).map((columns, i) => ({ path: queryPaths[i], columns }));
    if (parsed.flags.has("--json")) {
      io.out.write(JSON.stringify(all.map((q) => queryJson(q.path, q.columns)), null, 2) + "\n");
    } else {
      // A terminal's width limits the columns; a pipe or file gets every caption whole.
      const terminal = io.out as { isTTY?: boolean; columns?: number };
      const width = terminal.isTTY && terminal.columns ? terminal.columns : undefined;
      io.out.write(all.map((q) => formatSideBySide(q.path, q.columns, width)).join("\n\n") + "\n");
    }
    const htmlFile = parsed.values.get("--html");
    if (htmlFile) {
      const target = path.resolve(io.cwd, htmlFile);
      await writeHtmlPage(target, { asked, queryPaths, k, tile: options.tileSize, limitInputPixels: options.limitInputPixels });
      io.err.write(`wrote ${target}\n`);
    }
    reportSkipped(engine, io);
    return 0;
  } finally {
    await engine.close();
  }
}

export const queryCommand: Command = {
  name: "query",
  summary: "top-k results per encoder for query images, side by side",
  help: `Usage: encoder-compare query <image…> [--encoders a,b] [--k 3] [--dataset <dir>] [--json] [--html <file>]
                            [--include-self] [--config <options module>] [--cache-dir <dir>]

Embeds each query image with every encoder, searches the dataset and prints the top k results per
encoder side by side (score and caption). --json prints the same as JSON; --html writes a
standalone comparison page plus its images in <file>_files/. Uses the same embedding store as the
site build (.cache/encoder-compare), so results already embedded are not recomputed.
Defaults come from the plugin defaults, overridden by the options the site's Eleventy config gives
the plugin (when run in the site's folder), then by --config (a module whose default export is the
plugin options), then by the flags. The dataset must exist and hold images.

  --k, -k <n>            results per encoder (default 3); at most the plugin's maxK option (default 50),
                         which the site's plugin options or a --config module can raise
  --encoders, -e a,b     encoder ids (default: the site's, else the plugin's)
  --dataset, -d <dir>    dataset folder (default: the site's, else the plugin's)
  --json                 results as JSON
  --html <file>          a standalone comparison page, its images in <file>_files/
  --include-self         keep the query's own file in its results when it is in the dataset
  --config <module>      a module whose default export is plugin options
  --cache-dir <dir>      embedding store folder (default .cache/encoder-compare)
  --                     what follows is a query image even if it starts with "-"`,
  helpFooter: describeDefaults,
  run: runQuery,
};
