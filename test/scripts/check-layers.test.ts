// The layer check (scripts/check-layers.ts): over the plugin, folders in LAYER_ORDER (bottom to top), no upward import in
// any form TypeScript's parser can see, no loop; over every source file the project owns (plugin, test/, bench/,
// scripts/, _data/, .eleventy.ts), lines ≤ 160. The synthetic trees are written to a temporary folder and checked there.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { checkLayers, checkProject, LAYER_ORDER } from "../../scripts/check-layers.ts";

const TEMP = mkdtempSync(join(tmpdir(), "layers-"));
after(() => rmSync(TEMP, { recursive: true, force: true }));
let trees = 0;

/** A fresh empty folder for one synthetic tree. */
function freshRoot(): string {
  const root = join(TEMP, String(trees++));
  mkdirSync(root);
  return root;
}

function normalized(problems: string[]): string[] {
  return problems.map((p) => p.replace(/^([^:]+):\d+: line of \d+ characters \(limit 160\)$/, "$1: line over 160")).sort();
}

const LINE_RULE = /^[^:]+:\d+: line of \d+ characters \(limit 160\)$/;

test("the plugin's layout breaks no layer rule", () => {
  assert.deepEqual(checkLayers(), []);
  assert.deepEqual(checkProject(), []);
});

test("every source file the project owns keeps its lines within 160 characters", () => {
  assert.deepEqual(checkProject().filter((p) => LINE_RULE.test(p)), []);
});

/** Writes files (path relative to root → text), making their folders. */
function writeTree(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}

/** checkLayers over a synthetic plugin holding `files`. */
function layerProblems(files: Record<string, string>): string[] {
  const root = freshRoot();
  writeTree(root, files);
  return checkLayers(root);
}

test("the folders stand bottom to top as base, store, dataset, encoders, models, search, render, engine, eval, compose, browser, "
  + "publish, eleventy, cli", () => {
  assert.deepEqual(LAYER_ORDER, [
    "base", "store", "dataset", "encoders", "models", "search", "render", "engine", "eval", "compose", "browser", "publish",
    "eleventy", "cli",
  ]);
  // Each folder importing every folder below it breaks nothing...
  const downward: Record<string, string> = {};
  LAYER_ORDER.forEach((folder, i) => {
    const imports = LAYER_ORDER.slice(0, i).map((below) => `import "../${below}/a.ts";\n`).join("");
    downward[`${folder}/a.ts`] = `${imports}export const ${folder} = ${i};\n`;
  });
  assert.deepEqual(layerProblems(downward), []);
  // ...and each importing the folder just above it is one breach per folder but the top one.
  const upward: Record<string, string> = {};
  LAYER_ORDER.forEach((folder, i) => {
    const above = LAYER_ORDER[i + 1];
    upward[`${folder}/a.ts`] = `${above ? `import "../${above}/a.ts";\n` : ""}export const ${folder} = ${i};\n`;
  });
  assert.deepEqual(layerProblems(upward).sort(), LAYER_ORDER.slice(0, -1).map((folder, i) =>
    `${folder}/a.ts imports ${LAYER_ORDER[i + 1]}/a.ts: "${folder}/" may not import "${LAYER_ORDER[i + 1]}/", which stands above it`).sort());
});

const ENGINE_RUN = "export class Engine {\n  run(): number {\n    return 1;\n  }\n}\nexport const run = () => new Engine().run();\n";
const RENDER_UP = 'render/draw.ts imports engine/run.ts: "render/" may not import "engine/", which stands above it';

/**
 * Each import form, written with `SPEC` for the specifier. Every form is tried twice: naming the file exactly, and
 * leaving out `.ts` (a name no plain string could match, so only reading the form as an import finds it).
 */
const MODULE_FORMS: Record<string, string> = {
  "a static import": 'import { run } from "SPEC";\nexport const draw = run;\n',
  "a static import with no space before the specifier": 'import{run}from"SPEC";\nexport const draw = run;\n',
  "an import for its side effects": 'import "SPEC";\nexport const draw = 1;\n',
  "a type-only import of a class whose method is then called":
    'import type { Engine } from "SPEC";\nexport const draw = (engine: Engine) => engine.run();\n',
  "a type-only named import": 'import { type Engine } from "SPEC";\nexport const draw = (engine: Engine) => engine.run();\n',
  "an import type in a type position": 'export const draw = (engine: import("SPEC").Engine) => engine.run();\n',
  "a dynamic import with quotes": 'export const draw = () => import("SPEC");\n',
  "a dynamic import with backticks, spaced oddly": "export const draw = async () => (await import (\n  `SPEC` )).run();\n",
  "export * from": 'export * from "SPEC";\n',
  "a named re-export": 'export { run as draw } from "SPEC";\n',
  "a type re-export": 'export type { Engine } from "SPEC";\n',
  "import = require": 'import engine = require("SPEC");\nexport const draw = engine.run;\n',
  "a require call": 'declare const require: (id: string) => { run(): number };\nexport const draw = require("SPEC").run;\n',
  "require.resolve": 'declare const require: { resolve(id: string): string };\nexport const draw = require.resolve("SPEC");\n',
  "a triple-slash reference": '/// <reference path="SPEC" />\nexport const draw = 1;\n',
};

