// The results montage and the query thumbnail, drawn in a canvas the way compose/montage-writer.ts
// draws them with sharp at build time: square tiles, image contained on white, 8 px gaps.
import type { WrittenImage } from "../render/result-images.ts";

const GAP = 8;
const SCALE = 2;

function containIn(
  context: OffscreenCanvasRenderingContext2D,
  source: CanvasImageSource & { width: number; height: number },
  left: number,
  size: number,
): void {
  const ratio = Math.min(size / source.width, size / source.height);
  const width = Math.max(1, Math.round(source.width * ratio));
  const height = Math.max(1, Math.round(source.height * ratio));
  context.drawImage(source, left + Math.floor((size - width) / 2), Math.floor((size - height) / 2), width, height);
}

async function asImage(canvas: OffscreenCanvas, width: number, height: number): Promise<WrittenImage> {
  const url = URL.createObjectURL(await canvas.convertToBlob({ type: "image/png" }));
  return { name: url, name2x: url, width, height };
}

async function draw(sources: Array<CanvasImageSource & { width: number; height: number }>, tile: number): Promise<WrittenImage> {
  const width = sources.length * tile + (sources.length - 1) * GAP;
  const canvas = new OffscreenCanvas(width * SCALE, tile * SCALE);
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  sources.forEach((source, i) => containIn(context, source, i * (tile + GAP) * SCALE, tile * SCALE));
  return asImage(canvas, width, tile);
}

export function thumbnail(bitmap: ImageBitmap, tile: number): Promise<WrittenImage> {
  return draw([bitmap], tile);
}

/** Same-origin tile images (the build's 2× thumbnails), side by side. */
export async function montage(urls: readonly string[], tile: number): Promise<WrittenImage> {
  const images = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return createImageBitmap(await response.blob());
    }),
  );
  return draw(images, tile);
}
