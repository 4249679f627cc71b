// Runs a TypeScript Eleventy config under plain node: Eleventy 3.1 loads only JavaScript configs, and a
// TypeScript loader hook would slow every module the build loads. The config and the local files it
// imports are compiled by esbuild into one ES module; each package import stays an import, of the file the package
// resolves to from the importing file, so the module runs from wherever it is kept. The result is kept with the
// content hash of every input and reused until one of them changes.
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

/** Config file names that need compiling before node can load them. */
export const TYPESCRIPT_CONFIG = /\.[cm]?ts$/;

interface CompiledRecord {
  /** Input file (absolute) → sha256 of its bytes when the module was compiled: the config's own files, this compiler and esbuild. */
  inputs: Record<string, string>;
}

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

function upToDate(record: CompiledRecord | undefined): boolean {
  if (!record) return false;
  return Object.entries(record.inputs).every(([file, hash]) => {
    try {
      return sha256(file) === hash;
    } catch {
      return false;
    }
  });
}

function readRecord(file: string): CompiledRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as CompiledRecord;
  } catch {
    return undefined;
  }
}

export interface CompiledConfig {
  /** The JavaScript module to hand Eleventy (`--config=`) or to import. */
  file: string;
  /** Every file it was made from, absolute: a watcher recompiles when one changes. */
  inputs: string[];
  /** Whether this call compiled it (false: the kept copy was current). */
  compiled: boolean;
}

/**
 * Where a site's compiled config is kept, relative to the config's folder: one place for the site's build and the
 * `encoder-compare` command, so one compile serves both.
 */
export const COMPILED_CONFIG_DIR = path.join(".cache", "eleventy-config");

/** Compiles `configFile` (a site's `.eleventy.ts`) into `outDir` (default: COMPILED_CONFIG_DIR beside it) as `<name>.mjs`. */
export async function compileTypeScriptConfig(configFile: string, outDir?: string): Promise<CompiledConfig> {
  const source = path.resolve(configFile);
  outDir ??= path.join(path.dirname(source), COMPILED_CONFIG_DIR);
  const file = path.join(path.resolve(outDir), `${path.basename(source).replace(/^\./, "").replace(TYPESCRIPT_CONFIG, "")}.mjs`);
  const recordFile = `${file}.json`;
  const record = readRecord(recordFile);
  if (fs.existsSync(file) && upToDate(record)) return { file, inputs: Object.keys(record!.inputs), compiled: false };

  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (error) {
    throw new Error(`${path.basename(source)} is TypeScript: install esbuild (npm install -D esbuild) to compile it, or use an eleventy.config.js`, {
      cause: error,
    });
  }
  const result = await esbuild.build({
    entryPoints: [source],
    absWorkingDir: path.dirname(source),
    bundle: true,
    // Node's own choices for packages without "exports" and with them (esbuild would add "module").
    mainFields: ["main"],
    conditions: [],
    plugins: [
      {
        name: "packages-by-file",
        setup(build) {
          // A bundled file keeps its own location: code that finds files beside itself still finds them.
          build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => ({
            contents: fs
              .readFileSync(args.path, "utf8")
              .replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_, key: string) =>
                JSON.stringify(key === "url" ? pathToFileURL(args.path).href : key === "dirname" ? path.dirname(args.path) : args.path),
              ),
            loader: /\.[cm]?ts$/.test(args.path) ? "ts" : "js",
            resolveDir: path.dirname(args.path),
          }));
          build.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            if (args.pluginData === "packages-by-file") return undefined;
            const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "packages-by-file" });
            if (found.errors.length > 0) return { errors: found.errors };
            return { path: pathToFileURL(found.path).href, external: true };
          });
        },
      },
    ],
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    metafile: true,
    write: false,
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => path.resolve(path.dirname(source), input));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written beside and renamed, so a process reading the module never sees part of it.
  writeFileAtomicSync(file, result.outputFiles[0]!.contents);
  // This compiler and esbuild's own entry (standing for its version) are inputs too: a change to how configs are
  // compiled makes every kept one stale.
  const recorded = [...inputs, fileURLToPath(import.meta.url), createRequire(import.meta.url).resolve("esbuild")];
  const next: CompiledRecord = { inputs: Object.fromEntries(recorded.map((input) => [input, sha256(input)])) };
  writeFileAtomicSync(recordFile, JSON.stringify(next, null, 2) + "\n");
  return { file, inputs, compiled: true };
}
