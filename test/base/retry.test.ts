// The one retry loop: how many tries, which failures it retries, how long it waits between tries (the GETs double
// their backoff, the model download grows its delay by one step per resumption), what it throws when it gives up, and
// that an abort ends a wait at once. Real timers, short waits.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { doubling, growing, withRetries } from "../../plugins/encoder-compare/base/retry.ts";

class Passing extends Error {}
class Lasting extends Error {}

/** A task that fails with Passing `failures` times, then answers "done"; it records when each try started. */
function flaky(failures: number) {
  const starts: number[] = [];
  const task = async (tryNumber: number) => {
    starts.push(performance.now());
    assert.equal(tryNumber, starts.length, "tries are numbered from 1");
    if (starts.length <= failures) throw new Passing(`try ${starts.length}`);
    return "done";
  };
  return { task, starts };
}

const passing = (error: unknown) => error instanceof Passing;

describe("withRetries", () => {
  test("a failure that may pass is tried again, up to `tries` in all; the waits follow waitMs", async () => {
    const { task, starts } = flaky(2);
    const waits: Array<[number, string]> = [];
    const result = await withRetries(task, {
      tries: 3,
      retryable: passing,
      waitMs: (failedTry, error) => {
        waits.push([failedTry, (error as Error).message]);
        return 40 * failedTry;
      },
    });
    assert.equal(result, "done");
    assert.deepEqual(waits, [[1, "try 1"], [2, "try 2"]]);
    assert.equal(starts.length, 3);
    assert.ok(starts[1] - starts[0] >= 38, `first wait ${starts[1] - starts[0]} ms`);
    assert.ok(starts[2] - starts[1] >= 78, `second wait ${starts[2] - starts[1]} ms`);
  });

  test("the last try's failure is thrown, or what giveUp makes of it; beforeWait runs before each wait only", async () => {
    const { task, starts } = flaky(5);
    const before: number[] = [];
    await assert.rejects(withRetries(task, { tries: 3, retryable: passing, waitMs: () => 1, beforeWait: (_e, n) => void before.push(n) }), /^Error: try 3$/);
    assert.equal(starts.length, 3);
    assert.deepEqual(before, [1, 2]);
    const again = flaky(5);
    const giveUp = async (error: unknown) => new Lasting(`gave up after ${(error as Error).message}`);
    await assert.rejects(withRetries(again.task, { tries: 2, retryable: passing, waitMs: () => 1, giveUp }), (error: unknown) => {
      assert.ok(error instanceof Lasting);
      assert.equal(error.message, "gave up after try 2");
      return true;
    });
  });

  test("a failure not worth retrying is thrown at once, without giveUp", async () => {
    let tries = 0;
    const task = async () => {
      tries++;
      throw new Lasting("no");
    };
    const giveUp = () => new Error("must not be called");
    await assert.rejects(withRetries(task, { tries: 5, retryable: passing, waitMs: () => 1, giveUp }), Lasting);
    assert.equal(tries, 1);
  });

  test("one try in all is no retry", async () => {
    const { task, starts } = flaky(1);
    await assert.rejects(withRetries(task, { tries: 1, retryable: passing, waitMs: () => 1 }), Passing);
    assert.equal(starts.length, 1);
  });

  test("an abort ends a wait at once with an AbortError", async () => {
    const { task, starts } = flaky(5);
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort(), 30);
    await assert.rejects(
      withRetries(task, { tries: 3, retryable: passing, waitMs: () => 60_000, signal: controller.signal }),
      (error: Error) => error.name === "AbortError",
    );
    assert.ok(performance.now() - started < 5_000, "the minute's wait did not run out");
    assert.equal(starts.length, 1);
  });
});

describe("wait shapes", () => {
  test("doubling: the first wait, then twice the one before", () => {
    assert.deepEqual([1, 2, 3, 4].map(doubling(500)), [500, 1000, 2000, 4000]);
  });

  test("growing: n steps after the n-th failure", () => {
    assert.deepEqual([1, 2, 3].map(growing(1000)), [1000, 2000, 3000]);
  });
});
