// The Eleventy glue: registers the `encoderCompare` shortcode (and `encoderEval`, in
// eval-shortcode.ts), turns each call into engine queries plus rendered tables, and prints one
// summary line per build.
import path from "node:path";
import { normalizeOptions, type PluginOptions, type UserOptions } from "../engine/options.ts";
import { createProgress } from "../engine/progress.ts";
import { createLogger, PrefixedError, type EleventyLoggerLike } from "../engine/logger.ts";
import { createEngine, createRegistry } from "../engine/setup.ts";
import { defaultDatasetName, resolveRequestedDataset } from "../dataset/embeddings-option.ts";
import { PathRefusedError, resolveProjectDir, resolveQueryPath } from "./paths.ts";
import { createMontageWriter, type MontageWriter } from "../render/montage.ts";
import { renderComparisonTable, renderErrorBox, type TableHit, type TableRow } from "../render/table.ts";
import { renderVersusTable } from "../render/versus.ts";
import { mergeRuns, type EncoderRun, type RequestedRun } from "../render/encoder-run.ts";
import { countMatches } from "../render/relevance.ts";
import { renderScoreboard } from "../render/scoreboard.ts";
import { humanFileName } from "../render/alt-text.ts";
import { parseCompareArgs, ShortcodeArgumentError, type CompareRequest } from "./shortcode-args.ts";
import { requestedRun, type QueryResult } from "../engine/compare-engine.ts";
import type { Dataset } from "../dataset/load.ts";
import { pageStandIns } from "./page-stand-ins.ts";
import { queryTableRow, tableHits } from "../engine/table-row.ts";
import { collectSummary, formatSummary } from "../engine/summary.ts";
import { DatasetVectorCache, describeRankOf, firstMatchRank } from "../eval/rank-of.ts";
import { checkPageKeywords, describeArgumentError } from "./shortcode-source.ts";
import { cappedList, reportsDir } from "../engine/warning-list.ts";
import { registerEncoderEval } from "./eval-shortcode.ts";
import { terminalText } from "../render/terminal-text.ts";
import { createTryItPublisher } from "../engine/publish-try-it.ts";

export { DEFAULT_OPTIONS, type PluginOptions, type UserOptions } from "../engine/options.ts";
export { DEFAULTS } from "../engine/defaults.ts";
export type { EncoderSpec, PreprocessSpec, ModelSource } from "../encoders/spec.ts";

/** The small part of Eleventy's UserConfig this plugin uses (Eleventy 3 ships no types). */
export interface EleventyConfigLike {
  directories: { input: string; output: string };
  addAsyncShortcode(name: string, fn: (...args: any[]) => Promise<string>): void;
  on(event: string, fn: (arg: any) => unknown): void;
  addGlobalData?(name: string, value: unknown): void;
  logger?: EleventyLoggerLike;
}

interface ShortcodeThis {
  page?: { inputPath?: string };
  /** Nunjucks render context: the page's data, front matter included. */
  ctx?: { encoderCompare?: unknown };
}

export class EncoderCompareError extends PrefixedError {
  constructor(message: string, options?: ErrorOptions) {
    // Eleventy prints it and its causes to the terminal: paths and dataset text in them are
    // escaped like the log (the causes were made to be shown here, so their messages are too).
    super(terminalText(message, true), options);
    for (let cause = options?.cause, depth = 0; cause instanceof Error && depth < 10; cause = cause.cause, depth++) {
      cause.message = terminalText(cause.message, true);
    }
    // Eleventy prints the message chain; the stack of a user-input error helps nobody.
    (this as { skipOriginalStack?: boolean }).skipOriginalStack = true;
  }
}

