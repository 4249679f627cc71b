#!/usr/bin/env node
// `npm run build` and `npm start`: brings the plugin's dist/ up to date (scripts/build-package.mjs), compiles the
// demo's .eleventy.ts to JavaScript (kept in .cache/eleventy-config/ and reused while its inputs are unchanged) and
// runs Eleventy's own command line on it, all in this plain node process: no TypeScript loader slows the modules
// the build loads.
//   node scripts/eleventy.mjs [eleventy flags]   e.g. --serve --incremental, --output=dir
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { ensurePackageBuilt } from "./build-package.mjs";

try {
  await ensurePackageBuilt();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
// Imported after the package is built: the helper is part of it.
const { compileTypeScriptConfig } = await import("encoder-compare/typescript-config");

const CONFIG = ".eleventy.ts";
const OUT_DIR = path.join(".cache", "eleventy-config");

const compiled = await compileTypeScriptConfig(CONFIG, OUT_DIR);
const args = process.argv.slice(2);
if (args.includes("--serve") || args.includes("--watch")) {
  // Eleventy watches the compiled module; an edit to the TypeScript recompiles it, and Eleventy reloads its config.
  let pending;
  for (const input of compiled.inputs) {
    fs.watch(input, { persistent: false }, () => {
      clearTimeout(pending);
      pending = setTimeout(() => {
        compileTypeScriptConfig(CONFIG, OUT_DIR).catch((error) => console.error(`[eleventy-config] ${CONFIG}: ${error.message}`));
      }, 100);
    });
  }
}
// Eleventy's command line, as `npx @11ty/eleventy` runs it (its file is not among the package's exports).
const eleventyCli = path.join(path.dirname(createRequire(import.meta.url).resolve("@11ty/eleventy")), "..", "cmd.cjs");
process.argv = [process.argv[0], eleventyCli, `--config=${path.relative(process.cwd(), compiled.file)}`, ...args];
createRequire(import.meta.url)(eleventyCli);
