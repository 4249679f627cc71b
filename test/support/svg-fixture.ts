// An SVG named .png that draws a sibling file, for the decoders' "type by content" tests: a decoder that follows
// the reference draws the sibling's red.
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";

/** Writes `sibling.bin` (solid red) and `evil.png` (an SVG drawing it over white) into `dir`; returns evil.png's path. */
export async function writeSvgDrawingSibling(dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await sharp({ create: { width: 32, height: 32, channels: 3, background: "#f00" } }).png().toFile(path.join(dir, "sibling.bin"));
  const evil = path.join(dir, "evil.png");
  fs.writeFileSync(
    evil,
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="32" height="32">` +
      `<rect width="32" height="32" fill="#fff"/><image xlink:href="sibling.bin" width="32" height="32"/></svg>`,
  );
  return evil;
}

/** Whether the first pixel of RGB(A) data is the sibling's red. */
export const isRed = (data: Uint8Array): boolean => data[0] > 200 && data[1] < 60 && data[2] < 60;
