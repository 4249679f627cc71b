// Files → unit vectors through one encoder session, in batches, decoding the next batch while
// the current one runs. Images that cannot be decoded are reported, never fatal here.
import { imageToTensor } from "./preprocess.ts";
import type { EncoderSession } from "./session.ts";

export interface EmbedInput {
  /** Content hash of the file; the key of the returned vector. */
  sha256: string;
  file: string;
}

export interface EmbedOutcome {
  vectors: Map<string, Float32Array>;
  failed: Array<{ file: string; reason: string }>;
}

export interface EmbedOptions {
  batchSize: number;
  limitInputPixels?: number;
  /** Called after each batch with the vectors it produced (e.g. to persist them). */
  onBatch?: (entries: Array<[string, Float32Array]>, done: number, total: number) => void;
}

interface DecodedBatch {
  inputs: EmbedInput[];
  tensors: Float32Array[];
  failed: Array<{ file: string; reason: string }>;
}

async function decodeBatch(inputs: EmbedInput[], session: EncoderSession, limitInputPixels?: number): Promise<DecodedBatch> {
  const settled = await Promise.allSettled(inputs.map((i) => imageToTensor(i.file, session.spec.preprocess, { limitInputPixels })));
  const batch: DecodedBatch = { inputs: [], tensors: [], failed: [] };
  settled.forEach((result, i) => {
    if (result.status === "fulfilled") {
      batch.inputs.push(inputs[i]);
      batch.tensors.push(result.value);
    } else {
      batch.failed.push({ file: inputs[i].file, reason: describeDecodeError(result.reason) });
    }
  });
  return batch;
}

export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return "image is larger than the pixel limit (limitInputPixels)";
  if (/unsupported image format|bad seek|not a known file format/i.test(message)) return "not a supported image";
  return message.split("\n")[0];
}

export async function embedFiles(session: EncoderSession, inputs: readonly EmbedInput[], options: EmbedOptions): Promise<EmbedOutcome> {
  const outcome: EmbedOutcome = { vectors: new Map(), failed: [] };
  const size = Math.max(1, options.batchSize);
  const chunks: EmbedInput[][] = [];
  for (let i = 0; i < inputs.length; i += size) chunks.push(inputs.slice(i, i + size));
  let next = chunks.length ? decodeBatch(chunks[0], session, options.limitInputPixels) : undefined;
  let done = 0;
  for (let c = 0; c < chunks.length; c++) {
    const batch = await next!;
    next = c + 1 < chunks.length ? decodeBatch(chunks[c + 1], session, options.limitInputPixels) : undefined;
    outcome.failed.push(...batch.failed);
    const vectors = await session.embedBatch(batch.tensors);
    const entries = batch.inputs.map((input, i): [string, Float32Array] => [input.sha256, vectors[i]]);
    for (const [sha, vector] of entries) outcome.vectors.set(sha, vector);
    done += chunks[c].length;
    options.onBatch?.(entries, done, inputs.length);
  }
  return outcome;
}
