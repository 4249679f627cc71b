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

const BROWSER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "browser");
/** The single-threaded and threaded builds are one file; threads are used only when the page is cross-origin isolated. */
const ORT_WASM = "ort-wasm-simd-threaded.wasm";

async function bundle(entry: string): Promise<{ text: string; inputs: string[] }> {
  const esbuild = await import("esbuild");
  const workingDir = process.cwd();
  const result = await esbuild.build({
    absWorkingDir: workingDir,
    metafile: true,
    entryPoints: [path.join(BROWSER_DIR, entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  return { text: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs).map((input) => path.resolve(workingDir, input)) };
}

export async function bundleTryIt(outputDir: string): Promise<BundledTryIt> {
  const [loader, widget] = await Promise.all([bundle("loader.ts"), bundle("widget.ts")]);
  // The package's exports hide dist/; its main entry lives there.
  const wasmFile = path.join(path.dirname(createRequire(import.meta.url).resolve("onnxruntime-web")), ORT_WASM);
  return {
    assets: {
      loader: writeHashed(outputDir, "tryit-loader", loader.text, ".js"),
      widget: writeHashed(outputDir, "tryit-widget", widget.text, ".js"),
      wasm: writeHashed(outputDir, "ort-wasm-simd-threaded", fs.readFileSync(wasmFile), ".wasm"),
    },
    // esbuild's own entry stands for its version: an upgrade may bundle the same sources differently.
    inputs: [...new Set([...loader.inputs, ...widget.inputs, wasmFile, createRequire(import.meta.url).resolve("esbuild")])].sort(),
  };
}
