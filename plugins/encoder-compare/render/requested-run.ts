// What ran for a requested encoder, from the encoder's identity alone (no session). Kept apart from encoder-run.ts:
// the in-page widget bundles encoder-run.ts to word runs, and builds none.
import type { ModelUnavailableKind } from "../models/model-file.ts";
import type { RequestedRun } from "./encoder-run.ts";

interface NamedSpec {
  spec: { id: string; label: string };
}

/** What ran for `requestedId`: the encoder itself, or the stand-in loaded in its place and why. */
export function requestedRun(
  requestedId: string,
  encoder: NamedSpec & { standInFor?: NamedSpec & { kind: ModelUnavailableKind; reason: string } },
): RequestedRun {
  const ran = { id: encoder.spec.id, label: encoder.spec.label };
  const s = encoder.standInFor;
  return s ? { requestedId, ran, standingInFor: { id: s.spec.id, label: s.spec.label, kind: s.kind, reason: s.reason } } : { requestedId, ran };
}
