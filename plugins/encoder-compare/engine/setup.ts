// Plugin options → a ready CompareEngine; shared by the Eleventy plugin and the CLI so both
// read the same options, environment switches and caches.
import path from "node:path";
import { CompareEngine } from "./compare-engine.ts";
import { embeddingsDatasets } from "../dataset/embeddings-option.ts";
import { ALL_KNOWN_ENCODERS, EncoderRegistry } from "../encoders/registry.ts";
import { checkDataFolder } from "../store/folder-check.ts";
import { modelsDir } from "../models/cache-dir.ts";
import { envFlag, type PluginOptions } from "./options.ts";
import type { ProgressFactory } from "./progress.ts";

export interface EngineContext {
  projectRoot: string;
  env?: NodeJS.ProcessEnv;
  warn: (message: string) => void;
  info: (message: string) => void;
  progress?: ProgressFactory;
}

export function createRegistry(options: Pick<PluginOptions, "customEncoders">): EncoderRegistry {
  return new EncoderRegistry([...ALL_KNOWN_ENCODERS, ...options.customEncoders]);
}

export function createEngine(options: PluginOptions, context: EngineContext, registry = createRegistry(options)): CompareEngine {
  const env = context.env ?? process.env;
  const cacheDir = path.resolve(context.projectRoot, options.cacheDir);
  checkDataFolder(cacheDir, "cacheDir (--cache-dir)");
  const models = modelsDir({ dir: options.modelsDir, env });
  return new CompareEngine({
    projectRoot: context.projectRoot,
    cacheDir,
    registry,
    batchSize: options.batchSize,
    intraOpNumThreads: options.intraOpNumThreads,
    limitInputPixels: options.limitInputPixels,
    indexBackend: options.indexBackend,
    annThreshold: options.annThreshold,
    annFactory: options.annFactory,
    annCandidates: options.annCandidates,
    prefetchBatches: options.prefetchBatches,
    decodeConcurrency: options.decodeConcurrency,
    modelsDir: models,
    offline: options.offline || envFlag(env.ENCODER_COMPARE_OFFLINE),
    modelBaseUrl: options.modelBaseUrl ?? (env.ENCODER_COMPARE_MODEL_BASE_URL || undefined),
    strict: options.strict || envFlag(env.ENCODER_COMPARE_STRICT),
    warn: context.warn,
    info: context.info,
    progress: context.progress,
    embeddingsDatasets: embeddingsDatasets(options, context.projectRoot),
  });
}
