// One reader and one tag pattern for a page's source: the tag pattern finds a tag of every shortcode the plugin
// registers (in the `<% %>` and `{% %}` forms, with trim marks), and both readers of a page's source (the keyword
// checks of shortcode-source.ts and the stand-in page data of page-stand-ins.ts) refuse a page outside the project or
// over the size cap.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DEFAULTS } from "../../plugins/encoder-compare/base/defaults.ts";
import encoderComparePlugin from "../../plugins/encoder-compare/eleventy/plugin.ts";
import {
  PRINTED_SHORTCODE_TAG,
  SHORTCODE_NAMES,
  readPageSource,
  shortcodeTags,
} from "../../plugins/encoder-compare/eleventy/page-source.ts";
import { encodersInSource, pageStandIns } from "../../plugins/encoder-compare/eleventy/page-stand-ins.ts";
import { UnreadableKeywordError, ShortcodeArgumentError } from "../../plugins/encoder-compare/eleventy/shortcode-args.ts";
import { checkPageKeywords, describeArgumentError } from "../../plugins/encoder-compare/eleventy/shortcode-source.ts";
import type { StandingInFor } from "../../plugins/encoder-compare/render/encoder-run.ts";

const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/page-source");

/** The names plugin.ts registers as shortcodes (and filters), from a stand-in for Eleventy's config. */
function registeredShortcodes(): string[] {
  const shortcodes: string[] = [];
  const refuse = (what: string) => () => assert.fail(`the plugin registered a ${what}: SHORTCODE_TAG does not look for it`);
  const config = {
    directories: { input: "content", output: path.relative(ROOT, path.join(WORK, "_site")) },
    addAsyncShortcode: (name: string) => shortcodes.push(name),
    addShortcode: refuse("synchronous shortcode"),
    addPairedShortcode: refuse("paired shortcode"),
    addPairedAsyncShortcode: refuse("paired shortcode"),
    addAsyncFilter: () => {},
    addGlobalData: () => {},
    setServerOptions: () => {},
    on: () => {},
  };
  encoderComparePlugin(config, { cacheDir: path.relative(ROOT, path.join(WORK, "cache")), encoders: ["pixels"] });
  return shortcodes;
}

describe("the shortcode tag pattern", () => {
  const registered = registeredShortcodes();

  test("the plugin registers the shortcodes the pattern knows, no more", () => {
    assert.ok(registered.length >= 5, `registered: ${registered.join(", ")}`);
    assert.deepEqual([...new Set(registered)].sort(), [...SHORTCODE_NAMES].sort());
  });

  test("finds a tag of every registered shortcode in every tag form, with its arguments", () => {
    const forms = [(t: string) => `<% ${t} %>`, (t: string) => `<%- ${t} -%>`, (t: string) => `{% ${t} %}`, (t: string) => `{%-\n  ${t}\n-%}`];
    for (const name of new Set(registered)) {
      for (const form of forms) {
        const source = `# Heading\n\nSome prose.\n${form(`${name} "inputs/a.png", k=3`)}\nMore prose <% if x %>y<% endif %>.\n`;
        const tags = shortcodeTags(source);
        assert.equal(tags.length, 1, `${name} in ${JSON.stringify(form("…"))}`);
        assert.equal(tags[0].name, name);
        assert.match(tags[0].body, /^\s*"inputs\/a\.png", k=3\s*$/);
      }
      // A longer name that starts with a registered one is another shortcode.
      assert.deepEqual(shortcodeTags(`<% ${name}Extra "a.png" %>`), [], `${name}Extra`);
      // Printed as text (no template engine ran the page), the tag is still recognised.
      assert.match(`<p>&lt;% ${name} "inputs/a.png" %&gt;</p>`, PRINTED_SHORTCODE_TAG, name);
    }
  });

  test("every registered shortcode's encoders reach the stand-in page data", () => {
    const known = ["clip-vit-b32", "bit-m-r50x1", "pixels", "phash"];
    for (const name of new Set(registered)) {
      const source = name === "encoderName" ? `## <%- ${name} "phash", form="short" -%>` : `<% ${name} "a.png", encoders=["phash"] %>`;
      assert.deepEqual(encodersInSource(source, ["pixels"], known), ["phash"], name);
    }
    // Without encoders=, a tag asks for the defaults; encoderName always names its own.
    assert.deepEqual(encodersInSource(`<% encoderMap "a.png" %>\n<% encoderName "bit-m-r50x1" %>`, ["pixels"], known), ["pixels", "bit-m-r50x1"]);
  });
});

