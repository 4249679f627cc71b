#!/usr/bin/env node
// Makes the optional faiss-node addon usable without its prebuilt download: when the addon
// does not load, compile its single source file against Debian's libfaiss-dev.
// Runs as the project's postinstall, so it never fails: every outcome is one line and exit 0.
//   node scripts/build-faiss-node.mjs [--force]   (--force rebuilds even if the addon loads)
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { faissNodeLoads } from "./faiss-node-probe.mjs";

const PREFIX = "[encoder-compare] faiss-node:";
const RETRY = "then run `npm run build:faiss`; searches use the exact JS fallback";
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const addonDir = path.join(projectRoot, "node_modules", "faiss-node");
const addonFile = path.join(addonDir, "build", "Release", "faiss-node.node");
const buildInfoFile = path.join(addonDir, "build", "encoder-compare-build.json");
const compileLogFile = path.join(addonDir, "build", "compile.log");
const force = process.argv.includes("--force");

/** An expected failure: its message is the whole line shown to the user. */
class BuildStop extends Error {}

try {
  main();
} catch (error) {
  const reason = error instanceof BuildStop ? error.message : `unexpected error: ${firstLine(error)}`;
  console.log(`${PREFIX} not built: ${reason}`);
}
process.exitCode = 0;

function main() {
  if (!force && faissNodeLoads(projectRoot)) {
    console.log(`${PREFIX} ready (${describeExistingBuild()})`);
    return;
  }
  const started = Date.now();
  const faiss = findLibfaiss();
  if (!faiss) {
    console.log(
      `${PREFIX} not built: install libfaiss-dev (apt-get install libfaiss-dev) and run ` +
        "`npm run build:faiss`; searches use the exact JS fallback",
    );
    return;
  }
  requireTool("g++", ["--version"], "install g++ (apt-get install g++)");
  ensurePackageFiles();
  const projectRequire = createRequire(path.join(projectRoot, "package.json"));
  for (const dependency of ["bindings", "node-addon-api"]) {
    try {
      projectRequire.resolve(`${dependency}/package.json`);
    } catch {
      throw new BuildStop(`${dependency} is missing from node_modules: run \`npm install\`, ${RETRY}`);
    }
  }
  compileAddon(faiss, projectRequire);
  if (!faissNodeLoads(projectRoot)) {
    fs.rmSync(addonFile, { force: true });
    throw new BuildStop(`the compiled addon does not load (removed it); see ${compileLogFile}, ${RETRY}`);
  }
  const info = { faissVersion: faiss.version, node: process.version, builtAt: new Date().toISOString() };
  fs.writeFileSync(buildInfoFile, JSON.stringify(info, null, 2) + "\n");
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${PREFIX} built against libfaiss-dev ${faiss.version ?? "(version unknown)"} in ${seconds} s`);
}

function describeExistingBuild() {
  try {
    const info = JSON.parse(fs.readFileSync(buildInfoFile, "utf8"));
    return `built against libfaiss-dev ${info.faissVersion ?? "(version unknown)"}`;
  } catch {
    return "prebuilt";
  }
}

/** Debian's libfaiss-dev: headers in /usr/include/faiss, static library in the multiarch dir. */
function findLibfaiss() {
  const includeDir = "/usr/include";
  const indexHeader = path.join(includeDir, "faiss", "IndexFlat.h");
  if (!fs.existsSync(indexHeader)) return undefined;
  const libDirs = [];
  try {
    const multiarch = execFileSync("gcc", ["-print-multiarch"], { encoding: "utf8" }).trim();
    if (multiarch) libDirs.push(`/usr/lib/${multiarch}`);
  } catch {
    // no gcc, or no multiarch: fall through to the known locations
  }
  libDirs.push("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib");
  const staticLib = libDirs.map((dir) => path.join(dir, "libfaiss.a")).find((file) => fs.existsSync(file));
  if (!staticLib) return undefined;
  return { includeDir, staticLib, version: readFaissVersion(includeDir), hasNamespaceIdx: hasNamespaceIdx(includeDir) };
}

function readFaissVersion(includeDir) {
  try {
    const header = fs.readFileSync(path.join(includeDir, "faiss", "Index.h"), "utf8");
    const part = (name) => header.match(new RegExp(`#define FAISS_VERSION_${name}\\s+(\\d+)`))?.[1];
    const [major, minor, patch] = ["MAJOR", "MINOR", "PATCH"].map(part);
    return major && minor && patch ? `${major}.${minor}.${patch}` : undefined;
  } catch {
    return undefined;
  }
}

// faiss >= 1.7.4 declares `using idx_t` at namespace level (column 0 in MetricType.h); 1.7.3
// only has Index::idx_t, indented inside the struct, which faiss-node 0.5.1 does not expect.
function hasNamespaceIdx(includeDir) {
  return ["MetricType.h", "Index.h"].some((name) => {
    try {
      return /^using idx_t\s*=/m.test(fs.readFileSync(path.join(includeDir, "faiss", name), "utf8"));
    } catch {
      return false;
    }
  });
}

function requireTool(command, args, howToInstall) {
  try {
    execFileSync(command, args, { stdio: "ignore" });
  } catch {
    throw new BuildStop(`\`${command}\` is not available: ${howToInstall}, ${RETRY}`);
  }
}

