// Which redirect targets are refused (base/url-policy.ts): a remote host may not send a download to this machine.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkUrl } from "../../plugins/encoder-compare/base/url-policy.ts";

describe("redirects to this machine", () => {
  test("a remote host may not redirect to 0.0.0.0/8, :: or a name under .localhost (each connects here); other remote hosts stay allowed", () => {
    const remote = new URL("https://hub.example/model.onnx");
    for (const target of ["https://0.0.0.0:8080/admin", "https://0.1.2.3/", "https://[::]/", "https://[::ffff:0.0.0.0]/", "https://api.localhost/"]) {
      assert.throws(() => checkUrl(new URL(target), "model file", remote), /refused: a remote host may not redirect to this machine/, target);
    }
    for (const target of ["https://cdn.example/model.onnx", "https://10.0.0.1/model.onnx"]) {
      assert.doesNotThrow(() => checkUrl(new URL(target), "model file", remote));
    }
  });
});