for (const [form, text] of Object.entries(MODULE_FORMS)) {
  for (const spec of ["../engine/run.ts", "../engine/run"]) {
    test(`an upward import is refused in every form: ${form} of "${spec}"`, () => {
      assert.deepEqual(layerProblems({ "engine/run.ts": ENGINE_RUN, "render/draw.ts": text.replaceAll("SPEC", spec) }), [RENDER_UP]);
    });
  }
}

test("an upward import is refused when it names a .ts file by .js, or a folder by its index.ts", () => {
  assert.deepEqual(layerProblems({ "engine/run.ts": ENGINE_RUN, "render/draw.ts": 'import { run } from "../engine/run.js";\n' }), [RENDER_UP]);
  assert.deepEqual(layerProblems({
    "engine/index.ts": ENGINE_RUN,
    "render/draw.ts": 'import { run } from "../engine";\nexport const draw = run;\n',
  }), ['render/draw.ts imports engine/index.ts: "render/" may not import "engine/", which stands above it']);
});

const WIDGET = "export function mount(): void {}\n";
const RENDER_TO_BROWSER = 'render/bundle.ts imports browser/widget.ts: "render/" may not import "browser/", which stands above it';

/** Ways code names another source file for a tool to load (esbuild, a worker, a child process) rather than importing it. */
const FILE_NAMING_FORMS: Record<string, string> = {
  "an esbuild entry named as a string": 'export const options = { entryPoints: ["../browser/widget.ts"], bundle: true };\n',
  "an esbuild entry as a template": "export const options = { entryPoints: [`../browser/widget.ts`], bundle: true };\n",
  "a path joined from the module's folder and one relative name":
    'import path from "node:path";\nconst HERE = import.meta.dirname;\nexport const entry = path.join(HERE, "../browser/widget.ts");\n',
  "a path joined from the module's folder and one piece per folder":
    'import path from "node:path";\nconst HERE = import.meta.dirname;\nexport const entry = path.join(HERE, "..", "browser", "widget.ts");\n',
  "a path resolved piece by piece": 'import { resolve } from "node:path";\nexport const entry = resolve(import.meta.dirname, "..", "browser", "widget.ts");\n',
  "a URL made against import.meta.url": 'export const entry = new URL("../browser/widget.ts", import.meta.url);\n',
};

for (const [form, text] of Object.entries(FILE_NAMING_FORMS)) {
  test(`a lower folder naming a file above it is refused: ${form}`, () => {
    assert.deepEqual(layerProblems({ "browser/widget.ts": WIDGET, "render/bundle.ts": text }), [RENDER_TO_BROWSER]);
  });
}

test("a downward import, a same-folder import and packages pass; comments, ordinary text and names of no file are not imports", () => {
  assert.deepEqual(layerProblems({
    "engine/run.ts": ENGINE_RUN,
    "base/log.ts": "export const log = (line: string) => line;\n",
    "render/style.ts": "export const style = 1;\n",
    "render/draw.ts": [
      'import fs from "node:fs";',
      'import sharp from "sharp";',
      'import plugin from "encoder-compare";',
      'import { log } from "../base/log.ts";',
      'import { style } from "./style.ts";',
      '// import { run } from "../engine/run.ts"',
      "/* the engine (../engine/run.ts) calls this; see also engine/run.ts */",
      "/** Drawn for {@link ../engine/run.ts}. */",
      'export const note = "see ../engine/run.ts for the engine";',
      "export const code = `import { run } from \"../engine/run.ts\";`;",
      "export const built = (name: string) => `../engine/${name}.ts`;",
      'export const gone = "../engine/gone.ts";',
      'export const self = new URL("./draw.ts", import.meta.url);',
      'export const esbuild = () => import("esbuild");',
      "export const draw = () => [fs, sharp, plugin, log, style];",
      "",
    ].join("\n"),
  }), []);
});

