#!/usr/bin/python3
"""Independent torch reference for the BiT (timm ResNetV2, stem_type="fixed") converter.

Writes the committed fixtures that test/models/convert-bit.test.ts checks the TypeScript converter
(plugins/encoder-compare/models/convert-bit.ts) against:

  test/fixtures/bit/tiny-resnetv2.safetensors  random weights of a tiny variant, timm names/layout
  test/fixtures/bit/input.f32                  input batch 2x3x64x64, raw little-endian float32
  test/fixtures/bit/expected.f32               reference embeddings for input.f32 (2x256)
  test/fixtures/bit/input-odd.f32              input 1x3x57x45 (odd sizes: pad/pool/stride rounding)
  test/fixtures/bit/expected-odd.f32           reference embeddings for input-odd.f32 (1x256)
  test/fixtures/bit/meta.json                  shapes, seed, versions, command

Regenerate (Debian python3-torch and python3-numpy; timm is deliberately not used):

  /usr/bin/python3 scripts/reference/bit_reference.py

The network is written from timm/models/resnetv2.py (PreActBottleneck, create_resnetv2_stem
with 'fixed', _create_resnetv2_bit) and timm/layers/std_conv.py (StdConv2d), run in float64 so
the expected values are not limited by float32 rounding.
"""
import json
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240611
GROUPS = 32
GN_EPS = 1e-5
WS_EPS = 1e-8

# Tiny variant: stage 0 has two blocks (first-block downsample + a plain identity block);
# stage 1 keeps 128 channels yet still has timm's first-block projection; widths are
# multiples of 32 so GroupNorm(32) applies (group sizes 1, 2, 4 and 8 all occur).
TINY = {
    "in_channels": 3,
    "stem_channels": 64,
    "depths": [2, 1, 1, 1],
    "mid_channels": [32, 32, 64, 64],
    "out_channels": [128, 128, 256, 256],
    "head_classes": 10,
}

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "test" / "fixtures" / "bit"


def random_weights(layout, generator):
    """State dict with timm's tensor names, shapes (OIHW convs) and module order."""
    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    def conv(out_chs, in_chs, k):
        # A per-output-channel offset and scale, so that standardisation has work to do.
        offset = 0.05 * randn(out_chs, 1, 1, 1)
        scale = 0.02 + 0.1 * torch.rand(out_chs, 1, 1, 1, generator=generator, dtype=torch.float64)
        return (offset + scale * randn(out_chs, in_chs, k, k)).float()

    def norm(prefix, chs):
        weights[f"{prefix}.weight"] = (1.0 + 0.2 * randn(chs)).float()
        weights[f"{prefix}.bias"] = (0.2 * randn(chs)).float()

    weights = OrderedDict()
    weights["stem.conv.weight"] = conv(layout["stem_channels"], layout["in_channels"], 7)
    in_chs = layout["stem_channels"]
    for s, depth in enumerate(layout["depths"]):
        mid, out = layout["mid_channels"][s], layout["out_channels"][s]
        for b in range(depth):
            p = f"stages.{s}.blocks.{b}"
            if b == 0:
                weights[f"{p}.downsample.conv.weight"] = conv(out, in_chs, 1)
            norm(f"{p}.norm1", in_chs)
            weights[f"{p}.conv1.weight"] = conv(mid, in_chs, 1)
            norm(f"{p}.norm2", mid)
            weights[f"{p}.conv2.weight"] = conv(mid, mid, 3)
            norm(f"{p}.norm3", mid)
            weights[f"{p}.conv3.weight"] = conv(out, mid, 1)
            in_chs = out
    norm("norm", in_chs)
    weights["head.fc.weight"] = (0.01 * randn(layout["head_classes"], in_chs, 1, 1)).float()
    weights["head.fc.bias"] = torch.zeros(layout["head_classes"])
    return weights


def std_conv(x, weight, stride, padding):
    """timm StdConv2d: per-output-channel standardisation (biased variance), then conv."""
    w = weight.to(x.dtype)
    mean = w.mean(dim=(1, 2, 3), keepdim=True)
    var = w.var(dim=(1, 2, 3), unbiased=False, keepdim=True)
    return F.conv2d(x, (w - mean) / torch.sqrt(var + WS_EPS), stride=stride, padding=padding)


