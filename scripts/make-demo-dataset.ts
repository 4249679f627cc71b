/**
 * make-demo-dataset — builds the "emoji-memes" demo dataset and the demo post's query images.
 *
 *   tsx scripts/make-demo-dataset.ts [--if-missing] [--out <dir>] [--inputs <dir> | --no-inputs]
 *
 * The dataset is a few hundred small "memes" made from emoji drawings: for each concept (dog face,
 * pizza, …) the Google (Noto) drawing, the Twitter (Twemoji) drawing, and near-duplicates of one
 * of them (captioned meme, close crop, mirror, hue shift, different canvas). Everything is
 * deterministic: same packages + same sharp = byte-identical PNGs and manifest.
 *
 * Output (default content/datasets/emoji-memes/): images/*.png, manifest.json (both gitignored),
 * README.md (committed). Query images go to content/posts/image-encoders-part-deux/inputs/.
 *
 * Crash safety: everything is generated in a staging folder next to the output, then swapped in;
 * manifest.json is moved into place last, so its presence marks a complete dataset.
 *
 * Licences: only Google (Apache-2.0) and Twitter (CC-BY-4.0) artwork is used — never Apple or
 * Facebook images.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { removeDeadLeftovers, writeFileAtomicSync } from "../plugins/encoder-compare/base/atomic-write.ts";

/** Bump whenever the output changes (drawing code, concept list, captions, manifest shape). */
export const GENERATOR_VERSION = 2;
const GENERATOR = `make-demo-dataset@${GENERATOR_VERSION}`;