test("a string literal that alone names an existing source file above counts as an import of it", () => {
  assert.deepEqual(layerProblems({ "engine/run.ts": ENGINE_RUN, "render/draw.ts": 'export const where = "../engine/run.ts";\n' }), [RENDER_UP]);
});

test("a helper any folder used to reach sideways (a safe reader, a pure function, a type) is refused from a folder below it", () => {
  assert.deepEqual(layerProblems({
    "dataset/safe-read.ts": 'import fs from "node:fs";\nexport const safeRead = (file: string) => fs.readFileSync(file);\n',
    "dataset/pure.ts": "export const clamp = (x: number) => Math.min(1, Math.max(0, x));\n",
    "dataset/types.ts": "export interface Manifest {\n  files: string[];\n}\n",
    "store/db.ts": [
      'import { safeRead } from "../dataset/safe-read.ts";',
      'import { clamp } from "../dataset/pure.ts";',
      'import type { Manifest } from "../dataset/types.ts";',
      "export const open = (m: Manifest) => [safeRead(m.files[0]), clamp(2)];",
      "",
    ].join("\n"),
  }), [
    'store/db.ts imports dataset/pure.ts: "store/" may not import "dataset/", which stands above it',
    'store/db.ts imports dataset/safe-read.ts: "store/" may not import "dataset/", which stands above it',
    'store/db.ts imports dataset/types.ts: "store/" may not import "dataset/", which stands above it',
  ]);
});

test("eleventy/ and cli/ are layers like any other: eleventy/ may not import cli/, and no folder below imports either", () => {
  assert.deepEqual(layerProblems({
    "cli/main.ts": 'import { plugin } from "../eleventy/plugin.ts";\nimport { run } from "../engine/run.ts";\nexport const main = [plugin, run];\n',
    "cli/usage.ts": "export const usage = 1;\n",
    "eleventy/parse.ts": 'import { usage } from "../cli/usage.ts";\nexport const parse = usage;\n',
    "eleventy/plugin.ts": 'import { run } from "../engine/run.ts";\nexport const plugin = run;\n',
    "engine/run.ts": "export const run = 1;\n",
    "render/draw.ts": 'import { plugin } from "../eleventy/plugin.ts";\nexport const draw = plugin;\n',
  }), [
    'eleventy/parse.ts imports cli/usage.ts: "eleventy/" may not import "cli/", which stands above it',
    'render/draw.ts imports eleventy/plugin.ts: "render/" may not import "eleventy/", which stands above it',
    "import loop among folders: cli/, eleventy/",
  ]);
});

test("a file loop inside one folder is reported by its files; a folder loop by its folders, beside the upward import", () => {
  assert.deepEqual(layerProblems({
    "search/a.ts": 'import { b } from "./b.ts";\nexport const a = () => b;\n',
    "search/b.ts": 'import { a } from "./a.ts";\nexport const b = () => a;\n',
  }), ["import loop among files: search/a.ts, search/b.ts"]);
  assert.deepEqual(layerProblems({
    "engine/run.ts": 'import { top } from "../search/top.ts";\nexport const run = top;\n',
    "engine/defaults.ts": "export const DEFAULTS = { k: 3 };\n",
    "search/top.ts": 'import { DEFAULTS } from "../engine/defaults.ts";\nexport const top = () => DEFAULTS.k;\n',
  }), [
    'search/top.ts imports engine/defaults.ts: "search/" may not import "engine/", which stands above it',
    "import loop among folders: engine/, search/",
  ]);
});

test("a folder outside the order is reported by name for each file in it, a loose root file too; index.ts and bin.js may import anything", () => {
  assert.deepEqual(layerProblems({
    "index.ts": 'export * from "./cli/main.ts";\nexport * from "./base/log.ts";\n',
    "bin.js": 'import "./index.ts";\n',
    "loose.ts": 'import "./base/log.ts";\n',
    "cli/main.ts": "export const main = 1;\n",
    "base/log.ts": "export const log = 1;\n",
    "net/client.ts": 'import "../cli/main.ts";\nexport const client = 1;\n',
    "net/errors.ts": "export const errors = 1;\n",
  }), [
    "loose.ts: loose file at the plugin root; move it into a folder of the flow",
    'net/client.ts: folder "net/" is not one of the flow\'s folders',
    'net/errors.ts: folder "net/" is not one of the flow\'s folders',
  ]);
});

