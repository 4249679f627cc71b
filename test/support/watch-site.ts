// Runs the site in the current folder as `eleventy --serve --incremental` does (run mode "serve",
// incremental rebuilds), without the dev server, and prints "[watch-site] ready" once the file
// watcher is ready, so a test can change files without guessing when they would be seen.
// @ts-expect-error Eleventy 3 ships no type declarations
import Eleventy from "@11ty/eleventy";

const elev = new Eleventy(undefined, undefined, { source: "cli", configPath: ".eleventy.ts", runMode: "serve" });
await elev.init();
elev.setIncrementalBuild(true);
await elev.watch();
console.log("[watch-site] ready");
process.on("SIGTERM", async () => {
  await elev.stopWatch();
  process.exit(0);
});
