// A site build in its own process, for tests that kill a build: argv = content, output and
// cache folders. With PAUSE_BEFORE_RENAME=1 it writes "paused <temp file>" to stdout at the
// first rename of a temp file into place and then waits forever, so the test can SIGKILL it
// with a temp file on disk.
import fs from "node:fs";
import { buildWithPlugin } from "./eleventy.ts";

const [content, output, cache] = process.argv.slice(2);
if (process.env.PAUSE_BEFORE_RENAME === "1") {
  const rename = fs.promises.rename;
  fs.promises.rename = async (from, to) => {
    if (String(from).endsWith(".tmp")) {
      process.stdout.write(`paused ${String(from)}\n`);
      await new Promise(() => {});
    }
    return rename(from, to);
  };
}
await buildWithPlugin(content, output, { dataset: process.env.DATASET, cacheDir: cache, tileSize: 16, encoders: ["pixels"] });
process.stdout.write("built\n");
