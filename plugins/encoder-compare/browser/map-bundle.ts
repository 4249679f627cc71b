// Bundles the maps' page code (map-details.ts) with esbuild, once per process, and publishes it under a
// content-hashed name.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeHashed } from "./hashed-file.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The page code beside this file: its TypeScript source, or the JavaScript it was compiled to in a package. */
const ENTRY =
  ["map-details.ts", "map-details.js"].map((name) => path.join(HERE, name)).find((file) => fs.existsSync(file)) ?? path.join(HERE, "map-details.ts");
let bundled: Promise<string> | undefined;

async function bundleText(): Promise<string> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [ENTRY],
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

/** The file name (under outputDir) of the maps' script, written there when missing. */
export async function publishMapScript(outputDir: string): Promise<string> {
  bundled ??= bundleText();
  bundled.catch(() => (bundled = undefined));
  const text = await bundled;
  return writeHashed(outputDir, "encoder-map", text, ".js");
}
