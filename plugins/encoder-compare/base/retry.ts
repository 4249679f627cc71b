// The one retry loop: a task tried again after failures that may pass, with a wait between tries. The HTTP GETs of
// the importer and of embeddings-folder images (http-get.ts) and the resumable model download each say which
// failures those are and how long to wait; the loop is the same.
import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPlan {
  /** Tries in all, the first included (1: no retry). */
  tries: number;
  /** Whether a failure is worth another try; any other is thrown at once. */
  retryable(error: unknown): boolean;
  /** How long to wait after try `failedTry` (1 for the first) failed with `error`. */
  waitMs(failedTry: number, error: unknown): number;
  /** Called before each wait, e.g. to log the retry. */
  beforeWait?(error: unknown, failedTry: number): void | Promise<void>;
  /** What to throw when the last try failed with a retryable error (default: that error). */
  giveUp?(error: unknown): unknown | Promise<unknown>;
  /** Ends a wait early: the wait then rejects with an AbortError (node:timers/promises). */
  signal?: AbortSignal;
}

/** Wait `firstMs` after the first failure, doubling after each later one. */
export function doubling(firstMs: number): (failedTry: number) => number {
  return (failedTry) => firstMs * 2 ** (failedTry - 1);
}

/** Wait `stepMs` after the first failure, `n × stepMs` after the n-th. */
export function growing(stepMs: number): (failedTry: number) => number {
  return (failedTry) => stepMs * failedTry;
}

/** Runs `task` until it succeeds, fails with an error not worth retrying, or has been tried `plan.tries` times. */
export async function withRetries<T>(task: (tryNumber: number) => Promise<T>, plan: RetryPlan): Promise<T> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await task(tryNumber);
    } catch (error) {
      if (!plan.retryable(error)) throw error;
      if (tryNumber >= plan.tries) throw plan.giveUp ? await plan.giveUp(error) : error;
      await plan.beforeWait?.(error, tryNumber);
      await sleep(plan.waitMs(tryNumber, error), undefined, plan.signal ? { signal: plan.signal } : undefined);
    }
  }
}
