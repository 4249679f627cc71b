// The Eleventy glue: registers the `encoderCompare` shortcode (and `encoderEval`, in
// eval/shortcode.ts), turns each call into engine queries plus rendered tables, and prints one
// summary line per build.
import path from "node:path";
import { normalizeOptions, type PluginOptions } from "./options.ts";
import { createProgress } from "./progress.ts";
import { createEngine, createRegistry } from "./setup.ts";
import { defaultDatasetName, resolveRequestedDataset } from "./dataset/embeddings-option.ts";
import { PathRefusedError, resolveProjectDir, resolveQueryPath } from "./paths.ts";
import { createMontageWriter, type MontageWriter } from "./render/montage.ts";
import { renderComparisonTable, renderErrorBox, type TableRow } from "./render/table.ts";
import { parseCompareArgs, ShortcodeArgumentError } from "./shortcode-args.ts";
import { collectSummary, formatSummary } from "./summary.ts";
import { DatasetVectorCache, describeRankOf } from "./eval/rank-of.ts";
import { registerEncoderEval } from "./eval/shortcode.ts";

export { DEFAULT_OPTIONS, type PluginOptions } from "./options.ts";
export type { EncoderSpec, PreprocessSpec, ModelSource } from "./encoders/spec.ts";

/** The small part of Eleventy's UserConfig this plugin uses (Eleventy 3 ships no types). */
export interface EleventyConfigLike {
  directories: { input: string; output: string };
  addAsyncShortcode(name: string, fn: (...args: any[]) => Promise<string>): void;
  on(event: string, fn: (arg: any) => unknown): void;
  logger?: { logWithOptions?: (o: { message: string; prefix?: string; type?: string; color?: string; force?: boolean }) => void };
}

interface ShortcodeThis {
  page?: { inputPath?: string };
  /** Nunjucks render context: the page's data, front matter included. */
  ctx?: { encoderCompare?: unknown };
}

const PREFIX = "[encoder-compare]";

export class EncoderCompareError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Eleventy prints the message chain; the stack of a user-input error helps nobody.
    (this as { skipOriginalStack?: boolean }).skipOriginalStack = true;
  }
}

