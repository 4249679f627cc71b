// The retrying GET ends when its caller aborts, also while it waits between tries: a server that answers 503 with a
// long backoff ahead does not hold an aborted import or page build for the rest of that wait. Real loopback server.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { httpGetWithRetries } from "../../plugins/encoder-compare/base/http-get.ts";
import { startLoopbackServer } from "../support/loopback-server.ts";

const server = await startLoopbackServer({ "/busy": (_req, res) => res.writeHead(503).end("busy") });
after(() => server.close());

describe("httpGetWithRetries", () => {
  test("an abort during the wait between tries rejects at once, and no further try is made", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const get = httpGetWithRetries(new URL(`${server.origin}/busy`), {
      what: "test image",
      timeoutMs: 5_000,
      maxBytes: 1024,
      attempts: 3,
      backoffMs: 20_000,
      signal: controller.signal,
    });
    // The first try fails with 503 at once; the loop is then in its 20 s wait.
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await assert.rejects(get, { name: "AbortError" });
    const took = performance.now() - started;
    assert.ok(took < 5_000, `rejected after ${Math.round(took)} ms, not at the abort`);
    assert.equal(server.requests.length, 1, "no try after the abort");
  });
});
