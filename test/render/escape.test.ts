// HTML escaping (render/escape.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeHtml } from "../../plugins/encoder-compare/render/escape.ts";

test("escapeHtml escapes markup and quotes", () => {
  assert.equal(escapeHtml(`<script>alert("x")</script> & 'y'`), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
});
