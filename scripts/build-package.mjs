#!/usr/bin/env node
// Compiles the plugin to dist/: ESM JavaScript, .d.ts and source maps through tsc (one module per
// source, so lazy imports stay lazy), plus the try-it page code bundled once by esbuild.
// Skipped when dist/ was built from the same sources and tools (a content key in dist/.build-key).
//   node scripts/build-package.mjs [--force]   (npm run build:package forces a rebuild)
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PREFIX = "[encoder-compare] package build:";
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "plugins", "encoder-compare");
const distDir = path.join(packageDir, "dist");
const keyFile = path.join(distDir, ".build-key");
const require = createRequire(import.meta.url);

/** Every file the output is made from, sorted: the TypeScript sources and the compiler settings. */
function sourceFiles(dir = packageDir) {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(file));
    else if (entry.name.endsWith(".ts") || entry.name === "tsconfig.build.json") files.push(file);
  }
  return files.sort();
}

/** A package's version, found where node would look for it (some packages' exports hide their package.json). */
function toolVersion(name) {
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, "package.json");
    if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")).version;
  }
  return "missing";
}

function contentKey() {
  const hash = crypto.createHash("sha256");
  // onnxruntime-web is bundled into the try-it widget, so its version is an input of dist/ too.
  const tools = ["typescript", "esbuild", "onnxruntime-web"].map((name) => `${name} ${toolVersion(name)}`).join("\n");
  hash.update(`node-build-1\n${tools}\n`);
  for (const file of sourceFiles()) hash.update(`${path.relative(packageDir, file)}\n`).update(fs.readFileSync(file));
  return hash.digest("hex");
}

/**
 * Brings dist/ up to date: returns false when it already was (no compiler loaded), true after compiling.
 * Throws when the compile fails (dist/ is then left as it was).
 */
export async function ensurePackageBuilt({ force = false } = {}) {
  const key = contentKey();
  const built = fs.existsSync(keyFile) ? fs.readFileSync(keyFile, "utf8").trim() : "";
  if (built === key && !force) return false;

  const started = Date.now();
  // Built beside dist/ and renamed into place, so a reader never sees half a package.
  const staging = fs.mkdtempSync(path.join(packageDir, ".dist-"));
  try {
    const tsc = path.join(path.dirname(require.resolve("typescript/package.json")), "bin", "tsc");
    execFileSync(process.execPath, [tsc, "-p", path.join(packageDir, "tsconfig.build.json"), "--outDir", staging], { stdio: "inherit" });
    const { prebundleBrowserCode } = await import(pathToFileURL(path.join(staging, "publish", "bundle.js")).href);
    await prebundleBrowserCode(path.join(packageDir, "browser"), path.join(staging, "browser"));
    fs.writeFileSync(path.join(staging, ".build-key"), key + "\n");
    const old = `${distDir}.old-${process.pid}`;
    if (fs.existsSync(distDir)) fs.renameSync(distDir, old);
    fs.renameSync(staging, distDir);
    fs.rmSync(old, { recursive: true, force: true });
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`${PREFIX} failed: ${error.message.split("\n")[0]}`, { cause: error });
  }
  console.log(`${PREFIX} dist/ compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await ensurePackageBuilt({ force: process.argv.includes("--force") });
  } catch (error) {
    console.error(error.message);
    process.exitCode = 1;
  }
}
