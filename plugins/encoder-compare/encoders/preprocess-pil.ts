// Decoding as the 2021 Jina flows decoded: Pillow's Image.open(src).convert("RGB"). Unlike the
// plugin's usual decoding it applies no EXIF orientation, ignores embedded ICC profiles and drops
// alpha without compositing (the RGB stored under a transparent pixel is what the model sees).
// Two conversions of Pillow 8 (unchanged through 9.x) differ from libvips and are redone here:
// CMYK → RGB by its naive formula, and 16-bit greyscale ("I" mode) clipped to 0..255; and where
// libvips hands transparent GIF pixels over as black, Pillow showed the palette colour of the
// transparent index.
import type { OutputInfo, Sharp } from "sharp";
import type { RgbPixels } from "./preprocess-core.ts";

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A decoded image and how to read any region of it as 8-bit RGB. */
export interface PixelSource {
  width: number;
  height: number;
  read(region?: Region): Promise<RgbPixels>;
}

/** Formats Pillow 8 opened that libvips also reads; others (SVG, AVIF, HEIF, PDF…) Pillow could not open. */
const PILLOW_FORMATS = new Set(["jpeg", "png", "gif", "webp", "tiff"]);

function refuse(what: string): never {
  throw new Error(`${what}; the 2021 presets decode as Pillow 8's convert('RGB') did, so they refuse it (use another encoder, or convert the file)`);
}

/** Pillow's MULDIV255: a·b/255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** Pillow's cmyk2rgb: nk = 255 − K, channel = nk − C·nk/255 (no colour management). */
function cmykToRgbPillow(cmyk: Uint8Array, width: number, height: number): RgbPixels {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < data.length; p += 4, q += 3) {
    const nk = 255 - cmyk[p + 3];
    for (let c = 0; c < 3; c++) data[q + c] = Math.max(0, nk - mulDiv255(cmyk[p + c], nk));
  }
  return { width, height, data };
}

/** Pillow's i2rgb on a 16-bit greyscale image: values clipped to 0..255, not scaled (most become white). */
function grey16ToRgbPillow(grey: Uint16Array, width: number, height: number): RgbPixels {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < grey.length; p++) data[p * 3] = data[p * 3 + 1] = data[p * 3 + 2] = Math.min(255, grey[p]);
  return { width, height, data };
}

/**
 * The palette colour of the first frame's transparent index in a GIF, what Pillow's P → RGB shows
 * for its transparent pixels; undefined when the first frame has no transparency.
 */
function gifTransparentColour(gif: Uint8Array): [number, number, number] | undefined {
  const table = (at: number, flags: number) => ({ at, size: flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0 });
  const global = table(13, gif[10]);
  let at = 13 + global.size;
  let transparent: number | undefined;
  while (at < gif.length) {
    if (gif[at] === 0x21) {
      if (gif[at + 1] === 0xf9 && gif[at + 2] >= 4) transparent = gif[at + 3] & 1 ? gif[at + 6] : undefined;
      at += 2;
      while (at < gif.length && gif[at] !== 0) at += gif[at] + 1;
      at += 1;
    } else if (gif[at] === 0x2c) {
      if (transparent === undefined) return undefined;
      const local = table(at + 10, gif[at + 9]);
      const palette = local.size ? local : global;
      const i = palette.at + transparent * 3;
      // An index past the table reads as black, as Pillow's zero-filled palette does.
      return i + 2 < palette.at + palette.size ? [gif[i], gif[i + 1], gif[i + 2]] : [0, 0, 0];
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** A PNG's colour type from its IHDR (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
function pngColourType(png: Uint8Array): number | undefined {
  return png.length > 25 ? png[25] : undefined;
}

async function rawOf(image: Sharp, region: Region | undefined, depth: "uchar" | "ushort") {
  return (region ? image.extract(region) : image).raw({ depth }).toBuffer({ resolveWithObject: true });
}

/** sharp's raw 8-bit output as RGB pixels; anything but three channels means the pipeline did not convert. */
export function rawResult(data: Buffer, info: OutputInfo): RgbPixels {
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** The image, or a region of it, as 8-bit RGB: the pipeline must end in three channels (alpha removed, sRGB). */
export async function readRgb(image: Sharp, region?: Region): Promise<RgbPixels> {
  const { data, info } = await rawOf(image, region, "uchar");
  return rawResult(data, info);
}

/**
 * The image as Pillow 8's Image.open(src).convert("RGB") saw it, stored orientation and all.
 * `open` makes a fresh sharp pipeline over the same input with ICC profiles ignored.
 */
export async function pillowSource(open: () => Sharp, bytes: () => Uint8Array): Promise<PixelSource> {
  const meta = await open().metadata();
  const { width, height, format, space, channels, depth } = meta;
  if (!width || !height) throw new Error("image has no dimensions");
  if (!format || !PILLOW_FORMATS.has(format)) refuse(`Pillow 8 could not open ${format ?? "this kind of"} images`);
  if (depth !== "uchar" && !(depth === "ushort" && format === "png")) {
    refuse(`a ${format} image with ${depth} samples: Pillow 8's reading is reproduced for 8-bit images and 16-bit PNGs only`);
  }
  if (space === "cmyk") {
    if (channels !== 4) refuse(`a CMYK image with ${channels} channels: only plain CMYK is reproduced`);
    const image = () => open().pipelineColourspace("cmyk").toColourspace("cmyk");
    return {
      width,
      height,
      async read(region) {
        const { data, info } = await rawOf(image(), region, "uchar");
        if (info.channels !== 4) throw new Error(`expected 4 CMYK channels, got ${info.channels}`);
        return cmykToRgbPillow(data, info.width, info.height);
      },
    };
  }
  // Greyscale without an alpha channel of its own (a tRNS colour key makes libvips add one; Pillow kept mode I).
  if (space === "grey16" && (channels === 1 || (format === "png" && pngColourType(bytes()) === 0))) {
    const image = () => open().removeAlpha().toColourspace("grey16");
    return {
      width,
      height,
      async read(region) {
        const { data, info } = await rawOf(image(), region, "ushort");
        if (info.channels !== 1) throw new Error(`expected 1 grey channel, got ${info.channels}`);
        const aligned = data.byteOffset % 2 === 0 ? data : Buffer.from(data);
        return grey16ToRgbPillow(new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2), info.width, info.height);
      },
    };
  }
  // 8-bit RGB, grey, palette (expanded) and 16-bit RGB or grey with alpha (high byte, as Pillow's
  // ";16B" raw modes read them): alpha removed, not composited; grey copied to the three channels.
  const keyed = format === "gif" && meta.hasAlpha ? gifTransparentColour(bytes()) : undefined;
  if (keyed) {
    const image = () => open().toColourspace("srgb").ensureAlpha();
    return {
      width,
      height,
      async read(region) {
        const { data, info } = await rawOf(image(), region, "uchar");
        if (info.channels !== 4) throw new Error(`expected 4 channels, got ${info.channels}`);
        const out = new Uint8Array(info.width * info.height * 3);
        for (let p = 0, q = 0; q < out.length; p += 4, q += 3) {
          const clear = data[p + 3] === 0;
          for (let c = 0; c < 3; c++) out[q + c] = clear ? keyed[c] : data[p + c];
        }
        return { width: info.width, height: info.height, data: out };
      },
    };
  }
  return { width, height, read: (region) => readRgb(open().removeAlpha().toColourspace("srgb"), region) };
}
