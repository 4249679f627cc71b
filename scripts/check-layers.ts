// The plugin's folders read in flow order (DESIGN.md, "Layout"): a file may import its own folder, a folder further
// down the list, or sideways a pure helper (a module that touches no I/O: it imports no Node built-in or package, and
// only other pure helpers); never a folder above it, and no files may import each other in a loop. eleventy/ and cli/
// are where control comes in (a build, a command): they may import any stage, and no stage imports them.
// Lines stay within 160 characters. Run by `npm test`; prints one line per breach and exits 1.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const PLUGIN_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../plugins/encoder-compare");

/** Folders in flow order: a reader following one query image opens them top to bottom. */
export const FLOW_ORDER = [
  "eleventy", "engine", "dataset", "encoders", "models", "net", "store", "search", "eval", "render", "browser", "cli",
] as const;

/** Where control comes in: no stage imports these, and they may import any stage (the CLI reuses the shortcodes' argument grammar). */
const ENTRY_FOLDERS = new Set(["eleventy", "cli"]);

/**
 * Shared helpers that do I/O yet serve every stage, so any folder may import them sideways. Kept to a named few, each
 * the single owner of a policy: opening an untrusted file (real path inside allowed roots, regular file, size cap);
 * writing a file so no reader sees a part of it (temp file, rename).
 */
const SHARED_HELPERS = new Set(["dataset/safe-read.ts", "store/atomic-write.ts"]);

/** Files allowed at the plugin root: the package's public entry points, which only hand names on. */
const ROOT_ENTRIES = new Set(["index.ts"]);

export const MAX_LINE = 160;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm;

interface LocalImport {
  target: string;
  /** `import type`: erased at run time, so it brings no code and no I/O along. */
  typeOnly: boolean;
}

/** Relative imports resolved to files, and whether the file also imports a Node built-in or a package at run time. */
function importsOf(file: string): { local: LocalImport[]; external: boolean } {
  const text = readFileSync(file, "utf8");
  const local: LocalImport[] = [];
  let external = false;
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    const typeOnly = /^(?:import|export)\s+type\s/.test(m[0].trim());
    if (spec.startsWith(".")) local.push({ target: resolve(dirname(file), spec), typeOnly });
    else if (!typeOnly) external = true;
  }
  return { local, external };
}

/** Pure helpers: no external import at run time, and every value import is itself pure (a fixpoint over the graph). */
function pureFiles(edges: Map<string, string[]>, external: Set<string>): Set<string> {
  const pure = new Set([...edges.keys()].filter((f) => !external.has(f)));
  for (let changed = true; changed; ) {
    changed = false;
    for (const f of pure) {
      if ((edges.get(f) ?? []).some((t) => !pure.has(t))) {
        pure.delete(f);
        changed = true;
      }
    }
  }
  return pure;
}

function folderOf(root: string, file: string): string {
  const parts = relative(root, file).split(sep);
  return parts.length === 1 ? "" : parts[0]!;
}

export function checkLayers(root = PLUGIN_ROOT): string[] {
  const problems: string[] = [];
  const files = sourceFiles(root);
  const rel = (f: string) => relative(root, f);
  const edges = new Map<string, string[]>();
  const valueEdges = new Map<string, string[]>();
  const typeOnly = new Map<string, Set<string>>();
  const external = new Set<string>();
  for (const file of files) {
    const { local, external: usesExternal } = importsOf(file);
    const inside = local.filter((i) => i.target.startsWith(root + sep));
    edges.set(file, [...new Set(inside.map((i) => i.target))]);
    valueEdges.set(file, inside.filter((i) => !i.typeOnly).map((i) => i.target));
    typeOnly.set(file, new Set(inside.filter((i) => i.typeOnly).map((i) => i.target)));
    if (usesExternal) external.add(file);
  }
  const pure = pureFiles(valueEdges, external);
  // A sideways import is fine when it brings only types (a contract, no code) or a pure helper.
  const sideways = (file: string, target: string) =>
    pure.has(target) || SHARED_HELPERS.has(relative(root, target)) || (typeOnly.get(file)!.has(target) && !valueEdges.get(file)!.includes(target));
  for (const file of files) {
    const folder = folderOf(root, file);
    const targets = edges.get(file)!;
    if (folder === "" && !ROOT_ENTRIES.has(rel(file))) problems.push(`${rel(file)}: loose file at the plugin root; move it into a folder of the flow`);
    const rank = (FLOW_ORDER as readonly string[]).indexOf(folder);
    if (folder !== "" && rank < 0) problems.push(`${rel(file)}: folder "${folder}/" is not one of the flow's folders`);
    for (const target of targets) {
      const targetFolder = folderOf(root, target);
      const targetRank = (FLOW_ORDER as readonly string[]).indexOf(targetFolder);
      if (folder === "" || rank < 0 || targetRank < 0 || targetFolder === folder) continue;
      if (ENTRY_FOLDERS.has(targetFolder) && !ENTRY_FOLDERS.has(folder)) {
        problems.push(`${rel(file)} imports ${rel(target)}: no stage may import "${targetFolder}/", where control comes in`);
      } else if (targetRank < rank && !ENTRY_FOLDERS.has(folder) && !sideways(file, target)) {
        problems.push(`${rel(file)} imports ${rel(target)}: "${folder}/" may not import "${targetFolder}/", which stands above it`);
      }
    }
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      if (line.length > MAX_LINE) problems.push(`${rel(file)}:${i + 1}: line of ${line.length} characters (limit ${MAX_LINE})`);
    });
  }
  problems.push(...findLoops(edges).map((loop) => `import loop among files: ${loop.map(rel).join(", ")}`));
  const folderEdges = new Map<string, string[]>();
  for (const [file, targets] of edges) {
    const from = folderOf(root, file);
    if (from === "") continue;
    const to = targets.map((t) => folderOf(root, t)).filter((f) => f !== "" && f !== from);
    folderEdges.set(from, [...new Set([...(folderEdges.get(from) ?? []), ...to])]);
  }
  problems.push(...findLoops(folderEdges).map((loop) => `import loop among folders: ${loop.map((f) => `${f}/`).join(", ")}`));
  return problems;
}

/** Every strongly connected group of more than one node (or a node importing itself), each reported once, sorted. */
function findLoops(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    const selfLoop = (edges.get(node) ?? []).includes(node);
    if (group.length > 1 || selfLoop) loops.push(group.sort());
  };
  for (const node of [...edges.keys()].sort()) if (!index.has(node)) visit(node);
  return loops;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkLayers();
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check-layers: ${FLOW_ORDER.join(" → ")}: no upward import, no loop, no line over ${MAX_LINE}`);
}