describe("one reader for a page's source", () => {
  const project = path.join(WORK, "project");
  let outside = "";
  const clip: StandingInFor = { id: "clip-vit-b32", label: "CLIP ViT-B/32", kind: "offline-not-cached", reason: "offline and not in the cache" };
  const standIns = (inputPath: string) =>
    pageStandIns(inputPath, undefined, {
      projectRoot: project,
      defaults: ["clip-vit-b32"],
      known: ["clip-vit-b32", "pixels"],
      standInOf: async (id) => (id === "clip-vit-b32" ? clip : undefined),
    });
  const repeated = `<% encoderCompare "a.png", k=1, k=3 %>\n`;
  const unreadable = `<% encoderCompare "a.png", encoders=clipp %>\n`;
  /** A page of exactly `bytes` bytes that starts with `text`. */
  const pageOf = (file: string, text: string, bytes: number) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.padEnd(bytes, " "));
  };

  before(() => {
    fs.rmSync(WORK, { recursive: true, force: true });
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "ec-page-source-"));
    fs.mkdirSync(path.join(project, "content"), { recursive: true });
    fs.writeFileSync(path.join(project, "content/inside.md"), repeated);
    fs.writeFileSync(path.join(project, "content/unreadable.md"), unreadable);
    fs.writeFileSync(path.join(outside, "outside.md"), repeated);
    fs.writeFileSync(path.join(outside, "unreadable.md"), unreadable);
    // Links inside the project that lead out of it: Eleventy would hand over their inside path.
    fs.symlinkSync(path.join(outside, "outside.md"), path.join(project, "content/linked.md"));
    fs.symlinkSync(path.join(outside, "unreadable.md"), path.join(project, "content/linked-unreadable.md"));
    pageOf(path.join(project, "content/at-cap.md"), repeated, DEFAULTS.pages.maxSourceBytes);
    pageOf(path.join(project, "content/over-cap.md"), repeated, DEFAULTS.pages.maxSourceBytes + 1);
  });
  after(() => fs.rmSync(outside, { recursive: true, force: true }));

  test("a page inside the project, up to the cap, is read by both", async () => {
    for (const page of ["content/inside.md", "./content/at-cap.md"]) {
      assert.ok(readPageSource(page, project).startsWith(repeated), page);
      assert.throws(() => checkPageKeywords(page, "encoderCompare", project), ShortcodeArgumentError, page);
      assert.match((await standIns(page))?.text ?? "(none)", /^Built with stand-ins for CLIP ViT-B\/32: /, page);
    }
    const error = new UnreadableKeywordError("encoders");
    assert.match(describeArgumentError(error, "content/unreadable.md", "encoderCompare", project), /; written as "encoders=clipp"$/);
  });

  test("a page outside the project (a link out of it, or a path that leaves it) or over the cap is refused by both", async () => {
    const outsidePath = path.relative(project, path.join(outside, "outside.md"));
    assert.match(outsidePath, /^\.\.\//);
    for (const page of ["content/linked.md", outsidePath, "content/over-cap.md"]) {
      assert.throws(() => readPageSource(page, project), /outside|above the .* limit/, page);
      // The keyword check has nothing to check; the page data has no banner.
      assert.doesNotThrow(() => checkPageKeywords(page, "encoderCompare", project), page);
      assert.equal(await standIns(page), undefined, page);
    }
    const error = new UnreadableKeywordError("encoders");
    assert.equal(describeArgumentError(error, "content/linked-unreadable.md", "encoderCompare", project), error.message);
  });

  test("a page that is not a regular file (a FIFO nobody writes to, a folder) is refused by both at once, never waited on", async () => {
    execFileSync("mkfifo", [path.join(project, "content/fifo.md")]);
    fs.mkdirSync(path.join(project, "content/folder.md"), { recursive: true });
    for (const page of ["content/fifo.md", "content/folder.md"]) {
      assert.throws(() => readPageSource(page, project), /not a regular file|is a (FIFO|folder|directory)/i, page);
      assert.doesNotThrow(() => checkPageKeywords(page, "encoderCompare", project), page);
      assert.equal(await standIns(page), undefined, page);
    }
  });
});
