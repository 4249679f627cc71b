// The plugin as a compiled package: code that finds files beside itself finds them from dist/ as from the sources
// (the built-in graphs' source key, the try-it page code), and a TypeScript site config runs under plain node.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import * as sourceResolve from "../../plugins/encoder-compare/models/resolve.ts";
import * as sourceBundle from "../../plugins/encoder-compare/publish/bundle.ts";
import { compileTypeScriptConfig } from "../../plugins/encoder-compare/eleventy/typescript-config.ts";
import { DIST_DIR, ensurePackageBuilt } from "../support/package-build.ts";

const ROOT = process.cwd();
let work = "";

before(() => {
  ensurePackageBuilt();
  work = fs.mkdtempSync(path.join(os.tmpdir(), "ec-package-"));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

const fromDist = <T>(file: string) => import(pathToFileURL(path.join(DIST_DIR, file)).href) as Promise<T>;

describe("files found beside the running module", () => {
  test("the built-in graphs' source key is known from dist/ and from the sources, each from its own files", async () => {
    const dist = await fromDist<typeof sourceResolve>("models/resolve.js");
    for (const [where, module, extension] of [["sources", sourceResolve, ".ts"], ["dist", dist, ".js"]] as const) {
      const files = module.builtinGraphSources();
      assert.deepEqual(files.map((file) => path.basename(file)), [`builtin-graphs${extension}`, `onnx-builder${extension}`], where);
      for (const file of files) assert.ok(fs.statSync(file).isFile(), `${where}: ${file}`);
      // undefined would mean "unknown sources": every build would make the graphs again.
      assert.match(module.builtinSourceKey() ?? "", /^[0-9a-f]{64}$/, where);
    }
    assert.notEqual(dist.builtinSourceKey(), sourceResolve.builtinSourceKey(), "the compiled files are other bytes than the sources");
  });

  test("a module moved elsewhere looks beside its new place, never back in the sources", () => {
    const moved = pathToFileURL(path.join(work, "lib", "models", "resolve.mjs")).href;
    assert.deepEqual(sourceResolve.builtinGraphSources(moved), [
      path.join(work, "lib", "models", "builtin-graphs.mjs"),
      path.join(work, "lib", "models", "onnx-builder.mjs"),
    ]);
  });

  test("the try-it assets from dist/ (bundled at package build) are the bytes the sources bundle to", { timeout: 120_000 }, async () => {
    const dist = await fromDist<typeof sourceBundle>("publish/bundle.js");
    const [fromSources, compiled] = [path.join(work, "from-sources"), path.join(work, "from-dist")];
    const a = await sourceBundle.bundleTryIt(fromSources);
    const b = await dist.bundleTryIt(compiled);
    assert.deepEqual(b.assets, a.assets);
    for (const name of Object.values(a.assets)) assert.ok(fs.readFileSync(path.join(compiled, name)).equals(fs.readFileSync(path.join(fromSources, name))));
    // dist/ reads its prebuilt bundles: neither esbuild nor a TypeScript source is among its inputs.
    assert.deepEqual(b.inputs.filter((file) => /esbuild|\.ts$/.test(file)), []);
    assert.ok(b.inputs.includes(path.join(DIST_DIR, "browser", "tryit-widget.bundle.js")));
    assert.ok(a.inputs.includes(path.join(ROOT, "plugins/encoder-compare/browser/widget.ts")));
  });
});

describe("a TypeScript site config under plain node", () => {
  test("compiled once, reused while its inputs are unchanged, recompiled when a file it imports changes", async () => {
    const site = path.join(work, "site");
    fs.mkdirSync(path.join(site, "lib"), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(site, "node_modules"));
    fs.writeFileSync(path.join(site, "lib", "answer.ts"), "export const answer: number = 41;\nexport const here = import.meta.url;\n");
    fs.writeFileSync(
      path.join(site, ".eleventy.ts"),
      'import { answer, here } from "./lib/answer.ts";\nimport { DEFAULTS } from "encoder-compare";\n' +
        "export default function (config: { answer?: number }) { config.answer = answer; }\n" +
        "export const seen = { here, k: DEFAULTS.k };\n",
    );
    const out = path.join(site, ".cache", "config");
    const first = await compileTypeScriptConfig(path.join(site, ".eleventy.ts"), out);
    assert.equal(first.compiled, true);
    assert.equal((await compileTypeScriptConfig(path.join(site, ".eleventy.ts"), out)).compiled, false);
    fs.writeFileSync(path.join(site, "lib", "answer.ts"), "export const answer: number = 42;\nexport const here = import.meta.url;\n");
    const second = await compileTypeScriptConfig(path.join(site, ".eleventy.ts"), out);
    assert.equal(second.compiled, true);
    assert.deepEqual(second.inputs.sort(), [path.join(site, ".eleventy.ts"), path.join(site, "lib", "answer.ts")]);
    // Run by a plain node process (no tsx): the package import resolved to its compiled file, import.meta kept.
    const script = `const m = await import(${JSON.stringify(pathToFileURL(second.file).href)}); const c = {}; m.default(c);` +
      "console.log(JSON.stringify({ answer: c.answer, seen: m.seen }));";
    const env = { ...process.env, NODE_OPTIONS: "" };
    const printed = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: work, encoding: "utf8", env }));
    assert.deepEqual(printed, { answer: 42, seen: { here: pathToFileURL(path.join(site, "lib", "answer.ts")).href, k: 3 } });
    assert.match(fs.readFileSync(second.file, "utf8"), /from "file:\/\/\/[^"]*\/plugins\/encoder-compare\/dist\/index\.js"/);
  });

  test("recompiled when esbuild or the compiler itself changes, not only the config's own files", async () => {
    const site = path.join(work, "site-tools");
    fs.mkdirSync(site, { recursive: true });
    fs.writeFileSync(path.join(site, ".eleventy.ts"), "export default function (config: { k?: number }) { config.k = 3; }\n");
    const out = path.join(site, ".cache", "config");
    const compile = () => compileTypeScriptConfig(path.join(site, ".eleventy.ts"), out);
    const { file } = await compile();
    const recordFile = `${file}.json`;
    const tools = [createRequire(import.meta.url).resolve("esbuild"), path.join(ROOT, "plugins/encoder-compare/eleventy/typescript-config.ts")];
    for (const tool of tools) {
      assert.equal((await compile()).compiled, false);
      // As if that file had changed since the config was compiled (an upgrade, an edit).
      const record = JSON.parse(fs.readFileSync(recordFile, "utf8")) as { inputs: Record<string, string> };
      assert.ok(tool in record.inputs, `${tool} is not among the recorded inputs: ${Object.keys(record.inputs).join(", ")}`);
      record.inputs[tool] = "0".repeat(64);
      fs.writeFileSync(recordFile, JSON.stringify(record));
      assert.equal((await compile()).compiled, true, tool);
    }
  });
});
