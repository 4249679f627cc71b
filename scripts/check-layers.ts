// The plugin's folders read in flow order (DESIGN.md, "Layout"): a file may import its own folder, a folder further
// down the list, or sideways a pure helper (a module that touches no I/O: it imports no Node built-in or package, and
// only other pure helpers); never a folder above it, and no files may import each other in a loop. eleventy/ and cli/
// are where control comes in (a build, a command): they may import any stage, and no stage imports them.
// Those layer rules hold for the plugin only. One rule holds for every source file the project owns (OWNED_SOURCES):
// lines stay within 160 characters. Run by `npm test`; prints one line per breach and exits 1.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the plugin lives in the repository. */
const PLUGIN_DIR = join("plugins", "encoder-compare");
export const PLUGIN_ROOT = join(REPO_ROOT, PLUGIN_DIR);

/** The code the project owns, relative to the repository root: the line rule reads every source file in these. */
export const OWNED_SOURCES = ["plugins", "test", "bench", "scripts", "_data", ".eleventy.ts"] as const;

/**
 * Folders inside those that hold data a test reads, not code (relative to the repository root). Installed packages and
 * dot-folders (test/.output/, caches) are skipped everywhere: nobody writes them by hand.
 */
const DATA_FOLDERS = new Set([join("test", "fixtures")]);

/** TypeScript and JavaScript in all their module flavours: .ts .mts .cts .tsx .js .mjs .cjs .jsx. */
const SOURCE_FILE = /\.[cm]?[jt]sx?$/;

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

/** Source files under dir, sorted; skips installed packages, dot-folders and the folders in `skip` (absolute paths). */
function sourceFiles(dir: string, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && !entry.name.startsWith(".") && !skip.has(path)) out.push(...sourceFiles(path, skip));
    } else if (entry.isFile() && SOURCE_FILE.test(entry.name)) out.push(path);
  }
  return out;
}

/** One breach per line over MAX_LINE characters (code points, so an emoji counts once), the file shown as `shown`. */
function longLines(file: string, shown: string): string[] {
  const problems: string[] = [];
  readFileSync(file, "utf8").split("\n").forEach((line, i) => {
    const length = line.length > MAX_LINE ? [...line].length : line.length;
    if (length > MAX_LINE) problems.push(`${shown}:${i + 1}: line of ${length} characters (limit ${MAX_LINE})`);
  });
  return problems;
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
  // dist/ is the package build's output (compiled from these sources), not code anyone writes.
  const sources = sourceFiles(root, new Set([join(root, "dist")]));
  const files = sources.filter((f) => f.endsWith(".ts"));
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
  }
  for (const file of sources) problems.push(...longLines(file, rel(file)));
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

/** The line rule over the project's own code outside the plugin (checkLayers reads the plugin); paths from repoRoot. */
export function checkLines(repoRoot = REPO_ROOT): string[] {
  const pluginRoot = join(repoRoot, PLUGIN_DIR);
  const skip = new Set([pluginRoot, ...[...DATA_FOLDERS].map((d) => join(repoRoot, d))]);
  const problems: string[] = [];
  for (const owned of OWNED_SOURCES) {
    const path = join(repoRoot, owned);
    let files: string[];
    try {
      files = statSync(path).isDirectory() ? sourceFiles(path, skip) : [path];
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new Error(`check-layers: cannot read ${owned}`, { cause });
    }
    for (const file of files) problems.push(...longLines(file, relative(repoRoot, file)));
  }
  return problems;
}

/** Everything `npm test` holds the repository to: the plugin's layer rules and the line rule over all owned code. */
export function checkProject(repoRoot = REPO_ROOT): string[] {
  return [...checkLayers(join(repoRoot, PLUGIN_DIR)), ...checkLines(repoRoot)];
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
  const problems = checkProject();
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`check-layers: ${problems.length} problem(s)`);
    process.exit(1);
  }
  console.log(`check-layers: ${FLOW_ORDER.join(" → ")}: no upward import, no loop; ${OWNED_SOURCES.join(", ")}: no line over ${MAX_LINE}`);
}
