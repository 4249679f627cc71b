// A small set of helpers for writing ONNX graphs by hand with onnx-proto: constant tensors,
// nodes with integer attributes, typed graph inputs/outputs, and the final model bytes.
import type { onnx as OnnxTypes } from "onnx-proto";
import * as onnxProtoModule from "onnx-proto";

// onnx-proto is CommonJS (`module.exports = root`); Node's ESM loader exposes it only as
// `default`, while TypeScript sees the named `onnx` export. Accept either shape; every module
// that reads or writes ONNX protobufs takes `onnx` from here.
export const onnx = ((onnxProtoModule as unknown as { default?: typeof onnxProtoModule }).default ?? onnxProtoModule)
  .onnx;

export type TensorProto = OnnxTypes.ITensorProto;
export type NodeProto = OnnxTypes.INodeProto;
export type ValueInfoProto = OnnxTypes.IValueInfoProto;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 18;

/** Element types used by the helpers (values from onnx.TensorProto.DataType). */
export const ElementType = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
} as const;
export type ElementType = (typeof ElementType)[keyof typeof ElementType];

function checkElementCount(name: string, dims: readonly number[], count: number): void {
  const expected = dims.reduce((product, dim) => product * dim, 1);
  if (expected !== count) {
    throw new Error(`initializer "${name}": dims [${dims.join(", ")}] need ${expected} values, got ${count}`);
  }
}

/** A float32 constant stored as little-endian raw bytes (byte-identical on any host). */
export function floatInitializer(name: string, dims: readonly number[], values: Float32Array | readonly number[]): TensorProto {
  checkElementCount(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { name, dims: [...dims], dataType: ElementType.float, rawData: bytes };
}

/**
 * The values of a float32 initializer held in the graph file (raw bytes in host order, as onnxruntime
 * reads them on a little-endian host, or float_data); undefined for another type or external data.
 */
export function inlineFloats(tensor: TensorProto): Float32Array | undefined {
  if (tensor.dataType !== ElementType.float || tensor.externalData?.length) return undefined;
  if (tensor.rawData?.length) {
    const raw = tensor.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** An int64 constant (axes, shapes, slice bounds, K), stored as little-endian raw bytes. */
export function int64Initializer(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  checkElementCount(name, dims, values.length);
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]), true);
  return { name, dims: [...dims], dataType: ElementType.int64, rawData: bytes };
}

/**
 * One operator node. Only integer attributes are supported (a number → INT, an array → INTS);
 * float or tensor constants go in as initializers instead.
 */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Record<string, number | readonly number[]> = {},
): NodeProto {
  const attributeProtos: OnnxTypes.IAttributeProto[] = Object.entries(attributes).map(([name, value]) =>
    typeof value === "number"
      ? { name, type: onnx.AttributeProto.AttributeType.INT, i: value }
      : { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...value] },
  );
  return {
    opType,
    name: `${opType}_${outputs[0]}`,
    input: [...inputs],
    output: [...outputs],
    attribute: attributeProtos,
  };
}

/** A typed tensor for graph inputs/outputs; a string dim is symbolic (e.g. "batch"). */
export function tensorValueInfo(name: string, elementType: ElementType, dims: readonly (number | string)[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elementType,
        shape: { dim: dims.map((dim) => (typeof dim === "string" ? { dimParam: dim } : { dimValue: dim })) },
      },
    },
  };
}

export interface GraphDefinition {
  name: string;
  docString?: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
}

/**
 * Serialises a single-graph model (default domain, opset 18, IR version 8). Nothing
 * time- or host-dependent goes in, so the same definition always gives the same bytes.
 */
export function encodeModel(graph: GraphDefinition): Uint8Array {
  const model: OnnxTypes.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: "", version: ONNX_OPSET }],
    producerName: "encoder-compare",
    graph: {
      name: graph.name,
      docString: graph.docString ?? "",
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs,
      output: graph.outputs,
    },
  };
  return onnx.ModelProto.encode(model).finish();
}
