// The demo site in a real browser: builds it with the CLI (offline), serves it on 127.0.0.1 and
// opens it in headless Chromium. Checks what only a browser can: images load, the layout holds
// at phone width, result links open images, axe finds no serious accessibility problems in
// light or dark mode. Saves screenshots for a human to look at.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { axeViolations, isSerious, type AxeViolation } from "../support/axe.ts";
import { chromiumMissing, openPage } from "../support/chromium.ts";
import { openDemoSite, type DemoSiteInChromium } from "../support/demo-site.ts";

const ROOT = process.cwd();
const SITE = path.join(ROOT, "test/.output/browser-site");
const SCREENSHOTS = path.join(ROOT, "test/.output/screenshots");
const POST_SOURCE = path.join(ROOT, "content/posts/image-encoders-part-deux/index.md");
const POST_URL = "/posts/image-encoders-part-deux/";
const EVAL_URL = "/posts/measuring-the-encoders/";
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };

const skip = chromiumMissing;

/** Encoder ids of every table the post should show, in page order: shortcodes × encoders. */
function expectedTables(): string[] {
  const config = fs.readFileSync(path.join(ROOT, ".eleventy.ts"), "utf8");
  const quoted = (list: string) => [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const defaults = quoted(/encoders:\s*\[([^\]]*)\]/.exec(config)?.[1] ?? "");
  const post = fs.readFileSync(POST_SOURCE, "utf8");
  // layout="versus" renders one table per query instead (class encoder-compare-versus).
  return [...post.matchAll(/<%\s*encoderCompare\b(.*?)%>/g)].filter(([, args]) => !/layout\s*=\s*"versus"/.test(args)).flatMap(([, args]) => {
    const named = /encoders\s*=\s*\[([^\]]*)\]/.exec(args);
    return named ? quoted(named[1]) : defaults;
  });
}

/** URL of every page of the built site, e.g. "/", "/about/". */
function builtPages(): string[] {
  return (fs.readdirSync(SITE, { recursive: true }) as string[])
    .filter((file) => file === "index.html" || file.endsWith(`${path.sep}index.html`))
    .map((file) => `/${path.dirname(file).split(path.sep).join("/")}/`.replace(/^\/\.\/$/, "/"))
    .sort();
}

/** Scrolls every lazy image into view, then waits until each has decoded pixels. */
async function loadAllImages(page: Page): Promise<void> {
  for (const image of await page.locator("img").all()) await image.scrollIntoViewIfNeeded();
  try {
    await page.waitForFunction(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0), undefined, { timeout: 10_000 });
  } catch {
    const broken = await page.evaluate(() => [...document.images].filter((i) => !(i.complete && i.naturalWidth > 0)).map((i) => i.currentSrc || i.src));
    assert.fail(`images that did not load: ${broken.join(", ")}`);
  }
  await page.evaluate(() => window.scrollTo(0, 0));
}