test("no folder may import the package's entry at the plugin root", () => {
  assert.deepEqual(layerProblems({
    "index.ts": 'export * from "./cli/main.ts";\n',
    "cli/main.ts": "export const main = 1;\n",
    "base/log.ts": 'import "../index.ts";\nexport const log = 1;\n',
  }), ['base/log.ts imports index.ts: "base/" may not import the plugin root, which stands above every folder']);
});

test("the compiled package in dist/ is not read", () => {
  assert.deepEqual(layerProblems({
    "base/log.ts": "export const log = 1;\n",
    "dist/base/log.js": `import "../cli/main.js";\n// ${"x".repeat(160)}\n`,
    "dist/cli/main.js": "export const main = 1;\n",
  }), []);
});

test("the layer check finds an upward import, a loop, a loose root file and a long line, in the plugin or outside it", () => {
  const repo = freshRoot();
  const root = join(repo, "plugins/encoder-compare");
  for (const dir of ["engine", "render", "search"]) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, "index.ts"), 'export * from "./engine/run.ts";\n');
  writeFileSync(join(root, "loose.ts"), "export const x = 1;\n");
  writeFileSync(join(root, "engine/run.ts"), 'import { draw } from "../render/draw.ts";\nexport const run = draw;\n');
  writeFileSync(join(root, "render/draw.ts"), 'import fs from "node:fs";\nimport { run } from "../engine/run.ts";\nexport const draw = () => [fs, run];\n');
  writeFileSync(join(root, "search/a.ts"), 'import { b } from "./b.ts";\nexport const a = () => b;\n');
  writeFileSync(join(root, "search/b.ts"), `import { a } from "./a.ts";\nexport const b = () => a; // ${"x".repeat(160)}\n`);
  const long = `// ${"x".repeat(160)}\n`;
  // Outside the plugin only the line rule holds: imports go anywhere; code is read in every flavour, data and output are not.
  writeTree(repo, {
    "plugins/encoder-compare/bin.js": `import "./index.ts";\n${long}`,
    "plugins/other/x.ts": long,
    "test/a.test.ts": `import { run } from "../plugins/encoder-compare/engine/run.ts";\n${long}`,
    "test/support/b.mts": long,
    "test/.output/generated.js": long,
    "test/fixtures/data.js": long,
    "bench/lib/c.cjs": long,
    "bench/fixtures/stub.mjs": long,
    "bench/notes.md": long,
    // 176 UTF-16 units but 96 characters: the limit counts characters.
    "scripts/d.ts": `const fits = ${JSON.stringify("🐶".repeat(80))};\n`,
    "_data/site.js": long,
    ".eleventy.ts": long,
    "content/post.js": long,
    "node_modules/pkg/index.js": long,
  });
  assert.deepEqual(normalized(checkProject(repo)), [
    ".eleventy.ts: line over 160",
    "_data/site.js: line over 160",
    "bench/fixtures/stub.mjs: line over 160",
    "bench/lib/c.cjs: line over 160",
    "bin.js: line over 160",
    "import loop among files: engine/run.ts, render/draw.ts",
    "import loop among files: search/a.ts, search/b.ts",
    "import loop among folders: engine/, render/",
    'loose.ts: loose file at the plugin root; move it into a folder of the flow',
    "plugins/other/x.ts: line over 160",
    'render/draw.ts imports engine/run.ts: "render/" may not import "engine/", which stands above it',
    "search/b.ts: line over 160",
    "test/a.test.ts: line over 160",
    "test/support/b.mts: line over 160",
  ]);
});

test("a stage reading the defaults of the folder that calls it is refused, and closes a folder loop (defaults belong below)", () => {
  const root = freshRoot();
  for (const dir of ["engine", "search"]) mkdirSync(join(root, dir));
  writeFileSync(join(root, "engine/defaults.ts"), "export const DEFAULTS = { k: 3 };\n");
  writeFileSync(join(root, "engine/run.ts"), 'import fs from "node:fs";\nimport { top } from "../search/top.ts";\nexport const run = () => [fs, top];\n');
  const top = 'import fs from "node:fs";\nimport { DEFAULTS } from "../engine/defaults.ts";\nexport const top = () => [fs, DEFAULTS.k];\n';
  writeFileSync(join(root, "search/top.ts"), top);
  assert.deepEqual(checkLayers(root), [
    'search/top.ts imports engine/defaults.ts: "search/" may not import "engine/", which stands above it',
    "import loop among folders: engine/, search/",
  ]);
});