/** "an orange", "a teal": the article that goes with a word in a generated caption. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? "an" : "a"} ${word}`;
}
const DATASET_NAME = "emoji-memes";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_OUT = path.join(ROOT, "content", "datasets", DATASET_NAME);
const DEFAULT_INPUTS = path.join(ROOT, "content", "posts", "image-encoders-part-deux", "inputs");

const FONT = "DejaVu Sans";
const WHITE = { r: 255, g: 255, b: 255 };

// ---------------------------------------------------------------------------------------------
// Concepts: emoji short name (as in emoji.json), our display label, and a two-line meme caption
// (top / bottom) written for this project.

type Vendor = "google" | "twitter";
const VENDORS: readonly Vendor[] = ["google", "twitter"];
const VENDOR_LABEL: Record<Vendor, string> = { google: "Google drawing", twitter: "Twitter drawing" };

interface ConceptDef {
  short: string;
  label: string;
  top: string;
  bottom: string;
}

const CONCEPTS: readonly ConceptDef[] = [
  // animals
  { short: "dog", label: "Dog face", top: "SUCH EMBEDDING", bottom: "VERY NEAR. WOW" },
  { short: "dog2", label: "Dog", top: "WHO'S A GOOD", bottom: "NEIGHBOUR?" },
  { short: "cat", label: "Cat face", top: "I WAS HERE", bottom: "BEFORE THE DOG" },
  { short: "cat2", label: "Cat", top: "PUSHES VECTOR", bottom: "OFF THE TABLE" },
  { short: "mouse", label: "Mouse face", top: "SMALL MOUSE", bottom: "BIG DREAMS" },
  { short: "hamster", label: "Hamster face", top: "CHEEKS FULL OF", bottom: "FEATURES" },
  { short: "rabbit", label: "Rabbit face", top: "DOWN THE", bottom: "LATENT HOLE" },
  { short: "fox_face", label: "Fox face", top: "WHAT DOES", bottom: "THE FOX EMBED" },
  { short: "bear", label: "Bear face", top: "BEAR WITH ME", bottom: "IT'S LOADING" },
  { short: "panda_face", label: "Panda face", top: "MONOCHROME", bottom: "AND PROUD" },
  { short: "koala", label: "Koala", top: "NAP FIRST", bottom: "INFERENCE LATER" },
  { short: "tiger", label: "Tiger face", top: "STRIPES ARE", bottom: "JUST FEATURES" },
  { short: "lion_face", label: "Lion face", top: "KING OF", bottom: "THE TOP-K" },
  { short: "cow", label: "Cow face", top: "HOLY COW", bottom: "IT FOUND ME" },
  { short: "pig", label: "Pig face", top: "WHEN PIGS FLY", bottom: "I'LL CONVERGE" },
  { short: "frog", label: "Frog face", top: "JUST HOPPING", bottom: "BETWEEN CLUSTERS" },
  { short: "monkey_face", label: "Monkey face", top: "MONKEY SEE", bottom: "MONKEY EMBED" },
  { short: "chicken", label: "Chicken", top: "WHY DID IT", bottom: "CROSS THE INDEX" },
  { short: "penguin", label: "Penguin", top: "DRESSED UP", bottom: "NOWHERE TO GO" },
  { short: "owl", label: "Owl", top: "WHO? WHO?", bottom: "NEAREST WHO?" },
  { short: "unicorn_face", label: "Unicorn face", top: "RARE SAMPLE", bottom: "DO NOT DEDUPE" },
  { short: "horse", label: "Horse face", top: "WHY THE", bottom: "LONG FACE" },
  { short: "wolf", label: "Wolf face", top: "LONE WOLF", bottom: "NO NEIGHBOURS" },
  { short: "turtle", label: "Turtle", top: "SLOW BUILD", bottom: "FAST CACHE" },
  { short: "octopus", label: "Octopus", top: "EIGHT ARMS", bottom: "ZERO HUGS" },
  { short: "whale", label: "Spouting whale", top: "BIG MODEL", bottom: "ENERGY" },
  { short: "shark", label: "Shark", top: "BITE-SIZED", bottom: "BATCHES" },
  { short: "crab", label: "Crab", top: "SIDEWAYS", bottom: "PROGRESS ONLY" },
  { short: "snail", label: "Snail", top: "MY BUILD", bottom: "WITHOUT A CACHE" },
  { short: "t-rex", label: "T-rex", top: "TINY ARMS", bottom: "BIG OPINIONS" },
  // faces
  { short: "joy", label: "Face with tears of joy", top: "WHEN THE LOSS", bottom: "FINALLY DROPS" },
  { short: "sob", label: "Loudly crying face", top: "RECALL AT ONE", bottom: "IS ZERO" },
  { short: "sunglasses", label: "Smiling face with sunglasses", top: "DEPLOYED", bottom: "ON A FRIDAY" },
  { short: "heart_eyes", label: "Smiling face with heart eyes", top: "LOOK AT THOSE", bottom: "COSINE SCORES" },
  { short: "thinking_face", label: "Thinking face", top: "BUT IS IT", bottom: "A MEME?" },
  { short: "scream", label: "Face screaming in fear", top: "NAN DETECTED", bottom: "IN PRODUCTION" },
  { short: "rage", label: "Pouting face", top: "RESULTS", bottom: "NOT CACHED" },
  { short: "smirk", label: "Smirking face", top: "I KNEW", bottom: "IT WAS A DOG" },
  { short: "partying_face", label: "Partying face", top: "BUILD", bottom: "PASSED" },
  { short: "exploding_head", label: "Exploding head", top: "IT'S ALL", bottom: "JUST VECTORS" },
  { short: "nerd_face", label: "Nerd face", top: "ACTUALLY IT'S", bottom: "AN EMBEDDING" },
  { short: "skull", label: "Skull", top: "CERTIFIED", bottom: "DEAD LINK" },
  { short: "ghost", label: "Ghost", top: "BOO", bottom: "FILE NOT FOUND" },
  { short: "alien", label: "Alien", top: "TAKE ME TO", bottom: "YOUR DATASET" },
  { short: "robot_face", label: "Robot face", top: "BEEP BOOP", bottom: "TOP-3 READY" },
  { short: "hankey", label: "Pile of poo", top: "GARBAGE IN", bottom: "GARBAGE OUT" },
  // hands and body
  { short: "muscle", label: "Flexed biceps", top: "DO YOU EVEN", bottom: "BACKPROP" },
  { short: "+1", label: "Thumbs up", top: "LGTM", bottom: "SHIP IT" },
  { short: "clap", label: "Clapping hands", top: "SLOW CLAP", bottom: "FOR THE BASELINE" },
  { short: "pray", label: "Folded hands", top: "PLEASE", bottom: "CONVERGE" },
  { short: "eyes", label: "Eyes", top: "I SEE", bottom: "WHAT YOU EMBED" },
  { short: "brain", label: "Brain", top: "GALAXY BRAIN", bottom: "SMALL GPU" },
  // food and drink
  { short: "pizza", label: "Pizza slice", top: "EXTRA CHEESE", bottom: "NO LABELS" },
  { short: "hamburger", label: "Hamburger", top: "STACKED", bottom: "LAYERS" },
  { short: "fries", label: "French fries", top: "SMALL FRIES", bottom: "BIG RESULTS" },
  { short: "hotdog", label: "Hot dog", top: "NOT A DOG", bottom: "SORRY CLIP" },
  { short: "taco", label: "Taco", top: "TACO TUESDAY", bottom: "EVERY DAY" },
  { short: "doughnut", label: "Doughnut", top: "DONUT", bottom: "OVERFIT" },
  { short: "birthday", label: "Birthday cake", top: "ANOTHER YEAR", bottom: "SAME BUGS" },
  { short: "ice_cream", label: "Ice cream", top: "COOL", bottom: "COOL COOL" },
  { short: "banana", label: "Banana", top: "BANANA", bottom: "FOR SCALE" },
  { short: "avocado", label: "Avocado", top: "NO TOAST", bottom: "NO PROBLEM" },
  { short: "watermelon", label: "Watermelon", top: "ONE IN A", bottom: "MELON" },
  { short: "coffee", label: "Hot beverage", top: "FUEL FOR", bottom: "LATE BUILDS" },
  { short: "popcorn", label: "Popcorn", top: "WATCHING THE", bottom: "BENCHMARKS" },
  { short: "cheese_wedge", label: "Cheese wedge", top: "SAY", bottom: "CHEESE" },
  // objects and symbols
  { short: "rocket", label: "Rocket", top: "FAST", bottom: "INFERENCE" },
  { short: "fire", label: "Fire", top: "THIS INDEX", bottom: "IS ON FIRE" },
  { short: "100", label: "Hundred points", top: "KEEP IT", bottom: "ONE HUNDRED" },
  { short: "moneybag", label: "Money bag", top: "CLOUD BILL", bottom: "HAS ARRIVED" },
  { short: "gem", label: "Gem stone", top: "HIDDEN", bottom: "GEM" },
  { short: "trophy", label: "Trophy", top: "STATE OF", bottom: "THE ART" },
  { short: "crown", label: "Crown", top: "RANK", bottom: "NUMBER ONE" },
  { short: "gift", label: "Wrapped present", top: "FREE", bottom: "EMBEDDINGS" },
  { short: "rainbow", label: "Rainbow", top: "FULL", bottom: "SPECTRUM" },
  { short: "bulb", label: "Light bulb", top: "BRIGHT", bottom: "IDEA" },
  { short: "bomb", label: "Bomb", top: "DEPENDENCY", bottom: "UPDATE" },
  { short: "key", label: "Key", top: "CACHE KEY", bottom: "FOUND" },
  { short: "guitar", label: "Guitar", top: "SHRED", bottom: "THE GRADIENTS" },
  { short: "video_game", label: "Video game controller", top: "ONE MORE", bottom: "EPOCH" },
];

/** Single images with no partner in the dataset (plain drawing, one vendor). */
const DISTRACTORS: readonly { short: string; label: string }[] = [
  { short: "compass", label: "Compass" },
  { short: "microscope", label: "Microscope" },
  { short: "pill", label: "Pill" },
  { short: "umbrella", label: "Umbrella" },
  { short: "alarm_clock", label: "Alarm clock" },
  { short: "hourglass", label: "Hourglass" },
  { short: "anchor", label: "Anchor" },
  { short: "bike", label: "Bicycle" },
  { short: "airplane", label: "Airplane" },
  { short: "house", label: "House" },
  { short: "snowman", label: "Snowman" },
  { short: "cactus", label: "Cactus" },
];

