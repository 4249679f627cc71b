// `npx encoder-compare …`: model management outside a build.
//   models list              what is known, where it comes from, whether it is cached
//   models pull <id…>        download (and convert) now, with a progress bar on a TTY
//   models verify [id…]      re-hash cached files against their pins
// Exit codes: 0 ok, 1 runtime failure, 2 usage.
import fs from "node:fs";
import path from "node:path";
import { ALL_KNOWN_ENCODERS, EncoderRegistry } from "./encoders/registry.ts";
import type { EncoderSpec } from "./encoders/spec.ts";
import { modelsDir } from "./models/cache-dir.ts";
import { verifyModelFile, type ModelFileRequest } from "./models/download.ts";
import { resolveModel } from "./models/resolve.ts";
import { envFlag } from "./options.ts";

class UsageError extends Error {}

export interface Output {
  write(chunk: string): unknown;
}

const HELP: Record<string, string> = {
  main: `Usage: encoder-compare <command> [options]

Commands:
  models list              list known encoders, their model source and cache state
  models pull <id…>        download (and convert) models into the cache now
  models verify [id…]      re-hash cached model files against their pinned sha256

Run "encoder-compare <command> --help" for a command's options.
Environment: ENCODER_COMPARE_MODELS_DIR (cache folder), ENCODER_COMPARE_MODEL_BASE_URL (mirror),
ENCODER_COMPARE_OFFLINE=1 (never download).`,
  "models list": `Usage: encoder-compare models list [--json]

Lists every known encoder: id, label, dimension, model source, licence and whether its files are
in the model cache (${"$"}ENCODER_COMPARE_MODELS_DIR or ~/.cache/encoder-compare/models).`,
  "models pull": `Usage: encoder-compare models pull <id…> [--update-lock] [--offline]

Downloads each model (resumable, verified against its pinned sha256 or the lock file) and, for
converted models, builds the ONNX graph. --update-lock accepts a new upstream hash for a model
that has no pinned sha256 and re-records it in models.lock.json.`,
  "models verify": `Usage: encoder-compare models verify [id…]

Re-hashes the cached files of the given models (default: all with downloads) and reports any
that are missing or do not match their pin. Exits 1 if any problem is found.`,
};

function parseFlags(args: string[], allowed: string[]): { positional: string[]; flags: Set<string> } {
  const positional: string[] = [];
  const flags = new Set<string>();
  for (const arg of args) {
    if (arg.startsWith("--")) {
      if (!allowed.includes(arg)) throw new UsageError(`unknown option ${arg}; allowed: ${allowed.join(", ") || "none"}`);
      flags.add(arg);
    } else positional.push(arg);
  }
  return { positional, flags };
}

function downloads(spec: EncoderSpec): ModelFileRequest[] {
  const source = spec.source;
  const file = (s: { url: string; sha256?: string; bytes?: number; fileName?: string }): ModelFileRequest => ({
    id: spec.modelId ?? spec.id,
    url: s.url,
    fileName: s.fileName ?? path.basename(new URL(s.url).pathname),
    sha256: s.sha256,
    bytes: s.bytes,
  });
  if (source.kind === "url") return [file(source)];
  if (source.kind === "converted") return [file(source.weights)];
  return [];
}

function describeSource(spec: EncoderSpec): string {
  const s = spec.source;
  if (s.kind === "builtin") return `built-in graph "${s.graph}"`;
  if (s.kind === "file") return s.path;
  if (s.kind === "url") return s.url;
  return `${s.weights.url} → converter ${s.converter}`;
}

function selectSpecs(registry: EncoderRegistry, ids: string[]): EncoderSpec[] {
  for (const id of ids) {
    if (!registry.has(id)) throw new UsageError(`unknown encoder "${id}"; known encoders: ${registry.ids().join(", ")}`);
  }
  return ids.map((id) => registry.get(id));
}

export async function main(argv: string[], out: Output = process.stdout, err: Output = process.stderr): Promise<number> {
  const registry = new EncoderRegistry(ALL_KNOWN_ENCODERS);
  const dir = modelsDir();
  const [group, command, ...rest] = argv;
  const name = [group, command].filter(Boolean).join(" ");
  try {
    if (!group || group === "--help" || group === "-h") {
      out.write(HELP.main + "\n");
      return group ? 0 : 2;
    }
    if (group !== "models" || !command || !HELP[name]) throw new UsageError(`unknown command "${name}"`);
    if (rest.includes("--help") || rest.includes("-h")) {
      out.write(HELP[name] + "\n");
      return 0;
    }
    if (command === "list") {
      const { flags } = parseFlags(rest, ["--json"]);
      const rows = await Promise.all(
        registry.ids().map(async (id) => {
          const spec = registry.get(id);
          const files = downloads(spec);
          const states = await Promise.all(files.map((f) => verifyModelFile(f, { dir })));
          const cached = files.length === 0 ? "built in" : states.every((s) => s.ok) ? "cached" : "not cached";
          return { id, label: spec.label, dim: spec.dim, source: describeSource(spec), cached, license: spec.license };
        }),
      );
      if (flags.has("--json")) out.write(JSON.stringify({ modelsDir: dir, encoders: rows }, null, 2) + "\n");
      else {
        out.write(`models dir: ${dir}\n`);
        for (const r of rows) out.write(`${r.id.padEnd(20)} ${String(r.dim).padStart(5)}-d  ${r.cached.padEnd(10)}  ${r.label}\n${"".padEnd(20)} source: ${r.source}\n`);
      }
      return 0;
    }
    if (command === "pull") {
      const { positional, flags } = parseFlags(rest, ["--update-lock", "--offline"]);
      if (positional.length === 0) throw new UsageError("name at least one encoder id to pull");
      let failed = 0;
      for (const spec of selectSpecs(registry, positional)) {
        try {
          const model = await resolveModel(spec, {
            projectRoot: process.cwd(),
            modelsDir: dir,
            offline: flags.has("--offline") || envFlag(process.env.ENCODER_COMPARE_OFFLINE),
            baseUrl: process.env.ENCODER_COMPARE_MODEL_BASE_URL || undefined,
            log: (line) => err.write(line + "\n"),
          });
          out.write(`${spec.id}: ready (${typeof model.model === "string" ? model.model : describeSource(spec)})\n`);
        } catch (error) {
          failed++;
          err.write(`${spec.id}: ${(error as Error).message}\n`);
        }
      }
      return failed ? 1 : 0;
    }
    // verify
    const { positional } = parseFlags(rest, []);
    const specs = positional.length ? selectSpecs(registry, positional) : registry.ids().map((id) => registry.get(id)).filter((s) => downloads(s).length > 0 && !s.id.endsWith("-2021"));
    let problems = 0;
    for (const spec of specs) {
      for (const file of downloads(spec)) {
        const result = await verifyModelFile(file, { dir, rehash: true });
        if (result.ok) out.write(`${spec.id}: ok ${result.path} (sha256 ${result.sha256})\n`);
        else {
          problems++;
          out.write(`${spec.id}: ${result.problem}\n`);
        }
      }
    }
    return problems ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`encoder-compare: ${error.message}\nRun "encoder-compare --help" for usage.\n`);
      return 2;
    }
    err.write(`encoder-compare: ${(error as Error).message}\n`);
    return 1;
  }
}

const invokedDirectly = process.argv[1] && fs.realpathSync(process.argv[1]).replace(/\.ts$/, "") === fs.realpathSync(new URL(import.meta.url).pathname).replace(/\.ts$/, "");
if (invokedDirectly) process.exitCode = await main(process.argv.slice(2));