/** npm < 11 removes faiss-node when its download script fails: fetch the same version again. */
function ensurePackageFiles() {
  if (fs.existsSync(path.join(addonDir, "src", "faiss.cc"))) return;
  const spec = `faiss-node@${faissNodeVersion()}`;
  const downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), "encoder-compare-faiss-pack-"));
  try {
    const npm = npmCommand();
    try {
      execFileSync(npm.command, [...npm.args, "pack", spec, "--prefer-offline", "--pack-destination", downloadDir], {
        cwd: downloadDir,
        stdio: ["ignore", "ignore", "pipe"],
        timeout: 120_000,
      });
    } catch (cause) {
      const npmError = `${cause.stderr ?? ""}`.split("\n").find((line) => /err/i.test(line)) ?? firstLine(cause);
      throw new BuildStop(`could not download ${spec} with \`npm pack\` (${npmError.trim()}), ${RETRY}`);
    }
    const tarball = fs.readdirSync(downloadDir).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new BuildStop(`\`npm pack ${spec}\` produced no tarball, ${RETRY}`);
    fs.mkdirSync(addonDir, { recursive: true });
    execFileSync("tar", ["-xzf", path.join(downloadDir, tarball), "-C", addonDir, "--strip-components=1"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } finally {
    fs.rmSync(downloadDir, { recursive: true, force: true });
  }
}

/** The version npm resolved (package-lock.json), else the range in package.json. */
function faissNodeVersion() {
  try {
    const lock = JSON.parse(fs.readFileSync(path.join(projectRoot, "package-lock.json"), "utf8"));
    const locked = lock.packages?.["node_modules/faiss-node"]?.version;
    if (locked) return locked;
  } catch {
    // no lock file: use the declared range
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8"));
  const range = manifest.optionalDependencies?.["faiss-node"] ?? manifest.dependencies?.["faiss-node"];
  if (!range) throw new BuildStop("package.json does not list faiss-node; nothing to build");
  return range;
}

/** Under `npm install`, npm_execpath is npm's own CLI script; otherwise use npm from PATH. */
function npmCommand() {
  const cli = process.env.npm_execpath;
  if (cli && cli.endsWith(".js") && fs.existsSync(cli)) return { command: process.execPath, args: [cli] };
  return { command: "npm", args: [] };
}

function findNodeHeaders() {
  const candidates = [path.resolve(process.execPath, "..", "..", "include", "node")];
  const version = process.version.slice(1);
  if (process.env.npm_config_devdir) candidates.push(path.join(process.env.npm_config_devdir, version, "include", "node"));
  candidates.push(path.join(os.homedir(), ".cache", "node-gyp", version, "include", "node"));
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, "node_api.h")));
  if (!found) {
    throw new BuildStop(
      `node's C headers (node_api.h) were not found in ${candidates.join(", ")}: ` +
        `install them (\`npx node-gyp install\` or your distribution's nodejs-dev), ${RETRY}`,
    );
  }
  return found;
}

function compileAddon(faiss, projectRequire) {
  const nodeHeaders = findNodeHeaders();
  const addonApiDir = path.dirname(projectRequire.resolve("node-addon-api/package.json"));
  const source = fs.readFileSync(path.join(addonDir, "src", "faiss.cc"), "utf8");
  const patched = faiss.hasNamespaceIdx
    ? source
    : source.replace("using idx_t = faiss::idx_t;", "using idx_t = faiss::Index::idx_t;");

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "encoder-compare-faiss-build-"));
  const outputDir = path.dirname(addonFile);
  fs.mkdirSync(outputDir, { recursive: true });
  // Written beside the target and renamed, so a failed build never leaves a half-written addon.
  const partialFile = `${addonFile}.partial-${process.pid}`;
  try {
    const sourceFile = path.join(workDir, "faiss.cc");
    fs.writeFileSync(sourceFile, patched);
    const args = [
      "-O2", "-shared", "-fPIC", "-std=c++17", "-fopenmp",
      "-DNAPI_VERSION=8", "-DNAPI_CPP_EXCEPTIONS",
      `-I${nodeHeaders}`, `-I${addonApiDir}`, `-I${faiss.includeDir}`,
      sourceFile, "-o", partialFile,
      "-Wl,--whole-archive", faiss.staticLib, "-Wl,--no-whole-archive",
      "-lblas", "-llapack", "-lgomp",
    ];
    let log = `g++ ${args.join(" ")}\n`;
    try {
      const output = execFileSync("g++", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      log += output;
    } catch (cause) {
      log += `${cause.stdout ?? ""}${cause.stderr ?? ""}`;
      fs.writeFileSync(compileLogFile, log);
      const compilerError = `${cause.stderr ?? ""}`.split("\n").find((line) => /error/i.test(line));
      throw new BuildStop(
        `g++ failed (${(compilerError ?? firstLine(cause)).trim()}); full log in ${compileLogFile}, ` +
          "fix it (e.g. apt-get install libblas-dev liblapack-dev) and run `npm run build:faiss`; " +
          "searches use the exact JS fallback",
      );
    }
    fs.writeFileSync(compileLogFile, log);
    fs.renameSync(partialFile, addonFile);
  } finally {
    fs.rmSync(partialFile, { force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

function firstLine(error) {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0];
}
