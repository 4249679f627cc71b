#!/usr/bin/python3
"""Independent PIL + numpy reference for the 2021 presets' decoding, over the image classes where
2021's decoding differs from the plugin's usual one.

The 2021 Jina crafters read every image with Image.open(path).convert("RGB") and nothing else:
no EXIF rotation, no ICC colour management, alpha dropped without compositing, CMYK by Pillow's
own formula, 16-bit greyscale ("I" mode) clipped to 0..255, a GIF's transparent pixels in the
palette colour of the transparent index. This script decodes exactly that way
(Pillow's code for these conversions is the same in 8.x, what 2021 installed, and in the 9.x
Debian ships) and then runs the same crafter and hand-off as preprocess_reference.py.

test/encoders/preprocess-2021-parity.test.ts compares the plugin (sharp decoding, TypeScript resampling)
with the golden crops written here. Nothing of the plugin's decoder is used.

Outputs (under test/fixtures/preprocess-2021/): images/ (inputs, with --images), golden/, meta.json.

  /usr/bin/python3 scripts/reference/preprocess_2021_reference.py --images   # inputs + goldens
  /usr/bin/python3 scripts/reference/preprocess_2021_reference.py            # goldens only
"""
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

from preprocess_reference import CROP_2021, FLOWS_2021, MODELS, _blur, _to_uint8, reference_crop, sha256

ROOT = Path(__file__).resolve().parents[2]
FIX_DIR = ROOT / "test" / "fixtures" / "preprocess-2021"
IMAGES_DIR = FIX_DIR / "images"
GOLDEN_DIR = FIX_DIR / "golden"
SEED = 20210708


# ---------------------------------------------------------------------------------------------
# Fixture images, one or more per class, from seeded numpy arrays.
# ---------------------------------------------------------------------------------------------

def _photo(rng, h, w, level=120.0, spread=45.0, sigma=6.0, grain=3.0):
    """Photo-like RGB floats: blurred luminance-heavy noise over a gradient, plus grain."""
    texture = _blur(rng.standard_normal((h, w, 1)) + 0.4 * rng.standard_normal((h, w, 3)), sigma)
    texture = (texture - texture.mean()) / texture.std()
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    base = np.stack([level + 25 * np.sin(y / 57), level + 20 * (x / w) - 10, level - 15 + 30 * (y / h)], axis=-1)
    return base + spread * texture + grain * rng.standard_normal((h, w, 3))


def _png16(path, array, colour_type, grey_key=None):
    """A 16-bit PNG (colour type 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA) from an H x W (x C) uint16 array;
    grey_key: a tRNS chunk marking that grey value transparent."""
    h, w = array.shape[:2]
    rows = array.reshape(h, -1).astype(">u2").tobytes()
    stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[r * stride:(r + 1) * stride] for r in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    key = chunk(b"tRNS", struct.pack(">H", grey_key)) if grey_key is not None else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + key + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _save_exif(image, path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, quality=90, exif=exif.tobytes())


