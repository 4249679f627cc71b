// The README is the manual: rendered with markdown-it (the renderer Eleventy uses), every line that
// looks like a table row belongs to a table. A row separated from its table by a paragraph renders
// as literal "|" text, which no reader can use.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { resolveQueryPath } from "../../plugins/encoder-compare/eleventy/paths.ts";
// @ts-expect-error markdown-it comes with Eleventy and ships no type declarations
import MarkdownIt from "markdown-it";

interface Token {
  type: string;
  map: [number, number] | null;
  content: string;
}

/** Source lines (0-based) that look like a table row but render outside any table; code is left alone. */
function strayTableRows(markdown: string): Array<{ line: number; text: string }> {
  const tokens: Token[] = new MarkdownIt().parse(markdown, {});
  const covered = new Set<number>();
  for (const token of tokens) {
    if (!token.map || !["table_open", "fence", "code_block", "html_block"].includes(token.type)) continue;
    for (let line = token.map[0]; line < token.map[1]; line++) covered.add(line);
  }
  return markdown
    .split("\n")
    .map((text, line) => ({ line, text }))
    .filter(({ line, text }) => !covered.has(line) && /^\s{0,3}\|.*\|\s*$/.test(text));
}

/** The project's markdown files, relative to root (installed packages, dot-folders and outputs left out). */
function markdownFiles(root: string, dir = ""): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith(".") && !["node_modules", "_site", "dist"].includes(entry.name)) {
      found.push(...markdownFiles(root, file));
    } else if (entry.isFile() && entry.name.endsWith(".md")) found.push(file);
  }
  return found.sort();
}

/** Rendered paragraphs that show a row's pipes as text. */
function literalRowsInHtml(markdown: string): string[] {
  const html: string = new MarkdownIt().render(markdown);
  const outsideTables = html.replace(/<table>[\s\S]*?<\/table>|<pre>[\s\S]*?<\/pre>/g, "");
  return outsideTables.split("\n").filter((line) => /^(<p>)?\|.*\|(<\/p>)?$/.test(line.trim()));
}

describe("README", () => {
  const readme = fs.readFileSync(path.join(process.cwd(), "README.md"), "utf8");

  test("every table row renders inside a table", () => {
    assert.deepEqual(strayTableRows(readme), []);
    assert.deepEqual(literalRowsInHtml(readme), []);
    // The command table lists every command, the importer and export included.
    const html: string = new MarkdownIt().render(readme);
    const commandTable = html.split("<table>").find((table) => table.includes("<th>command</th>")) ?? "";
    for (const command of ["query", "index", "cache stats", "models list", "eval", "dataset import", "export"]) {
      assert.ok(commandTable.includes(`<code>${command}`), `${command} is a row of the command table`);
    }
  });

  test("no markdown document of the project has a table row outside a table", () => {
    const documents = markdownFiles(process.cwd());
    assert.ok(documents.includes("README.md") && documents.includes("CHANGELOG.md"), documents.join(", "));
    for (const file of documents) assert.deepEqual(strayTableRows(fs.readFileSync(file, "utf8")), [], file);
  });

  test("the check finds rows cut off from their table, and leaves tables and code alone", () => {
    const table = "| a | b |\n|---|---|\n| 1 | 2 |\n";
    assert.deepEqual(strayTableRows(`${table}\nA paragraph.\n| 3 | 4 |\n| 5 | 6 |\n`), [
      { line: 5, text: "| 3 | 4 |" },
      { line: 6, text: "| 5 | 6 |" },
    ]);
    assert.equal(literalRowsInHtml(`${table}\nA paragraph.\n\n| 3 | 4 |\n`).length, 1);
    // A row after a blank line also leaves the table.
    assert.deepEqual(strayTableRows(`${table}\n| 3 | 4 |\n`), [{ line: 4, text: "| 3 | 4 |" }]);
    assert.deepEqual(strayTableRows(`${table}| 3 | 4 |\n`), []);
    assert.deepEqual(strayTableRows("```\n| not | a table |\n```\n\n    | indented | code |\n"), []);
    assert.deepEqual(literalRowsInHtml(table), []);
  });

  test("query images are looked up next to the post, then under the site's input folder (not a fixed content/)", () => {
    assert.match(readme, /next to the post first, then under the site's input folder \(Eleventy's `dir\.input`/);
    const project = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ec-input-dir-")));
    try {
      for (const dir of ["src/posts/p", "content"]) fs.mkdirSync(path.join(project, dir), { recursive: true });
      fs.writeFileSync(path.join(project, "src/shared.png"), "png");
      fs.writeFileSync(path.join(project, "content/only-here.png"), "png");
      fs.writeFileSync(path.join(project, "src/posts/p/beside.png"), "png");
      const post = path.join(project, "src/posts/p/index.md");
      const input = path.join(project, "src");
      assert.equal(resolveQueryPath("beside.png", post, input, project), path.join(project, "src/posts/p/beside.png"));
      assert.equal(resolveQueryPath("shared.png", post, input, project), path.join(project, "src/shared.png"));
      assert.throws(() => resolveQueryPath("only-here.png", post, input, project), /looked at src\/posts\/p\/only-here\.png and src\/only-here\.png/);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
