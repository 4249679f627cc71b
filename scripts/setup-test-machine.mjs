#!/usr/bin/env node
// `npm test`'s pretest step: makes this machine able to run every test, so that on a fresh Debian or Ubuntu machine
// the README's two commands are the whole set-up. Nothing is skipped for want of a system part: what is missing is
// installed, or the step fails saying the exact command to run.
//   1. Checks each Debian package below with dpkg; when some are missing, runs `apt-get update` once and installs
//      just those: directly as root, else through sudo, else prints the command and exits 1.
//   2. Builds the faiss-node addon against libfaiss-dev when it does not load (`npm ci` builds it only when
//      libfaiss-dev was already installed), and checks that it loads.
// ENCODER_COMPARE_SETUP=check only checks and reports (never installs). Plain Node, no dependencies: it runs before
// anything else of the project. Exit 0: ready; exit 1: something is missing (one line says what and how to fix it).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { faissNodeLoads } from "./faiss-node-probe.mjs";

const PREFIX = "[setup-test-machine]";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The Debian packages the tests need, and why. Ubuntu has the same names (Chromium aside: see README). */
export const TEST_PACKAGES = Object.freeze([
  { name: "g++", why: "compiles the faiss-node addon" },
  { name: "make", why: "native addon builds" },
  { name: "python3", why: "native addon builds; test fixtures' writers" },
  { name: "libfaiss-dev", why: "faiss-node is built against it; the tests check the faiss index strictly" },
  { name: "libblas-dev", why: "linked into the faiss-node addon" },
  { name: "liblapack-dev", why: "linked into the faiss-node addon" },
  { name: "python3-numpy", why: "writes the .npy shards the embeddings-folder tests read" },
  { name: "python3-faiss", why: "writes the faiss indexes the embeddings-folder tests read" },
  { name: "chromium", why: "the browser tests (playwright-core drives /usr/bin/chromium)" },
  { name: "fonts-dejavu-core", why: "the font of the captions drawn into the demo dataset" },
]);

/**
 * What to do about the missing packages: nothing, install (as root or through sudo), or stop with the command to run.
 * Pure, so a test can walk every case.
 */
export function planInstall({ missing, isRoot, sudo, checkOnly }) {
  if (missing.length === 0) return { action: "none" };
  const install = ["apt-get", "install", "-y", "--no-install-recommends", ...missing];
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (checkOnly) return { action: "stop", command: isRoot ? command : `sudo sh -c '${command}'`, reason: "ENCODER_COMPARE_SETUP=check" };
  if (isRoot) return { action: "run", steps: [["apt-get", "update"], install] };
  if (sudo === "passwordless" || sudo === "interactive") {
    return { action: "run", steps: [["sudo", "apt-get", "update"], ["sudo", ...install]] };
  }
  return { action: "stop", command: `sudo sh -c '${command}'`, reason: "not root and no sudo" };
}

/** Debian packages (from `TEST_PACKAGES`) that dpkg does not report installed. CHROMIUM_PATH replaces chromium. */
export function missingPackages(isInstalled, env = process.env) {
  return TEST_PACKAGES.map((p) => p.name).filter((name) => {
    if (name === "chromium" && env.CHROMIUM_PATH && fs.existsSync(env.CHROMIUM_PATH)) return false;
    return !isInstalled(name);
  });
}

function dpkgInstalled(name) {
  const run = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], { encoding: "utf8" });
  return run.status === 0 && /\binstall ok installed\b/.test(run.stdout);
}

function hasCommand(command) {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

function sudoMode() {
  if (!hasCommand("sudo")) return "none";
  if (spawnSync("sudo", ["-n", "true"], { stdio: "ignore" }).status === 0) return "passwordless";
  return process.stdin.isTTY ? "interactive" : "none";
}

function fail(message) {
  console.error(`${PREFIX} ${message}`);
  process.exit(1);
}

function main() {
  const checkOnly = process.env.ENCODER_COMPARE_SETUP === "check";
  if (!hasCommand("dpkg-query")) {
    fail(
      "this machine has no dpkg (not Debian or Ubuntu): install the equivalents of " +
        `${TEST_PACKAGES.map((p) => p.name).join(" ")} yourself, then run \`npm test --ignore-scripts\` (which skips this step)`,
    );
  }
  const missing = missingPackages(dpkgInstalled);
  const plan = planInstall({ missing, isRoot: process.getuid?.() === 0, sudo: checkOnly ? "none" : sudoMode(), checkOnly });
  if (plan.action === "stop") fail(`missing Debian packages ${missing.join(", ")} (${plan.reason}); run: ${plan.command}`);
  if (plan.action === "run") {
    console.log(`${PREFIX} installing ${missing.join(", ")} (the tests need them: see README "The two commands")`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const step of plan.steps) {
      const run = spawnSync(step[0], step.slice(1), { stdio: ["inherit", "ignore", "inherit"], env });
      if (run.status !== 0) fail(`\`${step.join(" ")}\` failed (exit ${run.status ?? run.signal}); fix that and run \`npm test\` again`);
    }
    const still = missingPackages(dpkgInstalled);
    if (still.length) fail(`still missing after apt-get install: ${still.join(", ")}`);
  }
  if (!faissNodeLoads(ROOT)) {
    if (checkOnly) fail("the faiss-node addon does not load; run: npm run build:faiss");
    console.log(`${PREFIX} building the faiss-node addon against libfaiss-dev`);
    execFileSync(process.execPath, [path.join(ROOT, "scripts/build-faiss-node.mjs"), "--force"], { cwd: ROOT, stdio: "inherit" });
    if (!faissNodeLoads(ROOT)) fail("the faiss-node addon still does not load after `npm run build:faiss` (its output is above)");
  }
  const installed = missing.length ? `installed ${missing.join(", ")}` : "every Debian package already installed";
  console.log(`${PREFIX} ready: ${installed}; faiss-node loads`);
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
