// The encoders the plugin knows by id. Built-ins need no download; users add their own
// EncoderSpec entries through the plugin's `customEncoders` option.
import type { EncoderSpec, PreprocessSpec } from "./spec.ts";

const WHITE = [255, 255, 255] as const;

/** Plain 0..1 pixels squashed to a fixed square, the input of the built-in graphs. */
function squashedPixels(size: number): PreprocessSpec {
  return {
    resizeMode: "stretch",
    resizeTo: size,
    interpolation: "bilinear",
    cropWidth: size,
    cropHeight: size,
    rescale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "NCHW",
    background: WHITE,
  };
}

export const BUILTIN_ENCODERS: readonly EncoderSpec[] = [
  {
    id: "pixels",
    label: "pixels (16×16 thumbnail)",
    source: { kind: "builtin", graph: "pixels" },
    inputName: "pixel_values",
    outputName: "embedding",
    dim: 768,
    preprocess: squashedPixels(16),
    license: "Built into encoder-compare (MIT); no weights.",
    description: "Raw colour layout: the image shrunk to 16×16 RGB, mean-centred and normalised. Finds images that look alike pixel by pixel.",
  },
  {
    id: "phash",
    label: "phash (64-bit DCT hash)",
    source: { kind: "builtin", graph: "phash" },
    inputName: "pixel_values",
    outputName: "embedding",
    dim: 64,
    preprocess: squashedPixels(32),
    license: "Built into encoder-compare (MIT); no weights.",
    description: "Perceptual hash: the sign pattern of the low-frequency DCT of a 32×32 grayscale image. Cosine = 1 − 2·hamming/64; robust to small edits, blind to meaning.",
  },
];

export class EncoderRegistry {
  readonly #byId = new Map<string, EncoderSpec>();

  constructor(specs: readonly EncoderSpec[]) {
    for (const spec of specs) this.add(spec);
  }

  add(spec: EncoderSpec): void {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(spec.id)) {
      throw new Error(`encoder id "${spec.id}" must be lowercase letters, digits, ".", "_" or "-"`);
    }
    this.#byId.set(spec.id, spec);
  }

  ids(): string[] {
    return [...this.#byId.keys()];
  }

  get(id: string): EncoderSpec {
    const spec = this.#byId.get(id);
    if (!spec) throw new Error(`unknown encoder "${id}"; known encoders: ${this.ids().join(", ")}`);
    return spec;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }
}