def write_images():
    IMAGES_DIR.mkdir(parents=True, exist_ok=True)
    for stale in IMAGES_DIR.iterdir():
        stale.unlink()
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:240, 0:320].astype(np.float64)

    # Alpha: the RGB stored under transparent pixels differs from white, so compositing shows.
    rgb = _to_uint8(_photo(rng, 240, 320, level=110))
    alpha = np.full((240, 320), 255, np.uint8)
    alpha[:, :130] = 0
    alpha[:, 130:190] = np.linspace(0, 255, 60).astype(np.uint8)
    alpha[100:140, 200:300] = 40
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(IMAGES_DIR / "alpha-rgba.png", optimize=True)
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(IMAGES_DIR / "alpha-rgba.webp", lossless=True, exact=True)
    Image.fromarray(rgb).save(IMAGES_DIR / "lossy.webp", quality=80)
    grey = _to_uint8(90 + 60 * np.sin(x / 11) * np.cos(y / 17))
    hole = (np.hypot(x - 160, y - 120) < 70).astype(np.uint8)
    Image.fromarray(np.dstack([grey, 255 * (1 - hole)]), "LA").save(IMAGES_DIR / "alpha-la.png", optimize=True)
    quantized = Image.fromarray(_to_uint8(_photo(rng, 200, 256, level=140, spread=60, sigma=10))).quantize(64)
    index = np.asarray(quantized).copy()
    index[60:140, 90:170] = 7  # a block of the transparent index; its palette colour is what Pillow keeps
    palette = Image.fromarray(index, "P")
    palette.putpalette(quantized.getpalette())
    palette.save(IMAGES_DIR / "alpha-palette.png", transparency=7)
    palette.save(IMAGES_DIR / "alpha-palette.gif", transparency=7, optimize=False)
    grey_gif = Image.fromarray((np.asarray(Image.fromarray(grey).resize((200, 150))) // 16 * 16).astype(np.uint8), "L")
    grey_gif.save(IMAGES_DIR / "alpha-grey.gif", transparency=int(np.asarray(grey_gif)[75, 100]))
    rgba16 = np.dstack([np.clip(_photo(rng, 120, 160, level=100, grain=0) * 257, 0, 65535), np.zeros((120, 160))]).astype(np.uint16)
    rgba16[40:, :, 3] = 65535
    rgba16[70:100, :, 3] = 30000
    _png16(IMAGES_DIR / "alpha-rgba16.png", rgba16, 6)
    _png16(IMAGES_DIR / "alpha-la16.png", rgba16[..., 1::2], 4)

    # EXIF orientations: stored one way, displayed another; 2021 used the stored pixels.
    for orientation, (h, w) in ((3, (240, 360)), (6, (360, 240)), (8, (200, 300))):
        stored = _to_uint8(_photo(rng, h, w, level=130))
        stored[20:70, 10:60] = (240, 30, 30)  # an asymmetric marker
        _save_exif(Image.fromarray(stored), IMAGES_DIR / f"exif-{orientation}.jpg", orientation)

    # Dark photos: in the July flow, values below ImageNet's mean wrap (uint8 cast), so one level matters.
    Image.fromarray(_to_uint8(_photo(rng, 750, 1000, level=22, spread=14, sigma=4))).save(IMAGES_DIR / "dark-1000x750.jpg", quality=90)
    # Around level 65, where July's (p/255 - 0.485)/0.229 crosses -1: one level either way flips 0 <-> 255.
    Image.fromarray(_to_uint8(_photo(rng, 750, 1000, level=64, spread=12, sigma=3))).save(IMAGES_DIR / "dusk-1000x750.jpg", quality=90)
    Image.fromarray(_to_uint8(_photo(rng, 720, 480, level=30, spread=18, sigma=3, grain=0.6))).save(IMAGES_DIR / "dark-480x720.jpg", quality=95)

    # Near-4x first shrinks (September: 1024 -> 256; July: 2047 -> 512), where libvips and PIL part most.
    Image.fromarray(_to_uint8(_photo(rng, 1024, 1537, spread=50, sigma=2, grain=1))).save(IMAGES_DIR / "shrink-1537x1024.jpg", quality=75)
    Image.fromarray(_to_uint8(_photo(rng, 2047, 2050, spread=50, sigma=3, grain=1))).save(IMAGES_DIR / "shrink-2050x2047.jpg", quality=55)

    # Greyscale: 8-bit JPEG, 1-bit PNG.
    Image.fromarray(_to_uint8(_photo(rng, 400, 500, level=120)[..., 0])).save(IMAGES_DIR / "grey.jpg", quality=90)
    Image.fromarray(((np.sin(x[:180, :240] / 5) * np.cos(y[:180, :240] / 7)) > 0).astype(np.uint8) * 255).convert("1").save(
        IMAGES_DIR / "grey-1bit.png")

    # CMYK JPEGs (Adobe, as Pillow and libjpeg write them): Pillow's naive conversion, no profile.
    Image.fromarray(_to_uint8(_photo(rng, 360, 480, level=140, spread=60))).convert("CMYK").save(IMAGES_DIR / "cmyk.jpg", quality=92)
    cmyk = np.dstack([_to_uint8(_photo(rng, 300, 300, level=90, spread=40)), _to_uint8(120 + 80 * np.sin(np.mgrid[0:300, 0:300][1] / 23))])
    Image.fromarray(cmyk, "CMYK").save(IMAGES_DIR / "cmyk-heavy-k.jpg", quality=92)
    Image.fromarray(cmyk[60:240, 60:240], "CMYK").save(IMAGES_DIR / "cmyk.tif", compression="tiff_deflate")

    # 16-bit: greyscale over the full range (Pillow 8 clips it to 255: nearly white), greyscale
    # in the low range (a clipped gradient), RGB (Pillow reads the high byte).
    Image.fromarray(np.clip(_photo(rng, 240, 320)[..., 1] * 257, 0, 65535).astype(np.uint16)).save(IMAGES_DIR / "grey16-full.png")
    low = np.clip(40 + 1.2 * x + 60 * np.sin(y / 9), 0, 65535).astype(np.uint16)
    Image.fromarray(low).save(IMAGES_DIR / "grey16-low.png")
    _png16(IMAGES_DIR / "grey16-trns.png", low, 0, grey_key=int(low[120, 100]))  # libvips adds alpha; Pillow kept mode I
    _png16(IMAGES_DIR / "rgb16.png", np.clip(_photo(rng, 150, 200, spread=55, grain=0) * 257 + rng.integers(0, 256, (150, 200, 3)), 0, 65535)
           .astype(np.uint16), 2)



def main(argv):
    if "--images" in argv:
        write_images()
    images = sorted(p for p in IMAGES_DIR.iterdir() if p.suffix in (".png", ".jpg", ".gif", ".webp", ".tif"))
    if not images:
        sys.exit("no fixture images; run with --images first")
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for stale in GOLDEN_DIR.glob("*.png"):
        stale.unlink()
    cases = []
    for path in images:
        with Image.open(path) as opened:
            mode = opened.mode
        for spec_id in [f"{m}-2021-{flow}" for m in MODELS for flow in FLOWS_2021]:
            crop, steps = reference_crop(path, spec_id)
            assert crop.mode == "RGB"
            golden = GOLDEN_DIR / f"{path.name}--{spec_id}.png"
            Image.fromarray(np.asarray(crop), "RGB").save(golden, optimize=True)  # pixels only, no carried-over tRNS
            cases.append({"image": f"images/{path.name}", "pil_mode": mode, "spec": spec_id, "golden": f"golden/{golden.name}",
                          "steps": steps, "sha256": sha256(golden)})
    meta = {
        "description": "Golden uint8 RGB model inputs of the 2021 presets, decoded as 2021 decoded (Image.open(path).convert('RGB')); "
                       "test/encoders/preprocess-2021-parity.test.ts compares the plugin's output with them in normalised units.",
        "command": "/usr/bin/python3 scripts/reference/preprocess_2021_reference.py --images",
        "pil_version": PIL.__version__,
        "numpy_version": np.__version__,
        "seed": SEED,
        "crop_2021": CROP_2021,
        "images": {f"images/{p.name}": sha256(p) for p in images},
        "cases": cases,
    }
    (FIX_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {len(cases)} golden crops for {len(images)} images to {GOLDEN_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
