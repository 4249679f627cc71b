// EncoderSpec.source → the ONNX model to run (bytes or a cached file) plus an identity hash
// that keys the embedding store. Downloads and conversions are cached in the models dir.
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FileRefusedError, MAX_MODEL_FILE_BYTES, readCheckedSync } from "../base/safe-read.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import type { BuiltinGraphName } from "./builtin-graphs.ts";
import { netLimitsFromEnv } from "../base/net-limits.ts";
import { ensureModelFile, ModelUnavailableError, type EnsureOptions, type ModelFileRequest } from "./download.ts";
import { RETRY_AFTER_ENV } from "./unavailable-memo.ts";
import { writeFileAtomicSync } from "../base/atomic-write.ts";
import { derivedGraphPath } from "./cache-layout.ts";
import type { ModelFileFormat } from "./verify-content.ts";

export interface ResolvedModel {
  /** Either in-memory bytes or a file onnxruntime reads itself (large models). */
  model: Uint8Array | string;
  /** sha256 identifying the graph: of its bytes, or of (converter, version, weights) for conversions. */
  sha256: string;
  /** Where the model came from, for logs. */
  origin: string;
}

export interface ResolveOptions {
  projectRoot: string;
  modelsDir: string;
  offline?: boolean;
  baseUrl?: string;
  /** Accept a changed upstream hash for an unpinned file and re-record it in the lock file. */
  updateLock?: boolean;
  /** Try downloads now even if a recent try failed (`models pull`). */
  retryUnavailable?: boolean;
  log?: (line: string) => void;
  /** Where fetch limits are read from (README: "Fetches"); default process.env. */
  env?: NodeJS.ProcessEnv;
}

interface Converter {
  version: number;
  convert: (weights: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /** What the weights file must be before it is kept and pinned. */
  weightsFormat: ModelFileFormat;
}

/** Converters that turn downloaded weights into an ONNX graph; bump a version to re-convert. */
export const CONVERTERS: Record<string, Converter> = {
  // Imported on use: the converter pulls in onnx-proto, and a cached conversion never needs it.
  "bit-resnetv2": {
    version: 2,
    convert: async (weights) => (await import("./convert-bit.ts")).convertBitSafetensors(weights),
    weightsFormat: {
      kind: "safetensors",
      purpose: "the bit-resnetv2 converter",
      checkTensors: async (shapes) => {
        const { describeBitLayout } = await import("./convert-bit.ts");
        describeBitLayout(new Map([...shapes].map(([name, shape]) => [name, { shape, data: new Float32Array(0) }])));
      },
    },
  },
};

export async function resolveModel(spec: EncoderSpec, options: ResolveOptions): Promise<ResolvedModel> {
  const source = spec.source;
  switch (source.kind) {
    case "builtin":
      return resolveBuiltin(source.graph as BuiltinGraphName, options.modelsDir);
    case "file": {
      const file = path.resolve(options.projectRoot, source.path);
      let bytes: Uint8Array;
      try {
        // The model's place is the site's configuration; what is read there must be a regular file.
        bytes = readCheckedSync(fs.realpathSync(file), { maxBytes: MAX_MODEL_FILE_BYTES });
      } catch (error) {
        const code = error instanceof FileRefusedError ? error.message : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
        const detail = `encoder "${spec.id}": cannot read model file ${file} (${code})`;
        throw new ModelUnavailableError(spec.id, "unreadable", `cannot read ${source.path} (${code})`, detail, { cause: error });
      }
      const digest = sha256(bytes);
      await refuseUnboundedGraph(spec, file, digest, bytes);
      return { model: bytes, sha256: digest, origin: file };
    }
    case "url": {
      // Its graph was checked for unbounded operators with its content, once (verify-content.ts).
      const file = await ensureModelFile(modelFileRequests(spec)[0]!, ensureOptions(options));
      return { model: file.path, sha256: file.sha256, origin: file.path };
    }
    case "converted": {
      const converter = CONVERTERS[source.converter];
      if (!converter) {
        throw new Error(`encoder "${spec.id}": unknown converter "${source.converter}"; known converters: ${Object.keys(CONVERTERS).join(", ")}`);
      }
      const weights = await ensureModelFile(modelFileRequests(spec)[0]!, ensureOptions(options));
      const identity = sha256(`converted\n${source.converter}\n${converter.version}\n${weights.sha256}`);
      const converted = derivedGraphPath(path.resolve(options.modelsDir), source.converter, converter.version, weights.sha256);
      if (!fs.existsSync(converted)) {
        const started = performance.now();
        let bytes: Uint8Array;
        try {
          bytes = await converter.convert(fs.readFileSync(weights.path));
        } catch (error) {
          // The weights passed their checks, so this is the converter meeting a file it cannot read:
          // the model is unavailable (stand-in or strict failure), the build goes on.
          throw new ModelUnavailableError(
            spec.id,
            "conversion-failed",
            `cannot convert its weights (${source.converter})`,
            `encoder "${spec.id}": converting ${weights.path} failed: ${(error as Error).message}. ` +
              `Delete that file and run \`npx encoder-compare models pull --update-lock ${spec.modelId ?? spec.id}\` to download it again.`,
            { cause: error },
          );
        }
        fs.mkdirSync(path.dirname(converted), { recursive: true });
        writeFileAtomicSync(converted, bytes);
        options.log?.(`${spec.id}: converted ${path.basename(weights.path)} to ONNX in ${((performance.now() - started) / 1000).toFixed(1)} s (${converted})`);
      }
      return { model: converted, sha256: identity, origin: converted };
    }
  }
}

/** Graphs already found free of unbounded operators in this process, by sha256. */
const boundedGraphs = new Set<string>();

/**
 * A graph the user supplied as a file with an operator that can loop without bound (Loop, Scan) is unavailable:
 * onnxruntime cannot stop a run in flight, so such a model could hold the build forever. (A downloaded graph meets
 * the same check once, in its content check: verify-content.ts.)
 */
async function refuseUnboundedGraph(spec: EncoderSpec, file: string, digest: string, bytes: Uint8Array): Promise<void> {
  if (boundedGraphs.has(digest)) return;
  // Loaded on use, like the converters: the check pulls in onnx-proto, which a build of url models never needs.
  const { findUnboundedOperator, unboundedGraphWhy } = await import("./onnx-graph-check.ts");
  const found = findUnboundedOperator(bytes);
  if (!found) return void boundedGraphs.add(digest);
  throw new ModelUnavailableError(
    spec.id,
    "unsafe-graph",
    `its graph holds ${found}`,
    `encoder "${spec.id}": model file ${file} holds ${unboundedGraphWhy(found)}`,
  );
}

/**
 * The two modules that build the built-in graphs, beside this one and with its extension: `.ts` when
 * running from the sources, `.js` from the compiled package (a fixed `.ts` would find nothing there,
 * and every build would then make the graphs again).
 */
export function builtinGraphSources(moduleUrl = import.meta.url): string[] {
  const self = fileURLToPath(moduleUrl);
  return ["builtin-graphs", "onnx-builder"].map((name) => path.join(path.dirname(self), name + path.extname(self)));
}

/** What a built-in graph's bytes depend on: the two files that build it and the protobuf encoder. */
export function builtinSourceKey(): string | undefined {
  try {
    const encoder = fs.statSync(createRequire(import.meta.url).resolve("onnx-proto"));
    const sources = builtinGraphSources().map((file) => fs.readFileSync(file));
    return sha256(Buffer.concat([...sources, Buffer.from(`\n${encoder.size}:${encoder.mtimeMs}`)]));
  } catch {
    return undefined;
  }
}

/**
 * A built-in graph's identity without building it: the graph is written to the models dir once,
 * with its sha256, for the current sources. A warm build then needs neither onnx-proto (slow to
 * load) nor the graph bytes unless it runs the encoder.
 */
async function resolveBuiltin(graph: BuiltinGraphName, modelsDir: string): Promise<ResolvedModel> {
  const origin = `built-in graph "${graph}"`;
  const sourceKey = builtinSourceKey();
  const dir = path.join(modelsDir, "builtin");
  const sidecar = path.join(dir, `${graph}.json`);
  if (sourceKey) {
    try {
      const known = JSON.parse(fs.readFileSync(sidecar, "utf8")) as { sourceKey?: string; sha256?: string; file?: string };
      if (known.sourceKey === sourceKey && known.sha256 && known.file && fs.existsSync(path.join(dir, known.file))) {
        return { model: path.join(dir, known.file), sha256: known.sha256, origin };
      }
    } catch {
      // No or unreadable record: build below.
    }
  }
  const { buildBuiltinGraph } = await import("./builtin-graphs.ts");
  const bytes = buildBuiltinGraph(graph);
  const hash = sha256(bytes);
  if (sourceKey) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      const file = `${graph}-${hash.slice(0, 16)}.onnx`;
      writeFileAtomicSync(path.join(dir, file), bytes, { sidecar: { file: sidecar, data: JSON.stringify({ sourceKey, sha256: hash, file }) } });
    } catch {
      // A read-only models dir only costs the rebuild next time.
    }
  }
  return { model: bytes, sha256: hash, origin };
}

