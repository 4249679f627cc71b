// The `encoderCompare` shortcode (tables, or layout="versus") and `encoderScoreboard` (the same queries summarised for
// prose): arguments → engine queries → rendered HTML. plugin.ts registers it.
import path from "node:path";
import { resolveRequestedDataset } from "../dataset/embeddings-option.ts";
import type { Dataset } from "../dataset/load.ts";
import { requestedRun } from "../render/requested-run.ts";
import type { TryItPublisher } from "../publish/try-it.ts";
import { queryTableRow, tableHits } from "../compose/table-row.ts";
import type { QueryResult } from "../engine/types.ts";
import { describeRankOf, firstMatchRank, type DatasetVectorCache } from "../eval/rank-of.ts";
import { humanFileName } from "../render/alt-text.ts";
import { mergeRuns, type EncoderRun, type RequestedRun } from "../render/encoder-run.ts";
import { countMatches } from "../render/relevance.ts";
import { renderScoreboard } from "../render/scoreboard.ts";
import { renderComparisonTable, type TableRow } from "../render/table.ts";
import { renderVersusTable } from "../render/versus.ts";
import { PathRefusedError, resolveProjectDir, resolveQueryPath } from "./paths.ts";
import { parseCompareArgs, type CompareRequest } from "./shortcode-args.ts";
import { keywordDefaults, runShortcode, WordedFailure, type EleventyLike, type ShortcodeContext, type ShortcodeThis } from "./shortcode-context.ts";

export interface CompareShortcodeContext extends ShortcodeContext {
  tryIt: TryItPublisher;
  /** Whole-dataset vectors for rankOf= and the scoreboard's first-match rank, kept across calls. */
  rankOfVectors: DatasetVectorCache;
  /** Hears how many query images each call rendered (for the summary line). */
  onRendered: (queries: number) => void;
}

const SHORTCODES = ["encoderCompare", "encoderScoreboard"] as const;
type CompareShortcode = (typeof SHORTCODES)[number];

export function registerEncoderCompare(eleventyConfig: EleventyLike, ctx: CompareShortcodeContext): void {
  for (const name of SHORTCODES) {
    eleventyConfig.addAsyncShortcode(name, async function (this: ShortcodeThis, ...args: unknown[]): Promise<string> {
      const contentDir = path.resolve(ctx.projectRoot, eleventyConfig.directories.input);
      const pageDefaults = this.ctx?.encoderCompare;
      return runShortcode(ctx, { page: this.page?.inputPath, name, grammar: "encoderCompare" }, (post) =>
        renderCompare(ctx, { post, name, contentDir }, args, pageDefaults),
      );
    });
  }
}

interface QueryAnswer {
  result: QueryResult;
  queryAlt: string;
  expect?: string[];
  rankOf?: string;
}

/** One model that ran, with every encoder id it answered for, and its answers per query. */
interface EncoderAnswers {
  /** The requested ids it answered for, comma-joined (the table's data-encoder). */
  encoderId: string;
  firstId: string;
  run: EncoderRun;
  answers: QueryAnswer[];
}

async function renderCompare(
  ctx: CompareShortcodeContext,
  call: { post: string; name: CompareShortcode; contentDir: string },
  args: unknown[],
  pageDefaults: unknown,
): Promise<string> {
  const { options, engine, projectRoot } = ctx;
  const request = parseCompareArgs(args, { ...keywordDefaults(ctx), tryIt: options.tryIt }, pageDefaults);
  const postFile = path.resolve(projectRoot, call.post);
  const queryFiles = request.queries.map((query) => {
    try {
      return resolveQueryPath(query, postFile, call.contentDir, projectRoot);
    } catch (error) {
      if (error instanceof PathRefusedError) throw new WordedFailure(`${call.post}: ${call.name} "${query}": ${error.message}`, { cause: error });
      throw error;
    }
  });
  const datasetDir = resolveRequestedDataset(request.dataset, options, projectRoot, (dir) => resolveProjectDir(dir, projectRoot, "dataset"));
  const embeddingsFolder = engine.embeddingsFolder(datasetDir);
  if (request.tryIt && embeddingsFolder !== undefined) {
    throw new WordedFailure(
      `${call.post}: ${call.name}: tryIt cannot use the embeddings dataset "${request.dataset}" (${embeddingsFolder}): the "Try your own image" widget ` +
        "publishes a vector and a thumbnail of every dataset image for the reader's browser to search, and an embeddings folder holds vectors " +
        "computed elsewhere, not a folder of images to list and publish; remove tryIt=true here (or the tryIt plugin option), or use a folder of images",
    );
  }
  // An embeddings folder has no image list to check groups against or find the query in.
  const dataset = engine.isEmbeddingsDataset(datasetDir) ? undefined : engine.dataset(datasetDir);
  if (request.expect && dataset) checkExpectedGroups(request.expect, dataset);
  const members = new Map((dataset?.images ?? []).map((image) => [image.sha256, image]));
  const requested: RequestedRun[] = [];
  const answers: QueryAnswer[][] = request.encoders.map(() => []);
  for (const [e, encoderId] of request.encoders.entries()) {
    for (const [i, queryFile] of queryFiles.entries()) {
      const result = await engine.query(encoderId, datasetDir, queryFile, { k: request.k, includeSelf: request.includeSelf });
      if (i === 0) requested.push(requestedRun(encoderId, { spec: result.encoder, standInFor: result.standInFor }));
      const member = members.get(result.query.sha256);
      const expect = request.expect ?? (member?.group !== undefined ? [member.group] : undefined);
      const rankOf = request.rankOf ? await describeRankOf(ctx.rankOfVectors, encoderId, datasetDir, result, request.rankOf) : undefined;
      answers[e].push({ result, queryAlt: member?.caption || humanFileName(request.queries[i]), expect, rankOf });
    }
  }
  // Encoders that ran the same model (a stand-in and the encoder it duplicates) give the same
  // answers: one table, column or row says both.
  const encoders: EncoderAnswers[] = mergeRuns(requested).map((run) => {
    const first = request.encoders.indexOf(run.requestedIds[0]);
    return { encoderId: run.requestedIds.join(","), firstId: run.requestedIds[0], run, answers: answers[first] };
  });
  if (call.name === "encoderScoreboard") return renderScoreboardFor(ctx, request, encoders, datasetDir);
  const html = request.layout === "versus" ? await renderVersus(ctx, request, encoders) : await renderTables(ctx, request, encoders);
  const tryItHtml = request.tryIt
    ? await ctx.tryIt.placeholder({ encoders: request.encoders, datasetDir, k: request.k, includeSelf: request.includeSelf, expect: request.expect })
    : "";
  ctx.onRendered(queryFiles.length);
  return tryItHtml ? `${html}\n${tryItHtml}` : html;
}

