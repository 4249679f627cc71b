// fp32 ONNX graph → int8 graph, with standard operators that onnxruntime's CPU provider runs:
//   MatMul with a constant right-hand side (a transformer's projections and MLPs): dynamic int8.
//     DynamicQuantizeLinear quantizes the activations per call (uint8, asymmetric); the weights
//     are int8, symmetric, one scale per output column; MatMulInteger → Cast → Mul by the two
//     scales, the pattern onnxruntime fuses into one integer matmul.
//   Conv with constant weights (ResNets, BiT): static int8 in QDQ form. Input and output scales
//   come from calibration on sample inputs (min/max, uint8 asymmetric); weights int8 symmetric
//   per output channel; bias int32 at input scale × weight scale. onnxruntime fuses each
//   DequantizeLinear → Conv → QuantizeLinear group into QLinearConv.
// Everything else stays fp32. Bump QUANTIZER_VERSION whenever the output for a given input changes.
import type { onnx as OnnxTypes } from "onnx-proto";
import { floatInitializer, inlineFloats, node, onnx } from "./onnx-builder.ts";

type Model = OnnxTypes.IModelProto;
type Node = OnnxTypes.INodeProto;
type Tensor = OnnxTypes.ITensorProto;

export const QUANTIZER_VERSION = 1;
const DataType = onnx.TensorProto.DataType;

export interface QuantizeReport {
  dynamicMatMuls: number;
  staticConvs: number;
  /** Ops left in fp32 because they do not have the shape above (e.g. MatMul of two activations). */
  keptFloat: number;
}

/** Inputs to run the fp32 graph on for calibration: each a feed of the graph's input name → tensor. */
export type CalibrationRunner = (model: Uint8Array, outputs: string[]) => Promise<Array<Map<string, Float32Array>>>;

function floatValues(tensor: Tensor): Float32Array {
  if (tensor.dataType !== DataType.FLOAT) throw new Error(`initializer "${tensor.name}" is not float32`);
  const values = inlineFloats(tensor);
  if (!values) throw new Error(`initializer "${tensor.name}" is stored outside the graph file; int8 needs it inline`);
  return values;
}

function dims(tensor: Tensor): number[] {
  return (tensor.dims ?? []).map(Number);
}

function raw(name: string, type: number, shape: number[], bytes: Uint8Array): Tensor {
  return { name, dataType: type, dims: shape, rawData: bytes };
}

function int32s(name: string, shape: number[], values: Int32Array): Tensor {
  return raw(name, DataType.INT32, shape, new Uint8Array(values.buffer.slice(0)));
}

/** Symmetric int8 per slice of `axisLength` groups; `groupOf(i)` says which group value i belongs to. */
function quantizeSymmetric(values: Float32Array, groups: number, groupOf: (i: number) => number): { q: Int8Array; scales: Float32Array } {
  const max = new Float32Array(groups);
  for (let i = 0; i < values.length; i++) max[groupOf(i)] = Math.max(max[groupOf(i)], Math.abs(values[i]));
  const scales = max.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(values.length);
  for (let i = 0; i < values.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(values[i] / scales[groupOf(i)])));
  return { q, scales };
}

/** uint8 asymmetric scale and zero point covering [min, max] (and 0, so zero padding is exact). */
function activationParams(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-lo / scale))) };
}

export function decodeModel(bytes: Uint8Array): Model {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModelProto(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** The graph with extra outputs, for reading intermediate tensors (calibration). */
export function withOutputs(model: Model, names: string[]): Uint8Array {
  const graph = model.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = names.filter((n) => !existing.has(n)).map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }));
  return encodeModelProto({ ...model, graph: { ...graph, output: [...(graph.output ?? []), ...extra] } });
}

/**
 * The int8 graph for `bytes`. `calibrate` runs a graph and returns the named outputs for each
 * sample; it is called once, with the fp32 graph plus every Conv's input and output as outputs,
 * and only when the graph has convolutions to quantize.
 */
