// encoderName through Eleventy: headings and front matter name what ran, and bad arguments fail the build.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { buildWithPlugin } from "../support/eleventy.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/encoder-name");
const EMOJI = path.join(ROOT, "node_modules/emoji-datasource-google/img/google/64/1f436.png");

async function build(markdown: string, frontMatter = ""): Promise<string> {
  const content = path.join(WORK, `site-${Math.random().toString(36).slice(2)}`, "content");
  const data = path.join(WORK, "data");
  fs.mkdirSync(data, { recursive: true });
  fs.copyFileSync(EMOJI, path.join(data, "dog.png"));
  fs.mkdirSync(content, { recursive: true });
  fs.writeFileSync(path.join(content, "index.md"), `---\ntemplateEngineOverride: njk,md\n---\n${markdown}\n`);
  fs.writeFileSync(
    path.join(content, "page.njk"),
    `---\npermalink: /title/\neleventyComputed:\n  title: "{{ 'bit-m-r50x1' | encoderName('short') }} finds dogs"\n${frontMatter}---\n` +
      `<title>{{ title }}</title>\n<p class="d">{{ description }}</p>\n`,
  );
  const rel = (p: string) => path.relative(ROOT, p);
  const pages = await buildWithPlugin(content, path.join(content, "../_site"), {
    dataset: rel(data),
    cacheDir: rel(path.join(WORK, "cache")),
    modelsDir: rel(path.join(WORK, "no-models")),
    offline: true,
    encoders: ["pixels"],
  });
  return pages.map((p) => p.content).join("\n");
}

describe("encoderName", () => {
  test("in headings and front matter through Eleventy: what ran leads, escaped; a real encoder by its label", async () => {
    const html = await build(
      `## <% encoderName "clip-vit-b32" %>\n\n## <% encoderName "phash" %>\n\n## <% encoderName "bit-m-r50x1", form="ran" %>\n\n` +
        "",
      `  description: "What {{ 'clip-vit-b32' | encoderName('short') }} saw"\n`,
    );
    assert.match(html, /<h2>pixels \(16×16 thumbnail\), stand-in for CLIP ViT-B\/32<\/h2>/);
    assert.match(html, /<h2>phash \(64-bit DCT hash\)<\/h2>/);
    assert.match(html, /<h2>phash \(64-bit DCT hash\)<\/h2>\n<h2>phash \(64-bit DCT hash\)<\/h2>/, "BiT's stand-in, by what ran");
    assert.match(html, /<p class="d">What pixels \(standing in for CLIP ViT-B\/32\) saw<\/p>/);
    assert.match(html, /<title>phash \(standing in for BiT-M R50x1\) finds dogs<\/title>/);
  });

  test("an unknown encoder or form fails the build naming the page and the choices", async () => {
    const chain = (error: unknown) => {
      const messages: string[] = [];
      for (let e = error as { message?: string; cause?: unknown; originalError?: unknown } | undefined; e; e = (e.cause ?? e.originalError) as typeof e) {
        messages.push(String(e.message));
      }
      return messages.join("\n");
    };
    const fails = async (markdown: string, expected: RegExp) => {
      const error = await build(markdown).then(() => undefined, (e: unknown) => e);
      assert.ok(error, `${markdown} should fail the build`);
      assert.match(chain(error), expected);
    };
    await fails(`## <% encoderName "clip" %>`, /index\.md: encoderName: encoderName needs an encoder id, one of [^;]*clip-vit-b32[^;]*; got "clip"/);
    await fails(`## <% encoderName "pixels", form="long" %>`, /form must be one of name, short, ran; got "long"/);
  });
});
