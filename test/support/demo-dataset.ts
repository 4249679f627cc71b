// The demo dataset for tests and bench suites, made first when it is missing or out of date, as `npm run build` makes it
// (scripts/ensure-demo-dataset.mjs): nothing that reads it may assume a build already ran.
import { spawnSync } from "node:child_process";
import path from "node:path";

/** Where the demo dataset lives, relative to the project root. */
export const DEMO_DATASET = "content/datasets/emoji-memes";

/**
 * Makes the demo dataset of the project at `root` when needed (at once when it is complete and current) and returns its
 * folder, relative to `root`. Throws with the generator's output when it cannot be made.
 */
export function ensureDemoDataset(root = process.cwd()): string {
  const script = path.join(root, "scripts/ensure-demo-dataset.mjs");
  const run = spawnSync(process.execPath, [script], { cwd: root, encoding: "utf8", maxBuffer: 16 << 20 });
  if (run.status !== 0) {
    const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim() || run.error?.message;
    throw new Error(`could not make the demo dataset (node ${path.relative(root, script)} exited ${run.status}): ${output}`, { cause: run.error });
  }
  return DEMO_DATASET;
}
