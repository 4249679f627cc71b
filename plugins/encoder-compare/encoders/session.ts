// One onnxruntime-node session per encoder: checks the graph's tensor names, runs batches,
// and returns L2-normalised vectors.
import os from "node:os";
import type * as Ort from "onnxruntime-node";
import type { EncoderSpec } from "./spec.ts";
import { tensorShape } from "./preprocess-core.ts";
import { l2Normalize } from "./normalize.ts";

export interface SessionOptions {
  /** onnxruntime intra-op threads; 0 = one per available core. */
  intraOpNumThreads?: number;
  /** Let idle intra-op threads spin-wait (onnxruntime's default when unset). */
  allowSpinning?: boolean;
}

let ortLoaded: typeof Ort | undefined;

/** onnxruntime-node, loaded with the first session (a fully cached build never needs it). */
async function loadOrt(): Promise<typeof Ort> {
  return (ortLoaded ??= await import("onnxruntime-node"));
}

export class EncoderSession {
  readonly spec: EncoderSpec;
  readonly #session: Ort.InferenceSession;
  readonly #ort: typeof Ort;

  private constructor(spec: EncoderSpec, session: Ort.InferenceSession, ort: typeof Ort) {
    this.spec = spec;
    this.#session = session;
    this.#ort = ort;
  }

  /** `model` is the ONNX bytes or a path onnxruntime reads itself. */
  static async create(spec: EncoderSpec, model: Uint8Array | string, options: SessionOptions = {}): Promise<EncoderSession> {
    const threads = options.intraOpNumThreads || os.availableParallelism();
    const ort = await loadOrt();
    let session: Ort.InferenceSession;
    try {
      const sessionOptions: Ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" };
      // Idle onnxruntime threads spin for a while by default, taking CPU from sharp decoding the
      // next batch; on few cores that costs more than it saves.
      if (options.allowSpinning !== undefined) sessionOptions.extra = { session: { intra_op: { allow_spinning: options.allowSpinning ? "1" : "0" } } };
      session = typeof model === "string" ? await ort.InferenceSession.create(model, sessionOptions) : await ort.InferenceSession.create(model, sessionOptions);
    } catch (error) {
      throw new Error(`encoder "${spec.id}": onnxruntime could not load the model (${(error as Error).message})`, { cause: error });
    }
    if (!session.inputNames.includes(spec.inputName) || !session.outputNames.includes(spec.outputName)) {
      await session.release();
      throw new Error(
        `encoder "${spec.id}": the model's tensors do not match its spec — expected input "${spec.inputName}" and output "${spec.outputName}", ` +
          `the model has inputs [${session.inputNames.join(", ")}] and outputs [${session.outputNames.join(", ")}]; ` +
            `fix inputName/outputName in the encoder spec`,
      );
    }
    return new EncoderSession(spec, session, ort);
  }

  /** Runs one batch of preprocessed single-image tensors; returns one unit vector per image. */
  async embedBatch(tensors: readonly Float32Array[]): Promise<Float32Array[]> {
    if (tensors.length === 0) return [];
    const perImage = tensors[0].length;
    const batch = new Float32Array(perImage * tensors.length);
    tensors.forEach((t, i) => batch.set(t, i * perImage));
    const input = new this.#ort.Tensor("float32", batch, tensorShape(this.spec.preprocess, tensors.length));
    const results = await this.#session.run({ [this.spec.inputName]: input }, [this.spec.outputName]);
    const output = results[this.spec.outputName];
    const data = output.data as Float32Array;
    const dim = data.length / tensors.length;
    if (dim !== this.spec.dim) {
      throw new Error(`encoder "${this.spec.id}": output "${this.spec.outputName}" has ${dim} values per image, the spec says dim ${this.spec.dim}`);
    }
    const vectors: Float32Array[] = [];
    for (let i = 0; i < tensors.length; i++) vectors.push(l2Normalize(data.subarray(i * dim, (i + 1) * dim)));
    output.dispose?.();
    return vectors;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

export { l2Normalize } from "./normalize.ts";
