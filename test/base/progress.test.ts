// Progress lines (base/progress.ts): one redrawn line on a terminal, plain lines in a log, nothing when quiet.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createProgress } from "../../plugins/encoder-compare/base/progress.ts";

describe("progress", () => {
  const run = (isTTY: boolean, quiet: boolean | (() => boolean) = false) => {
    const chunks: string[] = [];
    let clock = 0;
    const factory = createProgress({ output: { isTTY, write: (c: string) => chunks.push(c) }, quiet, now: () => clock, plainIntervalSeconds: 10 });
    const task = factory("pixels", 100);
    for (let done = 10; done <= 100; done += 10) {
      clock += 4;
      task.update(done);
    }
    task.end();
    return chunks;
  };
  test("a terminal gets one redrawn line with rate and ETA, cleared at the end", () => {
    const chunks = run(true);
    assert.equal(chunks[0], "\r[encoder-compare] pixels: 10/100 images (10 %) · 2.5 img/s · ETA 36 s");
    assert.ok(chunks.every((c) => !c.includes("\n")));
    assert.match(chunks.at(-1)!, /^\r +\r$/);
  });
  test("a log gets a plain line at most every 10 s and none at the end", () => {
    const chunks = run(false);
    assert.deepEqual(chunks, [
      "[encoder-compare] pixels: 10/100 images (10 %) · 2.5 img/s · ETA 36 s\n",
      "[encoder-compare] pixels: 40/100 images (40 %) · 2.5 img/s · ETA 24 s\n",
      "[encoder-compare] pixels: 70/100 images (70 %) · 2.5 img/s · ETA 12 s\n",
    ]);
  });
  test("quiet (also asked lazily) and small jobs print nothing", () => {
    assert.deepEqual(run(true, true), []);
    assert.deepEqual(run(false, () => true), []);
    const chunks: string[] = [];
    createProgress({ output: { isTTY: true, write: (c: string) => chunks.push(c) } })("x", 5).update(5);
    assert.deepEqual(chunks, []);
  });
});
