// The compare shortcode's argument grammar (eleventy/shortcode-args.ts): defaults, keywords, what is refused and
// how, random calls that may only ever give a request or a ShortcodeArgumentError, and keyword values Nunjucks
// could not read.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { normalizeOptions } from "../../plugins/encoder-compare/engine/options.ts";
import { parseCompareArgs, ShortcodeArgumentError } from "../../plugins/encoder-compare/eleventy/shortcode-args.ts";
import { parseEvalArgs } from "../../plugins/encoder-compare/eleventy/eval-args.ts";
import { seededRandom } from "../support/prng.ts";

const defaults = { k: 3, maxK: 50, encoders: ["pixels", "phash"], dataset: "data", includeSelf: false, knownEncoders: ["pixels", "phash"] };
const kw = (o: Record<string, unknown>) => ({ ...o, __keywords: true });

describe("parseCompareArgs", () => {
  test("positional paths and defaults", () => {
    assert.deepEqual(parseCompareArgs(["a.png", "b.png"], defaults), {
      queries: ["a.png", "b.png"],
      k: 3,
      encoders: ["pixels", "phash"],
      dataset: "data",
      includeSelf: false,
      layout: "tables",
    });
  });
  test("keywords override defaults", () => {
    const r = parseCompareArgs(["a.png", kw({ k: 5, encoders: "phash", includeSelf: true, dataset: "other" })], defaults);
    assert.deepEqual(r, { queries: ["a.png"], k: 5, encoders: ["phash"], dataset: "other", includeSelf: true, layout: "tables" });
  });
  test("expect= takes one group or a list; layout= tables or versus", () => {
    assert.deepEqual(parseCompareArgs(["a.png", kw({ expect: "dog-face" })], defaults).expect, ["dog-face"]);
    assert.deepEqual(parseCompareArgs(["a.png", kw({ expect: ["dog-face", "cat-face", "dog-face"] })], defaults).expect, ["dog-face", "cat-face"]);
    assert.equal(parseCompareArgs(["a.png", kw({ layout: "versus" })], defaults).layout, "versus");
    assert.throws(
      () => parseCompareArgs(["a.png", kw({ expect: [] })], defaults),
      /expect must be a dataset group such as "dog-face" or a list of groups, got \[\]/,
    );
    assert.throws(() => parseCompareArgs(["a.png", kw({ layout: "grid" })], defaults), /layout must be one of "tables", "versus", got "grid"/);
  });
  test("an array of paths counts as several queries", () => {
    assert.deepEqual(parseCompareArgs([["a.png", "b.png"]], defaults).queries, ["a.png", "b.png"]);
  });
  const bad: Array<[unknown[], RegExp]> = [
    [[], /at least one query image/],
    [[kw({})], /at least one query image/],
    [[42], /non-empty path strings, got 42/],
    [["a.png", kw({ k: 0 })], /k must be a whole number from 1 to 50, got 0/],
    [["a.png", kw({ k: 2.5 })], /got 2.5/],
    [["a.png", kw({ k: 51 })], /from 1 to 50/],
    [["a.png", kw({ encoders: ["clip"] })], /unknown encoder "clip"; known encoders: pixels, phash/],
    [["a.png", kw({ encoders: [] })], /list of encoder ids/],
    [["a.png", kw({ encoders: ["pixels", "pixels"] })], /twice/],
    [["a.png", kw({ size: 3 })], /unknown keyword "size"; known keywords: k, encoders, dataset, includeSelf/],
    [["a.png", kw({ includeSelf: "yes" })], /includeSelf must be true or false/],
  ];
  for (const [args, message] of bad) {
    test(`rejects ${JSON.stringify(args)}`, () => {
      assert.throws(() => parseCompareArgs(args, defaults), (e: Error) => e instanceof ShortcodeArgumentError && message.test(e.message));
    });
  }
});

