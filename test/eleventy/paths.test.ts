// Where a query image named in a post is looked for (eleventy/paths.ts), and every path that is refused.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { PathRefusedError, resolveQueryPath } from "../../plugins/encoder-compare/eleventy/paths.ts";

describe("resolveQueryPath", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "ec-paths-"));
  const content = path.join(root, "content");
  const postDir = path.join(content, "posts/p");
  fs.mkdirSync(postDir, { recursive: true });
  fs.writeFileSync(path.join(postDir, "here.png"), "x");
  fs.writeFileSync(path.join(content, "shared.png"), "x");
  fs.mkdirSync(path.join(content, "folder.png"));
  fs.symlinkSync("/etc/hostname", path.join(postDir, "link.png"));
  const post = path.join(postDir, "index.md");
  const resolve = (q: string) => resolveQueryPath(q, post, content, root);
  test("next to the post first, then content/", () => {
    assert.equal(resolve("here.png"), fs.realpathSync(path.join(postDir, "here.png")));
    assert.equal(resolve("shared.png"), fs.realpathSync(path.join(content, "shared.png")));
  });
  const refused: Array<[string, RegExp]> = [
    ["/etc/passwd", /absolute paths are refused/],
    ["../../../../etc/passwd", /leads outside the project/],
    ["link.png", /is a link to .*outside the project/],
    ["folder.png", /is a folder/],
    ["nope.png", /file not found; looked at content\/posts\/p\/nope.png and content\/nope.png/],
  ];
  for (const [query, message] of refused) {
    test(`refuses ${query}`, () => assert.throws(() => resolve(query), (e: Error) => e instanceof PathRefusedError && message.test(e.message)));
  }
});