/** Named backgrounds for memes and canvases (names go into the alt text). */
const PANELS: readonly { name: string; hex: string }[] = [
  { name: "orange", hex: "#f4a261" },
  { name: "teal", hex: "#2a9d8f" },
  { name: "purple", hex: "#7b5ea7" },
  { name: "red", hex: "#d1495b" },
  { name: "blue", hex: "#3d7dca" },
  { name: "green", hex: "#5c9e4a" },
  { name: "navy", hex: "#264653" },
  { name: "pink", hex: "#e07aa5" },
  { name: "mustard", hex: "#d9a520" },
  { name: "grey", hex: "#6c757d" },
];
const PASTELS: readonly { name: string; hex: string }[] = [
  { name: "pale blue", hex: "#dbeafe" },
  { name: "pale yellow", hex: "#fef3c7" },
  { name: "pale green", hex: "#dcfce7" },
  { name: "pale pink", hex: "#fce7f3" },
  { name: "pale violet", hex: "#ede9fe" },
  { name: "light grey", hex: "#e5e7eb" },
];

// ---------------------------------------------------------------------------------------------
// Manifest types (the shape other code reads).

export interface ManifestSource {
  name: string;
  license: string;
  attribution: string;
  package: string;
}
export interface ManifestImage {
  id: string;
  file: string;
  caption: string;
  group: string;
  source: Vendor;
  variant: Variant;
}
export interface Manifest {
  name: string;
  generator: string;
  description: string;
  sources: ManifestSource[];
  images: ManifestImage[];
}
type Variant = "original" | "meme" | "crop" | "mirror" | "recolor" | "canvas" | "distractor";
const VARIANT_ORDER: readonly Variant[] = ["original", "meme", "crop", "mirror", "recolor", "canvas", "distractor"];

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers.

/** FNV-1a, 32 bit: stable per-concept "randomness" without any RNG state. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
function pick(seed: string, n: number): number {
  return hash32(seed) % n;
}
function slug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}
function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}
function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Advance widths (in em) of DejaVu Sans Bold, measured once; used to fit captions to a width. */
const ADVANCE_EM: Record<string, number> = {
  A: 0.77, B: 0.76, C: 0.73, D: 0.83, E: 0.68, F: 0.68, G: 0.82, H: 0.84, I: 0.37, J: 0.37, K: 0.78,
  L: 0.64, M: 1.0, N: 0.84, O: 0.85, P: 0.73, Q: 0.85, R: 0.77, S: 0.68, T: 0.7, U: 0.81, V: 0.77,
  W: 1.1, X: 0.77, Y: 0.72, Z: 0.73, " ": 0.35, ".": 0.38, ",": 0.38, "!": 0.46, "?": 0.58, "'": 0.31,
  "-": 0.42, ":": 0.4, "&": 0.87, "%": 1.0, "#": 0.84, "@": 1.0, "/": 0.37, "+": 0.84, "=": 0.84,
  "(": 0.46, ")": 0.46, '"': 0.52,
};
function textWidthEm(s: string): number {
  let w = 0;
  for (const ch of s) w += ADVANCE_EM[ch] ?? (/[0-9]/.test(ch) ? 0.7 : 0.72);
  return w;
}

interface CaptionLine {
  text: string;
  /** "top" hangs from the top edge, "bottom" sits on the bottom edge. */
  at: "top" | "bottom";
}

