// Halving a converted model's weights for publishing (models/fp16-weights.ts).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { BIT_INPUT_NAME, BIT_OUTPUT_NAME, convertBitSafetensors } from "../../plugins/encoder-compare/models/convert-bit.ts";
import { halveWeights } from "../../plugins/encoder-compare/models/fp16-weights.ts";
import { l2Normalize } from "../../plugins/encoder-compare/encoders/normalize.ts";

const ROOT = process.cwd();

describe("fp16 weights for publishing converted models", () => {
  test("the tiny random-weight BiT: about half the bytes, the same embeddings to cosine ≥ 0.9999", async () => {
    const ort = await import("onnxruntime-node");
    const fixtures = path.join(ROOT, "test/fixtures/bit");
    const meta = JSON.parse(fs.readFileSync(path.join(fixtures, "meta.json"), "utf8")) as { cases: Array<{ input: string; input_shape: number[] }> };
    const model = convertBitSafetensors(new Uint8Array(fs.readFileSync(path.join(fixtures, "tiny-resnetv2.safetensors"))));
    const halved = halveWeights(model);
    assert.ok(halved.byteLength < model.byteLength * 0.55, `${halved.byteLength} of ${model.byteLength} bytes`);
    for (const reference of meta.cases) {
      const bytes = fs.readFileSync(path.join(fixtures, reference.input));
      const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      const run = async (graph: Uint8Array) => {
        const session = await ort.InferenceSession.create(graph);
        const output = await session.run({ [BIT_INPUT_NAME]: new ort.Tensor("float32", input, reference.input_shape) });
        await session.release();
        return output[BIT_OUTPUT_NAME].data as Float32Array;
      };
      const [full, half] = [l2Normalize(await run(model)), l2Normalize(await run(halved))];
      const cosine = full.reduce((sum, v, i) => sum + v * half[i], 0);
      assert.ok(cosine >= 0.9999 && cosine <= 1.0001, `${reference.input}: cosine ${cosine}`);
    }
  });
});
