// A CompareEngine for tests: offline, one onnxruntime thread, caches under `dir`; any option
// can be overridden. Extra specs join the registry next to every known encoder.
import path from "node:path";
import { CompareEngine } from "../../plugins/encoder-compare/engine/compare-engine.ts";
import type { EngineOptions } from "../../plugins/encoder-compare/engine/types.ts";
import { ALL_KNOWN_ENCODERS, EncoderRegistry } from "../../plugins/encoder-compare/encoders/registry.ts";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";

export function testEngine(dir: string, overrides: Partial<EngineOptions> = {}, specs: EncoderSpec[] = []): CompareEngine {
  return new CompareEngine({
    projectRoot: process.cwd(),
    cacheDir: path.join(dir, "cache"),
    registry: new EncoderRegistry([...ALL_KNOWN_ENCODERS, ...specs]),
    batchSize: 4,
    intraOpNumThreads: 1,
    limitInputPixels: 4_000_000,
    indexBackend: "js",
    modelsDir: path.join(dir, "models"),
    offline: true,
    strict: false,
    warn: () => {},
    info: () => {},
    ...overrides,
  });
}
