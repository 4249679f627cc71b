// Small random-weight graphs with both kinds of layer the int8 quantizer handles (convolutions
// and a matmul), shared by the quantizer's tests and the int8 build test.
import { encodeModel, floatInitializer, int64Initializer, node, tensorValueInfo, ElementType } from "../../plugins/encoder-compare/models/onnx-builder.ts";
import { seededRandom } from "./prng.ts";

export function randomValues(random: () => number, count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, () => (random() * 2 - 1) * scale);
}

/** Conv(3→8, 3×3, bias) → Relu → Conv(8→16, 3×3, stride 2) → Relu → mean over H, W → MatMul(16→32) → Add. */
export function smallNet(seed: number, outputName = "embedding", size = 16): Uint8Array {
  const random = seededRandom(seed);
  return encodeModel({
    name: "small",
    initializers: [
      floatInitializer("w1", [8, 3, 3, 3], randomValues(random, 8 * 27, 0.3)),
      floatInitializer("b1", [8], randomValues(random, 8, 0.1)),
      floatInitializer("w2", [16, 8, 3, 3], randomValues(random, 16 * 72, 0.2)),
      floatInitializer("fc", [16, 32], randomValues(random, 16 * 32, 0.3)),
      floatInitializer("fc_b", [32], randomValues(random, 32, 0.05)),
      int64Initializer("hw", [2], [2, 3]),
    ],
    nodes: [
      node("Conv", ["pixel_values", "w1", "b1"], ["c1"], { pads: [1, 1, 1, 1] }),
      node("Relu", ["c1"], ["r1"]),
      node("Conv", ["r1", "w2"], ["c2"], { pads: [1, 1, 1, 1], strides: [2, 2] }),
      node("Relu", ["c2"], ["r2"]),
      node("ReduceMean", ["r2", "hw"], ["pooled"], { keepdims: 0 }),
      node("MatMul", ["pooled", "fc"], ["projected"]),
      node("Add", ["projected", "fc_b"], [outputName]),
    ],
    inputs: [tensorValueInfo("pixel_values", ElementType.float, ["batch", 3, size, size])],
    outputs: [tensorValueInfo(outputName, ElementType.float, ["batch", 32])],
  });
}

