// Bundles the widget's browser code with esbuild at build time and publishes it, plus
// onnxruntime-web's WebAssembly, under content-hashed names.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeHashed } from "./hashed-file.ts";

export interface TryItAssets {
  /** File names under the output folder. */
  loader: string;
  widget: string;
  wasm: string;
}

export interface BundledTryIt {
  assets: TryItAssets;
  /** Every file the assets were made from (sources esbuild read, the WebAssembly file), absolute. */
  inputs: string[];
}

/** The page code's folder: its TypeScript sources, or (in the compiled package) the bundles made from them. */
const BROWSER_DIR = fileURLToPath(new URL("../browser/", import.meta.url));
/** ".ts" when running from the sources, ".js" from the compiled package: the entries share this module's extension. */
const OWN_EXTENSION = path.extname(fileURLToPath(import.meta.url));
/** The single-threaded and threaded builds are one file; threads are used only when the page is cross-origin isolated. */
const ORT_WASM = "ort-wasm-simd-threaded.wasm";
/**
 * The page entries (named as source paths, so the layer check sees publish/ reach down into browser/) and the names
 * of their bundles; the compiled package ships the bundles (see prebundleBrowserCode).
 */
const ENTRIES = {
  loader: { source: "../browser/loader.ts", bundle: "tryit-loader" },
  widget: { source: "../browser/widget.ts", bundle: "tryit-widget" },
  "map-details": { source: "../browser/map-details.ts", bundle: "encoder-map" },
} as const;

/** Where the browser code's entries are found: in the page code's folder, with this module's extension. */
function browserEntry(name: keyof typeof ENTRIES, dir = BROWSER_DIR, extension = OWN_EXTENSION): string {
  return path.join(dir, `${path.basename(ENTRIES[name].source, ".ts")}${extension}`);
}

/** The file a package build writes an entry's finished bundle to. */
export function prebundledFile(name: keyof typeof ENTRIES, dir = BROWSER_DIR): string {
  return path.join(dir, `${ENTRIES[name].bundle}.bundle.js`);
}

async function bundle(entryFile: string): Promise<{ text: string; inputs: string[] }> {
  const esbuild = await import("esbuild");
  const workingDir = process.cwd();
  const result = await esbuild.build({
    absWorkingDir: workingDir,
    metafile: true,
    entryPoints: [entryFile],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => path.resolve(workingDir, input));
  // esbuild's own entry stands for its version: an upgrade may bundle the same sources differently.
  return { text: result.outputFiles[0].text, inputs: [...inputs, createRequire(import.meta.url).resolve("esbuild")] };
}

/**
 * Bundles the page code from the TypeScript sources in `sourceDir` into `outDir` (the package build
 * calls this), so that a site running the compiled package needs neither esbuild nor the sources.
 */
export async function prebundleBrowserCode(sourceDir: string, outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]) {
    const { text } = await bundle(browserEntry(name, sourceDir, ".ts"));
    fs.writeFileSync(prebundledFile(name, outDir), text);
    written.push(prebundledFile(name, outDir));
  }
  return written;
}

/** An entry's bundle: the package's finished one where it ships, else made now from the sources. */
export async function entryBundle(name: keyof typeof ENTRIES): Promise<{ text: string; inputs: string[] }> {
  const prebundled = prebundledFile(name);
  if (OWN_EXTENSION !== ".ts" && fs.existsSync(prebundled)) return { text: fs.readFileSync(prebundled, "utf8"), inputs: [prebundled] };
  return bundle(browserEntry(name));
}

export async function bundleTryIt(outputDir: string): Promise<BundledTryIt> {
  const [loader, widget] = await Promise.all([entryBundle("loader"), entryBundle("widget")]);
  // The package's exports hide dist/; its main entry lives there.
  const wasmFile = path.join(path.dirname(createRequire(import.meta.url).resolve("onnxruntime-web")), ORT_WASM);
  return {
    assets: {
      loader: writeHashed(outputDir, "tryit-loader", loader.text, ".js"),
      widget: writeHashed(outputDir, "tryit-widget", widget.text, ".js"),
      wasm: writeHashed(outputDir, "ort-wasm-simd-threaded", fs.readFileSync(wasmFile), ".wasm"),
    },
    inputs: [...new Set([...loader.inputs, ...widget.inputs, wasmFile])].sort(),
  };
}
