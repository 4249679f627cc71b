// `encoder-compare models …`: list, pull and verify model files outside a build.
import fs from "node:fs";
import path from "node:path";
import { ALL_KNOWN_ENCODERS, EncoderRegistry } from "../encoders/registry.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { modelsDir } from "../models/cache-dir.ts";
import { verifyModelFile } from "../models/download.ts";
import { modelFileRequests as downloads, resolveModel } from "../models/resolve.ts";
import { envFlag } from "../engine/options.ts";
import { parseArgs, UsageError, type Command } from "./common.ts";

function describeSource(spec: EncoderSpec): string {
  const s = spec.source;
  if (s.kind === "builtin") return `built-in graph "${s.graph}"`;
  if (s.kind === "file") return s.path;
  if (s.kind === "url") return s.url;
  return `${s.weights.url} → converter ${s.converter}`;
}

export function selectSpecs(registry: EncoderRegistry, ids: string[]): EncoderSpec[] {
  for (const id of ids) {
    if (!registry.has(id)) throw new UsageError(`unknown encoder "${id}"; known encoders: ${registry.ids().join(", ")}`);
  }
  return ids.map((id) => registry.get(id));
}

function registry(): EncoderRegistry {
  return new EncoderRegistry(ALL_KNOWN_ENCODERS);
}

export const modelsList: Command = {
  name: "models list",
  summary: "list known encoders, their model source and cache state",
  help: `Usage: encoder-compare models list [--json]

Lists every known encoder: id, label, dimension, model source, licence and whether its files are
in the model cache ($ENCODER_COMPARE_MODELS_DIR or ~/.cache/encoder-compare/models).`,
  async run(args, { out, env }) {
    const { flags } = parseArgs(args, ["--json"]);
    const dir = modelsDir({ env });
    const known = registry();
    const rows = await Promise.all(
      known.ids().map(async (id) => {
        const spec = known.get(id);
        const files = downloads(spec);
        const states = await Promise.all(files.map((f) => verifyModelFile(f, { dir })));
        const cached = files.length === 0 ? "built in" : states.every((s) => s.ok) ? "cached" : "not cached";
        return { id, label: spec.label, dim: spec.dim, source: describeSource(spec), cached, license: spec.license };
      }),
    );
    if (flags.has("--json")) out.write(JSON.stringify({ modelsDir: dir, encoders: rows }, null, 2) + "\n");
    else {
      out.write(`models dir: ${dir}\n`);
      const idWidth = Math.max(20, ...rows.map((r) => r.id.length));
      for (const r of rows) {
        out.write(`${r.id.padEnd(idWidth)} ${String(r.dim).padStart(5)}-d  ${r.cached.padEnd(10)}  ${r.label}\n${"".padEnd(idWidth)} source: ${r.source}\n`);
      }
    }
    return 0;
  },
};

export const modelsPull: Command = {
  name: "models pull",
  summary: "download (and convert) models into the cache now",
  help: `Usage: encoder-compare models pull <id…> [--update-lock] [--offline]

Downloads each model (resumable, verified against its pinned sha256 or the lock file, and checked
to be a valid ONNX model or safetensors weights) and, for converted models, builds the ONNX graph.
It tries now even when a build recently found the model unavailable. --update-lock accepts a new upstream hash for a model
that has no pinned sha256 and re-records it in models.lock.json.`,
  async run(args, { out, err, env, cwd }) {
    const { positional, flags } = parseArgs(args, ["--update-lock", "--offline"]);
    if (positional.length === 0) throw new UsageError("name at least one encoder id to pull");
    let failed = 0;
    for (const spec of selectSpecs(registry(), positional)) {
      try {
        const model = await resolveModel(spec, {
          projectRoot: cwd,
          modelsDir: modelsDir({ env }),
          offline: flags.has("--offline") || envFlag(env.ENCODER_COMPARE_OFFLINE),
          baseUrl: env.ENCODER_COMPARE_MODEL_BASE_URL || undefined,
          updateLock: flags.has("--update-lock"),
          retryUnavailable: true,
          env,
          log: (line) => err.write(line + "\n"),
        });
        out.write(`${spec.id}: ready (${typeof model.model === "string" ? model.model : describeSource(spec)})\n`);
      } catch (error) {
        failed++;
        err.write(`${spec.id}: ${(error as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

export const modelsVerify: Command = {
  name: "models verify",
  summary: "re-hash cached model files against their pinned sha256",
  help: `Usage: encoder-compare models verify [id…]

Re-hashes the cached files of the given models (default: every model with downloads) and reports
any that do not match their pin or are not what they claim (an ONNX model that does not parse or
lacks the spec's input/output, safetensors weights the converter cannot read). A model not
downloaded yet has nothing to verify and is not a problem. Exits 1 if any problem is found.`,
  async run(args, { out, env }) {
    const { positional } = parseArgs(args, []);
    const known = registry();
    const dir = modelsDir({ env });
    const specs = positional.length
      ? selectSpecs(known, positional)
      : known.ids().map((id) => known.get(id)).filter((s) => downloads(s).length > 0 && !s.modelId);
    let problems = 0;
    for (const spec of specs) {
      for (const file of downloads(spec)) {
        const result = await verifyModelFile(file, { dir, rehash: true });
        if (result.ok) out.write(`${spec.id}: ok ${result.path} (sha256 ${result.sha256})\n`);
        else if (!fs.existsSync(result.path)) {
          out.write(`${spec.id}: not downloaded, nothing to verify (a build fetches it on first use, or \`models pull ${spec.id}\`)\n`);
        }
        else {
          problems++;
          out.write(`${spec.id}: ${result.problem}\n`);
        }
      }
    }
    return problems ? 1 : 0;
  },
};
