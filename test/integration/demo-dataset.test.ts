// A fresh clone has no demo dataset (its images are generated, not committed). Every test and bench
// suite that reads it, or builds the demo site, makes it first, as `npm run build` does: the
// helper run against an empty copy of the project makes it, returns at once when it is current,
// and remakes it when a file is missing.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { DEMO_DATASET, ensureDemoDataset } from "../support/demo-dataset.ts";

const ROOT = process.cwd();
/** What the generator needs from the project; everything else stays out of the copy. */
const GENERATOR_FILES = [
  "scripts/ensure-demo-dataset.mjs",
  "scripts/make-demo-dataset.ts",
  "plugins/encoder-compare/base/atomic-write.ts",
  "plugins/encoder-compare/base/process-alive.ts",
];

let copy = "";
after(() => {
  if (copy) fs.rmSync(copy, { recursive: true, force: true });
});

function manifestOf(root: string): { generator: string; images: Array<{ file: string }> } {
  return JSON.parse(fs.readFileSync(path.join(root, DEMO_DATASET, "manifest.json"), "utf8"));
}

describe("the demo dataset on a fresh clone", () => {
  test("the helper makes it in an empty copy of the project, then returns at once, and remakes a missing image", () => {
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "ec-fresh-clone-"));
    for (const file of GENERATOR_FILES) {
      fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(copy, file));
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    assert.equal(fs.existsSync(path.join(copy, DEMO_DATASET)), false);

    assert.equal(ensureDemoDataset(copy), DEMO_DATASET);
    const made = manifestOf(copy);
    assert.match(made.generator, /^make-demo-dataset@\d+$/);
    assert.ok(made.images.length > 500, `${made.images.length} images`);
    for (const image of made.images) assert.ok(fs.statSync(path.join(copy, DEMO_DATASET, image.file)).size > 0, image.file);
    for (const input of ["doge.png", "buff-doge.png"]) assert.ok(fs.existsSync(path.join(copy, "content/posts/image-encoders-part-deux/inputs", input)));

    // Current: nothing is rewritten.
    const manifestFile = path.join(copy, DEMO_DATASET, "manifest.json");
    const before = fs.statSync(manifestFile).mtimeMs;
    ensureDemoDataset(copy);
    assert.equal(fs.statSync(manifestFile).mtimeMs, before);

    // Incomplete: made again.
    const lost = path.join(copy, DEMO_DATASET, made.images[7].file);
    fs.rmSync(lost);
    ensureDemoDataset(copy);
    assert.ok(fs.existsSync(lost), "the missing image is back");
  });

  test("a project the generator cannot run in is one error saying what failed", () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), "ec-no-generator-"));
    try {
      assert.throws(() => ensureDemoDataset(broken), /^Error: could not make the demo dataset \(node scripts\/ensure-demo-dataset\.mjs exited 1\): /);
    } finally {
      fs.rmSync(broken, { recursive: true, force: true });
    }
  });

  test("every test and bench suite that reads the demo dataset or builds the demo post makes it first", () => {
    const readers: string[] = [];
    for (const folder of ["test", "bench"]) {
      for (const entry of fs.readdirSync(path.join(ROOT, folder), { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !/\.ts$/.test(entry.name)) continue;
        const file = path.relative(ROOT, path.join(entry.parentPath, entry.name));
        // Test output (sites the tests made) and fixtures are data, not suites.
        if (/^test\/(\.output|fixtures)\//.test(file)) continue;
        if (file === "test/support/demo-dataset.ts" || file === "test/integration/demo-dataset.test.ts") continue;
        const source = fs.readFileSync(path.join(ROOT, file), "utf8");
        const readsDemo = [DEMO_DATASET, "image-encoders-part-deux", "ensureDemoDataset("].some((name) => source.includes(name));
        if (!readsDemo) continue;
        readers.push(file);
        const makers = ["ensureDemoDataset(", "buildDemoSite(", "openDemoSite(", "ensure-demo-dataset.mjs", '"scripts/make-demo-dataset.ts", "--if-missing"'];
        const makesIt = makers.some((call) => source.includes(call));
        assert.ok(makesIt, `${file} reads the demo dataset without making it first (use ensureDemoDataset from test/support/demo-dataset.ts)`);
      }
    }
    for (const file of ["bench/try-it.bench.ts", "test/browser/demo-site.test.ts", "test/browser/try-it.test.ts", "test/integration/stand-in-site.test.ts"]) {
      assert.ok(readers.includes(file), `${file} among ${readers.join(", ")}`);
    }
  });
});
