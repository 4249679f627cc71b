// A site that installs the packed plugin the way an adopter's does, offline: `npm ci` from the local npm cache.
// The cache holds the packages' tarballs (the repository's own install put them there) but not the registry's
// package lists, so the site gets a lockfile: the repository's entries for @11ty/eleventy and the plugin's
// dependencies, and the tarball `npm pack` made. Native addons come as local prebuilds (prebuild-install's
// local-prebuilds folder) made from the binaries the repository's install compiled from the same versions, the
// way prebuild-install would download them on a machine with access to their host; compiling them again is the
// same work again (about a minute for better-sqlite3 on two cores).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  [key: string]: unknown;
}

const ROOT = process.cwd();

/** The lock key a package named `name` resolves to from the package at `from`, as node looks up node_modules. */
function lookup(packages: Record<string, LockEntry>, name: string, from: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (packages[key] && !packages[key].link) return key;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf("/node_modules/");
    dir = cut < 0 ? "" : dir.slice(0, cut);
  }
}

/** The lockfile of a site depending on `deps` (names → ranges), where `encoder-compare` is the packed tarball. */
export function adopterLockfile(deps: Record<string, string>, tarball: string, siteDir: string): object {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const source = lock.packages;
  const plugin = source["plugins/encoder-compare"]!;
  const picked: Record<string, LockEntry> = {};
  const visit = (key: string) => {
    if (picked[key]) return;
    const { dev, devOptional, peer, ...entry } = source[key]!;
    void dev, void devOptional, void peer;
    picked[key] = entry;
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies })) {
      const found = lookup(source, name, key);
      if (found) visit(found);
    }
  };
  for (const name of Object.keys({ ...deps, ...plugin.dependencies, ...plugin.optionalDependencies })) {
    if (name === "encoder-compare") continue;
    const found = lookup(source, name, "");
    if (!found) throw new Error(`adopter site: ${name} is not in the repository's package-lock.json`);
    visit(found);
  }
  const { devDependencies, ...published } = plugin;
  void devDependencies;
  const integrity = `sha512-${crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("base64")}`;
  picked["node_modules/encoder-compare"] = { ...published, resolved: `file:${path.relative(siteDir, tarball)}`, integrity };
  const sorted = Object.fromEntries(Object.entries(picked).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { name: "adopter-site", lockfileVersion: 3, requires: true, packages: { "": { name: "adopter-site", dependencies: deps }, ...sorted } };
}

/** prebuild-install's file name for a native addon's binary on this machine. */
function prebuildName(name: string, version: string, runtime: "node" | "napi", abi: string): string {
  return `${name}-v${version}-${runtime}-v${abi}-${process.platform}-${process.arch}.tar.gz`;
}

/** Local prebuilds of the repository's compiled addons (better-sqlite3; faiss-node where it was built). */
export function localPrebuilds(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const addons = [
    { name: "better-sqlite3", file: "build/Release/better_sqlite3.node", runtime: "node" as const, abi: process.versions.modules },
    { name: "faiss-node", file: "build/Release/faiss-node.node", runtime: "napi" as const, abi: "8" },
  ];
  for (const addon of addons) {
    const packageDir = path.join(ROOT, "node_modules", addon.name);
    if (!fs.existsSync(path.join(packageDir, addon.file))) continue;
    const { version } = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")) as { version: string };
    execFileSync("tar", ["czf", path.join(dir, prebuildName(addon.name, version, addon.runtime, addon.abi)), "-C", packageDir, addon.file]);
  }
}
