// Eleventy's preview server as `npm start` runs it (run mode "serve", watching, the dev server),
// for the site in the current folder with its eleventy.config.mjs; argv = port. Prints
// "[preview-child] listening" once the server accepts connections.
// @ts-expect-error Eleventy 3 ships no type declarations
import Eleventy from "@11ty/eleventy";

const port = Number(process.argv[2]);
const elev = new Eleventy(undefined, undefined, { source: "cli", configPath: "eleventy.config.mjs", runMode: "serve" });
await elev.init();
await elev.watch();
await elev.serve(port);
console.log("[preview-child] listening");
process.on("SIGTERM", async () => {
  await elev.stopWatch();
  process.exit(0);
});
