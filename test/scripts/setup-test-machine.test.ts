// The README's test command sets up the machine it runs on: `npm test`'s pretest step
// (scripts/setup-test-machine.mjs) installs the missing Debian packages (apt-get update once, then
// only those), as root or through sudo, or stops with the exact command; the README names each
// package; .ci/run runs the README's commands and nothing else. apt-get and dpkg are stand-ins
// on PATH here: this test must not change the machine.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
// @ts-expect-error a plain-Node script without type declarations
import { missingPackages, planInstall, TEST_PACKAGES } from "../../scripts/setup-test-machine.mjs";

const ROOT = process.cwd();
const SCRIPT = path.join(ROOT, "scripts/setup-test-machine.mjs");
const NAMES: string[] = TEST_PACKAGES.map((p: { name: string }) => p.name);

let bin = "";
let state = "";

/** dpkg-query answers from a file of installed names; apt-get logs its arguments and "installs" into that file. */
before(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), "ec-fake-apt-"));
  state = path.join(bin, "installed");
  const write = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  write("dpkg-query", `name="$3"; grep -qx "$name" "${state}" && printf 'install ok installed' && exit 0; exit 1`);
  write(
    "apt-get",
    `echo "$*" >> "${bin}/apt.log"; [ -n "$FAKE_APT_FAIL" ] && exit 100\n` +
      `if [ "$1" = install ]; then shift 3; for p in "$@"; do echo "$p" >> "${state}"; done; fi; exit 0`,
  );
  write("sudo", `[ "$1" = -n ] && shift; exec "$@"`);
});
after(() => fs.rmSync(bin, { recursive: true, force: true }));

function setup(installed: string[], env: Record<string, string> = {}) {
  fs.writeFileSync(state, installed.map((n) => `${n}\n`).join(""));
  fs.rmSync(path.join(bin, "apt.log"), { force: true });
  const run = spawnSync(process.execPath, [SCRIPT], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CHROMIUM_PATH: "", ...env },
  });
  const log = fs.existsSync(path.join(bin, "apt.log")) ? fs.readFileSync(path.join(bin, "apt.log"), "utf8") : "";
  return { status: run.status, out: run.stdout, err: run.stderr, apt: log.trim().split("\n").filter(Boolean) };
}

describe("the pretest step", () => {
  test("package.json runs it before the tests", () => {
    const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
    assert.equal(scripts.pretest, "node scripts/setup-test-machine.mjs");
  });

  test("installs only what is missing, after one apt-get update, then checks faiss-node", () => {
    for (const missing of [["python3-faiss", "chromium"], ["libfaiss-dev"], [...NAMES]]) {
      const run = setup(NAMES.filter((n) => !missing.includes(n)));
      assert.equal(run.status, 0, run.err);
      assert.deepEqual(run.apt, ["update", `install -y --no-install-recommends ${missing.join(" ")}`]);
      assert.ok(run.out.endsWith(`ready: installed ${missing.join(", ")}; faiss-node loads\n`), run.out);
    }
  });

  test("with everything installed it touches nothing", () => {
    const run = setup(NAMES);
    assert.equal(run.status, 0, run.err);
    assert.deepEqual(run.apt, []);
    assert.equal(run.out, "[setup-test-machine] ready: every Debian package already installed; faiss-node loads\n");
  });

  test("a failing apt-get, a package apt-get did not install, or check-only mode: exit 1 with one line saying what to do", () => {
    const failed = setup(NAMES.filter((n) => n !== "chromium"), { FAKE_APT_FAIL: "1" });
    assert.equal(failed.status, 1);
    assert.match(failed.err, /`(sudo )?apt-get update` failed \(exit 100\); fix that and run `npm test` again\n$/);
    assert.deepEqual(failed.apt, ["update"]);

    // An apt-get that claims success without installing.
    fs.writeFileSync(path.join(bin, "apt-get.real"), fs.readFileSync(path.join(bin, "apt-get")));
    fs.writeFileSync(path.join(bin, "apt-get"), `#!/bin/sh\necho "$*" >> "${bin}/apt.log"\nexit 0\n`);
    try {
      const silent = setup(NAMES.filter((n) => n !== "python3-numpy"));
      assert.equal(silent.status, 1);
      assert.match(silent.err, /still missing after apt-get install: python3-numpy\n$/);
    } finally {
      fs.renameSync(path.join(bin, "apt-get.real"), path.join(bin, "apt-get"));
    }

    const checked = setup(NAMES.filter((n) => n !== "python3-numpy" && n !== "libfaiss-dev"), { ENCODER_COMPARE_SETUP: "check" });
    assert.equal(checked.status, 1);
    assert.deepEqual(checked.apt, []);
    assert.match(checked.err, /missing Debian packages libfaiss-dev, python3-numpy \(ENCODER_COMPARE_SETUP=check\); run: .*apt-get update && /);
    assert.match(checked.err, /apt-get install -y --no-install-recommends libfaiss-dev python3-numpy/);
  });

  test("the plan: root installs, sudo installs, neither stops with the exact command", () => {
    assert.deepEqual(planInstall({ missing: [], isRoot: false, sudo: "none", checkOnly: false }), { action: "none" });
    const install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "python3-faiss"];
    assert.deepEqual(planInstall({ missing: ["chromium", "python3-faiss"], isRoot: true, sudo: "none", checkOnly: false }), {
      action: "run",
      steps: [["apt-get", "update"], install],
    });
    for (const sudo of ["passwordless", "interactive"]) {
      assert.deepEqual(planInstall({ missing: ["chromium", "python3-faiss"], isRoot: false, sudo, checkOnly: false }), {
        action: "run",
        steps: [["sudo", "apt-get", "update"], ["sudo", ...install]],
      });
    }
    assert.deepEqual(planInstall({ missing: ["libfaiss-dev"], isRoot: false, sudo: "none", checkOnly: false }), {
      action: "stop",
      command: "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends libfaiss-dev'",
      reason: "not root and no sudo",
    });
    // CHROMIUM_PATH pointing at a browser stands for the chromium package; pointing at nothing does not.
    const none = () => false;
    assert.ok(!missingPackages(none, { CHROMIUM_PATH: process.execPath }).includes("chromium"));
    assert.ok(missingPackages(none, { CHROMIUM_PATH: "/nonexistent/chromium" }).includes("chromium"));
  });
});

describe("README and CI", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## The two commands"), readme.indexOf("\n## ", readme.indexOf("## The two commands") + 5));

  test("the README says what the test command installs", () => {
    for (const name of NAMES) assert.ok(section.includes(`\`${name}\``), `README "The two commands" names ${name}`);
    assert.match(section, /scripts\/setup-test-machine\.mjs/);
  });

  test(".ci/run runs exactly the README's commands", () => {
    const commands = [...section.matchAll(/\n\n {4}(\S[^\n]*)\n/g)].map((m) => m[1]);
    assert.deepEqual(commands, ["npm ci && npm run build", "npm test"]);
    const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
    const run = ci.split("\n").filter((line) => line && !line.startsWith("#") && !/^(set -euo pipefail|cd "\$\(dirname "\$0"\)\/\.\.")$/.test(line));
    assert.deepEqual(run, commands);
  });
});
