// Builds and CLI runs in a child process under a kill timer: a crash of native code there cannot take the test run
// down, and a hang fails the one test instead of stalling the suite. Also reads an embedding store with SQLite
// directly, to see what a run left behind.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import Database from "better-sqlite3";
import type { SmallProject } from "./small-project.ts";

const ROOT = process.cwd();

export interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Builds the project in a child process (a crash of native code there cannot take the test run
 * down) with a kill timer; stdout holds "built <sha256 of the page>" or "failed <error chain>".
 */
export function buildInChild(p: SmallProject, options: Record<string, unknown> = {}, env: Record<string, string> = {}): ChildRun {
  const script =
    `import { buildProject, chain } from ${JSON.stringify(path.join(ROOT, "test/support/small-project.ts"))};\n` +
    `import crypto from "node:crypto";\n` +
    `try {\n` +
    `  const { pages, summary } = await buildProject(${JSON.stringify(p.dir)}, ${JSON.stringify(options)});\n` +
    `  const embedded = summary.encoders.reduce((sum, e) => sum + e.embedded, 0);\n` +
    `  console.log("built " + crypto.createHash("sha256").update(pages[0].content).digest("hex") + " embedded " + embedded);\n` +
    `} catch (error) { console.log("failed " + chain(error).replace(/\\n/g, " | ")); process.exitCode = 1; }\n`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 180_000,
    killSignal: "SIGKILL",
    env: { ...process.env, ...env },
  });
  assert.notEqual(child.signal, "SIGKILL", `the build hung (killed after 180 s)\n${child.stderr}`);
  return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
}

/** The CLI as a process with a kill timer, with `cliEnv` over the environment (offline, its own models folder). */
export function cliRunner(cliEnv: Record<string, string>): (args: string[], cwd?: string, timeout?: number) => ChildRun {
  return function cliInChild(args: string[], cwd = ROOT, timeout = 120_000): ChildRun {
    const child = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "plugins/encoder-compare/bin.js"), ...args], {
      cwd,
      encoding: "utf8",
      timeout,
      killSignal: "SIGKILL",
      env: { ...process.env, ...cliEnv },
    });
    assert.notEqual(child.signal, "SIGKILL", `encoder-compare ${args.join(" ")} hung\n${child.stderr}`);
    return { status: child.status, signal: child.signal, stdout: child.stdout, stderr: child.stderr };
  };
}

/** The store's integrity check and its vectors (encoder key + image sha256), read with SQLite directly. */
export function storeRows(file: string): { integrity: string; vectors: string[] } {
  const db = new Database(file, { readonly: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const vectors = db.prepare("SELECT encoder_key || ' ' || image_sha256 AS v FROM embeddings ORDER BY v").pluck().all() as string[];
    return { integrity, vectors };
  } finally {
    db.close();
  }
}