/** Classic meme lettering: bold white, black outline, centred; font size fitted to the width. */
function captionSvg(width: number, height: number, lines: CaptionLine[], maxSize: number): Buffer {
  const margin = Math.round(width * 0.05);
  const parts = lines.map(({ text, at }) => {
    const size = Math.max(10, Math.min(maxSize, Math.floor((width - 2 * margin) / textWidthEm(text))));
    const stroke = Math.max(2, Math.round(size / 9));
    // DejaVu cap height is ~0.73 em; keep the outline inside the canvas.
    const y = at === "top" ? Math.round(margin * 0.6 + stroke + 0.73 * size) : Math.round(height - margin * 0.6 - stroke);
    return (
      `<text x="${width / 2}" y="${y}" font-size="${size}" stroke-width="${stroke}">${xmlEscape(text)}</text>`
    );
  });
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<g font-family="${FONT}" font-weight="bold" text-anchor="middle" fill="#ffffff" stroke="#000000" ` +
    `stroke-linejoin="round" paint-order="stroke fill">${parts.join("")}</g></svg>`;
  return Buffer.from(svg);
}

/** Free-floating coloured text (doge style), for the query image. */
function wordsSvg(width: number, height: number, words: { text: string; x: number; y: number; size: number; color: string; rotate: number }[]): Buffer {
  const parts = words.map(
    (w) =>
      `<text x="${w.x}" y="${w.y}" font-size="${w.size}" fill="${w.color}" transform="rotate(${w.rotate} ${w.x} ${w.y})">${xmlEscape(w.text)}</text>`,
  );
  return Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<g font-family="${FONT}" font-weight="bold" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke fill">` +
      `${parts.join("")}</g></svg>`,
  );
}

const PNG_OPTIONS = { compressionLevel: 9, adaptiveFiltering: true } as const;

// ---------------------------------------------------------------------------------------------
// Emoji sources.

interface EmojiRow {
  name: string;
  unified: string;
  image: string;
  short_names: string[];
  has_img_google: boolean;
  has_img_twitter: boolean;
}

interface EmojiPackages {
  versions: Record<Vendor, string>;
  rows: Map<string, EmojiRow>;
  file(vendor: Vendor, row: EmojiRow): string;
}

function loadEmojiPackages(): EmojiPackages {
  const require = createRequire(import.meta.url);
  const dirs = {} as Record<Vendor, string>;
  const versions = {} as Record<Vendor, string>;
  for (const v of VENDORS) {
    let pkgJson: string;
    try {
      pkgJson = require.resolve(`emoji-datasource-${v}/package.json`);
    } catch {
      throw new Error(`emoji-datasource-${v} is not installed (it is a devDependency): run "npm install" first`);
    }
    dirs[v] = path.dirname(pkgJson);
    versions[v] = (JSON.parse(fs.readFileSync(pkgJson, "utf8")) as { version: string }).version;
  }
  const list = JSON.parse(fs.readFileSync(path.join(dirs.google, "emoji.json"), "utf8")) as EmojiRow[];
  const rows = new Map<string, EmojiRow>();
  for (const row of list) for (const s of row.short_names) if (!rows.has(s)) rows.set(s, row);
  return {
    versions,
    rows,
    file: (vendor, row) => path.join(dirs[vendor], "img", vendor, "64", row.image),
  };
}

function lookup(pkgs: EmojiPackages, short: string): EmojiRow {
  const row = pkgs.rows.get(short);
  if (!row) throw new Error(`emoji "${short}" is not in emoji.json (emoji-datasource ${pkgs.versions.google})`);
  if (!row.has_img_google || !row.has_img_twitter) throw new Error(`emoji "${short}" lacks a Google or Twitter image`);
  for (const v of VENDORS) {
    if (!fs.existsSync(pkgs.file(v, row))) throw new Error(`missing image ${pkgs.file(v, row)}`);
  }
  return row;
}

/** The 64 px drawing upscaled to `size` px (transparent background). */
async function emojiLayer(src: string, size: number, opts: { flop?: boolean; hue?: number; rotate?: number } = {}): Promise<Buffer> {
  let img = sharp(src).resize(size, size, { kernel: "lanczos3" });
  if (opts.flop) img = img.flop();
  if (opts.hue) img = img.modulate({ hue: opts.hue });
  const layer = await img.png().toBuffer();
  // sharp rotates before resizing within one pipeline; rotate the upscaled layer instead.
  if (!opts.rotate) return layer;
  return sharp(layer).rotate(opts.rotate, { background: { r: 0, g: 0, b: 0, alpha: 0 } }).png().toBuffer();
}

function canvas(width: number, height: number, background: string | { r: number; g: number; b: number }) {
  return sharp({ create: { width, height, channels: 3, background } });
}

// ---------------------------------------------------------------------------------------------
// Dataset items.

interface Item {
  meta: ManifestImage;
  render: () => Promise<Buffer>;
}

