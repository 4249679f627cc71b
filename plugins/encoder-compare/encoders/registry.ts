// The encoders the plugin knows by id. Built-ins need no download; users add their own
// EncoderSpec entries through the plugin's `customEncoders` option.
import type { EncoderSpec, FirstPass, PreprocessSpec, RGB } from "./spec.ts";

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
    // Exact in the browser too (the "Try your own image" widget), where a libvips shrink is not to be had.
    portableResize: true,
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
    description:
      "Perceptual hash: the sign pattern of the low-frequency DCT of a 32×32 grayscale image. " +
      "Cosine = 1 − 2·hamming/64; robust to small edits, blind to meaning.",
  },
];

const CLIP_REVISION = "4c1807b705b1d015fb032789cc4d221b23025a6f";

/** Learned encoders: downloaded (CLIP) or converted from downloaded weights (BiT). */
export const MODEL_ENCODERS: readonly EncoderSpec[] = [
  {
    id: "clip-vit-b32",
    label: "CLIP ViT-B/32",
    source: {
      kind: "url",
      url: `https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/${CLIP_REVISION}/onnx/vision_model.onnx`,
      fileName: "vision_model.onnx",
      bytes: 351_685_709,
      sha256: "fd6e1402a588279d1723c7534d4bcba5bc0b14b47dfab0e46f8c47b8270d7d40",
    },
    inputName: "pixel_values",
    outputName: "image_embeds",
    dim: 512,
    preprocess: {
      resizeMode: "shortest-edge",
      resizeTo: 224,
      interpolation: "bicubic",
      cropWidth: 224,
      cropHeight: 224,
      rescale: 1 / 255,
      mean: [0.48145466, 0.4578275, 0.40821073],
      std: [0.26862954, 0.26130258, 0.27577711],
      layout: "NCHW",
      background: WHITE,
    },
    license: "OpenAI CLIP weights (MIT); ONNX export Xenova/clip-vit-base-patch32 (Transformers.js), revision " + CLIP_REVISION.slice(0, 7),
    description: "OpenAI's contrastive image-text model: the image tower's 512-d projection. Groups images by what they show.",
    standIn: "pixels",
  },
  {
    id: "bit-m-r50x1",
    label: "BiT-M R50x1",
    source: {
      kind: "converted",
      converter: "bit-resnetv2",
      weights: {
        url: "https://huggingface.co/timm/resnetv2_50x1_bit.goog_in21k/resolve/main/model.safetensors",
        fileName: "model.safetensors",
        // Unpinned (the lock file pins it); the real file is ~0.27 GB, so a reply past this is not it.
        maxBytes: 600_000_000,
      },
    },
    inputName: "pixel_values",
    outputName: "embedding",
    dim: 2048,
    // Cheapest per image at batch 1, fp32 and int8, as measured by `npm run bench -- --only=int8`.
    batchSize: 1,
    preprocess: {
      resizeMode: "shortest-edge",
      resizeTo: 256,
      interpolation: "bilinear",
      // timm evaluates BiT with torchvision's CenterCrop, which rounds the offset half to even.
      cropRounding: "half-even",
      cropWidth: 224,
      cropHeight: 224,
      rescale: 1 / 255,
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      layout: "NCHW",
      background: WHITE,
    },
    license:
      "Google Research Big Transfer BiT-M R50x1 (ImageNet-21k) weights, Apache-2.0; " +
      "timm resnetv2_50x1_bit.goog_in21k, converted to ONNX by encoder-compare",
    description: "Google's ResNetV2-50 trained on ImageNet-21k classes: the 2048-d pre-logits features. Sees textures and shapes more than meaning.",
    standIn: "phash",
  },
];

const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export type Flow2021 = "jul" | "sep";

/**
 * The two 2021 meme-search flows, read from their code. Which one produced the posts' figures
 * cannot be settled from the code alone (README, "The 2021 presets"), so both are offered.
 * - jul: alexcg1/jina-meme-search-image-backend @ d6e2bd1 (8 July 2021), its own ImageCrafter:
 *   shortest edge 512, centre 96×96, ImageNet mean/std; then Hub CLIPImageEncoder:v1. The BiT
 *   encoder line is commented out there.
 * - sep: jina-ai/example-meme-search @ 888ba18 (29 September 2021), Hub ImageNormalizer with
 *   target_size 96 (shortest edge 256 first), mean 0 / std 1; then Hub CLIPImageEncoder, or
 *   BigTransferEncoder on a commented-out line that names "Imagenet1k/R50x1" (BiT-S).
 * `handoff` per model: what its 2021 executor did with the crafter's floats. `runs` per model:
 * what our preset runs, where that differs from what the flow's code names (shown in the label).
 */