/** encoderScoreboard: per encoder that ran, matches in the top k per query and the first match's rank. */
async function renderScoreboardFor(ctx: CompareShortcodeContext, request: CompareRequest, encoders: EncoderAnswers[], datasetDir: string): Promise<string> {
  const queries = encoders[0].answers.map((a, i) => {
    if (!a.expect) {
      throw new Error(
        `"${request.queries[i]}" is not a dataset image with a group, so nothing counts as a match; add expect="<group>" (one group or a list)`,
      );
    }
    return { name: a.queryAlt, groups: a.expect };
  });
  const rows = await Promise.all(
    encoders.map(async ({ run, firstId, answers }) => ({
      run,
      cells: await Promise.all(
        answers.map(async ({ result }, i) => ({
          matches: countMatches(result.hits.map((h) => ({ group: h.image.group })), { groups: queries[i].groups }),
          shown: result.hits.length,
          firstMatch: await firstMatchRank(ctx.rankOfVectors, firstId, datasetDir, result, queries[i].groups),
        })),
      ),
    })),
  );
  return renderScoreboard({ k: request.k, datasetName: encoders[0].answers[0].result.datasetName, queries, rows });
}

/** The seed layout: one table per encoder, one row per query. */
async function renderTables(ctx: CompareShortcodeContext, request: CompareRequest, encoders: EncoderAnswers[]): Promise<string> {
  const { options } = ctx;
  const tables: string[] = [];
  for (const { encoderId, firstId, run, answers } of encoders) {
    const rows: TableRow[] = [];
    for (const { result, queryAlt, expect, rankOf } of answers) {
      rows.push(await queryTableRow(result, ctx.writer(), options.tileSize, { queryAlt, rankOf, expect }));
    }
    const first = answers[0].result;
    tables.push(
      renderComparisonTable({
        encoderId,
        encoderLabel: ctx.registry.get(firstId).label,
        run,
        // Where an embeddings dataset's vectors came from, and whether they were verified.
        note: first.datasetNote ? `(${first.datasetNote})` : undefined,
        datasetName: first.datasetName,
        datasetSize: first.datasetSize,
        k: request.k,
        urlBase: `/${options.outputSubdir}/`,
        rows,
      }),
    );
  }
  return tables.join("\n");
}

/** layout="versus": one table per query, one column per encoder, one row per rank. */
async function renderVersus(ctx: CompareShortcodeContext, request: CompareRequest, encoders: EncoderAnswers[]): Promise<string> {
  const { options } = ctx;
  const writer = ctx.writer();
  const tables: string[] = [];
  const tile = Math.max(48, Math.round(options.tileSize / 2));
  for (const [i, { result: firstResult, queryAlt, expect }] of encoders[0].answers.entries()) {
    const query = { file: firstResult.query.file, sha256: firstResult.query.sha256 };
    const [queryImage, queryFullImage] = await Promise.all([writer.thumbnail(query, options.tileSize), writer.fullImage(query)]);
    const columns = await Promise.all(
      encoders.map(async ({ encoderId, run, answers }) => {
        const { result, rankOf } = answers[i];
        const [images, fulls] = await Promise.all([
          Promise.all(result.hits.map((h) => writer.thumbnail(h.image, tile))),
          Promise.all(result.hits.map((h) => writer.fullImage(h.image))),
        ]);
        return { encoderId, run, hits: tableHits(result, fulls), images, selfExcluded: result.selfExcluded, rankOf };
      }),
    );
    tables.push(
      renderVersusTable({
        queryAlt,
        queryImage,
        queryFullImage,
        expect,
        k: request.k,
        datasetName: firstResult.datasetName,
        datasetSize: firstResult.datasetSize,
        urlBase: `/${options.outputSubdir}/`,
        columns,
      }),
    );
  }
  return tables.join("\n");
}

/** expect= names groups the dataset has, or the marks would silently all read "not a match". */
export function checkExpectedGroups(expect: readonly string[], dataset: Dataset): void {
  const groups = new Set(dataset.images.map((image) => image.group).filter((g): g is string => g !== undefined));
  for (const g of expect) {
    if (!groups.has(g)) {
      const known = [...groups].sort().slice(0, 5);
      throw new Error(
        known.length
          ? `expect="${g}": dataset ${dataset.name} has no group "${g}"; its groups look like ${known.map((k) => `"${k}"`).join(", ")}`
          : `expect="${g}": dataset ${dataset.name} has no groups; give images a "group" in its manifest (see README, Datasets)`,
      );
    }
  }
}
