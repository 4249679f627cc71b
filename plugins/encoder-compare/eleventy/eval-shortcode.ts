// The `encoderEval` shortcode: measures every listed encoder on a labelled dataset and renders
// the metric table, a bar chart and "where they disagree" rows. plugin.ts registers it.
import crypto from "node:crypto";
import { renderBarChart } from "../render/bar-chart.ts";
import { renderDisagreements, type DisagreementsInput } from "../render/disagreements.ts";
import { renderEvalTable } from "../render/eval-table.ts";
import { asRun } from "../render/encoder-run.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { parseEvalArgs } from "./eval-args.ts";
import { resolvePageDataset } from "./page-request.ts";
import { keywordDefaults } from "./shortcode-args.ts";
import { runShortcode, type EleventyLike, type ShortcodeContext, type ShortcodeThis } from "./shortcode-context.ts";
import { evaluationRun } from "../render/eval-report.ts";
import { largestDisagreements, type Evaluation, type EncoderEvaluation } from "../eval/evaluate.ts";
import { evaluateRemembered } from "../eval/memo.ts";

export interface EncoderEvalContext extends ShortcodeContext {
  /** Hears of each evaluation: its queries × encoders, and whether they were ranked or remembered. */
  onEvaluated?: (rankings: number, ranked: boolean) => void;
}

/** The model that actually ran for an evaluated encoder. */
function ranAs(e: EncoderEvaluation): string {
  return e.standIn?.id ?? e.encoderId;
}

export function registerEncoderEval(eleventyConfig: EleventyLike, ctx: EncoderEvalContext): void {
  // Chart ids must be unique per page: count charts per page within a build.
  let chartsPerPage = new Map<string, number>();
  eleventyConfig.on("eleventy.before", () => {
    chartsPerPage = new Map();
  });

  eleventyConfig.addAsyncShortcode("encoderEval", async function (this: ShortcodeThis, ...args: unknown[]): Promise<string> {
    return runShortcode(ctx, { page: this.page?.inputPath, name: "encoderEval" }, (post) => {
      const n = (chartsPerPage.get(post) ?? 0) + 1;
      chartsPerPage.set(post, n);
      return renderEncoderEval(ctx, args, `${post}#${n}`);
    });
  });
}

export async function renderEncoderEval(ctx: EncoderEvalContext, args: readonly unknown[], chartKey: string): Promise<string> {
  const { options, engine } = ctx;
  const request = parseEvalArgs(args, keywordDefaults(ctx));
  const datasetDir = resolvePageDataset(request.dataset, options, ctx.projectRoot);
  const started = performance.now();
  const shown = Math.min(DEFAULTS.eval.disagreementResults, request.k);
  const disagreements = request.disagreements > 0 && request.between ? { pair: request.between, count: request.disagreements, shown } : undefined;
  const { evaluation, ranked } = await evaluateRemembered(engine, datasetDir, request.encoders, {
    k: request.k,
    disagreements,
    limitInputPixels: options.limitInputPixels,
  });
  const { report } = evaluation;
  if (report.dataset.queries === 0) {
    throw new Error(
      `dataset ${report.dataset.name} has no group with two or more images, so there is nothing to measure; ` +
        `give images a "group" in its manifest (see README, Datasets)`,
    );
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const how = ranked ? "ranked" : "remembered (inputs unchanged)";
  ctx.info(`encoderEval ${report.dataset.name}: ${report.dataset.queries} queries × ${report.encoders.length} encoders ${how} in ${seconds} s`);
  ctx.onEvaluated?.(report.dataset.queries * report.encoders.length, ranked);
  const idBase = `ec-eval-${crypto.createHash("sha256").update(chartKey).digest("hex").slice(0, 10)}`;
  const parts = [renderEvalTable(report), renderBarChart(report, idBase)];
  if (request.disagreements > 0 && request.between) {
    const [a, b] = request.between.map((id) => report.encoders.find((e) => e.encoderId === id)!);
    parts.push(await renderPair(ctx, evaluation, [a, b], request.disagreements));
  }
  return parts.join("\n");
}

async function renderPair(ctx: EncoderEvalContext, evaluation: Evaluation, pair: [EncoderEvaluation, EncoderEvaluation], count: number): Promise<string> {
  const { report } = evaluation;
  const writer = ctx.writer();
  const tile = Math.max(40, Math.round(ctx.options.tileSize / 2));
  const shown = Math.min(DEFAULTS.eval.disagreementResults, report.k);
  const [a, b] = pair;
  const runOf = (e: EncoderEvaluation) => ({ ...asRun(evaluationRun(e)), requestedId: e.encoderId });
  const input: DisagreementsInput = {
    pair: [runOf(a), runOf(b)],
    datasetName: report.dataset.name,
    shown,
    urlBase: `/${ctx.options.outputSubdir}/`,
    rows: [],
  };
  if (ranAs(a) === ranAs(b)) {
    input.emptyText = `both ran the same model (${ranAs(a)}) on this build, because a model could not be had and its stand-in ran, so they cannot disagree.`;
    return renderDisagreements(input);
  }
  for (const d of largestDisagreements(report, [a.encoderId, b.encoderId], count)) {
    const columns = await Promise.all(
      pair.map(async (e, side) => {
        const results = evaluation.topResults(e.encoderId, d.queryId, shown);
        const fulls = await Promise.all(results.map((r) => writer.fullImage(r.image)));
        return {
          encoderId: e.encoderId,
          firstRelevantRank: d.ranks[side],
          montage: results.length ? await writer.montage(results.map((r) => r.image), tile) : undefined,
          results: results.map((r, j) => ({ rank: r.rank, score: r.score, caption: r.image.caption, fullImage: fulls[j], group: r.image.group })),
        };
      }),
    );
    const query = evaluation.image(d.queryId);
    input.rows.push({
      queryId: d.queryId,
      queryCaption: query.caption,
      group: d.group,
      queryImage: await writer.thumbnail(query, tile),
      queryFullImage: await writer.fullImage(query),
      columns: [columns[0], columns[1]],
    });
  }
  return renderDisagreements(input);
}
