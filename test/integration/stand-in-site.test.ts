// In a build where CLIP and BiT could not be had (offline, empty model cache), no
// visible text or accessible name anywhere in _site puts a stand-in's figure next to a real
// model's name without the stand-in mark, and listings and meta descriptions carry the mark.
// EC_SCAN_SITE=<dir> scans an already built site instead (to check an older build).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { scanHtml, scanSite } from "../support/stand-in-scan.ts";

const ROOT = process.cwd();
const run = promisify(execFile);
const REPLACED = ["CLIP ViT-B/32", "clip-vit-b32", "CLIP", "BiT-M R50x1", "bit-m-r50x1", "BiT", "BigTransfer"];
const RAN = ["pixels", "phash"];

describe("the stand-in scan", () => {
  test("flags what the seed build showed: a real name leading a stand-in row, unmarked chart text and rankOf lines", () => {
    const seen = [
      `<tr data-encoder="clip-vit-b32"><th scope="row"><span class="ec-encoder">CLIP ViT-B/32</span> ` +
        `<span class="ec-note">(stand-in ran: pixels (16×16 thumbnail))</span></th>` +
        `<td class="ec-best"><strong><data value="0.069">0.069</data></strong> best</td></tr>`,
      `<desc id="x-desc">P@10: clip-vit-b32 0.069 (best), bit-m-r50x1 0.051.</desc>`,
      `<p class="ec-first-relevant">First same-group result under clip-vit-b32: #434</p>`,
      `<li class="post-card"><h2><a href="/p/">Round two</a></h2><p class="post-card-summary">CLIP against BigTransfer on a meme dataset</p></li>`,
    ];
    for (const html of seen) assert.ok(scanHtml(html, { replaced: REPLACED, ran: RAN }).length >= 1, html);
  });

  test("accepts what ran leading, with the mark", () => {
    const fine = [
      `<tr><th><span class="ec-encoder">pixels (16×16 thumbnail)</span> ` +
        `<span class="ec-standin">also standing in for CLIP ViT-B/32</span></th><td>0.069</td></tr>`,
      `<desc>P@10: pixels (also standing in for clip-vit-b32) 0.069 (best).</desc>`,
      `<p>dog-face--twitter is #5 under pixels (stand-in for clip-vit-b32), cosine 0.734</p>`,
      `<p>CLIP learned from captions.</p>`,
    ];
    for (const html of fine) assert.deepEqual(scanHtml(html, { replaced: REPLACED, ran: RAN }), [], html);
  });
});

describe("a stand-in build of the demo site", () => {
  const given = process.env.EC_SCAN_SITE;
  let site = given ?? "";
  let modelsDir = "";

  before(async () => {
    if (given) return;
    site = path.join(ROOT, "test/.output/stand-in-site");
    fs.rmSync(site, { recursive: true, force: true });
    modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), "ec-no-models-"));
    // An empty model cache and offline: CLIP and BiT run as their stand-ins.
    const env = { ...process.env, ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: modelsDir };
    await run("npx", ["tsx", "scripts/make-demo-dataset.ts", "--if-missing"], { cwd: ROOT, env });
    await run(process.execPath, ["scripts/build-package.mjs"], { cwd: ROOT });
    await run(process.execPath, ["scripts/eleventy.mjs", `--output=${path.relative(ROOT, site)}`], {
      cwd: ROOT,
      env,
      maxBuffer: 16 << 20,
    });
  });

  after(() => {
    if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
  });

  test("no figure sits next to CLIP or BiT without the stand-in mark, on any page", () => {
    assert.deepEqual(scanSite(site, { replaced: REPLACED, ran: RAN }), []);
  });

  test("the demo post's headings and description name what ran, and its marks' group; the try-it panel says why CLIP is not in it", () => {
    const post = fs.readFileSync(path.join(site, "posts/image-encoders-part-deux/index.html"), "utf8");
    const headings = [...post.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
    assert.deepEqual(headings, [
      "The fight",
      "pixels (standing in for CLIP ViT-B/32)",
      "phash (standing in for BiT-M R50x1)",
      "Who found the dog?",
      "The space around the Doge",
    ]);
    const description = /<meta name="description" content="([^"]*)"/.exec(post)![1];
    assert.match(description, /the nearest neighbours that pixels \(standing in for CLIP ViT-B\/32\) and phash \(standing in for BiT-M R50x1\) return/);
    assert.match(description, /marked ✓ or ✗ for the dataset&#39;s dog-face group/);
    assert.doesNotMatch(description, /as a dog\b/);
    const config = JSON.parse(/data-tryit="([^"]*)"/.exec(post)![1].replaceAll("&quot;", '"').replaceAll("&amp;", "&").replaceAll("&#39;", "'"));
    assert.deepEqual(config.standIns, [
      "CLIP ViT-B/32 itself does not run in your browser: its 352 MB model is too large a download for a page, so it is not published. " +
        "This build had no copy of it either, so here, as in the table above, pixels (16×16 thumbnail) runs in its place",
    ]);
    assert.deepEqual(config.expect, ["dog-face"]);
  });

  test("the post says so at the top, in its meta description and in every listing", () => {
    const post = fs.readFileSync(path.join(site, "posts/image-encoders-part-deux/index.html"), "utf8");
    assert.match(post, /<p class="standin-banner" role="note"><strong>Stand-ins ran\.<\/strong> Built with stand-ins for CLIP ViT-B\/32 and BiT-M R50x1: /);
    assert.match(post, /<meta name="description" content="Built with stand-ins for CLIP ViT-B\/32 and BiT-M R50x1: /);
    for (const listing of ["index.html", "tags/encoders/index.html"]) {
      const html = fs.readFileSync(path.join(site, listing), "utf8");
      assert.match(
        html,
        /<p class="post-card-standin"><span class="standin-mark">Stand-ins<\/span> Built with stand-ins for CLIP ViT-B\/32 and BiT-M R50x1: /,
        listing,
      );
    }
  });
});