function conceptItems(pkgs: EmojiPackages, def: ConceptDef, index: number): Item[] {
  const row = lookup(pkgs, def.short);
  const group = slug(def.label);
  const name = lowerFirst(def.label);
  const items: Item[] = [];
  const add = (vendor: Vendor, variant: Variant, caption: string, render: (src: string) => Promise<Buffer>) => {
    const id = variant === "original" ? `${group}--${vendor}` : `${group}--${vendor}-${variant}`;
    const src = pkgs.file(vendor, row);
    items.push({
      meta: { id, file: `images/${id}.png`, caption, group, source: vendor, variant },
      render: () => render(src),
    });
  };

  // 1–2. The two vendors' drawings of the same concept: the "variant" case.
  for (const vendor of VENDORS) {
    add(vendor, "original", `${def.label} (${VENDOR_LABEL[vendor]})`, async (src) =>
      canvas(192, 192, WHITE).composite([{ input: await emojiLayer(src, 160), left: 16, top: 16 }]).png(PNG_OPTIONS).toBuffer(),
    );
  }

  // Derived near-duplicates: a gets meme + recolour, b gets crop + mirror + canvas; a alternates
  // per concept so both vendors' drawings get memed.
  const a: Vendor = index % 2 === 0 ? "google" : "twitter";
  const b: Vendor = a === "google" ? "twitter" : "google";

  // 3. Meme: coloured panel, caption on top and bottom.
  const panel = PANELS[pick(`${group}/panel`, PANELS.length)];
  add(a, "meme", `Meme: ${name} (${VENDOR_LABEL[a]}) on ${withArticle(panel.name)} panel, captioned "${def.top} / ${def.bottom}"`, async (src) =>
    canvas(240, 240, panel.hex)
      .composite([
        { input: await emojiLayer(src, 150), left: 45, top: 45 },
        { input: captionSvg(240, 240, [{ text: def.top, at: "top" }, { text: def.bottom, at: "bottom" }], 28), left: 0, top: 0 },
      ])
      .png(PNG_OPTIONS)
      .toBuffer(),
  );

  // 4. Crop/zoom: a 176 px window into the drawing blown up to 288 px.
  const cx = 24 + pick(`${group}/cx`, 65);
  const cy = 24 + pick(`${group}/cy`, 65);
  add(b, "crop", `Close-up crop of the ${name} (${VENDOR_LABEL[b]})`, async (src) =>
    sharp(src)
      .resize(288, 288, { kernel: "lanczos3" })
      .flatten({ background: WHITE })
      .extract({ left: cx, top: cy, width: 176, height: 176 })
      .png(PNG_OPTIONS)
      .toBuffer(),
  );

  // 5. Mirror image, slightly smaller and off-centre.
  const mx = 14 + pick(`${group}/mx`, 29);
  const my = 14 + pick(`${group}/my`, 29);
  add(b, "mirror", `Mirrored ${name} (${VENDOR_LABEL[b]})`, async (src) =>
    canvas(208, 208, WHITE).composite([{ input: await emojiLayer(src, 152, { flop: true }), left: mx, top: my }]).png(PNG_OPTIONS).toBuffer(),
  );

  // 6. Recolour: hue rotated by 90–270 degrees.
  const hue = 90 + 15 * pick(`${group}/hue`, 13);
  add(a, "recolor", `${def.label} with its colours hue-shifted by ${hue} degrees (${VENDOR_LABEL[a]})`, async (src) =>
    canvas(192, 192, "#f5f5f5").composite([{ input: await emojiLayer(src, 160, { hue }), left: 16, top: 16 }]).png(PNG_OPTIONS).toBuffer(),
  );

  // 7. Different canvas: wide or tall, pastel background, drawing pushed to one side.
  const pastel = PASTELS[pick(`${group}/pastel`, PASTELS.length)];
  const wide = pick(`${group}/wide`, 2) === 0;
  const first = pick(`${group}/side`, 2) === 0;
  const [w, h] = wide ? [256, 160] : [160, 240];
  const size = wide ? 128 : 120;
  const left = wide ? (first ? 20 : w - size - 20) : Math.round((w - size) / 2);
  const top = wide ? Math.round((h - size) / 2) : first ? 18 : h - size - 18;
  const where = wide ? (first ? "left" : "right") : first ? "top" : "bottom";
  add(b, "canvas", `${def.label} at the ${where} of a ${wide ? "wide" : "tall"} ${w}×${h} ${pastel.name} canvas (${VENDOR_LABEL[b]})`, async (src) =>
    canvas(w, h, pastel.hex).composite([{ input: await emojiLayer(src, size), left, top }]).png(PNG_OPTIONS).toBuffer(),
  );

  return items;
}

function distractorItems(pkgs: EmojiPackages, def: { short: string; label: string }, index: number): Item[] {
  const row = lookup(pkgs, def.short);
  const group = slug(def.label);
  const vendor: Vendor = index % 2 === 0 ? "twitter" : "google";
  const id = `${group}--${vendor}`;
  const src = pkgs.file(vendor, row);
  return [
    {
      meta: { id, file: `images/${id}.png`, caption: `${def.label} (${VENDOR_LABEL[vendor]})`, group, source: vendor, variant: "distractor" },
      render: async () =>
        canvas(192, 192, WHITE).composite([{ input: await emojiLayer(src, 160), left: 16, top: 16 }]).png(PNG_OPTIONS).toBuffer(),
    },
  ];
}

