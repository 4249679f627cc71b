// What a "Try your own image" publication wrote, remembered in the cache folder, so a build that changes nothing
// re-bundles nothing, re-encodes no vectors and re-hashes no files. A record is found by a key that hashes every
// input of the publication; it is used only while every file it names is still in the output folder. A cache that
// cannot be read or written (read-only, full) simply remembers nothing.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomicSync } from "../base/atomic-write.ts";

interface MemoRecord<T> {
  key: string;
  value: T;
  /** File names under the output folder that `value` refers to. */
  files: readonly string[];
}

export interface PublishMemo {
  recall<T>(parts: readonly unknown[], outputDir: string): T | undefined;
  remember<T>(parts: readonly unknown[], value: T, files: readonly string[]): void;
}

/** The stamp of an input file (size and modification time), or undefined when it is gone. */
export function fileStamp(file: string): string | undefined {
  try {
    const stat = fs.statSync(file);
    return `${stat.size}:${stat.mtimeMs}`;
  } catch {
    return undefined;
  }
}

export function publishMemo(dir: string): PublishMemo {
  const keyOf = (parts: readonly unknown[]) => crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
  const fileOf = (key: string) => path.join(dir, `${key.slice(0, 32)}.json`);
  return {
    recall<T>(parts: readonly unknown[], outputDir: string): T | undefined {
      const key = keyOf(parts);
      let record: MemoRecord<T>;
      try {
        record = JSON.parse(fs.readFileSync(fileOf(key), "utf8")) as MemoRecord<T>;
      } catch {
        return undefined;
      }
      if (record.key !== key || !Array.isArray(record.files)) return undefined;
      return record.files.every((name) => fs.existsSync(path.join(outputDir, name))) ? record.value : undefined;
    },
    remember<T>(parts: readonly unknown[], value: T, files: readonly string[]): void {
      const key = keyOf(parts);
      try {
        fs.mkdirSync(dir, { recursive: true });
        writeFileAtomicSync(fileOf(key), JSON.stringify({ key, value, files } satisfies MemoRecord<T>));
      } catch {
        // Not remembered: the next build publishes again, with the same names.
      }
    },
  };
}
