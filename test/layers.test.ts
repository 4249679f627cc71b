// The layer check (scripts/check-layers.ts) over the plugin: folders in flow order, no upward import, no loop, lines ≤ 160.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkLayers } from "../scripts/check-layers.ts";

function normalized(problems: string[]): string[] {
  return problems.map((p) => p.replace(/^([^:]+):\d+: line of \d+ characters \(limit 160\)$/, "$1: line over 160")).sort();
}

test("the plugin's layout breaks no layer rule", () => {
  assert.deepEqual(checkLayers(), []);
});

test("the layer check finds an upward import, a loop, a loose root file and a long line", () => {
  const root = mkdtempSync(join(tmpdir(), "layers-"));
  for (const dir of ["engine", "render", "search"]) mkdirSync(join(root, dir));
  writeFileSync(join(root, "index.ts"), 'export * from "./engine/run.ts";\n');
  writeFileSync(join(root, "loose.ts"), "export const x = 1;\n");
  writeFileSync(join(root, "engine/run.ts"), 'import { draw } from "../render/draw.ts";\nexport const run = draw;\n');
  writeFileSync(join(root, "render/draw.ts"), 'import fs from "node:fs";\nimport { run } from "../engine/run.ts";\nexport const draw = () => [fs, run];\n');
  writeFileSync(join(root, "search/a.ts"), 'import { b } from "./b.ts";\nexport const a = () => b;\n');
  writeFileSync(join(root, "search/b.ts"), `import { a } from "./a.ts";\nexport const b = () => a; // ${"x".repeat(160)}\n`);
  assert.deepEqual(normalized(checkLayers(root)), [
    "import loop among files: engine/run.ts, render/draw.ts",
    "import loop among files: search/a.ts, search/b.ts",
    "import loop among folders: engine/, render/",
    'loose.ts: loose file at the plugin root; move it into a folder of the flow',
    'render/draw.ts imports engine/run.ts: "render/" may not import "engine/", which stands above it',
    'search/b.ts: line over 160',
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
