// The plugin as a new user gets it: `npm pack`, a fresh Eleventy 3 site in a temp folder with a plain
// eleventy.config.js, the tarball installed offline from the local npm cache (no tsx in that site), a post with the
// shortcode over a small dataset this test draws, `npx @11ty/eleventy` under plain node. Then the page's tables,
// images, marks and try-it control in the HTML, and in Chromium with only the package's stylesheet: no screen-reader
// text visible, no sideways scroll at 375 px, axe clean. Also what the tarball holds.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import sharp from "sharp";
import { chromium, type Browser, type Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissing } from "../support/chromium.ts";
import { adopterLockfile, localPrebuilds } from "../support/adopter-site.ts";
import { ensurePackageBuilt, PACKAGE_DIR } from "../support/package-build.ts";
import { axeViolations } from "../support/axe.ts";
import { serveStatic, type StaticServer } from "../support/static-server.ts";

const ROOT = process.cwd();
const MAX_TARBALL = 1.5 * 1024 * 1024;
const run = promisify(execFile);

/** Children run with this machine's settings minus anything that loads TypeScript or alters module resolution. */
function plainEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env)) if (key.startsWith("npm_")) delete env[key];
  return { ...env, ...extra };
}

const CONFIG = `import encoderCompare from "encoder-compare";

export default function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy({ "node_modules/encoder-compare/styles.css": "css/encoder-compare.css" });
  eleventyConfig.ignores.add("datasets/**");
  eleventyConfig.ignores.add("posts/*/inputs/**");
  eleventyConfig.addPlugin(encoderCompare, { encoders: ["pixels", "phash"], dataset: "datasets/shapes", k: 2, tryIt: true });
}

export const config = { dir: { input: ".", includes: "_includes" }, markdownTemplateEngine: "njk" };
`;

const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{{ title }}</title>
<link rel="stylesheet" href="/css/encoder-compare.css">
</head>
<body>
<main>
<h1>{{ title }}</h1>
{{ content | safe }}
</main>
</body>
</html>
`;

const POST = `---
title: Shapes against shapes
layout: base.njk
---

Which encoder finds the other red squares?

{% encoderCompare "inputs/red-square.png", expect="squares" %}

{% encoderMap "inputs/red-square.png", expect="squares" %}
`;

/** A small dataset: squares and circles in several colours, each a group, with a long unbroken caption for wrapping. */
async function drawDataset(dir: string): Promise<void> {
  const images: Array<{ id: string; file: string; caption: string; group: string }> = [];
  fs.mkdirSync(path.join(dir, "images"), { recursive: true });
  const colours = { red: "#d22", blue: "#24c", green: "#2a4", orange: "#e80" };
  for (const [name, fill] of Object.entries(colours)) {
    for (const shape of ["square", "circle"] as const) {
      const body = shape === "square" ? `<rect x="16" y="16" width="64" height="64" fill="${fill}"/>` : `<circle cx="48" cy="48" r="34" fill="${fill}"/>`;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" fill="#fff"/>${body}</svg>`;
      const file = `images/${name}-${shape}.png`;
      await sharp(Buffer.from(svg)).png().toFile(path.join(dir, file));
      const caption = name === "green" ? `A-green-${shape}-whose-caption-is-one-very-long-word-that-must-wrap-on-a-phone-screen` : `A ${name} ${shape}`;
      images.push({ id: `${name}-${shape}`, file, caption, group: `${shape}s` });
    }
  }
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify({ name: "shapes", images }, null, 2));
}

