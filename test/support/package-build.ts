// The compiled package (plugins/encoder-compare/dist) as `npm run build` makes it: tests that run the package by
// name or through its bin build it first (a no-op while dist/ matches the sources).
import { execFileSync } from "node:child_process";
import path from "node:path";

export const PACKAGE_DIR = path.join(process.cwd(), "plugins/encoder-compare");
export const DIST_DIR = path.join(PACKAGE_DIR, "dist");

export function ensurePackageBuilt(): void {
  execFileSync(process.execPath, [path.join(process.cwd(), "scripts/build-package.mjs")], { stdio: ["ignore", "ignore", "inherit"] });
}
