#!/usr/bin/env node
// `npm run build` and `npm start`: brings the plugin's dist/ up to date (scripts/build-package.mjs), compiles the
// demo's .eleventy.ts to JavaScript (kept in .cache/eleventy-config/ and reused while its inputs are unchanged) and
// runs Eleventy's own command line on it, all in this plain node process: no TypeScript loader slows the modules
// the build loads.
//   node scripts/eleventy.mjs [eleventy flags]   e.g. --serve --incremental, --output=dir
import { spawn } from "node:child_process";
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
const compiled = await compileTypeScriptConfig(CONFIG);
const args = process.argv.slice(2);
// Eleventy's command line, as `npx @11ty/eleventy` runs it (its file is not among the package's exports).
const eleventyCli = path.join(path.dirname(createRequire(import.meta.url).resolve("@11ty/eleventy")), "..", "cmd.cjs");
const eleventyArgs = [`--config=${path.relative(process.cwd(), compiled.file)}`, ...args];

if (args.includes("--serve") || args.includes("--watch")) {
  // Eleventy does not watch the compiled module (it lies in the git-ignored .cache/), so this process watches the
  // TypeScript: an edit recompiles it and restarts Eleventy in a fresh process with the new config.
  let eleventy;
  let restarting = false;
  const start = () => {
    eleventy = spawn(process.execPath, [eleventyCli, ...eleventyArgs], { stdio: "inherit" });
    eleventy.on("exit", (code, signal) => {
      if (restarting) {
        restarting = false;
        start();
      } else process.exit(code ?? (signal ? 1 : 0));
    });
  };
  let pending;
  const recompile = () =>
    compileTypeScriptConfig(CONFIG).then(
      (next) => {
        if (!next.compiled) return;
        console.log(`[eleventy-config] ${CONFIG} changed: restarting Eleventy`);
        restarting = true;
        eleventy.kill("SIGTERM");
      },
      (error) => console.error(`[eleventy-config] ${CONFIG}: ${error.message} (Eleventy keeps the last config that compiled)`),
    );
  // Folders, not files: an editor that saves by renaming replaces the file a watch would hold.
  const inputs = new Set(compiled.inputs);
  for (const dir of new Set(compiled.inputs.map((input) => path.dirname(input)))) {
    fs.watch(dir, { persistent: false }, (_, name) => {
      if (!name || !inputs.has(path.join(dir, name))) return;
      clearTimeout(pending);
      pending = setTimeout(recompile, 150);
    });
  }
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => eleventy.kill(signal));
  start();
} else {
  // A build runs in this process: one node start, no TypeScript loader.
  process.argv = [process.argv[0], eleventyCli, ...eleventyArgs];
  createRequire(import.meta.url)(eleventyCli);
}
