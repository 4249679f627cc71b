// Whether the faiss-node addon loads and searches, tried in a child process so that a broken binary cannot take the
// caller down. Shared by the postinstall build (build-faiss-node.mjs) and the test machine's setup.
import { spawnSync } from "node:child_process";
import path from "node:path";

const SCRIPT = [
  'const { createRequire } = require("node:module");',
  'const faiss = createRequire(process.argv[1])("faiss-node");',
  "const index = new faiss.IndexFlatIP(2);",
  "index.add([1, 0, 0, 1]);",
  "const { labels } = index.search([0, 1], 1);",
  "if (labels[0] !== 1) throw new Error('wrong search result ' + labels);",
].join("\n");

/** True when faiss-node, resolved from the project at `root`, loads and answers a search. */
export function faissNodeLoads(root) {
  const run = spawnSync(process.execPath, ["-e", SCRIPT, path.join(root, "package.json")], { cwd: root, stdio: "ignore", timeout: 30_000 });
  return run.status === 0;
}
