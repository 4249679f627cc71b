// Remembers finished `encoderEval` reports in the embedding store, like query results: a build
// whose evaluation inputs are unchanged ranks nothing and never loads the dataset's vectors.
// The inputs: every encoder's store key (model, preprocessing, pipeline version) and stand-in,
// the dataset state (ids and contents: the fingerprint; groups), k, what the disagreement rows
// show, the decoder limit, and EVAL_MEMO_VERSION for the code.
import crypto from "node:crypto";
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { DatasetImage } from "../dataset/load.ts";
import { evaluateEncoders, largestDisagreements, type EvalReport, type Evaluation, type RankedResult } from "./evaluate.ts";

/** Bump when metrics, ranking or the report's shape change: remembered reports are then ignored. */
const EVAL_MEMO_VERSION = 2;

export interface EvalMemoRequest {
  k: number;
  /** The disagreement rows a page shows: their top results are remembered with the report. */
  disagreements?: { pair: readonly [string, string]; count: number; shown: number };
  /** An image over the decoder limit is skipped, which changes what is ranked. */
  limitInputPixels: number;
}

/** Top results by image id: [id, score, relevant]. */
type RememberedTop = Array<[string, number, boolean]>;

interface RememberedEvaluation {
  version: number;
  report: EvalReport;
  /** encoder id → query id → its top results, for the disagreement rows only. */
  top: Record<string, Record<string, RememberedTop>>;
  /** Dataset images that could not be embedded, with the reason (reported again on every build). */
  skipped: Array<[string, string]>;
}

export interface EvalOutcome {
  evaluation: Evaluation;
  /** False when the report came from the store and nothing was ranked. */
  ranked: boolean;
}

export async function evaluateRemembered(
  engine: CompareEngine,
  datasetDir: string,
  encoderIds: readonly string[],
  request: EvalMemoRequest,
): Promise<EvalOutcome> {
  const dataset = engine.dataset(datasetDir);
  const identities = await Promise.all(encoderIds.map((id) => engine.encoderIdentity(id)));
  const groups = crypto.createHash("sha256").update(dataset.images.map((image) => `${image.id}\0${image.group ?? ""}`).join("\n")).digest("hex");
  const scope = crypto
    .createHash("sha256")
    .update(
      JSON.stringify([
        EVAL_MEMO_VERSION,
        encoderIds,
        identities.map((i) => [i.key, i.spec.id, i.standInFor?.spec.id ?? null, i.standInFor?.kind ?? null, i.standInFor?.reason ?? null]),
        dataset.dir,
        groups,
        request,
      ]),
    )
    .digest("hex");
  const byId = new Map(dataset.images.map((image) => [image.id, image]));
  const remembered = recall(engine.store.recall("eval", scope, dataset.fingerprint, EVAL_MEMO_VERSION) as RememberedEvaluation | undefined, byId);
  if (remembered) {
    for (const [file, reason] of remembered.skipped) engine.build.skippedImages.set(file, reason);
    return { evaluation: fromRemembered(remembered, byId, encoderIds), ranked: false };
  }

  const evaluation = await evaluateEncoders(engine, datasetDir, encoderIds, { k: request.k });
  const top: RememberedEvaluation["top"] = {};
  if (request.disagreements) {
    const { pair, count, shown } = request.disagreements;
    for (const d of largestDisagreements(evaluation.report, pair, count)) {
      for (const encoderId of pair) {
        top[encoderId] ??= {};
        top[encoderId][d.queryId] = evaluation.topResults(encoderId, d.queryId, shown).map((r) => [r.image.id, r.score, r.relevant]);
      }
    }
  }
  const files = new Set(dataset.images.map((image) => image.file));
  const skipped = [...engine.build.skippedImages].filter(([file]) => files.has(file));
  engine.store.remember("eval", scope, dataset.fingerprint, EVAL_MEMO_VERSION, { report: evaluation.report, top, skipped });
  return { evaluation, ranked: true };
}

/** The stored entry, if it is of this version and every image it names is still in the dataset. */
function recall(entry: RememberedEvaluation | undefined, byId: ReadonlyMap<string, DatasetImage>): RememberedEvaluation | undefined {
  if (!entry) return undefined;
  for (const queries of Object.values(entry.top)) {
    for (const [queryId, results] of Object.entries(queries)) {
      if (!byId.has(queryId) || results.some(([id]) => !byId.has(id))) return undefined;
    }
  }
  return entry;
}

function fromRemembered(entry: RememberedEvaluation, byId: ReadonlyMap<string, DatasetImage>, encoderIds: readonly string[]): Evaluation {
  const { report } = entry;
  return {
    report,
    image(id) {
      const image = byId.get(id);
      if (!image) throw new Error(`"${id}" is not an evaluated image of ${report.dataset.name}`);
      return image;
    },
    topResults(encoderId, queryId, n): RankedResult[] {
      if (!encoderIds.includes(encoderId)) throw new Error(`encoder "${encoderId}" was not evaluated; evaluated: ${encoderIds.join(", ")}`);
      const results = entry.top[encoderId]?.[queryId];
      if (!results) {
        throw new Error(`the remembered evaluation of ${report.dataset.name} holds no results of "${queryId}" under ${encoderId}`);
      }
      return results.slice(0, n).map(([id, score, relevant], i) => ({ rank: i + 1, score, image: byId.get(id)!, relevant }));
    },
  };
}
