// Plugin options → a ready CompareEngine; shared by the Eleventy plugin and the CLI so both
// read the same options, environment switches and caches.
import path from "node:path";
import { CompareEngine } from "./compare-engine.ts";
import { embeddingsDatasets } from "../dataset/embeddings-option.ts";
import { ALL_KNOWN_ENCODERS, EncoderRegistry, MODEL_ENCODERS } from "../encoders/registry.ts";
import type { EncoderSpec } from "../encoders/spec.ts";
import { checkDataFolder } from "../base/folder-check.ts";
import { modelsDir } from "../models/cache-dir.ts";
import { DEFAULTS } from "../base/defaults.ts";
import { envFlag, type PluginOptions } from "./options.ts";
import type { ProgressFactory } from "../base/progress.ts";
import type { EngineOptionGroup, EngineSettings } from "./types.ts";

export interface EngineContext {
  projectRoot: string;
  env?: NodeJS.ProcessEnv;
  warn: (message: string) => void;
  info: (message: string) => void;
  progress?: ProgressFactory;
}

export function createRegistry(options: Pick<PluginOptions, "customEncoders">): EncoderRegistry {
  return new EncoderRegistry([...ALL_KNOWN_ENCODERS, ...int8Variants(MODEL_ENCODERS), ...options.customEncoders]);
}

/** "<id>-int8" for each downloaded model: the same download, quantized after it (see EncoderSpec["precision"]). */
function int8Variants(specs: readonly EncoderSpec[]): EncoderSpec[] {
  return specs.map((spec) => ({ ...spec, id: `${spec.id}-int8`, label: `${spec.label} (int8)`, modelId: spec.modelId ?? spec.id, precision: "int8" }));
}

/** The groups the engine reads (types.ts); a Record, so a group added there must be added here too. */
const ENGINE_GROUPS: Record<EngineOptionGroup, true> = { search: true, embedding: true, models: true };

/** Every resolved option of the engine's groups, by the names DEFAULTS gives them: nothing is copied by hand. */
function engineSettings(options: PluginOptions): EngineSettings {
  const names = (Object.keys(ENGINE_GROUPS) as EngineOptionGroup[]).flatMap((group) => Object.keys(DEFAULTS[group]));
  return Object.fromEntries(names.map((name) => [name, options[name as keyof PluginOptions]])) as EngineSettings;
}

export function createEngine(options: PluginOptions, context: EngineContext, registry = createRegistry(options)): CompareEngine {
  const env = context.env ?? process.env;
  const cacheDir = path.resolve(context.projectRoot, options.cacheDir);
  checkDataFolder(cacheDir, "cacheDir (--cache-dir)");
  return new CompareEngine({
    ...engineSettings(options),
    // The models group's settings with their environment switches applied.
    modelsDir: modelsDir({ dir: options.modelsDir, env }),
    offline: options.offline || envFlag(env.ENCODER_COMPARE_OFFLINE),
    modelBaseUrl: options.modelBaseUrl ?? (env.ENCODER_COMPARE_MODEL_BASE_URL || undefined),
    strict: options.strict || envFlag(env.ENCODER_COMPARE_STRICT),
    projectRoot: context.projectRoot,
    cacheDir,
    registry,
    warn: context.warn,
    info: context.info,
    progress: context.progress,
    embeddingsDatasets: embeddingsDatasets(options, context.projectRoot, DEFAULTS.embeddingsFolder),
  });
}