function buildItems(pkgs: EmojiPackages): Item[] {
  const items = [
    ...CONCEPTS.flatMap((c, i) => conceptItems(pkgs, c, i)),
    ...DISTRACTORS.flatMap((d, i) => distractorItems(pkgs, d, i)),
  ];
  items.sort((x, y) => (x.meta.id < y.meta.id ? -1 : x.meta.id > y.meta.id ? 1 : 0));
  const ids = new Set<string>();
  const groups = new Set(CONCEPTS.map((c) => slug(c.label)));
  for (const d of DISTRACTORS) {
    if (groups.has(slug(d.label))) throw new Error(`distractor "${d.label}" collides with a concept group`);
  }
  for (const it of items) {
    if (!/^[a-z0-9]+(?:-[a-z0-9]+)*(?:--[a-z0-9]+(?:-[a-z0-9]+)*)?$/.test(it.meta.id)) throw new Error(`id not URL-safe: ${it.meta.id}`);
    if (ids.has(it.meta.id)) throw new Error(`duplicate id ${it.meta.id}`);
    ids.add(it.meta.id);
  }
  return items;
}

function sources(pkgs: EmojiPackages): ManifestSource[] {
  return [
    {
      name: "Noto Emoji (Google)",
      license: "Apache-2.0",
      attribution:
        "Emoji artwork from Noto Emoji by Google, licensed under the Apache License 2.0 (https://github.com/googlefonts/noto-emoji/blob/main/LICENSE); " +
        "redistributed via the emoji-datasource-google package and modified (scaled, cropped, mirrored, recoloured, captioned) by make-demo-dataset.",
      package: `emoji-datasource-google@${pkgs.versions.google}`,
    },
    {
      name: "Twemoji (Twitter)",
      license: "CC-BY-4.0",
      attribution:
        "Emoji graphics from Twemoji, Copyright Twitter, Inc and other contributors, licensed under CC-BY 4.0 " +
        "(https://creativecommons.org/licenses/by/4.0/); redistributed via the emoji-datasource-twitter package " +
        "and modified (scaled, cropped, mirrored, recoloured, captioned) by make-demo-dataset.",
      package: `emoji-datasource-twitter@${pkgs.versions.twitter}`,
    },
  ];
}

const DESCRIPTION =
  "Small meme-like images made from emoji drawings. Each group is one concept (e.g. dog-face): " +
  "the Google (Noto) and Twitter (Twemoji) drawings of it plus near-duplicates of one of them " +
  "(captioned meme, close crop, mirror, hue shift, different canvas). A few single-image distractors have no partner. " +
  "Made by scripts/make-demo-dataset.ts; deterministic.";

// ---------------------------------------------------------------------------------------------
// README (generated so the counts never drift).

function readme(manifest: Manifest): string {
  const byVariant = new Map<string, number>();
  const bySource = new Map<string, number>();
  for (const im of manifest.images) {
    byVariant.set(im.variant, (byVariant.get(im.variant) ?? 0) + 1);
    bySource.set(im.source, (bySource.get(im.source) ?? 0) + 1);
  }
  const groups = new Set(manifest.images.map((i) => i.group)).size;
  const what: Record<Variant, string> = {
    original: "the emoji drawing, upscaled to 160 px on a white 192×192 canvas (one per vendor)",
    meme: "240×240 coloured panel, drawing in the middle, caption top and bottom in bold white DejaVu Sans with a black outline",
    crop: "176×176 window cut from the drawing blown up to 288 px (a zoom)",
    mirror: "horizontally mirrored drawing, slightly smaller and off-centre on 208×208 white",
    recolor: "drawing with its hue rotated by 90–270° on light grey",
    canvas: "a wide (256×160) or tall (160×240) pastel canvas with the drawing pushed to one side",
    distractor: "a plain drawing of an emoji that no other image shares a group with",
  };
  const variantRows = VARIANT_ORDER.filter((v) => byVariant.has(v))
    .map((v) => `| \`${v}\` | ${byVariant.get(v)} | ${what[v]} |`)
    .join("\n");
  const [google, twitter] = manifest.sources;
  return `# emoji-memes — demo dataset

A small, meme-like image collection for the demo post (a Doge and a Buff Doge query compared across
image encoders). It is made from emoji drawings so that it can be regenerated offline, from
packages the project already installs, with licences that allow redistribution.

- **${manifest.images.length} images** in **${groups} groups**. A group is one concept (\`dog-face\`,
  \`pizza-slice\`, …): the Google and the Twitter drawing of that emoji — the same idea drawn by
  two artists — and five near-duplicates of one of them, the way memes get re-posted: captioned,
  cropped, mirrored, recoloured, re-framed. ${byVariant.get("distractor") ?? 0} distractors are
  groups of one.
- Images by source: ${bySource.get("google") ?? 0} from Google drawings, ${bySource.get("twitter") ?? 0} from Twitter drawings.
- Two images are relevant to each other when they share \`group\`; that is the label the
  evaluation (precision@k, recall@k, mAP) uses.

| variant | images | what it is |
| --- | ---: | --- |
${variantRows}

## Files

- \`manifest.json\` — \`{ name, generator, description, sources[], images[] }\`; each image has
  \`id\`, \`file\`, \`caption\` (used as alt text), \`group\`, \`source\` (\`google\` | \`twitter\`) and
  \`variant\`; images are sorted by \`id\`.
- \`images/*.png\` — the images, byte-for-byte reproducible.

Both are generated, not committed (see \`.gitignore\`). \`npm run build\` and \`npm start\` create
them on first use (\`tsx scripts/make-demo-dataset.ts --if-missing\`, which returns at once when
the manifest is present and was written by the current generator version, \`${manifest.generator}\`).
\`npm run dataset\` regenerates everything. The script writes into a staging folder and moves the
result into place, the manifest last, so an interrupted run never leaves a half-written dataset.
Captions are the project's own words, rendered through an SVG overlay with sharp.

## Licences and attribution

The images are derivative works of the emoji artwork below (scaled, cropped, mirrored,
recoloured, captioned). Each image carries the licence of the drawing it was made from — the
\`source\` field of its manifest entry says which.

- **Noto Emoji by Google** (\`source: "google"\`, package \`${google.package}\`) — Apache License 2.0,
  https://github.com/googlefonts/noto-emoji/blob/main/LICENSE.
- **Twemoji by Twitter, Inc and other contributors** (\`source: "twitter"\`, package
  \`${twitter.package}\`) — Creative Commons Attribution 4.0 International (CC-BY 4.0),
  https://creativecommons.org/licenses/by/4.0/. Graphics from the Twemoji project
  (https://github.com/jdecked/twemoji), changed as described above.

No Apple or Facebook emoji images are used. The caption text and the generator are part of this
project.

This README is written by the generator as well (so the counts stay true): change \`readme()\` in
\`scripts/make-demo-dataset.ts\` rather than this file.
`;
}

