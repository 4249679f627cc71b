// The `encoderCompare` shortcode (tables, or layout="versus") and `encoderScoreboard` (the same queries summarised for
// prose): the page's arguments and paths, checked here; the answers and their images from compose/; HTML from render/.
// plugin.ts registers it.
import path from "node:path";
import { compareView } from "../compose/compare-views.ts";
import type { DatasetVectorCache } from "../engine/dataset-vectors.ts";
import type { TryItPublisher } from "../publish/try-it.ts";
import { renderScoreboard } from "../render/scoreboard.ts";
import { renderComparisonTable } from "../render/table.ts";
import { renderVersusTable } from "../render/versus.ts";
import { resolvePageDataset, resolvePageQueries } from "./page-request.ts";
import { keywordDefaults, parseCompareArgs } from "./shortcode-args.ts";
import { runShortcode, WordedFailure, type EleventyLike, type ShortcodeContext, type ShortcodeThis } from "./shortcode-context.ts";

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
      return runShortcode(ctx, { page: this.page?.inputPath, name }, (post) =>
        renderCompare(ctx, { post, name, contentDir }, args, pageDefaults),
      );
    });
  }
}

async function renderCompare(
  ctx: CompareShortcodeContext,
  call: { post: string; name: CompareShortcode; contentDir: string },
  args: unknown[],
  pageDefaults: unknown,
): Promise<string> {
  const { options, engine, projectRoot } = ctx;
  const request = parseCompareArgs(args, { ...keywordDefaults(ctx), tryIt: options.tryIt }, pageDefaults);
  const queryFiles = resolvePageQueries(request.queries, call, projectRoot);
  const datasetDir = resolvePageDataset(request.dataset, options, projectRoot);
  const embeddingsFolder = engine.embeddingsFolder(datasetDir);
  if (request.tryIt && embeddingsFolder !== undefined) {
    throw new WordedFailure(
      `${call.post}: ${call.name}: tryIt cannot use the embeddings dataset "${request.dataset}" (${embeddingsFolder}): the "Try your own image" widget ` +
        "publishes a vector and a thumbnail of every dataset image for the reader's browser to search, and an embeddings folder holds vectors " +
        "computed elsewhere, not a folder of images to list and publish; remove tryIt=true here (or the tryIt plugin option), or use a folder of images",
    );
  }
  const place = { writer: ctx.writer(), tile: options.tileSize, urlBase: `/${options.outputSubdir}/` };
  const layout = call.name === "encoderScoreboard" ? "scoreboard" : request.layout;
  const view = await compareView(engine, ctx.rankOfVectors, place, { ...request, layout, queryFiles, datasetDir });
  if (view.layout === "scoreboard") return renderScoreboard(view.scoreboard);
  const html = view.layout === "versus" ? view.tables.map(renderVersusTable).join("\n") : view.tables.map(renderComparisonTable).join("\n");
  const tryItHtml = request.tryIt
    ? await ctx.tryIt.placeholder({ encoders: request.encoders, datasetDir, k: request.k, includeSelf: request.includeSelf, expect: request.expect })
    : "";
  ctx.onRendered(queryFiles.length);
  return tryItHtml ? `${html}\n${tryItHtml}` : html;
}
