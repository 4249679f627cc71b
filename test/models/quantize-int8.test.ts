// The int8 quantizer (models/quantize-int8.ts) on small graphs of both kinds it handles: a conv
// net (static int8, calibrated) and a matmul head (dynamic int8). The int8 graph must run in
// onnxruntime, use the integer operators, and stay close to fp32 on inputs it was not calibrated on.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import { encodeModel, floatInitializer, node, tensorValueInfo, ElementType } from "../../plugins/encoder-compare/models/onnx-builder.ts";
import { randomValues, smallNet } from "../support/int8-graphs.ts";
import { decodeModel, encodeModelProto, quantizeInt8, type CalibrationRunner } from "../../plugins/encoder-compare/models/quantize-int8.ts";
import { seededRandom } from "../support/prng.ts";

const SIZE = 16;

function images(seed: number, count: number): Float32Array[] {
  const random = seededRandom(seed);
  // Smooth images (a gradient plus noise), like normalised photos rather than white noise.
  return Array.from({ length: count }, () => {
    const [a, b] = [random() * 2 - 1, random() * 2 - 1];
    const at = (i: number) => a * ((i % SIZE) / SIZE) + (b * (Math.floor(i / SIZE) % SIZE)) / SIZE;
    return Float32Array.from({ length: 3 * SIZE * SIZE }, (_, i) => at(i) + (random() - 0.5) * 0.3);
  });
}

async function run(model: Uint8Array, input: Float32Array, outputs = ["embedding"]): Promise<Map<string, Float32Array>> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const result = await session.run({ pixel_values: new ort.Tensor("float32", input, [1, 3, SIZE, SIZE]) }, outputs);
  await session.release();
  return new Map(outputs.map((o) => [o, result[o].data as Float32Array]));
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describe("int8 quantizer", () => {
  test("convs become calibrated QDQ int8, the matmul dynamic int8; outputs stay within cosine 0.99 of fp32", async () => {
    const fp32 = smallNet(5);
    const calibration = images(11, 8);
    let calls = 0;
    const calibrate: CalibrationRunner = async (model, outputs) => {
      calls++;
      return Promise.all(calibration.map((image) => run(model, image, outputs)));
    };
    const { model, report } = await quantizeInt8(fp32, calibrate);
    assert.equal(calls, 1);
    assert.deepEqual(report, { dynamicMatMuls: 1, staticConvs: 2, keptFloat: 0 });
    const ops = (decodeModel(model).graph?.node ?? []).map((n) => n.opType);
    assert.ok(ops.includes("MatMulInteger") && ops.includes("DynamicQuantizeLinear"), ops.join());
    assert.equal(ops.filter((o) => o === "Conv").length, 2);
    assert.ok(ops.filter((o) => o === "QuantizeLinear").length >= 3, ops.join());
    assert.ok(!ops.includes("MatMul"), "no fp32 matmul left");
    const initializers = decodeModel(model).graph?.initializer ?? [];
    assert.ok(!initializers.some((t) => ["w1", "w2", "fc"].includes(t.name!)), "the fp32 weights are gone");
    for (const image of images(99, 6)) {
      const want = (await run(fp32, image)).get("embedding")!;
      const got = (await run(model, image)).get("embedding")!;
      const similarity = cosine(want, got);
      assert.ok(similarity > 0.99, `cosine ${similarity}`);
      assert.ok(similarity < 1 - 1e-9, "the int8 graph computes something other than the fp32 one");
    }
  });

  test("a matmul-only graph needs no calibration; the same input gives the same bytes", async () => {
    const random = seededRandom(2);
    const graph = encodeModel({
      name: "head",
      initializers: [floatInitializer("w", [24, 10], randomValues(random, 240, 1))],
      nodes: [node("MatMul", ["x", "w"], ["y"])],
      inputs: [tensorValueInfo("x", ElementType.float, ["batch", 24])],
      outputs: [tensorValueInfo("y", ElementType.float, ["batch", 10])],
    });
    const never: CalibrationRunner = async () => assert.fail("calibration ran for a graph without convolutions");
    const first = await quantizeInt8(graph, never);
    const second = await quantizeInt8(graph, never);
    assert.ok(Buffer.from(first.model).equals(Buffer.from(second.model)));
    const x = randomValues(random, 48, 1);
    const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes);
    const want = (await (await session(graph)).run({ x: new ort.Tensor("float32", x, [2, 24]) })).y.data as Float32Array;
    const got = (await (await session(first.model)).run({ x: new ort.Tensor("float32", x, [2, 24]) })).y.data as Float32Array;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i] - got[i]) < 0.1, `${i}: ${want[i]} vs ${got[i]}`);
  });

  test("a graph that also lists its weights as inputs (older exports) loses those inputs with the weights", async () => {
    const model = decodeModel(smallNet(3));
    const weightInputs = ["w1", "w2", "fc"].map((name) => ({ name, type: { tensorType: { elemType: 1 } } }));
    const legacy = encodeModelProto({ ...model, graph: { ...model.graph, input: [...(model.graph?.input ?? []), ...weightInputs] } });
    const { model: int8 } = await quantizeInt8(legacy, async (graph, outputs) => [await run(graph, images(4, 1)[0], outputs)]);
    assert.deepEqual((decodeModel(int8).graph?.input ?? []).map((i) => i.name), ["pixel_values"]);
    assert.equal((await run(int8, images(5, 1)[0])).get("embedding")!.length, 32, "runs without feeding the weights");
  });

  test("calibration that returns nothing is refused with a clear message", async () => {
    await assert.rejects(quantizeInt8(smallNet(1), async () => []), /int8 calibration needs at least one sample image/);
  });
});