async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${path.relative(ROOT, file)}`);
}

async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const violations = await axeViolations(page);
  for (const v of violations) if (!isSerious(v)) console.log(`axe (${v.impact}): ${v.id} — ${v.help}`);
  return violations.filter(isSerious);
}

describe("the demo site in Chromium", { skip }, () => {
  let demo: DemoSiteInChromium | undefined;
  let context: BrowserContext;
  let origin: string;

  before(async () => {
    demo = await openDemoSite(SITE);
    ({ context, origin } = demo);
  });

  after(() => demo?.close());

  test("the post: one table per encoder per shortcode, every image loads, no console errors", async () => {
    const { page, problems } = await openPage(context, origin + POST_URL);
    const encoders = await page.locator("table.encoder-compare").evaluateAll((tables) => tables.map((t) => (t as HTMLElement).dataset.encoder));
    assert.deepEqual(encoders, expectedTables());
    assert.ok(encoders.length > 0);
    await loadAllImages(page);
    // Query thumbnails and montages come in 1× and 2×; a 1× screen must have picked the 1× file.
    const sources = await page.evaluate(() => [...document.querySelectorAll<HTMLImageElement>("table.encoder-compare img")].map((i) => i.currentSrc));
    assert.ok(sources.every((src) => !src.includes("@2x")), sources.join("\n"));
    await screenshot(page, "post-desktop-light.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("the post in dark mode", async () => {
    const { page, problems } = await openPage(context, origin + POST_URL, DESKTOP, "dark");
    assert.equal(await page.evaluate(() => matchMedia("(prefers-color-scheme: dark)").matches), true);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(background, "rgb(251, 250, 247)", "the dark palette did not apply");
    await loadAllImages(page);
    await screenshot(page, "post-desktop-dark.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("at 375 px the post does not scroll sideways and results sit below the query", async () => {
    const { page, problems } = await openPage(context, origin + POST_URL, PHONE);
    await loadAllImages(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, `the page is ${overflow} px wider than the screen`);
    const rows = await page.locator("table.encoder-compare tbody tr").evaluateAll((trs) =>
      trs.map((tr) => {
        const query = tr.querySelector(".ec-query")!.getBoundingClientRect();
        const results = tr.querySelector(".ec-results")!.getBoundingClientRect();
        return { queryBottom: query.bottom, resultsTop: results.top, resultsRight: results.right };
      }),
    );
    for (const row of rows) {
      assert.ok(row.resultsTop >= row.queryBottom - 1, `results start at ${row.resultsTop}, above the query's bottom ${row.queryBottom}`);
      assert.ok(row.resultsRight <= PHONE.width, `results end at ${row.resultsRight} px`);
    }
    await screenshot(page, "post-375px.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a click on a listed result or on a montage tile opens the full image", async () => {
    const { page, problems } = await openPage(context, origin + POST_URL);
    const firstTable = page.locator("table.encoder-compare").first();
    const listed = firstTable.locator(".ec-hits a").first();
    const listedHref = await listed.getAttribute("href");
    await listed.scrollIntoViewIfNeeded();
    const [response] = await Promise.all([page.waitForEvent("response", (r) => r.url().endsWith(listedHref!)), listed.click()]);
    assert.equal(response.status(), 200);
    assert.match(response.headers()["content-type"] ?? "", /^image\//);
    await page.waitForFunction(() => document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth > 0);

    await page.goBack();
    // The second tile of the first montage: its centre, in page coordinates.
    const montage = firstTable.locator(".ec-montage-image").first();
    await montage.scrollIntoViewIfNeeded();
    const tileHrefs = await firstTable.locator(".ec-hits").first().locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    const box = (await montage.boundingBox())!;
    const tileWidth = box.height;
    const gap = (box.width - tileHrefs.length * tileWidth) / Math.max(1, tileHrefs.length - 1);
    await Promise.all([
      page.waitForURL((url) => url.pathname === tileHrefs[1]),
      page.mouse.click(box.x + tileWidth + gap + tileWidth / 2, box.y + box.height / 2),
    ]);
    await page.waitForFunction(() => document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth > 0);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("axe finds no serious or critical problems on any page, in light and dark mode", async () => {
    const urls = builtPages();
    assert.ok(urls.includes(POST_URL) && urls.includes("/about/"), urls.join(" "));
    const found: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      for (const url of urls) {
        const { page, problems } = await openPage(context, origin + url, DESKTOP, colorScheme);
        await loadAllImages(page);
        for (const v of await seriousViolations(page))
          found.push(`${colorScheme} ${url}: ${v.id} (${v.impact}) ${v.help} — ${v.targets.slice(0, 3).join(" | ")}`);
        assert.deepEqual(problems, [], url);
        await page.close();
      }
    }
    assert.deepEqual(found, []);
  });

  test("the home page lists posts with dates, descriptions and tags that lead to tag pages", async () => {
    const { page, problems } = await openPage(context, origin + "/");
    const card = page.locator(".post-card").filter({ has: page.locator(`a[href="${POST_URL}"]`) });
    assert.equal(await card.count(), 1);
    assert.match((await card.locator("time").getAttribute("datetime")) ?? "", /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(((await card.locator(".post-card-summary").textContent()) ?? "").length > 20);
    await screenshot(page, "home-desktop-light.png");
    await card.locator(".tag").first().click();
    await page.waitForURL(/\/tags\/[^/]+\/$/);
    assert.equal(await page.locator(`.post-card a[href="${POST_URL}"]`).count(), 1);
    await screenshot(page, "tag-page-desktop-light.png");
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("at 375 px the evaluation table and chart are readable: text ≥ 12 px, nothing clipped, no hidden columns", async () => {
    const { page, problems } = await openPage(context, origin + EVAL_URL, PHONE);
    await loadAllImages(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, `the page is ${overflow} px wider than the screen`);
    const found = await page.evaluate((width) => {
      const issues: string[] = [];
      // HTML text: every element holding text of its own, in the table, its caption and note.
      for (const el of document.querySelectorAll("table.encoder-eval *, table.encoder-eval, .ec-eval-note *")) {
        const own = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== "");
        const style = getComputedStyle(el);
        if (style.display === "none" || style.visibility === "hidden") continue;
        // Headers visually hidden for screen readers (each cell carries its metric's name instead).
        const head = el.closest("thead");
        if (head && head.getBoundingClientRect().width <= 1) continue;
        const rect = el.getBoundingClientRect();
        // (No helper functions in here: the bundler would wrap them in a helper the page does not have.)
        const what = `${el.tagName.toLowerCase()} "${(el.textContent ?? "").trim().slice(0, 40)}"`;
        if (own && rect.width > 1 && parseFloat(style.fontSize) < 12) issues.push(`${what}: ${style.fontSize} text`);
        if (own && (rect.left < -0.5 || rect.right > width + 0.5))
          issues.push(`${what}: outside the screen (${Math.round(rect.left)}–${Math.round(rect.right)} px)`);
        if (own && rect.width > 1 && el.scrollWidth > el.clientWidth + 1 && style.overflowX !== "visible")
          issues.push(`${what}: clipped (${el.scrollWidth} > ${el.clientWidth})`);
      }
      // Every figure cell is on screen: no column hidden behind a sideways scroll.
      for (const table of document.querySelectorAll<HTMLElement>("table.encoder-eval")) {
        if (table.scrollWidth > table.clientWidth + 1) issues.push(`table.encoder-eval scrolls sideways (${table.scrollWidth} > ${table.clientWidth})`);
      }
      for (const cell of document.querySelectorAll("table.encoder-eval td")) {
        const rect = cell.getBoundingClientRect();
        if (rect.width < 1 || rect.right > width + 0.5) issues.push(`td "${cell.textContent}": cell not fully on screen`);
      }
      // SVG text: font size as drawn (CSS size × the chart's scale), and inside the chart.
      for (const svg of document.querySelectorAll<SVGSVGElement>(".encoder-eval-chart svg")) {
        const box = svg.getBoundingClientRect();
        // A chart without a viewBox is drawn at its CSS sizes (scale 1).
        const scale = svg.viewBox.baseVal?.width ? box.width / svg.viewBox.baseVal.width : 1;
        for (const text of svg.querySelectorAll("text")) {
          const drawn = parseFloat(getComputedStyle(text).fontSize) * scale;
          if (drawn < 12) issues.push(`chart text "${text.textContent}": ${drawn.toFixed(1)} px`);
          const r = text.getBoundingClientRect();
          if (r.left < box.left - 0.5 || r.right > box.right + 0.5) issues.push(`chart text "${text.textContent}" is cut off at the chart's edge`);
        }
      }
      return issues;
    }, PHONE.width);
    assert.deepEqual(found, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("the eval chart fills the column with page-size text, no label on a grid line; versus and scoreboard stay compact at 375 px", async () => {
    const measured: string[] = [];
    for (const [viewport, size] of [[DESKTOP, "1280"], [PHONE, "375"]] as const) {
      const { page, problems } = await openPage(context, origin + EVAL_URL, viewport);
      await loadAllImages(page);
      const chart = await page.evaluate(() => {
        const svg = document.querySelector<SVGSVGElement>(".encoder-eval-chart svg")!;
        const column = document.querySelector(".post-body")!.getBoundingClientRect();
        const box = svg.getBoundingClientRect();
        const texts = [...svg.querySelectorAll("text")].map((t) => ({
          text: t.textContent ?? "",
          r: t.getBoundingClientRect(),
          px: parseFloat(getComputedStyle(t).fontSize),
        }));
        const grid = [...svg.querySelectorAll("line.ec-grid")].map((l) => l.getBoundingClientRect());
        const issues: string[] = [];
        // (No helper functions in here: the bundler would wrap them in a helper the page does not have.)
        for (const [i, t] of texts.entries()) {
          if (t.px < 12) issues.push(`"${t.text}" at ${t.px} px`);
          if (t.r.left < box.left - 0.5 || t.r.right > box.right + 0.5) issues.push(`"${t.text}" outside the chart`);
          for (const b of [...grid, ...texts.slice(i + 1).map((o) => o.r)]) {
            if (t.r.left < b.right - 0.5 && b.left < t.r.right - 0.5 && t.r.top < b.bottom - 0.5 && b.top < t.r.bottom - 0.5) {
              issues.push(`"${t.text}" overlaps a grid line or other text at ${Math.round(b.left)},${Math.round(b.top)}`);
            }
          }
        }
        const labels = [...svg.querySelectorAll("text.ec-chart-label")].map((t) => t.textContent);
        return { width: box.width, column: column.width, issues, labels };
      });
      measured.push(`${size}: chart ${Math.round(chart.width)} px in a ${Math.round(chart.column)} px column`);
      assert.deepEqual(chart.issues, [], size);
      // As wide as the column (the table's width), not a fixed 340 px.
      assert.ok(chart.width >= chart.column - 1 && chart.width <= viewport.width, measured.join("; "));
      // Labels, as the tables say them, not ids.
      assert.ok(chart.labels.length > 0 && chart.labels.every((l) => /\(.+\)/.test(l ?? "")), chart.labels.join(" | "));
      const shots: Array<[string, string]> = [[".encoder-eval-chart", "eval-chart"], ["table.encoder-eval", "eval-table"]];
      for (const [selector, name] of shots) {
        await page.locator(selector).first().screenshot({ path: path.join(SCREENSHOTS, `${name}-${size}.png`) });
      }
      assert.deepEqual(problems, []);
      await page.close();

      const demo = await openPage(context, origin + POST_URL, viewport);
      await loadAllImages(demo.page);
      const sizes = await demo.page.evaluate(() => {
        // Heights in lines of the cell's own text (no helper functions: see above).
        const versusHead = [...document.querySelectorAll("table.encoder-compare-versus thead th")].map(
          (th) => th.getBoundingClientRect().height / (parseFloat(getComputedStyle(th).lineHeight) || 1.5 * parseFloat(getComputedStyle(th).fontSize)),
        );
        const scoreCells = [...document.querySelectorAll("table.encoder-scoreboard td")].map(
          (td) => td.getBoundingClientRect().height / (parseFloat(getComputedStyle(td).lineHeight) || 1.5 * parseFloat(getComputedStyle(td).fontSize)),
        );
        const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
        return { versusHead: Math.max(...versusHead), scoreCells: Math.max(...scoreCells), overflow };
      });
      measured.push(`${size}: versus header ${sizes.versusHead.toFixed(1)} lines, scoreboard cell ${sizes.scoreCells.toFixed(1)} lines`);
      assert.equal(sizes.overflow, 0, `${size}: the page scrolls sideways`);
      // Before: 8-line headers and cells at 375 px (label, mark and reason wrapped into a third of the width).
      assert.ok(sizes.versusHead <= 6, measured.join("; "));
      assert.ok(sizes.scoreCells <= 3.5, measured.join("; "));
      for (const [selector, name] of [["table.encoder-compare-versus", "versus"], ["table.encoder-scoreboard", "scoreboard"]] as const) {
        await demo.page.locator(selector).first().screenshot({ path: path.join(SCREENSHOTS, `${name}-${size}.png`) });
      }
      assert.deepEqual(demo.problems, []);
      await demo.page.close();
    }
    console.log(`layout: ${measured.join("; ")}`);
  });

  test("inline code never breaks inside a word (\"--json\" stays whole) at 375 px", async () => {
    const { page, problems } = await openPage(context, origin + EVAL_URL, PHONE);
    const broken = await page.evaluate(() => {
      const out: string[] = [];
      for (const code of document.querySelectorAll(".prose :not(pre) > code")) {
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (const m of node.textContent!.matchAll(/\S+/g)) {
            const range = document.createRange();
            range.setStart(node, m.index!);
            range.setEnd(node, m.index! + m[0].length);
            const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
            if (lines.size > 1) out.push(m[0]);
          }
        }
      }
      return out;
    });
    assert.ok(await page.locator(".prose code").count() > 0);
    assert.deepEqual(broken, []);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("screenshots of the demo and evaluation posts at 1280 and 375 px, light and dark (a stand-in build)", async () => {
    for (const [url, name] of [[POST_URL, "demo-post"], [EVAL_URL, "eval-post"]] as const) {
      for (const [viewport, size] of [[DESKTOP, "1280"], [PHONE, "375"]] as const) {
        for (const scheme of ["light", "dark"] as const) {
          const { page, problems } = await openPage(context, origin + url, viewport, scheme);
          await loadAllImages(page);
          assert.equal(await page.locator(".standin-banner").count(), 1, `${url}: the stand-in banner`);
          await screenshot(page, `${name}-${size}-${scheme}.png`);
          assert.deepEqual(problems, []);
          await page.close();
        }
      }
    }
  });
});
