// A folder's files by content, so a test can compare two builds' outputs, or an output before and after a fault.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

/** Every file under `dir`, relative path → sha256 of its bytes. */
export function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.set(path.relative(dir, file), sha256(fs.readFileSync(file)));
  }
  return out;
}
