// encoderMap's panels: one per model that ran, every dataset image a point (its remembered seeded layout), the query
// images placed among their neighbours and joined to the same top k the tables show, each point linked to its image.
import type { DatasetImage } from "../dataset/load.ts";
import type { CompareEngine } from "../engine/compare-engine.ts";
import { mapRemembered, type MapOutcome, type MapSettings } from "../engine/map-memo.ts";
import type { QueryResult } from "../engine/types.ts";
import { humanFileName } from "../render/alt-text.ts";
import type { MapPanel, MapPoint, MapQuery } from "../render/encoder-map.ts";
import { mergeRuns, type EncoderRun, type RequestedRun } from "../render/encoder-run.ts";
import type { MontageWriter } from "../render/result-images.ts";
import { groupClusters, placeAmongNeighbours } from "../search/map-place.ts";
import type { CompareAsk } from "./compare-answers.ts";
import { runOf } from "./encoder-runs.ts";
import { checkExpectedGroups, expectedFor } from "./expected-groups.ts";

export interface MapAsk extends CompareAsk {
  /** The dataset as written, for messages. */
  dataset: string;
  /** The query paths as written (a label for a query that is not a captioned dataset image). */
  queries: readonly string[];
  expect?: readonly string[];
}

/** The map settings, and how many neighbours place a query on the map. */
export type MapPanelSettings = MapSettings & { mapPlaceNeighbors: number };

/** One panel's layout: laid out now (with the seconds it took) or read back from the store. */
export interface MapLaidOut {
  run: EncoderRun;
  datasetName: string;
  outcome: MapOutcome;
}

export async function mapPanels(
  engine: CompareEngine,
  writer: MontageWriter,
  ask: MapAsk,
  settings: MapPanelSettings,
  heard: (laidOut: MapLaidOut) => void,
): Promise<{ datasetName: string; panels: MapPanel[] }> {
  if (engine.isEmbeddingsDataset(ask.datasetDir)) {
    throw new Error(`dataset ${ask.dataset} is an embeddings folder; encoderMap draws a folder of images (it links every point to its image)`);
  }
  const dataset = engine.dataset(ask.datasetDir);
  if (ask.expect) checkExpectedGroups(ask.expect, dataset);
  const requested: RequestedRun[] = [];
  for (const id of ask.encoders) requested.push(await runOf(engine, id));
  const panels: MapPanel[] = [];
  for (const run of mergeRuns(requested)) {
    panels.push(await mapPanel(engine, writer, ask, settings, { encoderId: run.requestedIds.join(","), firstId: run.requestedIds[0], run }, heard));
  }
  return { datasetName: dataset.name, panels };
}

async function mapPanel(
  engine: CompareEngine,
  writer: MontageWriter,
  ask: MapAsk,
  settings: MapPanelSettings,
  encoder: Pick<MapPanel, "encoderId" | "run"> & { firstId: string },
  heard: (laidOut: MapLaidOut) => void,
): Promise<MapPanel> {
  const listed = engine.dataset(ask.datasetDir);
  const members = new Map(listed.images.map((image) => [image.sha256, image]));
  const asked: Array<{ table: QueryResult; near: QueryResult }> = [];
  for (const file of ask.queryFiles) {
    const table = await engine.query(encoder.firstId, ask.datasetDir, file, { k: ask.k, includeSelf: ask.includeSelf });
    const near = await engine.query(encoder.firstId, ask.datasetDir, file, { k: settings.mapPlaceNeighbors, includeSelf: ask.includeSelf });
    asked.push({ table, near });
  }
  const mustShow = asked.flatMap(({ table, near }) => [...table.hits, ...near.hits].map((h) => h.image.sha256));
  const outcome = await mapRemembered(engine, encoder.firstId, ask.datasetDir, settings, mustShow);
  const { map } = outcome;
  heard({ run: encoder.run, datasetName: listed.name, outcome });
  const byId = new Map(listed.images.map((image) => [image.id, image]));
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
    const expect = expectedFor(ask.expect, member);
    const at = placeAmongNeighbours(near.hits.map((h) => ({ score: h.score, x: points[rowOf(h.image)].x, y: points[rowOf(h.image)].y })));
    return {
      label: member?.caption || humanFileName(ask.queries[i]),
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
    ...(map.sampled ? { sampleSeed: settings.mapSeed } : {}),
    groups: groupClusters(points, map.linkDistance),
  };
}