describe("an adopter's Eleventy site with the packed plugin", () => {
  let work = "";
  let site = "";
  let tarball = "";
  let packed: { files: Array<{ path: string }>; size: number; unpackedSize: number } | undefined;

  before(async () => {
    ensurePackageBuilt();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "ec-adopter-"));
    site = path.join(work, "site");
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: PACKAGE_DIR, env: plainEnv() });
    packed = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }>; size: number; unpackedSize: number; filename: string }>)[0]!;
    tarball = path.join(work, path.basename((JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename));
    console.log(`encoder-compare tarball: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.files.length} files`);

    fs.mkdirSync(path.join(site, "_includes"), { recursive: true });
    const deps = { "@11ty/eleventy": "^3.1.8", "encoder-compare": `file:${path.relative(site, tarball)}` };
    fs.writeFileSync(path.join(site, "package.json"), JSON.stringify({ name: "adopter-site", private: true, type: "module", dependencies: deps }, null, 2));
    fs.writeFileSync(path.join(site, "package-lock.json"), JSON.stringify(adopterLockfile(deps, tarball, site), null, 2));
    localPrebuilds(path.join(work, "prebuilds"));
    const prebuilds = path.join(work, "prebuilds");
    const installEnv = plainEnv({
      ONNXRUNTIME_NODE_INSTALL: "skip",
      npm_config_better_sqlite3_local_prebuilds: prebuilds,
      npm_config_faiss_node_local_prebuilds: prebuilds,
    });
    try {
      await run("npm", ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: site, env: installEnv, maxBuffer: 16 << 20 });
    } catch (error) {
      const { stdout: out, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`npm ci in the adopter site failed:\n${out ?? ""}${stderr ?? ""}`, { cause: error });
    }

    fs.writeFileSync(path.join(site, "eleventy.config.js"), CONFIG);
    fs.writeFileSync(path.join(site, "_includes", "base.njk"), LAYOUT);
    await drawDataset(path.join(site, "datasets", "shapes"));
    fs.mkdirSync(path.join(site, "posts", "shapes", "inputs"), { recursive: true });
    fs.copyFileSync(path.join(site, "datasets/shapes/images/red-square.png"), path.join(site, "posts/shapes/inputs/red-square.png"));
    fs.writeFileSync(path.join(site, "posts", "shapes", "index.md"), POST);
  });

  after(() => {
    if (work && !process.env.EC_KEEP_ADOPTER) fs.rmSync(work, { recursive: true, force: true });
  });

  test("the tarball holds the compiled package only: no tests, bench, demo content or TypeScript sources", () => {
    const files = packed!.files.map((file) => file.path).sort();
    assert.deepEqual(files.filter((file) => /^(test|bench|content|scripts)\//.test(file) || (/\.[cm]?ts$/.test(file) && !file.endsWith(".d.ts"))), []);
    const needed = ["package.json", "bin.js", "styles.css", "dist/index.js", "dist/index.d.ts", "dist/cli/main.js", "dist/browser/tryit-widget.bundle.js"];
    for (const file of needed) assert.ok(files.includes(file), `${file} is in the tarball`);
    assert.ok(files.some((file) => file.endsWith(".js.map")), "source maps ship");
    assert.ok(packed!.size <= MAX_TARBALL, `tarball ${packed!.size} bytes > ${MAX_TARBALL}`);
  });

  test("no TypeScript loader is installed in the site", async () => {
    const { stdout } = await run("npm", ["ls", "tsx", "--all", "--parseable"], { cwd: site, env: plainEnv() }).catch((error) => error);
    assert.equal(stdout.trim(), "");
    assert.equal(fs.existsSync(path.join(site, "node_modules", "tsx")), false);
  });

  test("the options are typed for the site's editor: a checked JS config passes, a wrong type or name is reported", async () => {
    const config = (options: string) =>
      `// @ts-check\nimport encoderCompare from "encoder-compare";\n` +
      `/** @param {{ addPlugin(plugin: Function, options?: object): void }} eleventyConfig */\n` +
      `export default function (eleventyConfig) {\n` +
      `  eleventyConfig.addPlugin(encoderCompare, /** @satisfies {import("encoder-compare").UserOptions} */ (${options}));\n}\n`;
    const tsc = (file: string) =>
      run(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "--ignoreConfig", "--noEmit", "--allowJs", "--checkJs", "--skipLibCheck",
        "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "", file], { cwd: site, env: plainEnv() })
        .then(() => "", (error: { stdout: string }) => error.stdout);
    const cases = {
      good: ['{ encoders: ["pixels"], k: 3, search: { indexBackend: "js" } }', /^$/],
      badType: ['{ encoders: ["pixels"], k: "three" }', /typed-badType\.js\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/],
      badName: ['{ encoder: ["pixels"] }', /typed-badName\.js\(5,\d+\): error TS2561: [^\n]*'encoder' does not exist in type 'UserOptions'/],
    } as const;
    for (const [name, [options, expected]] of Object.entries(cases)) {
      fs.writeFileSync(path.join(site, `typed-${name}.js`), config(options));
      assert.match(await tsc(`typed-${name}.js`), expected, name);
      fs.rmSync(path.join(site, `typed-${name}.js`));
    }
  });

  describe("built with `npx @11ty/eleventy`", () => {
    let html = "";
    before(async () => {
      const env = plainEnv({ ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(work, "models") });
      try {
        await run("npx", ["--offline", "@11ty/eleventy"], { cwd: site, env, maxBuffer: 16 << 20 });
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`npx @11ty/eleventy failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: error });
      }
      html = fs.readFileSync(path.join(site, "_site", "posts", "shapes", "index.html"), "utf8");
    });

    test("the page has a table per encoder, the montage and query images, ✓/✗ marks with their words, the try-it control", () => {
      const tables = [...html.matchAll(/<table class="encoder-compare" data-encoder="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(tables, ["pixels", "phash"]);
      const images = [...html.matchAll(/<img class="ec-(?:query|montage)-image" src="([^"]+)"/g)].map((m) => m[1]!);
      assert.equal(images.length, 4);
      for (const src of images) assert.ok(fs.statSync(path.join(site, "_site", src)).size > 0, src);
      // The query is a dataset member: it is left out of its own results, and two squares/circles come back.
      assert.equal([...html.matchAll(/<li class="ec-(match|miss)"><span class="ec-mark" aria-hidden="true">[✓✗]<\/span><span class="ec-sr">/g)].length, 4);
      assert.match(html, /<span class="ec-sr">(?:a match|not a match): <\/span>/);
      assert.match(html, /<p class="ec-tally">\d of 2 results are squares<\/p>/);
      const loader = /<script type="module" src="(\/encoder-compare\/tryit-loader-[0-9a-f]+\.js)"><\/script>/.exec(html);
      assert.ok(loader, "the try-it loader script");
      assert.match(html, /<div class="ec-tryit" data-tryit="[^"]+" hidden><\/div>/);
      const config = JSON.parse(/data-tryit="([^"]+)"/.exec(html)![1]!.replaceAll("&quot;", '"')) as { widget: string; wasm: string; indexes: string[] };
      for (const file of [loader[1]!, config.widget, config.wasm, ...config.indexes]) assert.ok(fs.existsSync(path.join(site, "_site", file)), file);
      assert.ok(fs.existsSync(path.join(site, "_site", "css", "encoder-compare.css")), "the stylesheet is copied through");
    });

    test("the maps: a panel per encoder with the query joined to the table's top k, and their page script (bundled in the package)", () => {
      const panels = [...html.matchAll(/<figure class="ec-map"[^>]*data-encoder="([^"]+)"/g)].map((m) => m[1]);
      assert.deepEqual(panels, ["pixels", "phash"]);
      assert.equal([...html.matchAll(/<line [^>]*class="ec-map-link/g)].length, 4, "two lines per panel, k=2");
      const script = /<script type="module" src="(\/encoder-compare\/encoder-map-[0-9a-f]+\.js)"><\/script>/.exec(html);
      assert.ok(script, "the maps' script");
      assert.ok(fs.statSync(path.join(site, "_site", script[1]!)).size > 0, script[1]);
      assert.equal(fs.existsSync(path.join(site, "node_modules", "esbuild")), false, "the site has no esbuild: the script came bundled");
    });

    test("`npx encoder-compare` runs the compiled CLI in the site, with the site's options", async () => {
      const env = plainEnv({ ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(work, "models") });
      const { stdout } = await run("npx", ["--offline", "encoder-compare", "query", "--json", "posts/shapes/inputs/red-square.png"], { cwd: site, env });
      const [answer] = JSON.parse(stdout) as Array<{ results: Array<{ encoderId: string; hits: Array<{ id: string }> }> }>;
      assert.deepEqual(answer!.results.map((r) => [r.encoderId, r.hits.length]), [["pixels", 2], ["phash", 2]]);
    });

    describe("in Chromium, styled only by the package's stylesheet", { skip: chromiumMissing }, () => {
      let server: StaticServer;
      let browser: Browser;
      before(async () => {
        server = await serveStatic(path.join(site, "_site"));
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      });
      after(async () => {
        await browser?.close();
        await server?.close();
      });

      async function open(width: number, scheme: "light" | "dark" = "light"): Promise<{ page: Page; errors: string[] }> {
        const page = await browser.newPage({ viewport: { width, height: 800 }, colorScheme: scheme });
        const errors: string[] = [];
        page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
        page.on("pageerror", (error) => errors.push(error.message));
        await page.goto(`${server.origin}/posts/shapes/`, { waitUntil: "load" });
        await page.evaluate(() => Promise.all([...document.images].map((img) => img.decode().catch(() => undefined))));
        return { page, errors };
      }

      for (const width of [375, 1024]) {
        test(`at ${width} px: images load, no sideways scroll, screen-reader text is not seen, the try-it button is there`, async () => {
          const { page, errors } = await open(width);
          const broken = await page.evaluate(() => [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.src));
          assert.deepEqual(broken, []);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          assert.equal(overflow, 0, "the page scrolls sideways");
          const seen = await page.evaluate(() =>
            [...document.querySelectorAll(".ec-sr")].filter((el) => {
              const box = el.getBoundingClientRect();
              return box.width > 1 && box.height > 1;
            }).length,
          );
          assert.equal(seen, 0, "screen-reader text takes visible space");
          assert.equal(await page.evaluate(() => document.querySelectorAll("table.encoder-compare .ec-sr").length), 4);
          assert.equal(await page.evaluate(() => document.querySelectorAll(".encoder-map .ec-sr").length), 4, "the maps' ✓/✗ words, two per panel");
          assert.equal(await page.getByRole("button", { name: "Try your own image" }).count(), 1);
          assert.deepEqual(errors, []);
          await page.close();
        });
      }

      for (const scheme of ["light", "dark"] as const) {
        test(`axe finds no problems at 375 px (${scheme})`, async () => {
          const { page } = await open(375, scheme);
          const violations = (await axeViolations(page)).map((v) => `${v.impact}: ${v.id} — ${v.help} (${v.targets.join(", ")})`);
          assert.deepEqual(violations, []);
          await page.close();
        });
      }
    });
  });
});
