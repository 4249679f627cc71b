// The CLI's shared pieces (cli/common.ts): edit distance for suggestions, and argument parsing.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { closestName, editDistance, parseArgs, UsageError } from "../../plugins/encoder-compare/cli/common.ts";

describe("the pieces", () => {
  test("edit distance counts a swap of neighbours as one edit", () => {
    assert.equal(editDistance("qurey", "query"), 1);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(closestName("qurey", ["query", "index"]), "query");
    assert.equal(closestName("zzz", ["query", "index"]), undefined);
    assert.equal(closestName("mod", ["models", "cache"]), "models");
  });

  test("parseArgs: values that look like negative numbers are values; options are never positional", () => {
    assert.deepEqual(parseArgs(["--k", "-5"], [], ["--k"]).values.get("--k"), "-5");
    assert.deepEqual(parseArgs(["-"], [], []).positional, ["-"]);
    assert.throws(() => parseArgs(["-q"], ["--json"], []), (error: Error) => error instanceof UsageError && /unknown option -q/.test(error.message));
  });
});
