// Reading and writing safetensors files (models/safetensors.ts).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type FloatTensor, readSafetensors, writeSafetensors } from "../../plugins/encoder-compare/models/safetensors.ts";

describe("safetensors", () => {
  test("round-trips float32 tensors and metadata", () => {
    const tensors = new Map<string, FloatTensor>([
      ["a", { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 3.4028234663852886e38, -0]) }],
      ["b.c", { shape: [], data: Float32Array.from([7]) }],
      ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: "pt" });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    assert.deepEqual(readSafetensors(bytes), tensors);
  });

  test("widens F16 and BF16 to float32", () => {
    const header = JSON.stringify({
      h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
      b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
    });
    const headerBytes = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + headerBytes.byteLength + 12);
    const view = new DataView(bytes.buffer);
    view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
    bytes.set(headerBytes, 8);
    const data = 8 + headerBytes.byteLength;
    [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((bits, i) => view.setUint16(data + i * 2, bits, true)); // 1, -2, 2^-24, +inf
    [0x3fc0, 0xc2f7].forEach((bits, i) => view.setUint16(data + 8 + i * 2, bits, true)); // 1.5, -123.5
    const tensors = readSafetensors(bytes);
    assert.deepEqual([...tensors.get("h")!.data], [1, -2, 2 ** -24, Number.POSITIVE_INFINITY]);
    assert.deepEqual([...tensors.get("b")!.data], [1.5, -123.5]);
  });

  test("explains malformed files", () => {
    assert.throws(() => readSafetensors(new Uint8Array(4)), /at least 8/);
    const hugeHeader = new Uint8Array(16);
    new DataView(hugeHeader.buffer).setBigUint64(0, 1000n, true);
    assert.throws(() => readSafetensors(hugeHeader), /header length 1000 does not fit/);
    const notJson = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b]);
    assert.throws(() => readSafetensors(notJson), /not UTF-8 JSON/);
    const wrongSpan = writeSafetensors(new Map([["x", { shape: [2], data: new Float32Array(2) }]]));
    const text = new TextDecoder().decode(wrongSpan).replace('"shape":[2]', '"shape":[3]');
    assert.throws(() => readSafetensors(new TextEncoder().encode(text)), /"x" \(F32 \[3\]\) needs 12 bytes but data_offsets span 8/);
    const int8 = new TextDecoder().decode(wrongSpan).replace('"F32"', '"I32"');
    assert.throws(() => readSafetensors(new TextEncoder().encode(int8)), /"x" has dtype I32/);
  });
});
