// Plugin options (engine/options.ts): the flat defaults come from DEFAULTS, grouped and flat forms agree, every
// option is checked by name, and the README and the CLI show the same values.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { DEFAULTS, OPTION_GROUPS } from "../../plugins/encoder-compare/base/defaults.ts";
import { FLAT_DEFAULTS, normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";
import { optionsFromArgs } from "../../plugins/encoder-compare/cli/site-options.ts";
import { parseArgs } from "../../plugins/encoder-compare/cli/common.ts";
import { PLUGIN_ROOT } from "../../scripts/check-layers.ts";

describe("options", () => {
  test("every flat default is the DEFAULTS value of its group", () => {
    for (const group of OPTION_GROUPS) {
      for (const [key, value] of Object.entries(DEFAULTS[group])) assert.equal(FLAT_DEFAULTS[key as keyof typeof FLAT_DEFAULTS], value, key);
    }
    assert.equal(FLAT_DEFAULTS.dataset, "content/datasets");
  });

  test("the grouped form and the flat aliases give the same options", () => {
    const grouped = normalizeOptions({
      search: { indexBackend: "js", annThreshold: 7, annFactory: "HNSW16,Flat", annCandidates: 9 },
      embedding: { batchSize: 4, intraOpNumThreads: 1, prefetchBatches: 0, decodeConcurrency: 3, limitInputPixels: 1000 },
      models: { modelsDir: "m", offline: true, modelBaseUrl: "http://127.0.0.1:1", strict: true },
      output: { outputSubdir: "out", tileSize: 48 },
    });
    const flat = normalizeOptions({
      indexBackend: "js", annThreshold: 7, annFactory: "HNSW16,Flat", annCandidates: 9,
      batchSize: 4, intraOpNumThreads: 1, prefetchBatches: 0, decodeConcurrency: 3, limitInputPixels: 1000,
      modelsDir: "m", offline: true, modelBaseUrl: "http://127.0.0.1:1", strict: true, outputSubdir: "out", tileSize: 48,
    });
    assert.deepEqual(grouped, flat);
    assert.deepEqual(normalizeOptions({ tileSize: 48, output: { tileSize: 48 } }), normalizeOptions({ tileSize: 48 }));
  });

  test("grouped options are validated by name, and a name given twice must agree", () => {
    assert.throws(() => normalizeOptions({ search: { batchSize: 4 } } as never), /`search\.batchSize` is unknown; known search options: indexBackend, /);
    assert.throws(() => normalizeOptions({ output: "big" } as never), /`output` must be an object of output options/);
    assert.throws(() => normalizeOptions({ tileSize: 32, output: { tileSize: 48 } }), /`tileSize` is given twice, as `output\.tileSize` and as its flat alias/);
    assert.throws(() => normalizeOptions({ embedding: { batchSize: 0 } }), /`batchSize` must be a positive integer, got 0/);
  });

  test("no stage keeps its own copy of a default", () => {
    const copies: string[] = [];
    const literals = [/\b200_?000\b/, /"HNSW32,Flat"/, /\b50_?000_?000\b/, /\?\?\s*(2|16|128)\b/];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (entry.name.endsWith(".ts") && !file.endsWith(path.join("base", "defaults.ts"))) {
          fs.readFileSync(file, "utf8").split("\n").forEach((line, i) => {
            if (!/^(\/\/|\/\*|\*)/.test(line.trim()) && literals.some((re) => re.test(line))) {
              copies.push(`${path.relative(PLUGIN_ROOT, file)}:${i + 1}`);
            }
          });
        }
      }
    };
    walk(PLUGIN_ROOT);
    assert.deepEqual(copies, []);
  });

  test("the README's option tables show the DEFAULTS values", () => {
    const readme = fs.readFileSync(path.join(PLUGIN_ROOT, "../../README.md"), "utf8");
    const tableAfter = (marker: string): string[] => {
      const from = readme.indexOf(marker);
      assert.ok(from >= 0, `README has "${marker}"`);
      const rows: string[] = [];
      for (const line of readme.slice(from).split("\n").slice(1)) {
        if (line.startsWith("|")) rows.push(line);
        else if (rows.length > 0) break;
      }
      return rows;
    };
    const shown = new Map<string, unknown>();
    const read = (rows: string[], prefix: string) => {
      for (const row of rows) {
        const cells = row.split("|").map((c) => c.trim());
        const names = [...cells[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
        const values = [...cells[2].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
        names.forEach((name, i) => {
          if (values[i] === undefined) return;
          try {
            shown.set(prefix + name, JSON.parse(values[i]));
          } catch {
            // A default described in words ($ENV, "none") has no literal to compare.
          }
        });
      }
    };
    read(tableAfter("### Plugin options"), "");
    read(tableAfter("Keys of the object form:"), "embeddingsFolder.");
    const actual = (name: string): unknown =>
      name.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], DEFAULTS);
    const compared = [...shown].filter(([name]) => actual(name) !== undefined);
    assert.ok(compared.length >= 20, `only ${compared.length} documented defaults found`);
    for (const [name, value] of compared) assert.deepEqual(value, actual(name), `README's default of ${name}`);
    const missing = [...OPTION_GROUPS, "embeddingsFolder"].flatMap((group) =>
      Object.keys(DEFAULTS[group as keyof typeof DEFAULTS] as object).map((key) => `${group}.${key}`),
    ).filter((name) => !shown.has(name) && !["models.modelsDir", "models.modelBaseUrl"].includes(name));
    assert.deepEqual(missing, [], "options without a documented default");
  });

  test("the CLI merges a site's grouped options, then --config's flat ones over them", async () => {
    const site = fs.mkdtempSync(path.join(os.tmpdir(), "ec-options-"));
    fs.writeFileSync(
      path.join(site, "eleventy.config.mjs"),
      "function encoderComparePlugin() {}\n" +
        `export default (c) => { c.addPlugin(encoderComparePlugin, { dataset: "data", search: { annThreshold: 7 }, output: { tileSize: 48 } }); };\n`,
    );
    fs.writeFileSync(path.join(site, "flat.mjs"), "export default { annThreshold: 9 };\n");
    const fromSite = await optionsFromArgs(parseArgs([], [], ["--config"]), site);
    assert.deepEqual([fromSite.dataset, fromSite.annThreshold, fromSite.tileSize], ["data", 7, 48]);
    const overridden = await optionsFromArgs(parseArgs(["--config", "flat.mjs"], [], ["--config"]), site);
    assert.deepEqual([overridden.annThreshold, overridden.tileSize], [9, 48]);
  });
});

describe("normalizeOptions", () => {
  test("defaults", () => assert.deepEqual(normalizeOptions(), { ...FLAT_DEFAULTS }));
  test("unknown option", () => assert.throws(() => normalizeOptions({ kk: 3 } as never), /`kk` is unknown/));
  test("k above maxK", () => assert.throws(() => normalizeOptions({ k: 9, maxK: 5 }), /above `maxK`/));
  test("bad backend", () => assert.throws(() => normalizeOptions({ indexBackend: "gpu" as never }), /indexBackend/));
});
