// The `encoderMap` shortcode: one map per encoder of the dataset's images (a remembered seeded UMAP layout), the
// query images placed among their neighbours and joined to the same top k the tables show. plugin.ts registers it.
import crypto from "node:crypto";
import path from "node:path";
import { resolveRequestedDataset } from "../dataset/embeddings-option.ts";
import type { DatasetImage } from "../dataset/load.ts";
import { publishMapScript } from "../publish/map-bundle.ts";
import { mapRemembered } from "../engine/map-memo.ts";
import type { QueryResult } from "../engine/types.ts";
import { humanFileName } from "../render/alt-text.ts";
import { renderEncoderMaps, type MapPanel, type MapPoint, type MapQuery } from "../render/encoder-map.ts";
import { mergeRuns, type RequestedRun } from "../render/encoder-run.ts";
import { groupClusters, placeAmongNeighbours } from "../search/map-place.ts";
import { checkExpectedGroups } from "./compare-shortcode.ts";
import { parseMapArgs, type MapRequest } from "./map-args.ts";
import { PathRefusedError, resolveProjectDir, resolveQueryPath } from "./paths.ts";
import { keywordDefaults, runShortcode, WordedFailure, type EleventyLike, type ShortcodeContext, type ShortcodeThis } from "./shortcode-context.ts";

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
    return runShortcode(ctx, { page: this.page?.inputPath, name: "encoderMap", grammar: "encoderMap" }, (post) => {
      const n = (mapsPerPage.get(post) ?? 0) + 1;
      mapsPerPage.set(post, n);
      return renderEncoderMap(ctx, { post, contentDir, mapKey: `${post}#${n}` }, args);
    });
  });
}

export async function renderEncoderMap(ctx: MapShortcodeContext, call: { post: string; contentDir: string; mapKey: string }, args: readonly unknown[]) {
  const { options, engine, projectRoot } = ctx;
  const request = parseMapArgs(args, keywordDefaults(ctx));
  const postFile = path.resolve(projectRoot, call.post);
  const queryFiles = request.queries.map((query) => {
    try {
      return resolveQueryPath(query, postFile, call.contentDir, projectRoot);
    } catch (error) {
      if (error instanceof PathRefusedError) throw new WordedFailure(`${call.post}: encoderMap "${query}": ${error.message}`, { cause: error });
      throw error;
    }
  });
  const datasetDir = resolveRequestedDataset(request.dataset, options, projectRoot, (dir) => resolveProjectDir(dir, projectRoot, "dataset"));
  if (engine.isEmbeddingsDataset(datasetDir)) {
    throw new Error(`dataset ${request.dataset} is an embeddings folder; encoderMap draws a folder of images (it links every point to its image)`);
  }
  const dataset = engine.dataset(datasetDir);
  if (request.expect) checkExpectedGroups(request.expect, dataset);
  const requested: RequestedRun[] = [];
  for (const id of request.encoders) requested.push(await engine.runOf(id));
  const panels: MapPanel[] = [];
  for (const run of mergeRuns(requested)) {
    panels.push(await mapPanel(ctx, request, { encoderId: run.requestedIds.join(","), firstId: run.requestedIds[0], run }, datasetDir, queryFiles));
  }
  const urlBase = `/${options.outputSubdir}/`;
  const script = urlBase + (await publishMapScript(ctx.outputDir()));
  const idBase = `ec-map-${crypto.createHash("sha256").update(call.mapKey).digest("hex").slice(0, 10)}`;
  return renderEncoderMaps({ datasetName: dataset.name, urlBase, idBase, seed: options.mapSeed, script, panels });
}

async function mapPanel(
  ctx: MapShortcodeContext,
  request: MapRequest,
  encoder: Pick<MapPanel, "encoderId" | "run"> & { firstId: string },
  datasetDir: string,
  queryFiles: readonly string[],
): Promise<MapPanel> {
  const { engine, options } = ctx;
  const listed = engine.dataset(datasetDir);
  const members = new Map(listed.images.map((image) => [image.sha256, image]));
  const asked: Array<{ table: QueryResult; near: QueryResult }> = [];
  for (const file of queryFiles) {
    const table = await engine.query(encoder.firstId, datasetDir, file, { k: request.k, includeSelf: request.includeSelf });
    const near = await engine.query(encoder.firstId, datasetDir, file, { k: options.mapPlaceNeighbors, includeSelf: request.includeSelf });
    asked.push({ table, near });
  }
  const mustShow = asked.flatMap(({ table, near }) => [...table.hits, ...near.hits].map((h) => h.image.sha256));
  const outcome = await mapRemembered(engine, encoder.firstId, datasetDir, options, mustShow);
  const { map } = outcome;
  ctx.onMapped?.(outcome.computed);
  if (outcome.computed) {
    ctx.info(`encoderMap ${listed.name}: ${encoder.run.ran.id} laid out ${map.ids.length} images in ${outcome.seconds.toFixed(1)} s`);
  }
  const byId = new Map(listed.images.map((image) => [image.id, image]));
  const writer = ctx.writer();
  const images: DatasetImage[] = map.ids.map((id) => byId.get(id)!);
  const fulls = await Promise.all(images.map((image) => writer.fullImage(image)));
  const points: MapPoint[] = images.map((image, i) => ({
    x: map.xy[2 * i],
    y: map.xy[2 * i + 1],
    caption: image.caption,
    ...(image.group === undefined ? {} : { group: image.group }),
    fullImage: fulls[i],
  }));
  const rowById = new Map(map.ids.map((id, i) => [id, i]));
  const rowOf = (image: DatasetImage) => {
    const row = rowById.get(image.id);
    if (row === undefined) throw new Error(`${image.relativeFile} is a neighbour of a query but not on the map of ${listed.name}; rebuild to lay it out again`);
    return row;
  };
  const queries: MapQuery[] = asked.map(({ table, near }, i) => {
    const member = members.get(table.query.sha256);
    const expect = request.expect ?? (member?.group !== undefined ? [member.group] : undefined);
    const at = placeAmongNeighbours(near.hits.map((h) => ({ score: h.score, x: points[rowOf(h.image)].x, y: points[rowOf(h.image)].y })));
    return {
      label: member?.caption || humanFileName(request.queries[i]),
      ...at,
      hits: table.hits.map((h) => ({ rank: h.rank, score: h.score, point: rowOf(h.image) })),
      ...(expect ? { expect } : {}),
      selfExcluded: table.selfExcluded,
    };
  });
  return {
    encoderId: encoder.encoderId,
    run: encoder.run,
    points,
    queries,
    faithfulness: map.faithfulness,
    datasetSize: map.total,
    ...(map.sampled ? { sampleSeed: options.mapSeed } : {}),
    groups: groupClusters(points, map.linkDistance),
  };
}
