// DEFAULTS holds more than options: groups of fixed bounds and tunings (net, downloads, images, …) that no config may
// set. Each of them is refused as an option, by its group and by its flat names; none leaks into the flattened
// options; and the README's "Built-in limits" table shows every one of their values.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { DEFAULTS, OPTION_GROUPS } from "../../plugins/encoder-compare/base/defaults.ts";
import { FLAT_DEFAULTS, normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";

/** Groups that are options or the object form of one (an embeddings folder's fields, checked by their own tests). */
const OPTION_LIKE = new Set<string>([...OPTION_GROUPS, "embeddingsFolder"]);

/** The groups of DEFAULTS that are not options, with their settings. */
const fixedGroups = Object.entries(DEFAULTS).filter(
  ([name, value]) => !OPTION_LIKE.has(name) && typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0,
) as Array<[string, Record<string, unknown>]>;

describe("DEFAULTS beyond the options", () => {
  test("the fixed groups are the ones the README lists", () => {
    assert.deepEqual(fixedGroups.map(([name]) => name).sort(), [
      "converters", "datasetLimits", "downloads", "eval", "images", "importer", "imageFetch", "net", "pages", "store", "warnings",
    ].sort());
  });

  test("no fixed group is accepted as an option, grouped or by a flat name", () => {
    for (const [group, settings] of fixedGroups) {
      assert.throws(() => normalizeOptions({ [group]: {} } as never), new RegExp(`\`${group}\` is unknown; known options: `), group);
      for (const name of Object.keys(settings)) {
        if (name in FLAT_DEFAULTS) continue; // a name an option group also has (`k`), set as that option
        assert.throws(() => normalizeOptions({ [name]: settings[name] } as never), new RegExp(`\`${name}\` is unknown`), `${group}.${name}`);
      }
    }
  });

  test("the flattened options hold the top-level defaults and the option groups', nothing else", () => {
    const topLevel = Object.keys(DEFAULTS).filter((name) => !fixedGroups.some(([group]) => group === name) && !OPTION_LIKE.has(name));
    const grouped = OPTION_GROUPS.flatMap((group) => Object.keys(DEFAULTS[group]));
    assert.deepEqual(Object.keys(FLAT_DEFAULTS).sort(), [...topLevel, ...grouped].sort());
    for (const name of topLevel) assert.deepEqual(FLAT_DEFAULTS[name as keyof typeof FLAT_DEFAULTS], DEFAULTS[name as keyof typeof DEFAULTS], name);
  });

  test("the README's built-in limits table shows every fixed setting with its DEFAULTS value", () => {
    const readme = fs.readFileSync(path.join(process.cwd(), "README.md"), "utf8");
    const from = readme.indexOf("#### Built-in limits (not options)");
    assert.ok(from >= 0, "README has the built-in limits section");
    const rows: string[] = [];
    for (const line of readme.slice(from).split("\n").slice(1)) {
      if (line.startsWith("|")) rows.push(line);
      else if (rows.length > 0) break;
    }
    const shown = new Map<string, unknown>();
    for (const row of rows.slice(2)) {
      const [, name, value] = row.split("|").map((cell) => cell.trim());
      shown.set(name.replace(/`/g, ""), JSON.parse(value.replace(/`/g, "")));
    }
    const expected = new Map(fixedGroups.flatMap(([group, settings]) => Object.entries(settings).map(([name, value]) => [`${group}.${name}`, value])));
    assert.deepEqual([...shown.keys()].sort(), [...expected.keys()].sort());
    for (const [name, value] of expected) assert.deepEqual(shown.get(name), value, `README's ${name}`);
  });
});