def gn_relu(x, weights, prefix):
    """timm GroupNormAct(num_groups=32, eps=1e-5) with ReLU."""
    w = weights[f"{prefix}.weight"].to(x.dtype)
    b = weights[f"{prefix}.bias"].to(x.dtype)
    return F.relu(F.group_norm(x, GROUPS, w, b, GN_EPS))


def forward(x, weights, layout):
    # Stem: 7x7/2 conv (padding 3 = timm get_padding(7, 2)), ConstantPad2d(1, 0.), MaxPool 3x3/2.
    x = std_conv(x, weights["stem.conv.weight"], stride=2, padding=3)
    x = F.pad(x, (1, 1, 1, 1), mode="constant", value=0.0)
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=0)
    for s, depth in enumerate(layout["depths"]):
        for b in range(depth):
            p = f"stages.{s}.blocks.{b}"
            stride = 2 if (s > 0 and b == 0) else 1
            x_preact = gn_relu(x, weights, f"{p}.norm1")
            shortcut = x
            if b == 0:
                shortcut = std_conv(x_preact, weights[f"{p}.downsample.conv.weight"], stride=stride, padding=0)
            y = std_conv(x_preact, weights[f"{p}.conv1.weight"], stride=1, padding=0)
            y = std_conv(gn_relu(y, weights, f"{p}.norm2"), weights[f"{p}.conv2.weight"], stride=stride, padding=1)
            y = std_conv(gn_relu(y, weights, f"{p}.norm3"), weights[f"{p}.conv3.weight"], stride=1, padding=0)
            x = y + shortcut
    x = gn_relu(x, weights, "norm")
    return x.mean(dim=(2, 3))  # global average pool -> pre-logits (head.fc not applied)


def write_safetensors(path, tensors):
    """safetensors by hand: u64 LE header length, JSON header (space-padded to 8), raw F32 LE."""
    header, chunks, offset = OrderedDict(), [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks))


def write_f32(path, tensor):
    path.write_bytes(tensor.detach().cpu().numpy().astype("<f4").tobytes())


def main():
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(SEED)
    weights = random_weights(TINY, generator)
    # BiT inputs are (x/255 - 0.5)/0.5, i.e. in [-1, 1].
    inputs = {
        "input": torch.rand(2, 3, 64, 64, generator=generator, dtype=torch.float64).mul(2).sub(1).float(),
        "input-odd": torch.rand(1, 3, 57, 45, generator=generator, dtype=torch.float64).mul(2).sub(1).float(),
    }

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_safetensors(OUT_DIR / "tiny-resnetv2.safetensors", weights)
    cases = []
    with torch.no_grad():
        for name, x in inputs.items():
            expected = forward(x.double(), weights, TINY)
            float32_gap = (forward(x, weights, TINY).double() - expected).abs().max().item()
            expected_name = name.replace("input", "expected")
            write_f32(OUT_DIR / f"{name}.f32", x)
            write_f32(OUT_DIR / f"{expected_name}.f32", expected)
            cases.append({
                "input": f"{name}.f32",
                "input_shape": list(x.shape),
                "expected": f"{expected_name}.f32",
                "expected_shape": list(expected.shape),
                "torch_float32_vs_float64_max_abs": float32_gap,
            })

    meta = {
        "description": "Tiny timm-layout BiT ResNetV2 (stem 'fixed', StdConv2d eps 1e-8, GroupNorm(32) eps 1e-5) "
                       "with random weights; expected = float64 torch pre-logits embeddings, stored as float32.",
        "command": "/usr/bin/python3 scripts/reference/bit_reference.py",
        "seed": SEED,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "layout": TINY,
        "weights": "tiny-resnetv2.safetensors",
        "cases": cases,
    }
    (OUT_DIR / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for case in cases:
        print(f"{case['input']} {case['input_shape']} -> {case['expected']} {case['expected_shape']}"
              f" (torch fp32 vs fp64 max |d| {case['torch_float32_vs_float64_max_abs']:.3g})")


if __name__ == "__main__":
    main()
