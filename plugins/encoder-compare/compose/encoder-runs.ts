// What ran for a requested encoder, in the words-ready form every surface names it by (render/encoder-run.ts). The
// engine answers with identities; turning one into a run is a display decision, so it is made here, above the engine.
import type { CompareEngine } from "../engine/compare-engine.ts";
import type { QueryResult } from "../engine/types.ts";
import type { RequestedRun } from "../render/encoder-run.ts";
import { requestedRun } from "../render/requested-run.ts";

/** How an encoder id runs in this build, without starting onnxruntime (models are resolved, maybe downloaded). */
export async function runOf(engine: CompareEngine, id: string): Promise<RequestedRun> {
  return requestedRun(id, await engine.encoderIdentity(id));
}

/** The run behind one query result of `requestedId`. */
export function resultRun(requestedId: string, result: QueryResult): RequestedRun {
  return requestedRun(requestedId, { spec: result.encoder, standInFor: result.standInFor });
}
