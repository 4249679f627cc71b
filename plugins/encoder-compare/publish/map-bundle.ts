// The maps' page code (map-details.ts), bundled once per process (or shipped bundled in the package) and
// published under a content-hashed name.
import { entryBundle } from "./bundle.ts";
import { writeHashed } from "./hashed-file.ts";

let bundled: Promise<string> | undefined;

/** The file name (under outputDir) of the maps' script, written there when missing. */
export async function publishMapScript(outputDir: string): Promise<string> {
  bundled ??= entryBundle("map-details").then((bundle) => bundle.text);
  bundled.catch(() => (bundled = undefined));
  const text = await bundled;
  return writeHashed(outputDir, "encoder-map", text, ".js");
}
