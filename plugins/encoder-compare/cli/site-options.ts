// The options a CLI command runs with: the plugin defaults, then an optional config module
// (--config file whose default export is plugin options, e.g. the object passed to addPlugin),
// then the command's flags.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { CompareEngine } from "../compare.ts";
import { normalizeOptions, type PluginOptions } from "../options.ts";
import { createProgress } from "../progress.ts";
import { createEngine, createRegistry } from "../setup.ts";
import { UsageError, type CommandIO, type ParsedArgs } from "./common.ts";

/** Flags every engine-backed command accepts. */
export const ENGINE_FLAGS = ["--dataset", "--encoders", "--config", "--cache-dir"] as const;

export async function optionsFromArgs(parsed: ParsedArgs, cwd: string): Promise<PluginOptions> {
  let fromConfig: Partial<PluginOptions> = {};
  const configFile = parsed.values.get("--config");
  if (configFile) {
    const file = path.resolve(cwd, configFile);
    if (!fs.existsSync(file)) throw new UsageError(`--config file ${file} does not exist`);
    const loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
    if (typeof loaded.default !== "object" || loaded.default === null) {
      throw new UsageError(`--config file ${file} must export the plugin options object as its default export`);
    }
    fromConfig = loaded.default as Partial<PluginOptions>;
  }
  const overrides: Partial<PluginOptions> = {};
  const dataset = parsed.values.get("--dataset");
  if (dataset) overrides.dataset = dataset;
  const cacheDir = parsed.values.get("--cache-dir");
  if (cacheDir) overrides.cacheDir = cacheDir;
  const encoders = parsed.values.get("--encoders");
  if (encoders) overrides.encoders = encoders.split(",").map((e) => e.trim()).filter(Boolean);
  try {
    return normalizeOptions({ ...fromConfig, ...overrides });
  } catch (error) {
    throw new UsageError((error as Error).message.replace("[encoder-compare] plugin option", "option"));
  }
}

/** The engine a command runs: unknown encoder ids are usage errors; logs and progress go to stderr. */
export function engineForCommand(options: PluginOptions, io: CommandIO): CompareEngine {
  const registry = createRegistry(options);
  for (const id of options.encoders) {
    if (!registry.has(id)) throw new UsageError(`unknown encoder "${id}"; known encoders: ${registry.ids().join(", ")}`);
  }
  return createEngine(
    options,
    {
      projectRoot: io.cwd,
      env: io.env,
      warn: (message) => io.err.write(`warning: ${message}\n`),
      info: (message) => io.err.write(`${message}\n`),
      progress: createProgress({ output: io.err }),
    },
    registry,
  );
}