export default function encoderComparePlugin(eleventyConfig: EleventyConfigLike, userOptions: Partial<PluginOptions> = {}): void {
  const options = normalizeOptions(userOptions);
  const projectRoot = process.cwd();
  const log = (message: string, type: "info" | "warn" = "info") => {
    if (eleventyConfig.logger?.logWithOptions) {
      eleventyConfig.logger.logWithOptions({ message, prefix: PREFIX, type, color: type === "warn" ? "yellow" : undefined, force: type === "warn" });
    } else {
      console[type === "warn" ? "warn" : "log"](`${PREFIX} ${message}`);
    }
  };
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
  let writer: MontageWriter = createMontageWriter(outputDir());
  const rankOfVectors = new DatasetVectorCache(engine);
  let queriesRendered = 0;
  let runMode = "build";

  eleventyConfig.on("eleventy.before", (event?: { runMode?: string }) => {
    runMode = event?.runMode ?? "build";
    engine.startBuild();
    writer = createMontageWriter(outputDir());
    queriesRendered = 0;
  });

  eleventyConfig.on("eleventy.after", async ({ results, runMode }: { results?: Array<{ content?: string; inputPath?: string }>; runMode?: string }) => {
    const unrendered = (results ?? []).filter((r) => /&lt;% encoder(Compare|Eval)\b/.test(r.content ?? ""));
    for (const r of unrendered) {
      log(`${r.inputPath}: a shortcode was printed as text, not run; set markdownTemplateEngine: "njk" and the <% %> block tags (see README)`, "warn");
    }
    const summary = collectSummary(engine, queriesRendered, writer.written);
    if (queriesRendered > 0 || summary.encoders.length > 0) log(formatSummary(summary));
    if (summary.skipped.length > 0) {
      const list = summary.skipped.map((s) => `${path.relative(projectRoot, s.file)} (${s.reason})`).join("; ");
      log(`${summary.skipped.length} dataset image(s) skipped: ${list}`, "warn");
    }
    options.onBuildSummary?.(summary);
    if (runMode === "build") await engine.close();
  });

  eleventyConfig.addAsyncShortcode("encoderCompare", async function (this: ShortcodeThis, ...args: unknown[]): Promise<string> {
    try {
      return await renderCompare(this.page?.inputPath ?? "(unknown page)", args, this.ctx?.encoderCompare);
    } catch (error) {
      // While previewing, a broken shortcode shows up in the page and the terminal and the
      // server keeps running; a build fails.
      if (runMode === "build" || !(error instanceof EncoderCompareError)) throw error;
      const message = error.message.startsWith(`${PREFIX} `) ? error.message.slice(PREFIX.length + 1) : error.message;
      log(message, "warn");
      return renderErrorBox(message);
    }
  });

  registerEncoderEval(eleventyConfig, {
    engine,
    registry,
    options,
    projectRoot,
    writer: () => writer,
    info: (message) => log(message),
    fail: (message, cause) => {
      if (runMode === "build") throw new EncoderCompareError(message, { cause });
      const shown = message.startsWith(`${PREFIX} `) ? message.slice(PREFIX.length + 1) : message;
      log(shown, "warn");
      return renderErrorBox(shown);
    },
  });

  async function renderCompare(post: string, args: unknown[], pageDefaults: unknown): Promise<string> {
    const where = `${PREFIX} ${post}: encoderCompare`;
    let request;
    try {
      request = parseCompareArgs(args, {
        k: options.k,
        maxK: options.maxK,
        encoders: options.encoders,
        dataset: defaultDatasetName(options.dataset),
        includeSelf: options.includeSelf,
        knownEncoders: registry.ids(),
      }, pageDefaults);
    } catch (error) {
      if (error instanceof ShortcodeArgumentError) throw new EncoderCompareError(`${where}: ${error.message}`, { cause: error });
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
      const tables: string[] = [];
      for (const encoderId of request.encoders) {
        const rows: TableRow[] = [];
        let datasetSize = 0;
        let datasetName = "";
        let standIn: { label: string; note: string } | undefined;
        let datasetNote: string | undefined;
        for (const [i, queryFile] of queryFiles.entries()) {
          const result = await engine.query(encoderId, datasetDir, queryFile, { k: request.k, includeSelf: request.includeSelf });
          datasetSize = result.datasetSize;
          datasetName = result.datasetName;
          datasetNote = result.datasetNote;
          if (result.standInFor) {
            standIn = {
              label: `${result.encoder.label} — stand-in for ${result.standInFor.spec.label}`,
              note: `(model not available: ${result.standInFor.reason})`,
            };
          }
          const rankOf = request.rankOf ? await describeRankOf(rankOfVectors, encoderId, datasetDir, result, request.rankOf) : undefined;
          const queryAlt = `Query image ${path.basename(request.queries[i])}`;
          const [queryImage, montage, queryFullImage, hitFullImages] = await Promise.all([
            writer.thumbnail({ file: queryFile, sha256: result.query.sha256 }, options.tileSize),
            result.hits.length ? writer.montage(result.hits.map((h) => h.image), options.tileSize) : Promise.resolve(undefined),
            writer.fullImage({ file: queryFile, sha256: result.query.sha256 }),
            Promise.all(result.hits.map((h) => writer.fullImage(h.image))),
          ]);
          rows.push({
            queryAlt,
            queryImage,
            queryFullImage,
            montage,
            hits: result.hits.map((h, j) => ({ rank: h.rank, score: h.score, caption: h.image.caption, fullImage: hitFullImages[j] })),
            selfExcluded: result.selfExcluded,
            rankOf,
          });
        }
        const spec = registry.get(encoderId);
        tables.push(
          renderComparisonTable({
            encoderId,
            encoderLabel: standIn?.label ?? spec.label,
            note: [standIn?.note, datasetNote && `(${datasetNote})`].filter(Boolean).join(" ") || undefined,
            datasetName,
            datasetSize,
            k: request.k,
            urlBase: `/${options.outputSubdir}/`,
            rows,
          }),
        );
      }
      queriesRendered += queryFiles.length;
      return tables.join("\n");
    } catch (error) {
      if (error instanceof EncoderCompareError) throw error;
      throw new EncoderCompareError(`${where}: ${(error as Error).message}`, { cause: error });
    }
  }
}

Object.defineProperty(encoderComparePlugin, "eleventyPackage", { value: "eleventy-plugin-encoder-compare" });
Object.defineProperty(encoderComparePlugin, "eleventyPluginOptions", { value: { unique: true } });
