// `encoder-compare query <image…>`: top-k per encoder in the terminal, as JSON, or as a
// standalone HTML page with its images beside it.
import fs from "node:fs";
import path from "node:path";
import { datasetLocation } from "../dataset/embeddings-option.ts";
import type { CompareEngine, QueryResult } from "../compare.ts";
import { escapeHtml } from "../render/escape.ts";
import { createMontageWriter } from "../render/montage.ts";
import { renderComparisonTable, type TableRow } from "../render/table.ts";
import { parseArgs, positiveIntegerFlag, UsageError, type Command, type CommandIO } from "./common.ts";
import { ENGINE_FLAGS, engineForCommand, optionsFromArgs } from "./site-options.ts";

export function truncate(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : text.slice(0, Math.max(0, width - 1)) + "…";
}

/** Encoders side by side: one column per encoder, one line per rank. */
export function formatSideBySide(query: string, results: QueryResult[], width: number): string {
  const column = Math.max(24, Math.floor((width - 4) / Math.max(1, results.length)) - 2);
  const heading = results.map((r) => truncate(r.standInFor ? `${r.encoder.id} (stand-in for ${r.standInFor.spec.id})` : r.encoder.label, column));
  const lines = [`query: ${query}`, `    ${heading.join("  ")}`];
  const rows = Math.max(0, ...results.map((r) => r.hits.length));
  for (let i = 0; i < rows; i++) {
    const cells = results.map((r) => {
      const hit = r.hits[i];
      return truncate(hit ? `${hit.score.toFixed(3)} ${hit.image.caption}` : "", column);
    });
    lines.push(`${String(i + 1).padStart(2)}. ${cells.join("  ")}`.trimEnd());
  }
  for (const r of results) if (r.selfExcluded) lines.push(`    (${r.encoder.id}: the query itself is in the dataset and left out)`);
  return lines.join("\n");
}

async function writeHtmlPage(file: string, engine: CompareEngine, datasetDir: string, queries: Array<{ path: string; results: QueryResult[] }>, k: number, tile: number): Promise<void> {
  const assetsName = `${path.basename(file, path.extname(file))}_files`;
  const writer = createMontageWriter(path.join(path.dirname(file), assetsName));
  const encoderIds = queries[0].results.map((r) => r.encoder.id);
  const tables: string[] = [];
  for (const [e, encoderId] of encoderIds.entries()) {
    const rows: TableRow[] = [];
    for (const q of queries) {
      const r = q.results[e];
      rows.push({
        queryAlt: `Query image ${path.basename(q.path)}`,
        queryImage: await writer.thumbnail({ file: r.query.file, sha256: r.query.sha256 }, tile),
        montage: r.hits.length ? await writer.montage(r.hits.map((h) => h.image), tile) : undefined,
        hits: r.hits.map((h) => ({ rank: h.rank, score: h.score, caption: h.image.caption })),
        selfExcluded: r.selfExcluded,
      });
    }
    const first = queries[0].results[e];
    const { dataset } = await engine.datasetIndex(encoderId, datasetDir);
    tables.push(
      renderComparisonTable({
        encoderId,
        encoderLabel: first.standInFor ? `${first.encoder.label} — stand-in for ${first.standInFor.spec.label}` : first.encoder.label,
        note: first.standInFor ? `(model not available: ${first.standInFor.reason})` : undefined,
        datasetName: dataset.name,
        datasetSize: dataset.images.length,
        k,
        urlBase: `${assetsName}/`,
        rows,
      }),
    );
  }
  const html = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(queries.map((q) => path.basename(q.path)).join(", "))} — encoder-compare</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{width:100%;border-collapse:collapse;margin:1.5rem 0}caption{text-align:left;padding:.5rem 0}th,td{border:1px solid #ccc;padding:.5rem;vertical-align:top;text-align:left}.ec-col-query{width:25%}img{max-width:100%;height:auto}</style>",
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
  if (k > options.maxK) throw new UsageError(`--k must be at most ${options.maxK}`);
  const queries = parsed.positional.map((q) => path.resolve(io.cwd, q));
  for (const q of queries) if (!fs.existsSync(q) || !fs.statSync(q).isFile()) throw new UsageError(`query image ${q} does not exist`);
  const engine = engineForCommand(options, io);
  const datasetDir = datasetLocation(options.dataset, options.datasets, io.cwd);
  try {
    const all: Array<{ path: string; results: QueryResult[] }> = [];
    for (const q of queries) {
      const results: QueryResult[] = [];
      for (const id of options.encoders) results.push(await engine.query(id, datasetDir, q, { k, includeSelf: parsed.flags.has("--include-self") }));
      all.push({ path: path.relative(io.cwd, q) || q, results });
    }
    if (parsed.flags.has("--json")) {
      const json = all.map((q) => ({
        query: q.path,
        results: q.results.map((r) => ({
          encoder: r.encoder.id,
          standInFor: r.standInFor ? { encoder: r.standInFor.spec.id, reason: r.standInFor.reason } : undefined,
          selfExcluded: r.selfExcluded,
          hits: r.hits.map((h) => ({ rank: h.rank, score: Number(h.score.toFixed(6)), id: h.image.id, caption: h.image.caption, group: h.image.group })),
        })),
      }));
      io.out.write(JSON.stringify(json, null, 2) + "\n");
    } else {
      const width = (io.out as { columns?: number }).columns ?? 110;
      io.out.write(all.map((q) => formatSideBySide(q.path, q.results, width)).join("\n\n") + "\n");
    }
    const htmlFile = parsed.values.get("--html");
    if (htmlFile) {
      const target = path.resolve(io.cwd, htmlFile);
      await writeHtmlPage(target, engine, datasetDir, all, k, options.tileSize);
      io.err.write(`wrote ${target}\n`);
    }
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
Defaults come from the plugin defaults, overridden by --config (a module whose default export is
the plugin options) and then by the flags.`,
  run: runQuery,
};
