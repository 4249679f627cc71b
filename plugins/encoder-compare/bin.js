#!/usr/bin/env node
// Entry point for `npx encoder-compare`: runs the compiled command line from dist/ under plain node.
import fs from "node:fs";

const main = new URL("./dist/cli/main.js", import.meta.url);
if (!fs.existsSync(main)) {
  process.stderr.write("encoder-compare: the package is not compiled (dist/ is missing); in its repository run `npm run build:package`\n");
  process.exit(1);
}
const { main: run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
