// The preview server's incremental rebuild. A post added while the site runs as
// `npm start` does (run mode "serve", --incremental; support/watch-site.ts, without the dev
// server, which cannot be bound to 127.0.0.1 only) must appear on the home page and the tags
// page, which list posts through collections. Waits on the build log's lines, never on time.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { ensurePackageBuilt } from "../support/package-build.ts";

const ROOT = process.cwd();
const SITE = path.join(ROOT, "test/.output/preview-site");
let child: ChildProcess | undefined;

after(() => {
  if (child && child.exitCode === null) child.kill();
});

/** A copy of the demo site's layouts and listing pages with one plain post (no shortcode, no dataset). */
function makeSite(): void {
  fs.rmSync(SITE, { recursive: true, force: true });
  fs.mkdirSync(path.join(SITE, "content/posts/first"), { recursive: true });
  for (const item of [".eleventy.ts", "_data", "assets", "content/_includes", "content/index.njk", "content/tags", "content/posts/posts.json"]) {
    fs.cpSync(path.join(ROOT, item), path.join(SITE, item), { recursive: true });
  }
  for (const link of ["plugins", "node_modules"]) fs.symlinkSync(path.join(ROOT, link), path.join(SITE, link));
  fs.writeFileSync(path.join(SITE, "content/posts/first/index.md"), post("The first post", "2026-01-01", "alpha"));
}

function post(title: string, date: string, tag: string): string {
  return `---\ntitle: "${title}"\ndescription: "About ${title}."\ndate: ${date}\ntags: [${tag}]\n---\n\nText.\n`;
}

/** Resolves when the process's output (since the call) has a line matching `pattern`. */
function waitForLine(proc: ChildProcess, pattern: RegExp, log: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      log.push(...lines);
      if (lines.some((line) => pattern.test(line))) {
        proc.stdout!.off("data", onData);
        proc.stderr!.off("data", onData);
        resolve();
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`eleventy exited (${code}) before printing ${pattern}:\n${log.join("\n")}`)));
  });
}

test("a post added during --serve --incremental shows up on / and /tags/", { timeout: 60_000 }, async () => {
  const log: string[] = [];
  makeSite();
  ensurePackageBuilt();
  child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "test/support/watch-site.ts")], { cwd: SITE });
  await waitForLine(child, /^\[watch-site\] ready$/, log);
  assert.match(fs.readFileSync(path.join(SITE, "_site/index.html"), "utf8"), /The first post/);

  // The rebuild after the add ends with Eleventy's "Wrote N files" line.
  const rebuilt = waitForLine(child, /Wrote \d+ files?/, log);
  fs.mkdirSync(path.join(SITE, "content/posts/second"));
  fs.writeFileSync(path.join(SITE, "content/posts/second/index.md"), post("A second post", "2026-02-01", "beta"));
  await rebuilt;

  const home = fs.readFileSync(path.join(SITE, "_site/index.html"), "utf8");
  assert.match(home, /<a href="\/posts\/second\/">A second post<\/a>/, log.join("\n"));
  const tags = fs.readFileSync(path.join(SITE, "_site/tags/index.html"), "utf8");
  assert.match(tags, /<a class="tag" href="\/tags\/beta\/">beta<\/a>/, log.join("\n"));
  assert.match(fs.readFileSync(path.join(SITE, "_site/tags/beta/index.html"), "utf8"), /A second post/);
  // Posts link to their neighbours through the same collection.
  assert.match(
    fs.readFileSync(path.join(SITE, "_site/posts/first/index.html"), "utf8"),
    /<a class="post-nav-newer" href="\/posts\/second\/"><span>Newer<\/span> A second post<\/a>/,
  );
});

test("editing a post's text re-renders every page that imports the posts collection, as the README says", { timeout: 60_000 }, async () => {
  assert.ok(child && child.exitCode === null, "the watch process of the test above is running");
  const log: string[] = [];
  const output = path.join(SITE, "_site");
  const pages = (fs.readdirSync(output, { recursive: true }) as string[]).filter((file) => file.endsWith(".html")).sort();
  const written = new Map(pages.map((page) => [page, fs.statSync(path.join(output, page)).mtimeMs]));
  await new Promise((resolve) => setTimeout(resolve, 20)); // a later mtime than the first build's, on any file system clock
  const rebuilt = waitForLine(child, /Wrote \d+ files?/, log);
  const file = path.join(SITE, "content/posts/first/index.md");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("Text.", "Text, edited."));
  await rebuilt;
  assert.match(fs.readFileSync(path.join(output, "posts/first/index.html"), "utf8"), /Text, edited\./);
  const rewritten = pages.filter((page) => fs.statSync(path.join(output, page)).mtimeMs > written.get(page)!);
  // Every page here lists posts or links a post's neighbours: all of them, not just the edited one.
  assert.deepEqual(rewritten, pages, log.join("\n"));
  assert.ok(pages.length >= 6, pages.join(", "));
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  assert.match(readme, /Editing a post's\ntext re-renders every page that imports the `posts` collection/);
});
