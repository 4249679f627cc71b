// Map layouts remembered in the store, like query results and reports: a build whose encoder, dataset state and map
// options are unchanged reads the positions back and lays nothing out (it does not even load the dataset's vectors).
import crypto from "node:crypto";
import { seededRandom, seededSample } from "../base/seeded-random.ts";
import { layoutMap, type Faithfulness, type MapLayoutOptions } from "../search/map-layout.ts";
import type { CompareEngine } from "./compare-engine.ts";
import type { PluginOptions } from "./options.ts";

/** Bump when the layout or the faithfulness measure changes: remembered layouts are then ignored. */
const MAP_MEMO_VERSION = 1;

export type MapSettings = Pick<
  PluginOptions,
  "mapSeed" | "mapNeighbors" | "mapMinDist" | "mapEpochs" | "mapPcaDims" | "mapPcaFrom" | "mapMaxPoints" | "mapFaithfulnessK" | "mapFaithfulnessSample"
>;

export interface RememberedMap {
  /** Image ids of the laid-out rows, in order; row i is at xy[2i], xy[2i + 1]. */
  ids: string[];
  xy: number[];
  faithfulness: Faithfulness;
  graphDims: number;
  linkDistance: number;
  /** Indexed images of the dataset (more than ids when a sample was laid out). */
  total: number;
  sampled: boolean;
}

export interface MapOutcome {
  map: RememberedMap;
  /** False when the layout came from the store. */
  computed: boolean;
  seconds: number;
}

function layoutOptions(s: MapSettings): MapLayoutOptions {
  return {
    seed: s.mapSeed,
    nNeighbors: s.mapNeighbors,
    minDist: s.mapMinDist,
    epochs: s.mapEpochs,
    pcaDims: s.mapPcaDims,
    pcaFrom: s.mapPcaFrom,
    faithfulnessK: s.mapFaithfulnessK,
    faithfulnessSample: s.mapFaithfulnessSample,
  };
}

/**
 * The map of one encoder's view of a dataset. `mustShow` (image sha256s: the queries' neighbours) matters only
 * above mapMaxPoints images, where a seeded sample is laid out and those images are added to it.
 */
export async function mapRemembered(
  engine: CompareEngine,
  encoderId: string,
  datasetDir: string,
  settings: MapSettings,
  mustShow: readonly string[],
): Promise<MapOutcome> {
  const started = performance.now();
  const listed = engine.dataset(datasetDir);
  const identity = await engine.encoderIdentity(encoderId);
  const sampling = listed.images.length > settings.mapMaxPoints;
  const options = layoutOptions(settings);
  const forced = sampling ? [...new Set(mustShow)].sort() : [];
  const scope = crypto
    .createHash("sha256")
    .update(JSON.stringify([MAP_MEMO_VERSION, identity.key, listed.dir, options, sampling ? settings.mapMaxPoints : null, forced]))
    .digest("hex");
  const ids = new Set(listed.images.map((image) => image.id));
  const entry = engine.store.recall("map", scope, listed.fingerprint, MAP_MEMO_VERSION) as (RememberedMap & { version: number }) | undefined;
  const whole = entry && Array.isArray(entry.ids) && Array.isArray(entry.xy) && entry.xy.length === 2 * entry.ids.length && entry.faithfulness;
  if (entry && whole && entry.ids.every((id) => ids.has(id))) {
    const { version: _, ...map } = entry;
    return { map, computed: false, seconds: (performance.now() - started) / 1000 };
  }
  const { dataset, dim, vectors } = await engine.datasetVectors(encoderId, datasetDir);
  const n = dataset.images.length;
  let rows = Array.from({ length: n }, (_, i) => i);
  if (sampling && n > settings.mapMaxPoints) {
    const wanted = new Set(forced);
    const sample = new Set(seededSample(n, settings.mapMaxPoints, seededRandom(settings.mapSeed ^ 0x5eed)));
    dataset.images.forEach((image, i) => wanted.has(image.sha256) && sample.add(i));
    rows = [...sample].sort((a, b) => a - b);
  }
  const chosen = rows.length === n ? vectors : new Float32Array(rows.length * dim);
  if (chosen !== vectors) rows.forEach((row, i) => chosen.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim));
  const layout = layoutMap(chosen, rows.length, dim, options);
  const map: RememberedMap = {
    ids: rows.map((row) => dataset.images[row].id),
    xy: layout.xy,
    faithfulness: layout.faithfulness,
    graphDims: layout.graphDims,
    linkDistance: layout.linkDistance,
    total: n,
    sampled: rows.length < n,
  };
  engine.store.remember("map", scope, listed.fingerprint, MAP_MEMO_VERSION, map);
  return { map, computed: true, seconds: (performance.now() - started) / 1000 };
}
