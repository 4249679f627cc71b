// Files → unit vectors through one encoder session, in batches. Decoding runs ahead of
// inference: up to `prefetchBatches` decoded batches wait in a queue while onnxruntime works,
// with at most `decodeConcurrency` images in sharp at once. Images that cannot be decoded are
// reported, never fatal here.
import os from "node:os";
import { DEFAULTS } from "../base/defaults.ts";
import { isPixelLimitRefusal, PIXEL_LIMIT_REASON } from "../base/pixel-limit.ts";
import { readChecked } from "../base/safe-read.ts";
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
  limitInputPixels: number;
  /** Files above this many bytes are not read (default DEFAULTS.images.maxImageBytes). */
  maxImageBytes?: number;
  /** Decoded batches kept ready ahead of the one onnxruntime runs (0 = no overlap). */
  prefetchBatches: number;
  /** Images decoded at the same time (0 = one per core). */
  decodeConcurrency: number;
  /** Called after each batch with the vectors it produced (e.g. to persist them). */
  onBatch?: (entries: Array<[string, Float32Array]>, done: number, total: number) => void;
}

interface DecodedBatch {
  inputs: EmbedInput[];
  tensors: Float32Array[];
  failed: Array<{ file: string; reason: string }>;
}

/** A FIFO counting semaphore: at most `limit` tasks run; later ones start in call order. */
function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

async function decodeBatch(
  inputs: EmbedInput[],
  session: EncoderSession,
  options: Pick<EmbedOptions, "limitInputPixels" | "maxImageBytes">,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
): Promise<DecodedBatch> {
  // `file` is a real path checked when the dataset was listed; readChecked refuses it if it became a link since.
  const decode = async (input: EmbedInput) => {
    const bytes = await readChecked(input.file, { maxBytes: options.maxImageBytes ?? DEFAULTS.images.maxImageBytes });
    return imageToTensor(bytes, session.spec.preprocess, { limitInputPixels: options.limitInputPixels, shrinkOnLoad: true, file: input.file });
  };
  const settled = await Promise.allSettled(inputs.map((i) => limit(() => decode(i))));
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
  if (isPixelLimitRefusal(error)) return PIXEL_LIMIT_REASON;
  if (/unsupported image format|bad seek|not a known file format/i.test(message)) return "not a supported image";
  // libvips keeps error text per thread: with decodes side by side a truncated file's failure can arrive as a bare
  // "Unknown error" instead of its decoder's "read error", so both get one wording that says what to do about it.
  if (/^\s*(unknown error)?\s*$|read error|premature end|truncated/i.test(message)) return "cannot be decoded: a corrupt or truncated image file";
  return message.split("\n")[0];
}

export async function embedFiles(session: EncoderSession, inputs: readonly EmbedInput[], options: EmbedOptions): Promise<EmbedOutcome> {
  const outcome: EmbedOutcome = { vectors: new Map(), failed: [] };
  const size = Math.max(1, options.batchSize);
  const chunks: EmbedInput[][] = [];
  for (let i = 0; i < inputs.length; i += size) chunks.push(inputs.slice(i, i + size));
  const depth = Math.max(0, options.prefetchBatches);
  const limit = limiter(Math.max(1, options.decodeConcurrency || os.availableParallelism()));
  // Batches being decoded or decoded, in order; the head is the next to run.
  const queue: Array<Promise<DecodedBatch>> = [];
  let started = 0;
  const refill = (ahead: number) => {
    while (queue.length < ahead && started < chunks.length) {
      const batch = decodeBatch(chunks[started++], session, options, limit);
      batch.catch(() => {}); // awaited in order below
      queue.push(batch);
    }
  };
  let done = 0;
  for (let c = 0; c < chunks.length; c++) {
    refill(1);
    const batch = await queue.shift()!;
    refill(depth);
    outcome.failed.push(...batch.failed);
    const vectors = await session.embedBatch(batch.tensors);
    const entries = batch.inputs.map((input, i): [string, Float32Array] => [input.sha256, vectors[i]]);
    for (const [sha, vector] of entries) outcome.vectors.set(sha, vector);
    done += chunks[c].length;
    options.onBatch?.(entries, done, inputs.length);
  }
  return outcome;
}