const INPUTS_ATTRIBUTION = `# Query images — sources and licences

Both images are generated by \`scripts/make-demo-dataset.ts\` (committed so the post does not depend
on running it) and are derivative works of Noto Emoji artwork by Google, licensed under the Apache
License 2.0 (https://github.com/googlefonts/noto-emoji/blob/main/LICENSE), taken from the
\`emoji-datasource-google\` package.

- \`doge.png\` — the Noto "dog face" emoji (U+1F436), scaled up, tilted a little and framed like a
  photo on a plain background, with a few words in the doge style. Not identical to any image in
  the emoji-memes dataset.
- \`buff-doge.png\` — the Noto "dog face" (U+1F436) on top of two Noto "flexed biceps" (U+1F4AA,
  one mirrored), on a coloured panel with a top and bottom caption.

The captions are this project's own words. The changes (scaling, rotation, mirroring, framing,
text) were made by the generator script.
`;

// ---------------------------------------------------------------------------------------------
// Query images for the demo post.

async function queryImages(pkgs: EmojiPackages): Promise<Map<string, Buffer>> {
  const dog = pkgs.file("google", lookup(pkgs, "dog"));
  const arm = pkgs.file("google", lookup(pkgs, "muscle"));
  const out = new Map<string, Buffer>();

  // Doge: tilted dog face on a plain warm background inside a dark photo frame.
  {
    const W = 288;
    const face = await emojiLayer(dog, 196, { rotate: -14 });
    const faceMeta = await sharp(face).metadata();
    const fw = faceMeta.width ?? 196;
    const fh = faceMeta.height ?? 196;
    const photo = await canvas(W - 24, W - 24, "#efe3c8")
      .composite([
        { input: face, left: Math.round((W - 24 - fw) / 2) + 6, top: Math.round((W - 24 - fh) / 2) + 14 },
        {
          input: wordsSvg(W - 24, W - 24, [
            { text: "wow", x: 22, y: 38, size: 22, color: "#d1495b", rotate: -6 },
            { text: "such query", x: 128, y: 30, size: 18, color: "#3d7dca", rotate: 4 },
          ]),
          left: 0,
          top: 0,
        },
      ])
      .png()
      .toBuffer();
    out.set(
      "doge.png",
      await canvas(W, W, "#2b2b2b")
        .composite([{ input: photo, left: 12, top: 12 }])
        .png({ ...PNG_OPTIONS, palette: true, colours: 128, dither: 0 })
        .toBuffer(),
    );
  }

  // Buff doge: dog face over two flexed arms (one mirrored), meme captions.
  {
    const W = 288;
    const left = await emojiLayer(arm, 128, { flop: true });
    const right = await emojiLayer(arm, 128);
    const head = await emojiLayer(dog, 132);
    out.set(
      "buff-doge.png",
      await canvas(W, W, "#3d7dca")
        .composite([
          { input: left, left: 10, top: 120 },
          { input: right, left: W - 128 - 10, top: 120 },
          { input: head, left: Math.round((W - 132) / 2), top: 62 },
          { input: captionSvg(W, W, [{ text: "SUCH MUSCLE", at: "top" }, { text: "VERY GAINS", at: "bottom" }], 32), left: 0, top: 0 },
        ])
        .png({ ...PNG_OPTIONS, palette: true, colours: 128, dither: 0 })
        .toBuffer(),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// File system: atomic writes, staging, swap.

function writeIfChanged(file: string, data: Buffer | string): boolean {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  try {
    if (fs.readFileSync(file).equals(buf)) return false;
  } catch {
    /* missing: write it */
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomicSync(file, buf);
  return true;
}

async function runPool<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}

/** Is the dataset in outDir complete and made by this generator version? */
function upToDate(outDir: string): Manifest | null {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(outDir, "manifest.json"), "utf8")) as Manifest;
    if (m.generator !== GENERATOR || !Array.isArray(m.images)) return null;
    for (const im of m.images) if (!fs.existsSync(path.join(outDir, im.file))) return null;
    return m;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// CLI.

interface Options {
  ifMissing: boolean;
  out: string;
  inputs: string | null;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { ifMissing: false, out: DEFAULT_OUT, inputs: DEFAULT_INPUTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (!v) throw new UsageError(`${flag} needs a directory`);
      return path.resolve(v);
    };
    if (flag === "--if-missing") opts.ifMissing = true;
    else if (flag === "--out") opts.out = value();
    else if (flag === "--inputs") opts.inputs = value();
    else if (flag === "--no-inputs") opts.inputs = null;
    else if (flag === "--help" || flag === "-h") {
      process.stdout.write(
        "usage: tsx scripts/make-demo-dataset.ts [--if-missing] [--out <dir>] [--inputs <dir> | --no-inputs]\n" +
          `  --out      dataset folder (default ${path.relative(process.cwd(), DEFAULT_OUT) || "."})\n` +
          `  --inputs   where the demo post's query images go (default ${path.relative(process.cwd(), DEFAULT_INPUTS)})\n` +
          "  --if-missing  do nothing when the dataset is complete and made by this generator version\n",
      );
      process.exit(0);
    } else throw new UsageError(`unknown argument "${arg}" (try --help)`);
  }
  return opts;
}

class UsageError extends Error {}

async function writeInputs(pkgs: EmojiPackages, dir: string, onlyMissing: boolean): Promise<number> {
  const names = ["doge.png", "buff-doge.png", "ATTRIBUTION.md"];
  if (onlyMissing && names.every((n) => fs.existsSync(path.join(dir, n)))) return 0;
  let written = 0;
  for (const [name, buf] of await queryImages(pkgs)) if (writeIfChanged(path.join(dir, name), buf)) written++;
  if (writeIfChanged(path.join(dir, "ATTRIBUTION.md"), INPUTS_ATTRIBUTION)) written++;
  return written;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const opts = parseArgs(process.argv.slice(2));
  const rel = (p: string) => path.relative(process.cwd(), p) || ".";

  if (opts.ifMissing) {
    const existing = upToDate(opts.out);
    if (existing) {
      // The query images are committed; recreate them only if someone deleted them.
      if (opts.inputs && ["doge.png", "buff-doge.png"].some((n) => !fs.existsSync(path.join(opts.inputs!, n)))) {
        await writeInputs(loadEmojiPackages(), opts.inputs, true);
      }
      const groups = new Set(existing.images.map((i) => i.group)).size;
      console.log(`make-demo-dataset: ${rel(opts.out)} is up to date (${existing.images.length} images, ${groups} groups, ${GENERATOR})`);
      return;
    }
  }

  const pkgs = loadEmojiPackages();
  const items = buildItems(pkgs);

  fs.mkdirSync(opts.out, { recursive: true });
  removeDeadLeftovers(opts.out, /^\.(?:staging|old-images)-(\d+)$/);
  const staging = path.join(opts.out, `.staging-${process.pid}`);
  const oldImages = path.join(opts.out, `.old-images-${process.pid}`);
  const cleanup = () => {
    fs.rmSync(staging, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(path.join(staging, "images"), { recursive: true });

    await runPool(
      items.map((it) => async () => {
        fs.writeFileSync(path.join(staging, it.meta.file), await it.render());
      }),
      8,
    );

    const manifest: Manifest = {
      name: DATASET_NAME,
      generator: GENERATOR,
      description: DESCRIPTION,
      sources: sources(pkgs),
      images: items.map((i) => i.meta),
    };
    fs.writeFileSync(path.join(staging, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");

    // Swap in: invalidate the old dataset first, move the images, then the manifest (the marker).
    fs.rmSync(path.join(opts.out, "manifest.json"), { force: true });
    const imagesDir = path.join(opts.out, "images");
    if (fs.existsSync(imagesDir)) fs.renameSync(imagesDir, oldImages);
    fs.renameSync(path.join(staging, "images"), imagesDir);
    writeIfChanged(path.join(opts.out, "README.md"), readme(manifest));
    fs.renameSync(path.join(staging, "manifest.json"), path.join(opts.out, "manifest.json"));
    fs.rmSync(oldImages, { recursive: true, force: true });

    if (opts.inputs) await writeInputs(pkgs, opts.inputs, false);

    const groups = new Set(manifest.images.map((i) => i.group)).size;
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`make-demo-dataset: wrote ${manifest.images.length} images in ${groups} groups to ${rel(opts.out)} in ${secs} s (${GENERATOR})`);
  } finally {
    cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

// Run only when executed directly, so tests can import the types and GENERATOR_VERSION.
const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main().catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    console.error(`make-demo-dataset: ${msg}`);
    process.exit(err instanceof UsageError ? 2 : 1);
  });
}
