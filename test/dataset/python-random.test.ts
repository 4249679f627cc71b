// PythonRandom (dataset/python-random.ts) gives CPython 3.11's sequences.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PythonRandom } from "../../plugins/encoder-compare/dataset/python-random.ts";

describe("PythonRandom matches CPython 3.11", () => {
  // Expected values printed by CPython: random.Random(seed).getrandbits(32) ×3, and
  // x = list(range(20)); random.Random(seed).shuffle(x).
  const cases: Array<[number, number[], number[]]> = [
    [42, [2746317213, 478163327, 107420369], [19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3]],
    [0, [3626764237, 1654615998, 3255389356], [10, 18, 16, 14, 0, 17, 11, 2, 3, 9, 5, 7, 4, 19, 6, 15, 8, 1, 13, 12]],
    [2 ** 32 + 7, [968553300, 3287823873, 1540179448], [18, 4, 6, 19, 8, 2, 3, 13, 5, 9, 16, 0, 15, 17, 14, 12, 1, 10, 11, 7]],
  ];
  for (const [seed, bits, shuffled] of cases) {
    test(`seed ${seed}`, () => {
      const random = new PythonRandom(seed);
      assert.deepEqual([random.nextUint32(), random.nextUint32(), random.nextUint32()], bits);
      assert.deepEqual(new PythonRandom(seed).shuffle([...Array(20).keys()]), shuffled);
    });
  }
  test("a long shuffle (rejection sampling on wide ranges) and bad seeds", () => {
    // random.Random(42).shuffle(list(range(100000))); x[:8]
    assert.deepEqual(new PythonRandom(42).shuffle([...Array(100_000).keys()]).slice(0, 8), [3813, 99183, 80737, 65674, 53670, 97104, 38743, 36888]);
    assert.throws(() => new PythonRandom(-1), /non-negative/);
    assert.throws(() => new PythonRandom(1.5), /non-negative/);
  });
});
