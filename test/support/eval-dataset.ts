// The evaluation tests' dataset: five concepts, each drawn by two emoji vendors and once mirrored (a group of three
// with captions that need escaping), a dog alone in its group, and a banana in none.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";

const EMOJI = (vendor: string, code: string) => path.join(process.cwd(), `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);
const CONCEPTS: Array<[string, string]> = [
  ["1f436", "dog-face"],
  ["1f431", "cat-face"],
  ["1f34e", "apple"],
  ["1f438", "frog"],
  ["1f697", "car"],
];

/** Empties `work`, then writes the dataset to `data` (a folder inside it) with its manifest.csv. */
export async function writeEvalDataset(work: string, data: string): Promise<void> {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(data, "images"), { recursive: true });
  const rows = ["id,file,caption,group"];
  for (const [code, name] of CONCEPTS) {
    for (const vendor of ["google", "twitter"]) {
      fs.copyFileSync(EMOJI(vendor, code), path.join(data, `images/${name}--${vendor}.png`));
      rows.push(`${name}--${vendor},images/${name}--${vendor}.png,"${name} <b>${vendor}</b>, ""drawn""",${name}`);
    }
    await sharp(EMOJI("google", code)).flop().png().toFile(path.join(data, `images/${name}--mirror.png`));
    rows.push(`${name}--mirror,images/${name}--mirror.png,${name} mirrored,${name}`);
  }
  // A distractor alone in its group, and one without a group.
  fs.copyFileSync(EMOJI("google", "1f415"), path.join(data, "images/dog.png"));
  rows.push("dog,images/dog.png,A dog,dog");
  fs.copyFileSync(EMOJI("twitter", "1f34c"), path.join(data, "images/banana.png"));
  rows.push("banana,images/banana.png,A banana,");
  fs.writeFileSync(path.join(data, "manifest.csv"), rows.join("\r\n") + "\r\n");
}
