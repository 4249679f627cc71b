// The ModelUnavailableError a model request rejects with, for tests that look at its kind, reason and message.
import assert from "node:assert/strict";
import { ModelUnavailableError } from "../../plugins/encoder-compare/models/download.ts";

export async function unavailable(promise: Promise<unknown>): Promise<ModelUnavailableError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelUnavailableError, `expected ModelUnavailableError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the model to be unavailable");
}