describe("fuzz: shortcode arguments", () => {
  const defaults = { k: 3, maxK: 50, encoders: ["pixels"], dataset: "d", includeSelf: false, knownEncoders: ["pixels", "phash"] };
  const random = seededRandom(20261127);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const values: unknown[] = [
    "a.png",
    "",
    " ",
    "../x",
    0,
    -1,
    1.5,
    3,
    51,
    "7",
    "x",
    null,
    undefined,
    true,
    [],
    ["a.png"],
    [1],
    {},
    { __keywords: true },
    NaN,
    Infinity,
    "<script>",
    "pixels,phash",
    ["pixels"],
    ["clip"],
  ];
  const keys = ["k", "encoders", "dataset", "includeSelf", "rankOf", "size", "__proto__", "constructor", "toString"];
  test("500 random calls: a request or a ShortcodeArgumentError, never anything else", () => {
    for (let i = 0; i < 500; i++) {
      const args: unknown[] = Array.from({ length: Math.floor(random() * 3) }, () => pick(values));
      if (random() < 0.8) {
        const kwargs: Record<string, unknown> = { __keywords: true };
        for (let j = Math.floor(random() * 3); j > 0; j--) kwargs[pick(keys)] = pick(values);
        args.push(kwargs);
      }
      try {
        const request = parseCompareArgs(args, defaults);
        assert.ok(request.queries.length > 0 && request.queries.every((q) => typeof q === "string" && q.trim() !== ""));
        assert.ok(Number.isInteger(request.k) && request.k >= 1 && request.k <= 50);
        assert.ok(request.encoders.every((e) => defaults.knownEncoders.includes(e)));
      } catch (error) {
        assert.ok(error instanceof ShortcodeArgumentError, `call ${i} ${JSON.stringify(args)} threw ${(error as Error).stack}`);
      }
    }
  });
});

describe("keyword values Nunjucks cannot read", () => {
  const compareDefaults = { k: 3, maxK: 50, encoders: ["pixels"], dataset: "d", includeSelf: false, knownEncoders: ["pixels", "phash"] };
  const evalDefaults = { dataset: "d", encoders: ["pixels", "phash"], maxK: 50, knownEncoders: ["pixels", "phash"] };

  test("every keyword of both shortcodes, present but undefined, is an error naming it", () => {
    for (const keyword of ["k", "encoders", "dataset", "includeSelf", "rankOf"]) {
      assert.throws(
        () => parseCompareArgs(["q.png", { [keyword]: undefined, __keywords: true }], compareDefaults),
        (e: Error) => e instanceof ShortcodeArgumentError && e.message.startsWith(`${keyword}= has a value Nunjucks could not read`),
      );
    }
    for (const keyword of ["dataset", "k", "encoders", "disagreements", "between"]) {
      assert.throws(
        () => parseEvalArgs([{ [keyword]: undefined, __keywords: true }], evalDefaults),
        (e: Error) => e instanceof ShortcodeArgumentError && e.message.startsWith(`${keyword}= has a value`),
      );
    }
  });
});

describe("tryIt option and keyword", () => {
  const defaults = { k: 3, maxK: 50, encoders: ["pixels"], dataset: "d", includeSelf: false, knownEncoders: ["pixels"] };
  test("the keyword, front matter and site option turn it on; anything but a boolean is refused", () => {
    assert.equal(parseCompareArgs(["a.png", { tryIt: true, __keywords: true }], defaults).tryIt, true);
    assert.equal(parseCompareArgs(["a.png"], defaults, { tryIt: true }).tryIt, true);
    assert.equal(parseCompareArgs(["a.png"], { ...defaults, tryIt: true }).tryIt, true);
    assert.equal(parseCompareArgs(["a.png", { tryIt: false, __keywords: true }], { ...defaults, tryIt: true }).tryIt, undefined);
    assert.throws(() => parseCompareArgs(["a.png", { tryIt: "yes", __keywords: true }], defaults), /tryIt must be true or false, got "yes"/);
    assert.throws(() => normalizeOptions({ tryIt: 1 as unknown as boolean }), /plugin option `tryIt` must be true or false/);
    assert.throws(
      () => normalizeOptions({ tryItModels: "clip-vit-b32" as unknown as string[] }),
      /plugin option `tryItModels` must be an array of encoder ids, got "clip-vit-b32"/,
    );
  });
});
