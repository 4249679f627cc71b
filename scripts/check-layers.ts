// The plugin's folders are its layers, and LAYER_ORDER lists them bottom to top: a file may import its own folder or a
// folder listed before it, never one after it, and no files and no folders may import each other in a loop. So the
// folder order IS the import order: a reader opens the folders bottom-up once, and everything a file leans on has
// already been read. There are no exceptions: a helper two layers need lives in the lower one (base/ holds what all
// of them share). The plugin root holds only the package's entries (ROOT_ENTRIES), which may import anything; a
// folder not in the list is reported by name, and so is a loose file at the root.
//
// Imports are read with TypeScript's own parser (not a pattern over the text), so spacing, comments and strings that
// merely look like code change nothing. A reference counts when it resolves to a source file of the plugin; one to a
// package or a Node built-in is ignored. The forms read, in every plugin source file (.ts .mts .cts .tsx .js .mjs .cjs
// .jsx, dist/ excepted):
//   - `import … from "x"`, `import "x"`, `import type … from "x"` (a type-only import counts like any other: the type
//     of a class whose methods are then called is a real dependency);
//   - `export … from "x"`, `export * from "x"`, `export type … from "x"`;
//   - `import("x")` and import(`x`) (a template without substitutions), and the type form `import("x").Name`;
//   - `import x = require("x")`, `require("x")`, `require.resolve("x")`;
//   - `/// <reference path="x" />`;
//   for these, "x" may also leave out `.ts` or `/index.ts`, or name `.js` for a `.ts` file, as TypeScript allows;
//   - any other string literal or template without substitutions whose value, resolved against the file's folder,
//     names an existing plugin source file exactly: an esbuild entry (`entryPoints: ["../browser/widget.ts"]`),
//     `new URL("./x.ts", import.meta.url)`, `path.join(HERE, "../browser/widget.ts")`;
//   - a call to a function named `join` or `resolve` (path.join, path.resolve) whose last two or more arguments are
//     such literals: they are joined, and count when they name an existing plugin source file
//     (`path.join(HERE, "..", "browser", "widget.ts")`).
// A path built at run time from variables (`${name}${extension}`) cannot be read, and is not.
//
// Those layer rules hold for the plugin only. One rule holds for every source file the project owns (OWNED_SOURCES):
// lines stay within 160 characters. Run by `npm test`; run alone (`npx tsx scripts/check-layers.ts`) it prints one line
// per breach and exits 1, or prints nothing and exits 0.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Node, ScriptKind } from "typescript5";

// TypeScript 5.9 under an alias: TypeScript 7, the project's compiler, has no JavaScript API. Loaded with require, not
// import: tsx's ESM loader takes about three times as long over the same 9 MB CommonJS file.
const ts: typeof import("typescript5") = createRequire(import.meta.url)("typescript5");

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

/** The plugin's folders, bottom to top: each may import itself and the folders before it. */
export const LAYER_ORDER = [
  "base", "store", "dataset", "encoders", "models", "search", "render", "engine", "eval", "compose", "browser", "publish",
  "eleventy", "cli",
] as const;

/** Files allowed at the plugin root: the package's entries, which stand above every folder and may import anything. */
const ROOT_ENTRIES = new Set(["index.ts", "bin.js"]);

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
function longLines(text: string, shown: string): string[] {
  const problems: string[] = [];
  text.split("\n").forEach((line, i) => {
    const length = line.length > MAX_LINE ? [...line].length : line.length;
    if (length > MAX_LINE) problems.push(`${shown}:${i + 1}: line of ${length} characters (limit ${MAX_LINE})`);
  });
  return problems;
}

