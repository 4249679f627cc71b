#!/usr/bin/python3
"""Independent PIL + numpy reference for the plugin's image preprocessing.

test/encoders/preprocess-parity.test.ts compares plugins/encoder-compare/encoders/preprocess.ts (sharp)
against the golden crops this script writes. The reference follows each model's own pipeline,
written from its documented semantics (no third-party preprocessing code is used or copied):

  clip-vit-b32        HF CLIPImageProcessor: RGB, shortest edge -> 224 with PIL BICUBIC, where the
                      long edge is int(224 * long / short); centre crop 224x224 at
                      top = (h - 224) // 2, left = (w - 224) // 2.
  bit-m-r50x1         timm eval transforms for resnetv2_50x1_bit.goog_in21k (crop_pct 0.875):
                      torchvision Resize(256) on a PIL image (BILINEAR, long edge
                      int(256 * long / short)), CenterCrop(224) at int(round((h - 224) / 2.0)).
  <model>-2021-<flow> the two 2021 meme-search flows, written from their code (read, not run):
                      a Jina crafter (shortest edge -> 512 for "jul", 256 for "sep", both sides
                      int(round(side * target / short)), PIL LANCZOS; centre crop 96x96 at
                      int((side - 96) / 2); float32 x = (p / 255 - mean) / std with ImageNet
                      statistics for "jul", 0/1 for "sep"), then what the model's 2021 executor
                      did with those floats:
                        CLIP "jul": x.astype(uint8) (truncate, wrap negatives modulo 256), then
                          CLIP's own resize/crop above (96 -> 224);
                        CLIP "sep": (x * 255).astype(uint8) in float32, then CLIP's resize/crop;
                        BiT: the floats were the model input, so the golden is the 96x96 crop and
                          the test applies the preset's mean/std to it.

Decoding: the model specs start with the EXIF orientation applied (PIL ImageOps.exif_transpose),
then conversion to RGB with transparency composited onto white (the plugin's documented choice;
note that HF's convert_rgb would just drop alpha instead). The 2021 presets decode as the 2021
crafters did, Image.open(path).convert("RGB"): no EXIF rotation, alpha dropped without
compositing (see load_rgb_2021; preprocess_2021_reference.py covers more image classes).

The reference stops at the uint8 RGB crop, the output type of PIL. Rescaling and mean/std
normalisation are a fixed affine map that the test applies to both sides from the encoder spec.

Outputs (all under test/fixtures/preprocess/):
  images/<name>.<ext>            the fixture inputs (written with --images; committed)
  golden/<stem>--<spec>.png      lossless golden crops, 224x224 RGB
  meta.json                      versions, command, conventions, per-file sha256, per-case geometry

Regenerate (Debian python3-pil and python3-numpy; do not use another python on PATH):

  /usr/bin/python3 scripts/reference/preprocess_reference.py --images   # inputs + goldens
  /usr/bin/python3 scripts/reference/preprocess_reference.py            # goldens only
"""
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]
FIX_DIR = ROOT / "test" / "fixtures" / "preprocess"
IMAGES_DIR = FIX_DIR / "images"
GOLDEN_DIR = FIX_DIR / "golden"
EMOJI_SOURCE = ROOT / "node_modules" / "emoji-datasource-google" / "img" / "google" / "64" / "1f436.png"
SEED = 20210917
WHITE = (255, 255, 255)

# The geometric half of each encoder spec (plugins/encoder-compare/encoders/registry.ts).
MODELS = {
    "clip-vit-b32": {"resize_to": 224, "crop": 224, "resample": Image.BICUBIC, "filter": "bicubic", "offsets": "hf"},
    "bit-m-r50x1": {"resize_to": 256, "crop": 224, "resample": Image.BILINEAR, "filter": "bilinear", "offsets": "torchvision"},
}
# The 2021 crafters (plugins/encoder-compare/encoders/registry.ts FLOWS_2021).
FLOWS_2021 = {
    "jul": {"resize_to": 512, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225),
            "handoff": {"clip-vit-b32": "uint8", "bit-m-r50x1": "float"}},
    "sep": {"resize_to": 256, "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0),
            "handoff": {"clip-vit-b32": "uint8-rescaled", "bit-m-r50x1": "float"}},
}
CROP_2021 = 96


