// The maps in a real browser: the demo site built offline (stand-ins), served on 127.0.0.1, opened in headless
// Chromium at 1280 and 375 px, light and dark. Panels sit side by side on a desktop and stack on a phone, nothing
// scrolls sideways, hovering and focusing a point shows its picture, Tab reaches the query's neighbours and the
// arrow keys step through every point, and axe finds nothing serious. Saves screenshots for a human to look at.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { axeViolations, isSerious } from "../support/axe.ts";
import { chromiumMissing, openPage } from "../support/chromium.ts";
import { openDemoSite, type DemoSiteInChromium } from "../support/demo-site.ts";

const ROOT = process.cwd();
const SITE = path.join(ROOT, "test/.output/map-browser-site");
const SCREENSHOTS = path.join(ROOT, "test/.output/screenshots");
const POST_URL = "/posts/image-encoders-part-deux/";
const EVAL_URL = "/posts/measuring-the-encoders/";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

const skip = chromiumMissing;

/** A screenshot of the first map block on the page (both panels), for a human to look at. */
async function screenshotMaps(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.locator(".encoder-map").first().screenshot({ path: file });
  console.log(`screenshot: ${path.relative(ROOT, file)}`);
}

async function seriousViolations(page: Page): Promise<string[]> {
  return (await axeViolations(page, ".encoder-map")).filter(isSerious).map((v) => `${v.id}: ${v.targets.slice(0, 3).join(" ")}`);
}

/** Bounding boxes of the panels of the first map block. */
async function panelBoxes(page: Page) {
  return page.locator(".encoder-map").first().locator("figure.ec-map").evaluateAll((figures) =>
    figures.map((f) => {
      const r = f.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    }),
  );
}

describe("the maps in Chromium", { skip }, () => {
  let demo: DemoSiteInChromium | undefined;
  let context: BrowserContext;
  let origin: string;

  before(async () => {
    demo = await openDemoSite(SITE);
    ({ context, origin } = demo);
  });

  after(() => demo?.close());

  for (const [url, name] of [[POST_URL, "post"], [EVAL_URL, "eval"]] as const) {
    test(`${name}: at 1280 px the two panels sit side by side; axe clean in light and dark`, async () => {
      for (const scheme of ["light", "dark"] as const) {
        const { page, problems } = await openPage(context, origin + url, DESKTOP, scheme);
        const [a, b] = await panelBoxes(page);
        assert.ok(a && b, "two panels");
        assert.ok(Math.abs(a.top - b.top) < 2 && b.left >= a.right, `panels not side by side: ${JSON.stringify([a, b])}`);
        assert.deepEqual(await seriousViolations(page), []);
        await screenshotMaps(page, `map-${name}-1280-${scheme}.png`);
        assert.deepEqual(problems, []);
        await page.close();
      }
    });

    test(`${name}: at 375 px the panels stack and nothing scrolls sideways`, async () => {
      const { page, problems } = await openPage(context, origin + url, PHONE);
      const [a, b] = await panelBoxes(page);
      assert.ok(b.top >= a.bottom, `panels overlap: ${JSON.stringify([a, b])}`);
      assert.ok(a.right <= PHONE.width && b.right <= PHONE.width, `a panel ends past the screen: ${JSON.stringify([a, b])}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.equal(overflow, 0, `the page is ${overflow} px wider than the screen`);
      assert.deepEqual(await seriousViolations(page), []);
      await screenshotMaps(page, `map-${name}-375.png`);
      assert.deepEqual(problems, []);
      await page.close();
    });
  }

  test("hover shows a point's picture, caption and group; Tab reaches the neighbours, arrows step through every point", async () => {
    const { page, problems } = await openPage(context, origin + POST_URL);
    const panel = page.locator(".encoder-map figure.ec-map").first();
    const tip = panel.locator(".ec-map-tip");
    assert.equal(await tip.isHidden(), true);
    const point = panel.locator(".ec-map-points a").nth(5);
    await point.hover({ force: true });
    await tip.waitFor({ state: "visible" });
    const caption = await point.locator("title").textContent();
    assert.ok(caption && /\(group [^)]+\)$/.test(caption) && (await tip.textContent()) === caption, `tip "${await tip.textContent()}", title "${caption}"`);
    assert.equal(await tip.locator("img").getAttribute("src"), await point.getAttribute("href"));
    await page.waitForFunction((el) => (el as HTMLImageElement).naturalWidth > 0, await tip.locator("img").elementHandle());

    // Keyboard: Tab from the panel's caption lands on the query's first neighbour, which is a link with a label.
    await panel.locator("figcaption").evaluate((el) => {
      el.setAttribute("tabindex", "-1");
      (el as HTMLElement).focus();
    });
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? "");
    assert.match(focused, /result 1: (match|not a match): .*cosine \d\.\d{3}/);
    await tip.waitFor({ state: "visible" });
    // ArrowRight moves focus to another point of the same map (every point is reachable this way).
    const before = await page.evaluate(() => document.activeElement?.querySelector("title")?.textContent);
    await page.keyboard.press("ArrowRight");
    const after = await page.evaluate(() => {
      const active = document.activeElement;
      return { caption: active?.querySelector("title")?.textContent, inMap: !!active?.closest(".ec-map-svg") };
    });
    assert.ok(after.inMap && after.caption !== before, JSON.stringify({ before, after }));
    await page.keyboard.press("Escape");
    assert.equal(await tip.isHidden(), true);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("without JavaScript the map reads: points, titles, links, faithfulness and summary are in the HTML", async () => {
    const page = await context.newPage();
    const html = await (await page.request.get(origin + POST_URL)).text();
    const block = html.slice(html.indexOf('<div class="encoder-map"'));
    assert.match(block, /<svg class="ec-map-svg" viewBox="0 0 1000 1000"/);
    assert.match(block, /<title>[^<]+<\/title><\/circle>/);
    assert.match(block, /Faithfulness: on average \d+% of an image&#39;s 10 nearest neighbours/);
    assert.match(block, /dog-face: \d+ images, /);
    await page.close();
  });
});
