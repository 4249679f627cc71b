// EncoderSpec.source → the ONNX bytes to run, plus their sha256 (part of the encoder key).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { EncoderSpec } from "../encoders/spec.ts";
import { buildBuiltinGraph, type BuiltinGraphName } from "./builtin-graphs.ts";

export interface ResolvedModel {
  bytes: Uint8Array;
  sha256: string;
  /** Where the bytes came from, for logs. */
  origin: string;
}

export interface ResolveOptions {
  projectRoot: string;
}

export async function resolveModel(spec: EncoderSpec, options: ResolveOptions): Promise<ResolvedModel> {
  const source = spec.source;
  switch (source.kind) {
    case "builtin": {
      const bytes = buildBuiltinGraph(source.graph as BuiltinGraphName);
      return { bytes, sha256: sha256(bytes), origin: `built-in graph "${source.graph}"` };
    }
    case "file": {
      const file = path.resolve(options.projectRoot, source.path);
      let bytes: Uint8Array;
      try {
        bytes = fs.readFileSync(file);
      } catch (error) {
        throw new Error(`encoder "${spec.id}": cannot read model file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
      }
      return { bytes, sha256: sha256(bytes), origin: file };
    }
    default:
      throw new Error(`encoder "${spec.id}": model source kind "${source.kind}" is not supported`);
  }
}

function sha256(bytes: Uint8Array): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}
