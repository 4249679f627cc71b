// The `encoderMap` shortcode: one map per encoder of the dataset's images (a remembered seeded UMAP layout), the
// query images placed among their neighbours and joined to the same top k the tables show. The page's arguments and
// paths are checked here, the panels come from compose/map-panels.ts, the SVG from render/. plugin.ts registers it.
import crypto from "node:crypto";
import path from "node:path";
import { mapPanels } from "../compose/map-panels.ts";
import { publishMapScript } from "../publish/map-bundle.ts";
import { renderEncoderMaps } from "../render/encoder-map.ts";
import { parseMapArgs } from "./map-args.ts";
import { keywordDefaults } from "./shortcode-args.ts";
import { resolvePageDataset, resolvePageQueries } from "./page-request.ts";
import { runShortcode, type EleventyLike, type ShortcodeContext, type ShortcodeThis } from "./shortcode-context.ts";

export interface MapShortcodeContext extends ShortcodeContext {
  /** Where the site's images and scripts of this plugin are written. */
  outputDir: () => string;
  /** Hears of each map: laid out now, or read back from the store. */
  onMapped?: (computed: boolean) => void;
}

export function registerEncoderMap(eleventyConfig: EleventyLike, ctx: MapShortcodeContext): void {
  // Element ids must be unique per page: count maps per page within a build.
  let mapsPerPage = new Map<string, number>();
  eleventyConfig.on("eleventy.before", () => {
    mapsPerPage = new Map();
  });
  eleventyConfig.addAsyncShortcode("encoderMap", async function (this: ShortcodeThis, ...args: unknown[]): Promise<string> {
    const contentDir = path.resolve(ctx.projectRoot, eleventyConfig.directories.input);
    return runShortcode(ctx, { page: this.page?.inputPath, name: "encoderMap" }, (post) => {
      const n = (mapsPerPage.get(post) ?? 0) + 1;
      mapsPerPage.set(post, n);
      return renderEncoderMap(ctx, { post, contentDir, mapKey: `${post}#${n}` }, args);
    });
  });
}

export async function renderEncoderMap(ctx: MapShortcodeContext, call: { post: string; contentDir: string; mapKey: string }, args: readonly unknown[]) {
  const { options, engine, projectRoot } = ctx;
  const request = parseMapArgs(args, keywordDefaults(ctx));
  const queryFiles = resolvePageQueries(request.queries, { ...call, name: "encoderMap" }, projectRoot);
  const datasetDir = resolvePageDataset(request.dataset, options, projectRoot);
  const { datasetName, panels } = await mapPanels(engine, ctx.writer(), { ...request, queryFiles, datasetDir }, options, ({ run, datasetName, outcome }) => {
    ctx.onMapped?.(outcome.computed);
    if (outcome.computed) ctx.info(`encoderMap ${datasetName}: ${run.ran.id} laid out ${outcome.map.ids.length} images in ${outcome.seconds.toFixed(1)} s`);
  });
  const urlBase = `/${options.outputSubdir}/`;
  const script = urlBase + (await publishMapScript(ctx.outputDir()));
  const idBase = `ec-map-${crypto.createHash("sha256").update(call.mapKey).digest("hex").slice(0, 10)}`;
  return renderEncoderMaps({ datasetName, urlBase, idBase, seed: options.mapSeed, script, panels });
}
