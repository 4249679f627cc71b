// A reader's image file → full-size RGB pixels, decoded by the browser and composited onto the
// encoder's background with the build's rule. Everything after this is the build's own code.
import { flattenRgba } from "../encoders/portable-resize.ts";
import type { RgbPixels } from "../encoders/preprocess-core.ts";
import type { RGB } from "../encoders/spec.ts";

export class ImageRefusedError extends Error {}

export async function decodeImage(file: Blob, background: RGB, limitInputPixels: number): Promise<{ pixels: RgbPixels; bitmap: ImageBitmap }> {
  let bitmap: ImageBitmap;
  try {
    // Straight alpha and no colour-space tricks: the same pixels sharp sees.
    bitmap = await createImageBitmap(file, { premultiplyAlpha: "none", colorSpaceConversion: "default", imageOrientation: "from-image" });
  } catch (error) {
    throw new ImageRefusedError("this browser cannot decode it as an image", { cause: error });
  }
  const { width, height } = bitmap;
  if (width * height > limitInputPixels) {
    throw new ImageRefusedError(`it has ${width}×${height} pixels, more than the ${limitInputPixels.toLocaleString("en")} this page accepts`);
  }
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext("2d", { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data;
  return { pixels: flattenRgba(rgba, width, height, background), bitmap };
}
