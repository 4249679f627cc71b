// One wording for an image refused for its pixel count, whichever decoder refused it: sharp's own error ("Input
// image exceeds pixel limit") names neither the file nor the option that sets the limit, so nobody could act on it.

/** The reason alone, as a skip list shows it beside the file. */
export const PIXEL_LIMIT_REASON = "image is larger than the pixel limit (limitInputPixels)";

/** An image with more pixels than the limitInputPixels option allows; the message names the file and the option. */
export class PixelLimitError extends Error {
  /** The file (or URL) refused. */
  readonly file: string;
  /** The limit it broke, in pixels. */
  readonly limit: number;
  /** The message without the file, for lines that name it already. */
  readonly reason: string;

  constructor(file: string, limit: number, options?: { cause?: unknown }) {
    const reason =
      `${PIXEL_LIMIT_REASON}: it has more than ${limit.toLocaleString("en")} pixels; ` +
      `raise the plugin option embedding.limitInputPixels to read it`;
    super(`${file}: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PixelLimitError";
    this.file = file;
    this.limit = limit;
    this.reason = reason;
  }
}

/** True for sharp's refusal of an image over its limitInputPixels (and for a PixelLimitError). */
export function isPixelLimitRefusal(error: unknown): boolean {
  return error instanceof PixelLimitError || (error instanceof Error && /exceeds pixel limit/i.test(error.message));
}

/**
 * Runs `decode`, a sharp pipeline over `file` opened with `limitInputPixels: limit`; sharp's refusal comes out as a
 * PixelLimitError, every other failure unchanged.
 */
export async function decodeWithinLimit<T>(file: string, limit: number, decode: () => Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (error) {
    if (error instanceof PixelLimitError || !isPixelLimitRefusal(error)) throw error;
    throw new PixelLimitError(file, limit, { cause: error });
  }
}