/** The parser's idea of a file's flavour; only the syntax matters here (JSX, type annotations), not the checks. */
function scriptKind(file: string): ScriptKind {
  if (file.endsWith("x")) return file.endsWith("tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.JSX;
  return /\.[cm]?ts$/.test(file) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
}

/** A string literal or a template without substitutions: the two forms whose value is known without running the code. */
function literalText(node: Node | undefined): string | undefined {
  return node !== undefined && ts.isStringLiteralLike(node) ? node.text : undefined;
}

/** What a file's text refers to: module specifiers as written, and other literals that may name a file. */
interface References {
  /** Specifiers of imports, re-exports, requires and references: resolved the way TypeScript resolves them. */
  modules: string[];
  /** Every other literal (and joined path pieces): they count only when they name an existing file exactly. */
  paths: string[];
}

function referencesOf(file: string, text: string): References {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(file));
  const modules = source.referencedFiles.map((ref) => ref.fileName);
  const paths: string[] = [];
  const visit = (node: Node): void => {
    const specifier = moduleSpecifier(node);
    if (specifier !== undefined) modules.push(specifier);
    const joined = joinedPieces(node);
    if (joined !== undefined) paths.push(joined);
    const literal = literalText(node);
    if (literal !== undefined) paths.push(literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { modules, paths };
}

/** The specifier when `node` is one of the import forms listed in the header, else undefined. */
function moduleSpecifier(node: Node): string | undefined {
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return literalText(node.moduleSpecifier);
  if (ts.isImportEqualsDeclaration(node)) {
    return ts.isExternalModuleReference(node.moduleReference) ? literalText(node.moduleReference.expression) : undefined;
  }
  if (ts.isImportTypeNode(node)) return ts.isLiteralTypeNode(node.argument) ? literalText(node.argument.literal) : undefined;
  if (ts.isCallExpression(node)) {
    const callee = node.expression;
    const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
    const isRequire = ts.isIdentifier(callee) && callee.text === "require";
    const isRequireResolve = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression)
      && callee.expression.text === "require" && callee.name.text === "resolve";
    if (isImport || isRequire || isRequireResolve) return literalText(node.arguments[0]);
  }
  return undefined;
}

/** `join(…, "..", "browser", "widget.ts")` or `resolve(…)`: its trailing literal arguments joined, when two or more. */
function joinedPieces(node: Node): string | undefined {
  if (!ts.isCallExpression(node)) return undefined;
  const callee = node.expression;
  const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
  if (name !== "join" && name !== "resolve") return undefined;
  const pieces: string[] = [];
  for (let i = node.arguments.length - 1; i >= 0; i--) {
    const piece = literalText(node.arguments[i]);
    if (piece === undefined) break;
    pieces.unshift(piece);
  }
  return pieces.length >= 2 ? join(...pieces) : undefined;
}

/** The plugin file a specifier names, trying what TypeScript tries: as written, `.js` for `.ts`, no extension, a folder. */
function resolveModule(specifier: string, fromDir: string, known: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith(".") && !specifier.startsWith("/")) return undefined;
  const path = resolve(fromDir, specifier);
  const candidates = [path, path.replace(/\.([cm]?)js(x?)$/, ".$1ts$2"), `${path}.ts`, `${path}.tsx`, join(path, "index.ts")];
  return candidates.find((candidate) => known.has(candidate));
}

/** The folder a plugin file stands in; "" for the plugin root. */
function folderOf(root: string, file: string): string {
  const parts = relative(root, file).split(sep);
  return parts.length === 1 ? "" : parts[0]!;
}

/** Each file's references to other plugin files (absolute paths, no repeats), and each file's text. */
function readPlugin(root: string): { sources: string[]; texts: Map<string, string>; edges: Map<string, string[]> } {
  // dist/ is the package build's output (compiled from these sources), not code anyone writes.
  const sources = sourceFiles(root, new Set([join(root, "dist")]));
  const known = new Set(sources);
  const texts = new Map<string, string>();
  const edges = new Map<string, string[]>();
  for (const file of sources) {
    const text = readFileSync(file, "utf8");
    texts.set(file, text);
    const { modules, paths } = referencesOf(file, text);
    const dir = dirname(file);
    const targets = new Set<string>();
    for (const specifier of modules) {
      const target = resolveModule(specifier, dir, known);
      if (target !== undefined) targets.add(target);
    }
    for (const literal of paths) {
      // Only a name with a source file's extension can name one: the rest (most strings) need no resolving.
      if (!SOURCE_FILE.test(literal)) continue;
      const target = resolve(dir, literal);
      // A file naming itself (a usage line, its own entry) does not depend on itself.
      if (target !== file && known.has(target)) targets.add(target);
    }
    edges.set(file, [...targets].sort());
  }
  return { sources, texts, edges };
}

export function checkLayers(root = PLUGIN_ROOT): string[] {
  const problems: string[] = [];
  const { sources, texts, edges } = readPlugin(root);
  const rel = (f: string) => relative(root, f);
  const rankOf = (folder: string) => (LAYER_ORDER as readonly string[]).indexOf(folder);
  for (const file of sources) {
    const folder = folderOf(root, file);
    if (folder === "") {
      if (!ROOT_ENTRIES.has(rel(file))) problems.push(`${rel(file)}: loose file at the plugin root; move it into a folder of the flow`);
      continue;
    }
    const rank = rankOf(folder);
    if (rank < 0) {
      problems.push(`${rel(file)}: folder "${folder}/" is not one of the flow's folders`);
      continue;
    }
    for (const target of edges.get(file)!) {
      const targetFolder = folderOf(root, target);
      if (targetFolder === "") {
        problems.push(`${rel(file)} imports ${rel(target)}: "${folder}/" may not import the plugin root, which stands above every folder`);
      } else if (rankOf(targetFolder) > rank) {
        problems.push(`${rel(file)} imports ${rel(target)}: "${folder}/" may not import "${targetFolder}/", which stands above it`);
      }
    }
  }
  for (const file of sources) problems.push(...longLines(texts.get(file)!, rel(file)));
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
    for (const file of files) problems.push(...longLines(readFileSync(file, "utf8"), relative(repoRoot, file)));
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
  if (problems.length > 0) process.exit(1);
}
