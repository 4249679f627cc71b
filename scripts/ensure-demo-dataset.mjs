// `npm run build`'s prebuild step: returns at once (plain Node, no TypeScript loader, no sharp)
// when the demo dataset is complete and was made by the current generator version; otherwise
// runs the generator, scripts/make-demo-dataset.ts --if-missing. The version is read from the
// generator's source, so it has one home.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const GENERATOR_SOURCE = path.join(ROOT, "scripts/make-demo-dataset.ts");
const DATASET = path.join(ROOT, "content/datasets/emoji-memes");
const INPUTS = path.join(ROOT, "content/posts/image-encoders-part-deux/inputs");

function upToDate() {
  try {
    const version = /export const GENERATOR_VERSION = (\d+);/.exec(fs.readFileSync(GENERATOR_SOURCE, "utf8"))?.[1];
    const manifest = JSON.parse(fs.readFileSync(path.join(DATASET, "manifest.json"), "utf8"));
    if (!version || manifest.generator !== `make-demo-dataset@${version}` || !Array.isArray(manifest.images)) return false;
    if (!["doge.png", "buff-doge.png"].every((name) => fs.existsSync(path.join(INPUTS, name)))) return false;
    return manifest.images.every((image) => typeof image.file === "string" && fs.existsSync(path.join(DATASET, image.file)));
  } catch {
    return false;
  }
}

// Other folders (--out, --inputs) are the generator's own business.
if (process.argv.length > 2 || !upToDate()) {
  const tsx = path.join(ROOT, "node_modules/.bin/tsx");
  const child = spawnSync(tsx, [GENERATOR_SOURCE, "--if-missing", ...process.argv.slice(2)], { stdio: "inherit" });
  process.exitCode = child.status ?? 1;
}
