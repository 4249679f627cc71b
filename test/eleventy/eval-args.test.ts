// The encoderEval shortcode's arguments (eleventy/eval-args.ts): defaults and what each error says.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseEvalArgs } from "../../plugins/encoder-compare/eleventy/eval-args.ts";

describe("parseEvalArgs", () => {
  const defaults = { dataset: "data", encoders: ["pixels", "phash"], maxK: 50, knownEncoders: ["pixels", "phash", "clip-vit-b32"] };
  const kw = (o: Record<string, unknown>) => ({ ...o, __keywords: true });
  test("defaults: k 10, 3 disagreement rows between the first two encoders", () => {
    assert.deepEqual(parseEvalArgs([], defaults), { dataset: "data", k: 10, encoders: ["pixels", "phash"], disagreements: 3, between: ["pixels", "phash"] });
    assert.deepEqual(parseEvalArgs([kw({ encoders: "phash", k: "5", disagreements: 0 })], defaults), {
      dataset: "data",
      k: 5,
      encoders: ["phash"],
      disagreements: 0,
    });
    const between = parseEvalArgs([kw({ encoders: ["pixels", "phash", "clip-vit-b32"], between: ["clip-vit-b32", "pixels"] })], defaults).between;
    assert.deepEqual(between, ["clip-vit-b32", "pixels"]);
  });
  test("errors say what was expected", () => {
    assert.throws(
      () => parseEvalArgs([kw({ between: ["pixels", "clip-vit-b32"] })], defaults),
      /between must name two different encoders of this evaluation \(pixels, phash\)/,
    );
    assert.throws(() => parseEvalArgs([kw({ between: ["pixels", "pixels"] })], defaults), /between must name two different encoders/);
    assert.throws(() => parseEvalArgs([kw({ disagreements: 21 })], defaults), /disagreements must be a whole number from 0 to 20, got 21/);
    assert.throws(() => parseEvalArgs([kw({ encoders: ["nope"] })], defaults), /unknown encoder "nope"; known encoders: pixels, phash, clip-vit-b32/);
    assert.throws(() => parseEvalArgs([kw({ encoders: ["phash", "phash"] })], defaults), /lists an encoder twice/);
  });
});