/** The files an encoder downloads, each with the checks it must pass before it is kept. */
export function modelFileRequests(spec: EncoderSpec): ModelFileRequest[] {
  const id = spec.modelId ?? spec.id;
  const source = spec.source;
  if (source.kind === "url") {
    return [fileRequest(id, source, { kind: "onnx", inputName: spec.inputName, outputName: spec.outputName })];
  }
  if (source.kind === "converted") return [fileRequest(id, source.weights, CONVERTERS[source.converter]?.weightsFormat)];
  return [];
}

function fileRequest(
  id: string,
  source: { url: string; sha256?: string; bytes?: number; maxBytes?: number; fileName?: string },
  format: ModelFileFormat | undefined,
): ModelFileRequest {
  const fileName = source.fileName ?? decodeURIComponent(new URL(source.url).pathname.split("/").pop() || "model.onnx");
  return { id, url: source.url, fileName, sha256: source.sha256, bytes: source.bytes, maxBytes: source.maxBytes, format };
}

function ensureOptions(options: ResolveOptions): EnsureOptions {
  const env = options.env ?? process.env;
  const retryAfter = env[RETRY_AFTER_ENV]?.trim();
  const seconds = retryAfter ? Number(retryAfter) : undefined;
  if (seconds !== undefined && !(seconds >= 0)) {
    throw new Error(`${RETRY_AFTER_ENV}=${JSON.stringify(retryAfter)} is not a number of seconds; use e.g. ${RETRY_AFTER_ENV}=0 to retry every build`);
  }
  return {
    dir: options.modelsDir,
    offline: options.offline,
    baseUrl: options.baseUrl,
    updateLock: options.updateLock,
    retryUnavailable: options.retryUnavailable,
    unavailableRetryMs: seconds === undefined ? undefined : seconds * 1000,
    limits: netLimitsFromEnv(env),
    log: options.log,
  };
}

function sha256(bytes: Uint8Array | string): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}
