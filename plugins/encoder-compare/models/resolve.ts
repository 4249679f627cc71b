// EncoderSpec.source → the ONNX model to run (bytes or a cached file) plus an identity hash
// that keys the embedding store. Downloads and conversions are cached in the models dir.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { EncoderSpec } from "../encoders/spec.ts";
import { buildBuiltinGraph, type BuiltinGraphName } from "./builtin-graphs.ts";
import { convertBitSafetensors } from "./convert-bit.ts";
import { ensureModelFile, ModelUnavailableError, type EnsureOptions, type ModelFileRequest } from "./download.ts";

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
  log?: (line: string) => void;
}

/** Converters that turn downloaded weights into an ONNX graph; bump a version to re-convert. */
export const CONVERTERS: Record<string, { version: number; convert: (weights: Uint8Array) => Uint8Array }> = {
  "bit-resnetv2": { version: 1, convert: (weights) => convertBitSafetensors(weights) },
};

export async function resolveModel(spec: EncoderSpec, options: ResolveOptions): Promise<ResolvedModel> {
  const source = spec.source;
  switch (source.kind) {
    case "builtin": {
      const bytes = buildBuiltinGraph(source.graph as BuiltinGraphName);
      return { model: bytes, sha256: sha256(bytes), origin: `built-in graph "${source.graph}"` };
    }
    case "file": {
      const file = path.resolve(options.projectRoot, source.path);
      let bytes: Uint8Array;
      try {
        bytes = fs.readFileSync(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new ModelUnavailableError(spec.id, `cannot read ${source.path} (${code})`, `encoder "${spec.id}": cannot read model file ${file} (${code})`, { cause: error });
      }
      return { model: bytes, sha256: sha256(bytes), origin: file };
    }
    case "url": {
      const file = await ensureModelFile(fileRequest(spec.modelId ?? spec.id, source), ensureOptions(options));
      return { model: file.path, sha256: file.sha256, origin: file.path };
    }
    case "converted": {
      const converter = CONVERTERS[source.converter];
      if (!converter) {
        throw new Error(`encoder "${spec.id}": unknown converter "${source.converter}"; known converters: ${Object.keys(CONVERTERS).join(", ")}`);
      }
      const weights = await ensureModelFile(fileRequest(spec.modelId ?? spec.id, source.weights), ensureOptions(options));
      const identity = sha256(`converted\n${source.converter}\n${converter.version}\n${weights.sha256}`);
      const converted = path.join(path.dirname(weights.path), `${source.converter}-v${converter.version}-${weights.sha256.slice(0, 16)}.onnx`);
      if (!fs.existsSync(converted)) {
        const started = performance.now();
        let bytes: Uint8Array;
        try {
          bytes = converter.convert(fs.readFileSync(weights.path));
        } catch (error) {
          throw new Error(`encoder "${spec.id}": converting ${weights.path} failed: ${(error as Error).message}`, { cause: error });
        }
        const temp = `${converted}.${process.pid}.tmp`;
        fs.writeFileSync(temp, bytes);
        fs.renameSync(temp, converted);
        options.log?.(`${spec.id}: converted ${path.basename(weights.path)} to ONNX in ${((performance.now() - started) / 1000).toFixed(1)} s (${converted})`);
      }
      return { model: converted, sha256: identity, origin: converted };
    }
  }
}

function fileRequest(id: string, source: { url: string; sha256?: string; bytes?: number; fileName?: string }): ModelFileRequest {
  const fileName = source.fileName ?? decodeURIComponent(new URL(source.url).pathname.split("/").pop() || "model.onnx");
  return { id, url: source.url, fileName, sha256: source.sha256, bytes: source.bytes };
}

function ensureOptions(options: ResolveOptions): EnsureOptions {
  return { dir: options.modelsDir, offline: options.offline, baseUrl: options.baseUrl, updateLock: options.updateLock, log: options.log };
}

function sha256(bytes: Uint8Array | string): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}
