// The Eleventy plugin: builds the engine from the options, registers the shortcodes (compare-shortcode.ts,
// eval-shortcode.ts, map-shortcode.ts) with one failure policy, resets per-build state and prints one summary line per build.
import path from "node:path";
import { normalizeOptions, type UserOptions } from "../engine/options.ts";
import { createProgress } from "../base/progress.ts";
import { createLogger, type EleventyLoggerLike } from "../base/logger.ts";
import { createEngine, createRegistry } from "../engine/setup.ts";
import { runOf } from "../compose/encoder-runs.ts";
import { createMontageWriter } from "../compose/montage-writer.ts";
import type { MontageWriter } from "../render/result-images.ts";
import { renderErrorBox } from "../render/table.ts";
import { collectSummary, formatSummary } from "../engine/summary.ts";
import { DatasetVectorCache } from "../engine/dataset-vectors.ts";
import { cappedList, reportsDir } from "../base/warning-list.ts";
import { createTryItPublisher } from "../publish/try-it.ts";
import { registerEncoderCompare } from "./compare-shortcode.ts";
import { registerEncoderEval } from "./eval-shortcode.ts";
import { registerEncoderMap } from "./map-shortcode.ts";
import { registerEncoderName } from "./encoder-name.ts";
import { PRINTED_SHORTCODE_TAG } from "./page-source.ts";
import { pageStandIns } from "./page-stand-ins.ts";
import { answerEveryRequest, bindPreviewServer } from "./preview-server.ts";
import { EncoderCompareError, type EleventyLike, type ShortcodeContext } from "./shortcode-context.ts";

export { FLAT_DEFAULTS, type PluginOptions, type UserOptions } from "../engine/options.ts";
export { DEFAULTS } from "../base/defaults.ts";
export type { EncoderSpec, PreprocessSpec, ModelSource } from "../encoders/spec.ts";
export { EncoderCompareError } from "./shortcode-context.ts";

/** The small part of Eleventy's UserConfig this plugin uses (Eleventy 3 ships no types). */
export interface EleventyConfigLike extends EleventyLike {
  addGlobalData?(name: string, value: unknown): void;
  addAsyncFilter?(name: string, fn: (...args: any[]) => Promise<string>): void;
  setServerOptions?(options: Record<string, unknown>): void;
  logger?: EleventyLoggerLike;
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
  const newWriter = () => createMontageWriter(outputDir(), { tempDir: path.join(engine.options.cacheDir, "tmp"), limitInputPixels: options.limitInputPixels });
  let writer: MontageWriter = newWriter();
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
  let maps = { laidOut: 0, remembered: 0 };
  let runMode = "build";
  // The preview server (setup runs in serve mode only, before it listens).
  eleventyConfig.setServerOptions?.({
    middleware: [answerEveryRequest],
    setup: () => {
      const problem = bindPreviewServer(options.previewHost, projectRoot);
      if (problem) log(`the preview server may listen on every interface, not only ${options.previewHost}: ${problem}`, "warn");
      return {};
    },
  });

  eleventyConfig.on("eleventy.before", (event?: { runMode?: string }) => {
    runMode = event?.runMode ?? "build";
    engine.startBuild();
    tryIt.startBuild();
    writer = newWriter();
    queriesRendered = 0;
    evaluations = { ranked: 0, remembered: 0 };
    maps = { laidOut: 0, remembered: 0 };
  });

  eleventyConfig.on("eleventy.after", async ({ results, runMode }: { results?: Array<{ content?: string; inputPath?: string }>; runMode?: string }) => {
    const unrendered = (results ?? []).filter((r) => PRINTED_SHORTCODE_TAG.test(r.content ?? ""));
    if (unrendered.length > 0) {
      const pages = cappedList(unrendered.map((r) => String(r.inputPath)), { dir: reportsDir(engine.options.cacheDir), name: "unrendered-pages.txt" });
      log(`${pages}: a shortcode was printed as text, not run; set markdownTemplateEngine: "njk" and the <% %> block tags (see README)`, "warn");
    }
    const summary = collectSummary(engine.build, queriesRendered, writer.written, evaluations, maps);
    const anything = queriesRendered > 0 || summary.encoders.length > 0 || evaluations.ranked + evaluations.remembered + maps.laidOut + maps.remembered > 0;
    if (anything) log(formatSummary(summary));
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

  const shortcodes: ShortcodeContext = {
    engine,
    registry,
    options,
    projectRoot,
    writer: () => writer,
    info: (message) => log(message),
    // While previewing, a broken shortcode shows up in the page and the terminal and the server keeps running; a
    // build fails.
    fail: (message, cause) => {
      if (runMode === "build") throw new EncoderCompareError(message, { cause });
      log(message, "warn");
      return renderErrorBox(message);
    },
  };
  registerEncoderCompare(eleventyConfig, {
    ...shortcodes,
    tryIt,
    rankOfVectors: new DatasetVectorCache(engine),
    onRendered: (queries) => (queriesRendered += queries),
  });
  registerEncoderEval(eleventyConfig, {
    ...shortcodes,
    onEvaluated: (rankings, ranked) => {
      if (ranked) evaluations.ranked += rankings;
      else evaluations.remembered += rankings;
    },
  });
  registerEncoderMap(eleventyConfig, {
    ...shortcodes,
    outputDir,
    onMapped: (laidOut) => (laidOut ? maps.laidOut++ : maps.remembered++),
  });

  registerEncoderName(eleventyConfig, shortcodes);

  // Page data for layouts (a banner, a mark in listings, the meta description): see page-stand-ins.ts.
  eleventyConfig.addGlobalData?.("eleventyComputed.encoderStandIns", () => (data: { page?: { inputPath?: string }; encoderCompare?: unknown }) =>
    pageStandIns(data.page?.inputPath, data.encoderCompare, {
      projectRoot,
      defaults: options.encoders,
      known: registry.ids(),
      standInOf: async (id) => (await runOf(engine, id)).standingInFor,
    }),
  );
}

Object.defineProperty(encoderComparePlugin, "eleventyPackage", { value: "eleventy-plugin-encoder-compare" });
Object.defineProperty(encoderComparePlugin, "eleventyPluginOptions", { value: { unique: true } });
