// An encoder's store key and the name its figures go under: pure functions of the spec and model, shared by the
// engine, its index and memo modules, the CLI and the benchmarks.
import crypto from "node:crypto";
import type { EncoderSpec } from "../encoders/spec.ts";
import type { LoadedEncoder } from "./types.ts";

/** Bump when preprocessing or post-processing changes in a way that changes vectors. */
export const PIPELINE_VERSION = 2;

/** The name an encoder's figures go under in the summary, e.g. "clip-vit-b32→pixels" for a stand-in. */
export function statsName(encoder: Pick<LoadedEncoder, "spec" | "standInFor">): string {
  return encoder.standInFor ? `${encoder.standInFor.spec.id}→${encoder.spec.id}` : encoder.spec.id;
}

/** The store key of an encoder's vectors: sha256 over the pipeline version, model bytes, tensor names and preprocessing. */
export function encoderKey(spec: EncoderSpec, modelSha256: string): string {
  const identity = {
    pipeline: PIPELINE_VERSION,
    model: modelSha256,
    input: spec.inputName,
    output: spec.outputName,
    dim: spec.dim,
    preprocess: spec.preprocess,
  };
  return crypto.createHash("sha256").update(JSON.stringify(identity)).digest("hex");
}