export const FLOWS_2021: Record<
  Flow2021,
  { name: string; pass: Omit<FirstPass, "handoff">; handoff: Record<string, FirstPass["handoff"]>; runs: Record<string, string> }
> = {
  jul: {
    name: "July",
    pass: { resizeTo: 512, crop: 96, mean: IMAGENET_MEAN, std: IMAGENET_STD },
    // CLIPImageEncoder cast the floats to uint8, then ran clip's own preprocess. That cast exists only
    // on the executor's unmerged branch feat-autoconversion-int (5288b40); its tagged and main versions
    // raised on a float array.
    handoff: { "clip-vit-b32": "uint8", "bit-m-r50x1": "float" },
    runs: { "bit-m-r50x1": "BiT-M ImageNet-21k weights; a reconstruction, BiT is commented out of this flow" },
  },
  sep: {
    name: "September",
    pass: { resizeTo: 256, crop: 96, mean: [0, 0, 0], std: [1, 1, 1] },
    // CLIPImageEncoder (transformers CLIPFeatureExtractor) scaled floats by 255 into an 8-bit image.
    handoff: { "clip-vit-b32": "uint8-rescaled", "bit-m-r50x1": "float" },
    runs: { "bit-m-r50x1": "BiT-M ImageNet-21k weights; a reconstruction, the flow's commented-out line names BiT-S Imagenet1k/R50x1" },
  },
};

/**
 * A model with one of the 2021 flows in front of it. Decoding is Pillow's convert("RGB"), as the
 * 2021 crafters decoded, and every resize runs in the TypeScript resampler (exact PIL parity).
 * Where the 2021 executor re-read the crafter's output as an image, the model's own preprocessing
 * follows (CLIP saw the 96 px crop enlarged to 224). Where the floats were the model's input
 * (BiT's executor did no preprocessing), the model gets the 96×96 crop, and mean/std restate the
 * crafter's normalisation in our model's input convention: the TF BiT took [0,1] images where
 * timm's port takes (u − M) / S, so feeding the crafter's (p/255 − m) / s means mean m + M·s and std s·S.
 */
export function preset2021(spec: EncoderSpec, flow: Flow2021): EncoderSpec {
  const { name, pass, handoff: handoffs, runs } = FLOWS_2021[flow];
  const handoff = handoffs[spec.id];
  if (!handoff) throw new Error(`no 2021 flow is known for encoder "${spec.id}"`);
  const own: PreprocessSpec = { ...spec.preprocess, decoding: "pillow-2021", portableResize: true };
  const preprocess: PreprocessSpec =
    handoff === "float"
      ? {
          ...own,
          firstPass: { ...pass, handoff },
          resizeMode: "shortest-edge",
          resizeTo: pass.crop,
          cropWidth: pass.crop,
          cropHeight: pass.crop,
          mean: [0, 1, 2].map((c) => pass.mean[c] + own.mean[c] * pass.std[c]) as unknown as RGB,
          std: [0, 1, 2].map((c) => pass.std[c] * own.std[c]) as unknown as RGB,
        }
      : { ...own, firstPass: { ...pass, handoff } };
  const normalised = pass.mean.some((m) => m !== 0) ? "ImageNet mean/std" : "0..1";
  const ran = runs[spec.id] ? `; ${runs[spec.id]}` : "";
  return {
    ...spec,
    id: `${spec.id}-2021-${flow}`,
    modelId: spec.modelId ?? spec.id,
    label: `${spec.label} (2021 ${name} flow: ${pass.resizeTo} px, centre ${pass.crop}×${pass.crop}, ${normalised}${ran})`,
    preprocess,
  };
}

/** The 2021 preset ids before the two flows were told apart; they name the September flow. */
function legacy2021(spec: EncoderSpec): EncoderSpec {
  const sep = preset2021(spec, "sep");
  return { ...sep, id: `${spec.id}-2021`, label: `${sep.label} [alias of ${sep.id}]` };
}

export const PRESETS_2021: readonly EncoderSpec[] = MODEL_ENCODERS.flatMap((spec) => [preset2021(spec, "jul"), preset2021(spec, "sep")]);

export const ALL_KNOWN_ENCODERS: readonly EncoderSpec[] = [
  ...BUILTIN_ENCODERS,
  ...MODEL_ENCODERS,
  ...PRESETS_2021,
  ...MODEL_ENCODERS.map(legacy2021),
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