export default function encoderComparePlugin(eleventyConfig: EleventyConfigLike, userOptions: UserOptions = {}): void {
  const options = normalizeOptions(userOptions);
  const projectRoot = process.cwd();
  const logger = createLogger(() => eleventyConfig.logger);
  const log = (text: string, type: "info" | "warn" = "info") => logger[type](text);
  const registry = createRegistry(options);
  for (const id of options.encoders) registry.get(id);
  const engine = createEngine(
    options,
    {
      projectRoot,
      warn: (message) => log(message, "warn"),
      info: (message) => log(message),
      progress: createProgress({ quiet: () => (eleventyConfig.logger as { isVerbose?: boolean } | undefined)?.isVerbose === false }),
    },
    registry,
  );
  const outputDir = () => path.resolve(projectRoot, eleventyConfig.directories.output, options.outputSubdir);
  const newWriter = () => createMontageWriter(outputDir(), { tempDir: path.join(engine.options.cacheDir, "tmp") });
  let writer: MontageWriter = newWriter();
  const rankOfVectors = new DatasetVectorCache(engine);
  const tryIt = createTryItPublisher({
    engine,
    writer: () => writer,
    outputDir,
    urlBase: `/${options.outputSubdir}/`,
    tileSize: options.tileSize,
    limitInputPixels: options.limitInputPixels,
    models: options.tryItModels,
  });
  let queriesRendered = 0;
  let evaluations = { ranked: 0, remembered: 0 };
  let runMode = "build";

  eleventyConfig.on("eleventy.before", (event?: { runMode?: string }) => {
    runMode = event?.runMode ?? "build";
    engine.startBuild();
    writer = newWriter();
    queriesRendered = 0;
    evaluations = { ranked: 0, remembered: 0 };
  });

  eleventyConfig.on("eleventy.after", async ({ results, runMode }: { results?: Array<{ content?: string; inputPath?: string }>; runMode?: string }) => {
    const unrendered = (results ?? []).filter((r) => /&lt;% encoder(Compare|Eval)\b/.test(r.content ?? ""));
    if (unrendered.length > 0) {
      const pages = cappedList(unrendered.map((r) => String(r.inputPath)), { dir: reportsDir(engine.options.cacheDir), name: "unrendered-pages.txt" });
      log(`${pages}: a shortcode was printed as text, not run; set markdownTemplateEngine: "njk" and the <% %> block tags (see README)`, "warn");
    }
    const summary = collectSummary(engine, queriesRendered, writer.written, evaluations);
    if (queriesRendered > 0 || summary.encoders.length > 0 || evaluations.ranked + evaluations.remembered > 0) log(formatSummary(summary));
    if (summary.skipped.length > 0) {
      const list = cappedList(
        summary.skipped.map((s) => `${path.relative(projectRoot, s.file)} (${s.reason})`),
        { dir: reportsDir(engine.options.cacheDir), name: "skipped-images.txt" },
      );
      log(`${summary.skipped.length} dataset image(s) skipped: ${list}`, "warn");
    }
    options.onBuildSummary?.(summary);
    if (runMode === "build") await engine.close();
  });

  // encoderCompare renders tables; encoderScoreboard summarises the same queries for prose.
  for (const shortcode of ["encoderCompare", "encoderScoreboard"]) {
    eleventyConfig.addAsyncShortcode(shortcode, async function (this: ShortcodeThis, ...args: unknown[]): Promise<string> {
      try {
        return await renderCompare(this.page?.inputPath ?? "(unknown page)", args, this.ctx?.encoderCompare, shortcode);
      } catch (error) {
        // While previewing, a broken shortcode shows up in the page and the terminal and the
        // server keeps running; a build fails.
        if (runMode === "build" || !(error instanceof EncoderCompareError)) throw error;
        log(error.detail, "warn");
        return renderErrorBox(error.detail);
      }
    });
  }

  // Page data for layouts (a banner, a mark in listings, the meta description): see page-stand-ins.ts.
  eleventyConfig.addGlobalData?.("eleventyComputed.encoderStandIns", () => (data: { page?: { inputPath?: string }; encoderCompare?: unknown }) =>
    pageStandIns(data.page?.inputPath, data.encoderCompare, {
      defaults: options.encoders,
      known: registry.ids(),
      standInOf: async (id) => (await engine.runOf(id)).standingInFor,
    }),
  );

  registerEncoderEval(eleventyConfig, {
    engine,
    registry,
    options,
    projectRoot,
    writer: () => writer,
    info: (message) => log(message),
    onEvaluated: (rankings, ranked) => {
      if (ranked) evaluations.ranked += rankings;
      else evaluations.remembered += rankings;
    },
    fail: (message, cause) => {
      if (runMode === "build") throw new EncoderCompareError(message, { cause });
      log(message, "warn");
      return renderErrorBox(message);
    },
  });

  async function renderCompare(post: string, args: unknown[], pageDefaults: unknown, shortcode = "encoderCompare"): Promise<string> {
    const where = `${post}: ${shortcode}`;
    let request;
    try {
      checkPageKeywords(post, shortcode, projectRoot);
      request = parseCompareArgs(args, {
        k: options.k,
        maxK: options.maxK,
        encoders: options.encoders,
        dataset: defaultDatasetName(options.dataset),
        includeSelf: options.includeSelf,
        knownEncoders: registry.ids(),
        tryIt: options.tryIt,
      }, pageDefaults);
    } catch (error) {
      if (error instanceof ShortcodeArgumentError) {
        throw new EncoderCompareError(`${where}: ${describeArgumentError(error, post, "encoderCompare", projectRoot)}`, { cause: error });
      }
      throw error;
    }
    const contentDir = path.resolve(projectRoot, eleventyConfig.directories.input);
    const postFile = path.resolve(projectRoot, post);
    const queryFiles = request.queries.map((query) => {
      try {
        return resolveQueryPath(query, postFile, contentDir, projectRoot);
      } catch (error) {
        if (error instanceof PathRefusedError) {
          throw new EncoderCompareError(`${where} "${query}": ${error.message}`, { cause: error });
        }
        throw error;
      }
    });
    let datasetDir: string;
    try {
      datasetDir = resolveRequestedDataset(request.dataset, options, projectRoot, (dir) => resolveProjectDir(dir, projectRoot, "dataset"));
    } catch (error) {
      throw new EncoderCompareError(`${where}: ${(error as Error).message}`, { cause: error });
    }

    try {
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
          const rankOf = request.rankOf ? await describeRankOf(rankOfVectors, encoderId, datasetDir, result, request.rankOf) : undefined;
          answers[e].push({ result, queryAlt: member?.caption || humanFileName(request.queries[i]), expect, rankOf });
        }
      }
      // Encoders that ran the same model (a stand-in and the encoder it duplicates) give the same
      // answers: one table, column or row says both.
      const encoders: EncoderAnswers[] = mergeRuns(requested).map((run) => {
        const first = request.encoders.indexOf(run.requestedIds[0]);
        return { encoderId: run.requestedIds.join(","), firstId: run.requestedIds[0], run, answers: answers[first] };
      });
      if (shortcode === "encoderScoreboard") return await renderScoreboardFor(request, encoders, datasetDir);
      const render = request.layout === "versus" ? renderVersus : renderTables;
      const html = await render(request, encoders);
      const tryItHtml = request.tryIt
        ? await tryIt.placeholder({ encoders: request.encoders, datasetDir, k: request.k, includeSelf: request.includeSelf })
        : "";
      queriesRendered += queryFiles.length;
      return tryItHtml ? `${html}\n${tryItHtml}` : html;
    } catch (error) {
      if (error instanceof EncoderCompareError) throw error;
      throw new EncoderCompareError(`${where}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** encoderScoreboard: per encoder that ran, matches in the top k per query and the first match's rank. */
  async function renderScoreboardFor(request: CompareRequest, encoders: EncoderAnswers[], datasetDir: string): Promise<string> {
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
            firstMatch: await firstMatchRank(rankOfVectors, firstId, datasetDir, result, queries[i].groups),
          })),
        ),
      })),
    );
    return renderScoreboard({ k: request.k, datasetName: encoders[0].answers[0].result.datasetName, queries, rows });
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

  /** The seed layout: one table per encoder, one row per query. */
  async function renderTables(request: CompareRequest, encoders: EncoderAnswers[]): Promise<string> {
    const tables: string[] = [];
    for (const { encoderId, firstId, run, answers } of encoders) {
      const rows: TableRow[] = [];
      for (const { result, queryAlt, expect, rankOf } of answers) {
        rows.push(await queryTableRow(result, writer, options.tileSize, { queryAlt, rankOf, expect }));
      }
      const first = answers[0].result;
      tables.push(
        renderComparisonTable({
          encoderId,
          encoderLabel: registry.get(firstId).label,
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
  async function renderVersus(request: CompareRequest, encoders: EncoderAnswers[]): Promise<string> {
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
}


/** expect= names groups the dataset has, or the marks would silently all read "not a match". */
function checkExpectedGroups(expect: readonly string[], dataset: Dataset): void {
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

Object.defineProperty(encoderComparePlugin, "eleventyPackage", { value: "eleventy-plugin-encoder-compare" });
Object.defineProperty(encoderComparePlugin, "eleventyPluginOptions", { value: { unique: true } });