# ---------------------------------------------------------------------------------------------
# Fixture images: deterministic, from numpy arrays (pixel values do not depend on PIL's filters).
# ---------------------------------------------------------------------------------------------

def _coverage(signed_distance):
    """Anti-aliased edge: 1 inside, 0 outside, a linear ramp one pixel wide across the edge."""
    return np.clip(0.5 - signed_distance, 0.0, 1.0)


def _to_uint8(array):
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def _blur(array, sigma):
    """Separable Gaussian blur of an H x W (x C) float array, periodic edges (even texture)."""
    radius = int(3 * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = array.astype(np.float64)
    for axis in (0, 1):
        padded = np.pad(out, [(radius, radius) if a == axis else (0, 0) for a in range(out.ndim)], mode="wrap")
        acc = np.zeros_like(out)
        for i, weight in enumerate(kernel):
            acc += weight * np.take(padded, np.arange(i, i + out.shape[axis]), axis=axis)
        out = acc
    return out


def make_landscape():
    """500x375 RGB: smooth sky and ground gradients, a sun, hills, stripes and thin lines."""
    h, w = 375, 500
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    img = np.zeros((h, w, 3))
    t = y / h
    img[..., 0] = 70 + 120 * t
    img[..., 1] = 130 + 80 * t
    img[..., 2] = 235 - 60 * t
    # Sun with a soft halo and a hard anti-aliased rim.
    d = np.hypot(x - 380, y - 80)
    halo = np.exp(-((d / 70.0) ** 2))
    img += halo[..., None] * (np.array([255, 240, 200]) - img) * 0.6
    sun = _coverage(d - 32)
    img += sun[..., None] * (np.array([255, 220, 90]) - img)
    # Two hills (sine silhouettes), the near one darker, with a horizontal texture.
    for base, amp, period, phase, colour in ((250, 30, 260, 0.3, (70, 140, 60)), (300, 22, 170, 1.7, (40, 100, 35))):
        ridge = base + amp * np.sin(2 * np.pi * x / period + phase)
        cover = _coverage(ridge - y)
        shade = np.array(colour) * (0.85 + 0.15 * np.sin(y / 3.0))[..., None]
        img += cover[..., None] * (shade - img)
    # A house: rectangle, triangular roof, a window with sharp (pixel-aligned) edges.
    house = _coverage(np.maximum(np.maximum(110 - x, x - 190), np.maximum(230 - y, y - 300)))
    img += house[..., None] * (np.array([200, 60, 50]) - img)
    roof = _coverage(np.maximum((np.abs(x - 150) - (y - 190)) / np.sqrt(2), y - 230))
    img += roof[..., None] * (np.array([90, 50, 40]) - img)
    window = ((x > 125) & (x < 145) & (y > 245) & (y < 265)).astype(np.float64)
    img += window[..., None] * (np.array([250, 250, 160]) - img)
    # High-frequency detail: a fence of 2-px stripes and a few 1-px diagonal lines.
    fence = (x > 260) & (x < 460) & (y > 320) & (y < 350) & ((np.floor(x) // 2) % 2 == 0)
    img[fence] = (235, 235, 225)
    for k in range(4):
        line = _coverage(np.abs((x - 20 - 12 * k) - 0.6 * (y - 20)) - 0.5) * (y > 20) * (y < 200)
        img += line[..., None] * (np.array([30, 30, 30]) - img)
    return Image.fromarray(_to_uint8(img), "RGB")


def make_portrait(rng):
    """300x420 RGB photo-like: blurred seeded noise at two scales, a figure with hard edges, grain."""
    h, w = 420, 300
    # Mostly luminance texture with a little chroma, like a photo.
    coarse = _blur(rng.standard_normal((h, w, 1)) + 0.4 * rng.standard_normal((h, w, 3)), 12.0)
    fine = _blur(rng.standard_normal((h, w, 1)) + 0.3 * rng.standard_normal((h, w, 3)), 1.5)
    coarse = (coarse - coarse.mean()) / coarse.std()
    fine = (fine - fine.mean()) / fine.std()
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    img = np.stack([150 + 20 * np.sin(y / 70), 120 + 0 * y, 100 + 30 * (x / w)], axis=-1)
    img += 35 * coarse + 10 * fine
    # Head (ellipse) and shoulders (a rounded block), hard-edged against the background.
    head = _coverage((np.hypot((x - 150) / 55, (y - 150) / 70) - 1) * 60)
    body = _coverage(np.maximum(np.abs(x - 150) - 110, 260 - y))
    skin = np.stack([225 + 0 * x, 180 + 10 * np.sin(x / 9), 150 + 0 * x], axis=-1) + 8 * fine
    cloth = np.stack([40 + 0 * x, 60 + 0 * x, 130 + 40 * (y > 340)], axis=-1) + 20 * coarse
    img += body[..., None] * (cloth - img)
    img += head[..., None] * (skin - img)
    # Eyes: small dark discs (detail that resizing must keep).
    for ex in (128, 172):
        eye = _coverage(np.hypot(x - ex, y - 140) - 5)
        img += eye[..., None] * (np.array([20, 20, 30]) - img)
    img += 6 * rng.standard_normal((h, w, 1))  # sensor grain, luminance only
    return Image.fromarray(_to_uint8(img), "RGB")


def make_gray():
    """333x250 L: radial gradient with rings and a hard-edged bar. 333 = odd, and
    96 * 333 / 250 = 127.87, so truncating and rounding the long edge disagree (127 vs 128)."""
    h, w = 250, 333
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    r = np.hypot(x - 180, y - 110)
    img = 200 - 0.5 * r + 40 * np.sin(r / 6.0)
    bar = (x > 40) & (x < 70) & (y > 30) & (y < 220)
    img[bar] = 15
    return Image.fromarray(_to_uint8(img), "L")


def make_photo_jpeg(rng):
    """1024x768 RGB for a baseline 4:2:0 JPEG: blurred noise, colour blocks and a diagonal edge.
    Large enough that every spec reduces it by 3x or more, where sharp may decode a JPEG at
    1/2, 1/4 or 1/8 scale (shrink-on-load) instead of decoding it in full as PIL does."""
    h, w = 768, 1024
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    base = _blur(rng.standard_normal((h, w, 1)) + 0.5 * rng.standard_normal((h, w, 3)), 32.0)
    base = (base - base.mean()) / base.std()
    img = np.stack([120 + 60 * (x / w), 110 + 50 * (y / h), 140 - 40 * (x / w)], axis=-1) + 40 * base
    edge = _coverage((x - 1.2 * y - 160) / np.hypot(1, 1.2))
    img += edge[..., None] * (np.array([240, 200, 60]) - img) * 0.8
    for i, colour in enumerate(((220, 40, 40), (40, 180, 60), (40, 60, 220))):
        block = (x > 96 + 144 * i) & (x < 208 + 144 * i) & (y > 528) & (y < 688)
        img[block] = colour
    img += 4 * rng.standard_normal((h, w, 3))
    return Image.fromarray(_to_uint8(img), "RGB")


def make_banner():
    """460x343 RGB: vertical bars of 1-6 px over a gradient. Chosen for its rounding cases:
    BiT's long edge int(256 * 460 / 343) = 343, so the crop offset is (343 - 224) / 2 = 59.5,
    which torchvision rounds to 60 (floor gives 59); and 96 * 460 / 343 = 128.7 for the 2021
    square, which truncates to 128 but rounds to 129. Vertical bars make 1-px shifts visible."""
    h, w = 343, 460
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    img = np.stack([40 + 150 * (x / w), 90 + 0 * x, 200 - 120 * (y / h)], axis=-1)
    left = 10
    for i in range(48):
        width = 1 + i % 6
        colour = (250, 250, 240) if i % 2 == 0 else (20, 30, 30)
        img[(x > left) & (x < left + width) & (y > 40) & (y < 300)] = colour
        left += width + 2 + (i * 7) % 5
    return Image.fromarray(_to_uint8(img), "RGB")


def make_exif_rotated_jpeg(rng):
    """Stored 200x300 (portrait) with EXIF orientation 6: displayed as 300x200 landscape."""
    h, w = 300, 200
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    img = np.stack([60 + 150 * (y / h), 90 + 100 * (x / w), 160 + 0 * x], axis=-1)
    img += 15 * _blur(rng.standard_normal((h, w, 3)), 3.0)
    # Stored at the left edge, rows 100..150: displayed at the top, right of centre, so a
    # missing, mirrored or wrong-way rotation moves it.
    marker = (x < 60) & (y > 100) & (y < 150)
    img[marker] = (250, 30, 30)
    return Image.fromarray(_to_uint8(img), "RGB")


def write_images():
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    make_landscape().save(IMAGES_DIR / "landscape.png", optimize=True)
    make_portrait(rng).save(IMAGES_DIR / "portrait.png", optimize=True)
    shutil.copyfile(EMOJI_SOURCE, IMAGES_DIR / "emoji-1f436.png")
    make_gray().save(IMAGES_DIR / "gray.png", optimize=True)
    make_photo_jpeg(rng).save(IMAGES_DIR / "photo.jpg", quality=88, subsampling=2)
    make_banner().save(IMAGES_DIR / "banner.png", optimize=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    make_exif_rotated_jpeg(rng).save(IMAGES_DIR / "exif-rotated.jpg", quality=92, exif=exif.tobytes())


# ---------------------------------------------------------------------------------------------
# The reference pipelines.
# ---------------------------------------------------------------------------------------------

def load_rgb(path):
    """Open, apply EXIF orientation, convert to RGB compositing any transparency onto white."""
    with Image.open(path) as opened:
        opened.load()
        image = ImageOps.exif_transpose(opened)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    return image.convert("RGB")


def load_rgb_2021(path):
    """Jina 2.0's decoding: Image.open(path).convert("RGB"), nothing else. Pillow's conversions to
    RGB from the modes met here (RGB, RGBA, L, LA, P, 1, I, CMYK) are the same code in 8.x (2021)
    and in the 9.x that Debian ships (src/libImaging/Convert.c)."""
    with Image.open(path) as opened:
        return opened.convert("RGB")


def shortest_edge_size(width, height, short_target):
    """(width, height) after scaling the shorter side to short_target; the long side truncated."""
    if width <= height:
        return short_target, int(short_target * height / width)
    return int(short_target * width / height), short_target


def crop_offsets(width, height, crop, convention):
    if convention == "hf":  # transformers.image_transforms.center_crop
        return (width - crop) // 2, (height - crop) // 2
    if convention == "torchvision":  # torchvision.transforms.functional.center_crop (Python round)
        return int(round((width - crop) / 2.0)), int(round((height - crop) / 2.0))
    raise ValueError(convention)


def resize_and_crop(image, resize_to, crop, resample, convention, steps):
    width, height = shortest_edge_size(image.width, image.height, resize_to)
    resized = image.resize((width, height), resample=resample, reducing_gap=None)
    left, top = crop_offsets(width, height, crop, convention)
    steps.append({"from": [image.width, image.height], "resized": [width, height], "crop": [left, top, crop, crop]})
    return resized.crop((left, top, left + crop, top + crop))


def crafter_2021(image, flow, steps):
    """The 2021 Jina crafter: float32 HWC array of the 96x96 centre crop of a LANCZOS resize."""
    percent = float(flow["resize_to"]) / min(image.width, image.height)
    width, height = int(round(image.width * percent)), int(round(image.height * percent))
    resized = image.resize((width, height), resample=Image.LANCZOS, reducing_gap=None)
    left, top = int((width - CROP_2021) / 2), int((height - CROP_2021) / 2)
    steps.append({"from": [image.width, image.height], "resized": [width, height], "crop": [left, top, CROP_2021, CROP_2021]})
    crop = resized.crop((left, top, left + CROP_2021, top + CROP_2021))
    floats = np.asarray(crop).astype("float32") / 255
    floats -= np.array(flow["mean"]).reshape((1, 1, 3))  # float64 operands, result kept float32, as numpy did
    floats /= np.array(flow["std"]).reshape((1, 1, 3))
    return crop, floats


def to_uint8_wrapping(floats):
    """numpy's astype(uint8) of 2021 on x86: truncate toward zero, keep the low 8 bits."""
    return (np.trunc(floats).astype(np.int64) % 256).astype(np.uint8)


def reference_crop(path, spec_id):
    model_id, flow_id = spec_id, None
    for candidate in FLOWS_2021:
        if spec_id.endswith(f"-2021-{candidate}"):
            model_id, flow_id = spec_id[: -len(f"-2021-{candidate}")], candidate
    model = MODELS[model_id]
    image = load_rgb(path) if flow_id is None else load_rgb_2021(path)
    steps = []
    if flow_id is not None:
        flow = FLOWS_2021[flow_id]
        crop, floats = crafter_2021(image, flow, steps)
        handoff = flow["handoff"][model_id]
        if handoff == "float":
            # The model's input was the crop itself, normalised (the test applies the preset's mean/std).
            steps.append({"from": [CROP_2021, CROP_2021], "resized": [CROP_2021, CROP_2021], "crop": [0, 0, CROP_2021, CROP_2021]})
            return crop, steps
        if handoff == "uint8-rescaled":
            floats = floats * 255  # float32 times a Python int stays float32
        image = Image.fromarray(to_uint8_wrapping(floats), "RGB")
    crop = resize_and_crop(image, model["resize_to"], model["crop"], model["resample"], model["offsets"], steps)
    assert crop.mode == "RGB" and crop.size == (model["crop"], model["crop"])
    return crop, steps


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv):
    if "--images" in argv:
        write_images()
    images = sorted(p for p in IMAGES_DIR.iterdir() if p.suffix in (".png", ".jpg"))
    if not images:
        sys.exit("no fixture images; run with --images first")
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN_DIR.glob("*.png"):
        stale.unlink()
    spec_ids = [m for m in MODELS] + [f"{m}-2021-{flow}" for m in MODELS for flow in FLOWS_2021]
    cases = []
    for path in images:
        for spec_id in spec_ids:
            crop, steps = reference_crop(path, spec_id)
            golden = GOLDEN_DIR / f"{path.stem}--{spec_id}.png"
            crop.save(golden, optimize=True)
            cases.append({
                "image": f"images/{path.name}",
                "spec": spec_id,
                "golden": f"golden/{golden.name}",
                "steps": steps,
                "sha256": sha256(golden),
            })
    meta = {
        "description": "Golden uint8 RGB crops from an independent PIL reference of each encoder's preprocessing; "
                       "test/encoders/preprocess-parity.test.ts compares sharp's output with them in normalised units.",
        "command": "/usr/bin/python3 scripts/reference/preprocess_reference.py --images",
        "pil_version": PIL.__version__,
        "numpy_version": np.__version__,
        "seed": SEED,
        "conventions": {
            "rgb": "ImageOps.exif_transpose, then transparency alpha-composited onto white (255,255,255)",
            "rgb-2021": "the 2021 presets: Image.open(path).convert('RGB') (no EXIF rotation, alpha dropped)",
            "resize": "Image.resize((w, h), resample, reducing_gap=None); long edge int(target * long / short)",
            "clip-vit-b32": "BICUBIC, shortest edge 224, crop 224 at ((w-224)//2, (h-224)//2) (HF CLIPImageProcessor)",
            "bit-m-r50x1": "BILINEAR, shortest edge 256, crop 224 at int(round((w-224)/2.0)) (timm eval / torchvision)",
            "2021-jul": "crafter: LANCZOS shortest edge 512 (sides int(round())), crop 96 at int((w-96)/2), "
                        "(p/255 - ImageNet mean)/std in float32; CLIP: astype(uint8) wrapping, then CLIP's resize; BiT: the crop",
            "2021-sep": "crafter: LANCZOS shortest edge 256 (sides int(round())), crop 96 at int((w-96)/2), p/255 in float32; "
                        "CLIP: (x*255).astype(uint8), then CLIP's resize; BiT: the crop",
        },
        "images": {f"images/{p.name}": sha256(p) for p in images},
        "cases": cases,
    }
    (FIX_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {len(cases)} golden crops for {len(images)} images to {GOLDEN_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