export async function quantizeInt8(bytes: Uint8Array, calibrate: CalibrationRunner): Promise<{ model: Uint8Array; report: QuantizeReport }> {
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const isConstFloat = (name: string | undefined | null) => !!name && initializers.get(name)?.dataType === DataType.FLOAT;
  const report: QuantizeReport = { dynamicMatMuls: 0, staticConvs: 0, keptFloat: 0 };
  const nodes = graph.node ?? [];
  const convs = nodes.filter((n) => n.opType === "Conv" && isConstFloat(n.input?.[1]) && (n.input?.length ?? 0) >= 2);
  const ranges = new Map<string, { min: number; max: number }>();
  if (convs.length > 0) {
    const names = [...new Set(convs.flatMap((n) => [n.input![0]!, n.output![0]!]))];
    const samples = await calibrate(withOutputs(model, names), names);
    if (samples.length === 0) throw new Error("int8 calibration needs at least one sample image");
    for (const sample of samples) {
      for (const name of names) {
        const values = sample.get(name);
        if (!values) throw new Error(`calibration returned no values for "${name}"`);
        const range = ranges.get(name) ?? { min: Infinity, max: -Infinity };
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (v < range.min) range.min = v;
          if (v > range.max) range.max = v;
        }
        ranges.set(name, range);
      }
    }
  }
  const added: Tensor[] = [];
  const used = new Set<string>();
  const out: Node[] = [];
  const quantizedWeights = new Set<string>();
  // One Q/DQ pair per activation tensor, shared by every Conv that reads or writes it.
  const dequantized = new Map<string, string>();
  const activation = (name: string) => {
    const { scale, zeroPoint } = activationParams(ranges.get(name)!.min, ranges.get(name)!.max);
    return { scale: `${name}__int8_scale`, zeroPoint: `${name}__int8_zp`, values: { scale, zeroPoint } };
  };
  const addActivationParams = (name: string) => {
    const a = activation(name);
    if (!used.has(a.scale)) {
      used.add(a.scale);
      added.push(floatInitializer(a.scale, [], Float32Array.of(a.values.scale)));
      added.push(raw(a.zeroPoint, DataType.UINT8, [], Uint8Array.of(a.values.zeroPoint)));
    }
    return a;
  };
  const dequantizedInput = (name: string): string => {
    const known = dequantized.get(name);
    if (known) return known;
    const a = addActivationParams(name);
    out.push(node("QuantizeLinear", [name, a.scale, a.zeroPoint], [`${name}__int8_q`]));
    out.push(node("DequantizeLinear", [`${name}__int8_q`, a.scale, a.zeroPoint], [`${name}__int8_dq`]));
    dequantized.set(name, `${name}__int8_dq`);
    return `${name}__int8_dq`;
  };
  for (const n of nodes) {
    const inputs = n.input ?? [];
    if (n.opType === "MatMul" && isConstFloat(inputs[1]) && !isConstFloat(inputs[0]) && dims(initializers.get(inputs[1]!)!).length === 2) {
      const weight = initializers.get(inputs[1]!)!;
      const [k, cols] = dims(weight);
      const { q, scales } = quantizeSymmetric(floatValues(weight), cols, (i) => i % cols);
      const base = `${n.output![0]}__int8`;
      added.push(raw(`${base}_w`, DataType.INT8, [k, cols], new Uint8Array(q.buffer)));
      added.push(floatInitializer(`${base}_w_scale`, [cols], scales));
      quantizedWeights.add(inputs[1]!);
      out.push(node("DynamicQuantizeLinear", [inputs[0]!], [`${base}_a`, `${base}_a_scale`, `${base}_a_zp`]));
      out.push(node("MatMulInteger", [`${base}_a`, `${base}_w`, `${base}_a_zp`], [`${base}_i32`]));
      out.push(node("Cast", [`${base}_i32`], [`${base}_f`], { to: DataType.FLOAT }));
      out.push(node("Mul", [`${base}_a_scale`, `${base}_w_scale`], [`${base}_scale`]));
      out.push(node("Mul", [`${base}_f`, `${base}_scale`], [n.output![0]!]));
      report.dynamicMatMuls++;
      continue;
    }
    if (convs.includes(n)) {
      const weight = initializers.get(inputs[1]!)!;
      const shape = dims(weight);
      const perChannel = shape.slice(1).reduce((a, b) => a * b, 1);
      const { q, scales } = quantizeSymmetric(floatValues(weight), shape[0], (i) => Math.floor(i / perChannel));
      const base = `${n.output![0]}__int8`;
      added.push(raw(`${base}_w`, DataType.INT8, shape, new Uint8Array(q.buffer)));
      added.push(floatInitializer(`${base}_w_scale`, [shape[0]], scales));
      added.push(raw(`${base}_w_zp`, DataType.INT8, [shape[0]], new Uint8Array(shape[0])));
      quantizedWeights.add(inputs[1]!);
      const x = dequantizedInput(inputs[0]!);
      const convInputs = [x, `${base}_w_dq`];
      out.push(node("DequantizeLinear", [`${base}_w`, `${base}_w_scale`, `${base}_w_zp`], [`${base}_w_dq`], { axis: 0 }));
      if (inputs[2] && isConstFloat(inputs[2])) {
        const xScale = activation(inputs[0]!).values.scale;
        const biasScales = scales.map((s) => s * xScale);
        const bias = floatValues(initializers.get(inputs[2])!);
        const bq = Int32Array.from(bias, (b, i) => Math.round(b / biasScales[i]));
        added.push(int32s(`${base}_b`, [shape[0]], bq));
        added.push(floatInitializer(`${base}_b_scale`, [shape[0]], biasScales));
        added.push(int32s(`${base}_b_zp`, [shape[0]], new Int32Array(shape[0])));
        out.push(node("DequantizeLinear", [`${base}_b`, `${base}_b_scale`, `${base}_b_zp`], [`${base}_b_dq`], { axis: 0 }));
        quantizedWeights.add(inputs[2]);
        convInputs.push(`${base}_b_dq`);
      } else if (inputs[2]) {
        convInputs.push(inputs[2]);
      }
      const y = n.output![0]!;
      out.push({ ...n, input: convInputs, output: [`${y}__int8_float`] });
      const a = addActivationParams(y);
      out.push(node("QuantizeLinear", [`${y}__int8_float`, a.scale, a.zeroPoint], [`${y}__int8_q`]));
      out.push(node("DequantizeLinear", [`${y}__int8_q`, a.scale, a.zeroPoint], [y]));
      // A later Conv reading y reads the same quantized values: no second Q/DQ pair.
      dequantized.set(y, y);
      report.staticConvs++;
      continue;
    }
    if (n.opType === "MatMul" || n.opType === "Conv" || n.opType === "Gemm") report.keptFloat++;
    out.push(n);
  }
  const stillUsed = new Set(out.flatMap((n) => n.input ?? []));
  const kept = (graph.initializer ?? []).filter((t) => !quantizedWeights.has(t.name!) || stillUsed.has(t.name!));
  const keptNames = new Set(kept.map((t) => t.name));
  // Older exports also list initializers as graph inputs: a removed weight must not become an input to feed.
  const inputs = (graph.input ?? []).filter((i) => !quantizedWeights.has(i.name!) || keptNames.has(i.name));
  const opset = (model.opsetImport ?? []).map((o) => (!o.domain ? { ...o, version: Math.max(Number(o.version), 13) } : o));
  const result: Model = {
    ...model,
    opsetImport: opset,
    producerName: "encoder-compare int8",
    graph: { ...graph, input: inputs, node: out, initializer: [...kept, ...added], valueInfo: [] },
  };
  return { model: encodeModelProto(result), report };
}
