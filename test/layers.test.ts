// The layer check (scripts/check-layers.ts): over the plugin, folders in flow order, no upward import, no loop; over every
// source file the project owns (plugin, test/, bench/, scripts/, _data/, .eleventy.ts), lines ≤ 160.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { checkLayers, checkProject } from "../scripts/check-layers.ts";

function normalized(problems: string[]): string[] {
  return problems.map((p) => p.replace(/^([^:]+):\d+: line of \d+ characters \(limit 160\)$/, "$1: line over 160")).sort();
}

test("the plugin's layout breaks no layer rule", () => {
  assert.deepEqual(checkLayers(), []);
});

test("every source file the project owns keeps its lines within 160 characters", () => {
  assert.deepEqual(checkProject(), []);
});

/** Writes files (path relative to root → text), making their folders. */
function writeTree(root: string, files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  }
}

test("the layer check finds an upward import, a loop, a loose root file and a long line, in the plugin or outside it", () => {
  const repo = mkdtempSync(join(tmpdir(), "layers-"));
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

test("a stage reading a pure module of the folder that calls it closes a folder loop (defaults belong to the caller)", () => {
  const root = mkdtempSync(join(tmpdir(), "layers-"));
  for (const dir of ["engine", "search"]) mkdirSync(join(root, dir));
  writeFileSync(join(root, "engine/defaults.ts"), "export const DEFAULTS = { k: 3 };\n");
  writeFileSync(join(root, "engine/run.ts"), 'import fs from "node:fs";\nimport { top } from "../search/top.ts";\nexport const run = () => [fs, top];\n');
  const top = 'import fs from "node:fs";\nimport { DEFAULTS } from "../engine/defaults.ts";\nexport const top = () => [fs, DEFAULTS.k];\n';
  writeFileSync(join(root, "search/top.ts"), top);
  assert.deepEqual(checkLayers(root), ["import loop among folders: engine/, search/"]);
});
