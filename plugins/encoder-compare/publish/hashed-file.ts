// Published files named by their content, so a browser may cache them for ever.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

export function hashedName(stem: string, bytes: Uint8Array | string, ext: string): string {
  return `${stem}-${crypto.createHash("sha256").update(bytes).digest("hex").slice(0, 16)}${ext}`;
}

/** Writes `bytes` as a content-named file once; returns its name. */
export function writeHashed(dir: string, stem: string, bytes: Uint8Array | string, ext: string): string {
  const name = hashedName(stem, bytes, ext);
  const target = path.join(dir, name);
  if (!fs.existsSync(target)) {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomicSync(target, bytes);
  }
  return name;
}
