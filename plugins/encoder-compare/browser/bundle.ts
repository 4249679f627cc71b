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

const BROWSER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "browser");
/** The single-threaded and threaded builds are one file; threads are used only when the page is cross-origin isolated. */
const ORT_WASM = "ort-wasm-simd-threaded.wasm";

async function bundle(entry: string): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
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
  return result.outputFiles[0].text;
}

export async function bundleTryIt(outputDir: string): Promise<TryItAssets> {
  const [loader, widget] = await Promise.all([bundle("loader.ts"), bundle("widget.ts")]);
  // The package's exports hide dist/; its main entry lives there.
  const wasmFile = path.join(path.dirname(createRequire(import.meta.url).resolve("onnxruntime-web")), ORT_WASM);
  return {
    loader: writeHashed(outputDir, "tryit-loader", loader, ".js"),
    widget: writeHashed(outputDir, "tryit-widget", widget, ".js"),
    wasm: writeHashed(outputDir, "ort-wasm-simd-threaded", fs.readFileSync(wasmFile), ".wasm"),
  };
}
