// The query command's side-by-side columns (cli/query.ts) on terminals of every width.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fitColumns } from "../../plugins/encoder-compare/cli/query.ts";

describe("side-by-side columns", () => {
  test("cut only when a terminal is too narrow for them, widest first, never below 24", () => {
    assert.deepEqual(fitColumns([30, 200], Infinity), [30, 200]);
    assert.deepEqual(fitColumns([30, 200], 100), [30, 70]);
    assert.deepEqual(fitColumns([100, 100], 100), [50, 50]);
    assert.deepEqual(fitColumns([20, 300], 30), [20, 24]);
  });
});
