// DEBUG=encoder-compare* in a real Eleventy build (a child process, as a user runs it): debug lines for the dataset
// listing, the model, the index and a remembered result appear with it and none without it, and no line of the log
// carries the "[encoder-compare]" prefix twice.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { EncoderCompareError } from "../../plugins/encoder-compare/eleventy/plugin.ts";
import { normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";
import { makePluginSite } from "../support/plugin-site.ts";

const ROOT = process.cwd();
const EMOJI = path.join(ROOT, "node_modules/emoji-datasource-google/img/google/64");
const ELEVENTY = path.join(ROOT, "node_modules/@11ty/eleventy/cmd.cjs");
const TSX = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");

function makeSite(): string {
  const dir = makePluginSite("ec-debug-site-", { dataset: "data", encoders: ["pixels"] });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  fs.mkdirSync(path.join(dir, "data"));
  for (const name of ["1f436.png", "1f437.png", "1f438.png", "1f439.png"]) fs.copyFileSync(path.join(EMOJI, name), path.join(dir, "data", name));
  // Two pages ask the same question: the second is answered from the result remembered for the first.
  fs.writeFileSync(path.join(dir, "a.njk"), '{% encoderCompare "data/1f436.png", k=2 %}\n');
  fs.writeFileSync(path.join(dir, "b.njk"), '{% encoderCompare "data/1f436.png", k=2 %}\n');
  return dir;
}

function build(site: string, debug: string | undefined): string {
  const env: NodeJS.ProcessEnv = { ...process.env, ENCODER_COMPARE_OFFLINE: "1" };
  delete env.DEBUG;
  if (debug) env.DEBUG = debug;
  const run = spawnSync(process.execPath, [TSX, ELEVENTY, "--config=.eleventy.ts"], { cwd: site, encoding: "utf8", env });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout + run.stderr;
}

function debugLines(log: string): string[] {
  return log.split("\n").filter((line) => /\bencoder-compare:[a-z]+\b/.test(line));
}

test("DEBUG=encoder-compare* prints what the engine did; without it nothing; never a doubled prefix", () => {
  const site = makeSite();
  try {
    const quiet = build(site, undefined);
    assert.deepEqual(debugLines(quiet), []);
    assert.match(quiet, /\[encoder-compare\] /);

    fs.rmSync(path.join(site, ".cache"), { recursive: true, force: true });
    const verbose = build(site, "encoder-compare*");
    const lines = debugLines(verbose);
    const has = (area: string, what: RegExp) =>
      assert.ok(
        lines.some((l) => l.includes(`encoder-compare:${area} `) && what.test(l)),
        `${area} ${what}\n${verbose}`,
      );
    has("dataset", /data listed in \d+ ms: 4 images, 0 skipped/);
    has("models", /pixels: model from /);
    has("search", /pixels × .*data: js index built \(4 rows, \+4 −0/);
    has("engine", /data\/1f436\.png × pixels: remembered result used/);

    for (const log of [quiet, verbose]) {
      for (const line of log.split("\n")) assert.ok(!line.includes("[encoder-compare]") || once(line), `doubled prefix: ${line}`);
    }
  } finally {
    fs.rmSync(site, { recursive: true, force: true });
  }
});

test("errors carry the prefix once: a bad plugin option, a shortcode's error", () => {
  assert.throws(() => normalizeOptions({ k: 0 }), (error: Error) => /^\[encoder-compare\] plugin option `k`/.test(error.message) && once(error.message));
  const error = new EncoderCompareError("posts/a.md: encoderCompare: file not found");
  assert.equal(error.message, "[encoder-compare] posts/a.md: encoderCompare: file not found");
  assert.equal(error.detail, "posts/a.md: encoderCompare: file not found");
});

function once(message: string): boolean {
  return message.split("[encoder-compare]").length === 2;
}
