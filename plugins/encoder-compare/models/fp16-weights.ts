// Halves a model's download by storing its large float32 weights as float16, each followed by a
// Cast back to float32: the graph still computes in float32 (every onnxruntime build runs it),
// and only the weights are rounded. Used to publish converted models (BiT) for the browser.
import type { onnx as OnnxTypes } from "onnx-proto";
import { floatToHalf } from "../base/half-float.ts";
import { inlineFloats, onnx } from "./onnx-builder.ts";


/** Initializers with fewer values stay float32: biases and scales weigh nothing and are kept exact. */
const MIN_VALUES = 1024;

export function halveWeights(model: Uint8Array): Uint8Array {
  const proto = onnx.ModelProto.decode(model);
  const graph = proto.graph;
  if (!graph) throw new Error("halveWeights: the model has no graph");
  const casts: OnnxTypes.INodeProto[] = [];
  for (const [i, tensor] of (graph.initializer ?? []).entries()) {
    const values = inlineFloats(tensor);
    if (!values || values.length < MIN_VALUES) continue;
    const halves = new Uint16Array(values.length);
    for (let j = 0; j < values.length; j++) halves[j] = floatToHalf(values[j]);
    const name = `${tensor.name}__fp16`;
    graph.initializer![i] = onnx.TensorProto.create({
      name,
      dims: tensor.dims,
      dataType: onnx.TensorProto.DataType.FLOAT16,
      rawData: new Uint8Array(halves.buffer),
    });
    casts.push(
      onnx.NodeProto.create({
        opType: "Cast",
        input: [name],
        output: [tensor.name!],
        name: `${tensor.name}__to_float`,
        attribute: [onnx.AttributeProto.create({ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT })],
      }),
    );
  }
  graph.node = [...casts, ...(graph.node ?? [])];
  return onnx.ModelProto.encode(proto).finish();
}
