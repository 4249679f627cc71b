// Converts Big Transfer (BiT) ResNetV2 weights, as timm stores them in model.safetensors
// (e.g. resnetv2_50x1_bit.goog_in21k), into an ONNX graph that maps `pixel_values`
// [batch, 3, H, W] to the pre-logits `embedding` [batch, C] (global average pool of the final
// GroupNorm+ReLU; head.fc is dropped; not L2-normalised).
//
// The network, as in timm's timm/models/resnetv2.py with stem_type="fixed" and
// conv_layer=StdConv2d(eps=1e-8) (`_create_resnetv2_bit`):
//   stem:   StdConv 7×7/2 (pad 3) → ConstantPad2d(1, 0) → MaxPool 3×3/2 (no padding)
//   stages: stride 1 for the first stage, 2 for the others; each block a PreActBottleneck:
//             pre = GN+ReLU(x);  shortcut = block 0 ? StdConv1×1/s(pre) : x
//             y = StdConv1×1(pre); y = StdConv3×3/s(GN+ReLU(y)); y = StdConv1×1(GN+ReLU(y))
//             out = y + shortcut
//   final:  GN+ReLU (`norm`) → global average pool → flatten
// GroupNorm is GroupNormAct(num_groups=32, eps=1e-5). Depths and widths are read from the
// tensor shapes, so one function converts R50x1 (3,4,6,3 → 2048-d) and small test variants.
import type { onnx as OnnxTypes } from "onnx-proto";
import { DEFAULTS } from "../base/defaults.ts";
import { onnx } from "./onnx-builder.ts";
import { readSafetensors, type FloatTensor } from "./safetensors.ts";

export const BIT_INPUT_NAME = "pixel_values";
export const BIT_OUTPUT_NAME = "embedding";

const STD_CONV_EPS = 1e-8; // timm _create_resnetv2_bit: partial(StdConv2d, eps=1e-8)
const GROUP_NORM_EPS = 1e-5; // timm GroupNormAct default
const GROUP_NORM_GROUPS = 32; // timm ResNetV2 default norm_layer=partial(GroupNormAct, num_groups=32)
const STEM_KERNEL = 7;

export interface BitStageLayout {
  depth: number;
  /** Bottleneck width (conv1/conv2 output channels). */
  midChannels: number;
  outChannels: number;
}

export interface BitLayout {
  inChannels: number;
  stemChannels: number;
  stages: BitStageLayout[];
  /** Classes of head.fc when the file has one (it is accepted and ignored). */
  headClasses?: number;
}

/** timm resnetv2_50x1_bit.goog_in21k: layers [3,4,6,3], width factor 1, 21843 classes. */
export const RESNETV2_50X1_BIT_LAYOUT: BitLayout = {
  inChannels: 3,
  stemChannels: 64,
  stages: [
    { depth: 3, midChannels: 64, outChannels: 256 },
    { depth: 4, midChannels: 128, outChannels: 512 },
    { depth: 6, midChannels: 256, outChannels: 1024 },
    { depth: 3, midChannels: 512, outChannels: 2048 },
  ],
  headClasses: 21843,
};

/** Every tensor name and shape timm's ResNetV2 (BiT) state dict has for a layout, in module order. */
export function bitTensorShapes(layout: BitLayout): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const norm = (prefix: string, channels: number) => {
    shapes.set(`${prefix}.weight`, [channels]);
    shapes.set(`${prefix}.bias`, [channels]);
  };
  shapes.set("stem.conv.weight", [layout.stemChannels, layout.inChannels, STEM_KERNEL, STEM_KERNEL]);
  let inChannels = layout.stemChannels;
  layout.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.depth; b++) {
      const p = `stages.${s}.blocks.${b}`;
      const { midChannels: mid, outChannels: out } = stage;
      if (b === 0) shapes.set(`${p}.downsample.conv.weight`, [out, inChannels, 1, 1]);
      norm(`${p}.norm1`, inChannels);
      shapes.set(`${p}.conv1.weight`, [mid, inChannels, 1, 1]);
      norm(`${p}.norm2`, mid);
      shapes.set(`${p}.conv2.weight`, [mid, mid, 3, 3]);
      norm(`${p}.norm3`, mid);
      shapes.set(`${p}.conv3.weight`, [out, mid, 1, 1]);
      inChannels = out;
    }
  });
  norm("norm", inChannels);
  if (layout.headClasses !== undefined) {
    shapes.set("head.fc.weight", [layout.headClasses, inChannels, 1, 1]);
    shapes.set("head.fc.bias", [layout.headClasses]);
  }
  return shapes;
}

function missingTensor(name: string): Error {
  return new Error(
    `BiT weights: tensor "${name}" is missing; expected a timm ResNetV2 (BiT) state dict such as resnetv2_50x1_bit.goog_in21k/model.safetensors`,
  );
}

function shapeOf(tensors: ReadonlyMap<string, FloatTensor>, name: string, rank: number): number[] {
  const tensor = tensors.get(name);
  if (!tensor) throw missingTensor(name);
  if (tensor.shape.length !== rank) {
    throw new Error(`BiT weights: tensor "${name}" has shape [${tensor.shape.join(", ")}], expected rank ${rank}`);
  }
  return tensor.shape;
}

function countIndices(names: Iterable<string>, pattern: RegExp): number {
  const seen = new Set<number>();
  for (const name of names) {
    const match = pattern.exec(name);
    if (match) seen.add(Number(match[1]));
  }
  for (let i = 0; i < seen.size; i++) {
    if (!seen.has(i)) {
      throw new Error(`BiT weights: index ${i} is missing from tensors matching ${pattern.source} (found ${[...seen].sort((a, b) => a - b).join(", ")})`);
    }
  }
  return seen.size;
}

/**
 * Reads depths and widths from a timm ResNetV2 (BiT) state dict, then checks that the tensor
 * set is exactly what that layout needs: a missing, unexpected or mis-shaped tensor is named.
 */
export function describeBitLayout(tensors: ReadonlyMap<string, FloatTensor>): BitLayout {
  const [stemChannels, inChannels] = shapeOf(tensors, "stem.conv.weight", 4);
  const names = [...tensors.keys()];
  const stageCount = countIndices(names, /^stages\.(\d+)\./);
  if (stageCount === 0) throw missingTensor("stages.0.blocks.0.conv1.weight");
  const stages: BitStageLayout[] = [];
  for (let s = 0; s < stageCount; s++) {
    const depth = countIndices(names, new RegExp(`^stages\\.${s}\\.blocks\\.(\\d+)\\.`));
    const [midChannels] = shapeOf(tensors, `stages.${s}.blocks.0.conv1.weight`, 4);
    const [outChannels] = shapeOf(tensors, `stages.${s}.blocks.0.conv3.weight`, 4);
    stages.push({ depth, midChannels, outChannels });
  }
  const head = tensors.get("head.fc.weight");
  const layout: BitLayout = { inChannels, stemChannels, stages, headClasses: head?.shape[0] };

  const expected = bitTensorShapes(layout);
  for (const [name, shape] of expected) {
    const tensor = tensors.get(name);
    if (!tensor) throw missingTensor(name);
    if (tensor.shape.length !== shape.length || tensor.shape.some((dim, i) => dim !== shape[i])) {
      throw new Error(
        `BiT weights: tensor "${name}" has shape [${tensor.shape.join(", ")}], expected [${shape.join(", ")}] from the layout the other tensors imply`,
      );
    }
    if (/norm\d?\.weight$/.test(name) && shape[0] % GROUP_NORM_GROUPS !== 0) {
      throw new Error(`BiT weights: tensor "${name}" has ${shape[0]} channels, which GroupNorm(${GROUP_NORM_GROUPS}) cannot split evenly`);
    }
  }
  for (const name of names) {
    if (!expected.has(name)) {
      throw new Error(`BiT weights: unexpected tensor "${name}"; this converter handles timm ResNetV2 (BiT) pre-activation bottleneck models only`);
    }
  }
  return layout;
}

/**
 * Weight standardisation as timm's StdConv2d applies it on every forward pass (batch_norm over
 * each output channel's weights, biased variance), done once here in float64.
 */
export function standardizeConvWeight(weight: FloatTensor, eps = STD_CONV_EPS): Float32Array {
  const outChannels = weight.shape[0];
  const fanIn = weight.data.length / outChannels;
  const out = new Float32Array(weight.data.length);
  for (let o = 0; o < outChannels; o++) {
    const start = o * fanIn;
    let sum = 0;
    for (let i = 0; i < fanIn; i++) sum += weight.data[start + i];
    const mean = sum / fanIn;
    let squares = 0;
    for (let i = 0; i < fanIn; i++) squares += (weight.data[start + i] - mean) ** 2;
    const invStd = 1 / Math.sqrt(squares / fanIn + eps);
    for (let i = 0; i < fanIn; i++) out[start + i] = (weight.data[start + i] - mean) * invStd;
  }
  return out;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function littleEndianBytes(values: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return bytes;
}

/** Integers and integer lists become INT/INTS attributes; `{ float }` marks a FLOAT one. */
type Attribute = number | number[] | { float: number };

/** Just enough graph building for this converter: nodes in insertion order, named constants. */
class GraphWriter {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly constantNames = new Set<string>();

  floatConstant(name: string, dims: number[], values: Float32Array): string {
    this.addConstant({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndianBytes(values) });
    return name;
  }

  int64Constant(name: string, values: number[]): string {
    this.addConstant({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: values });
    return name;
  }

  private addConstant(tensor: OnnxTypes.ITensorProto): void {
    if (this.constantNames.has(tensor.name!)) throw new Error(`internal: constant "${tensor.name}" defined twice`);
    this.constantNames.add(tensor.name!);
    this.initializers.push(tensor);
  }

  node(opType: string, inputs: string[], output: string, attributes: Record<string, Attribute> = {}): string {
    const attribute = Object.entries(attributes).map(([name, value]): OnnxTypes.IAttributeProto => {
      if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
      if (typeof value === "object") return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
      return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
    });
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return output;
  }
}

/** ONNX IR version that first carried each default opset (onnx/docs/Versioning.md). */
function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

/** 18 is the first opset whose Pad takes `axes` (see `stem`). */
const MIN_OPSET = 18;
const MAX_OPSET = 21;

class BitGraph {
  private readonly graph = new GraphWriter();
  private readonly groupedShape: string;
  private readonly groupOnes: string;
  private readonly groupZeros: string;
  private readonly channelConstants = new Map<string, string>();

  constructor(private readonly tensors: ReadonlyMap<string, FloatTensor>) {
    this.groupedShape = this.graph.int64Constant("group_norm.grouped_shape", [0, GROUP_NORM_GROUPS, -1]);
    this.groupOnes = this.graph.floatConstant("group_norm.ones", [GROUP_NORM_GROUPS], new Float32Array(GROUP_NORM_GROUPS).fill(1));
    this.groupZeros = this.graph.floatConstant("group_norm.zeros", [GROUP_NORM_GROUPS], new Float32Array(GROUP_NORM_GROUPS));
  }

  private tensor(name: string): FloatTensor {
    const tensor = this.tensors.get(name);
    if (!tensor) throw missingTensor(name);
    return tensor;
  }

  private stdConv(input: string, module: string, stride: number, padding: number): string {
    const weight = this.tensor(`${module}.weight`);
    const [, , kernelH, kernelW] = weight.shape;
    const weightName = this.graph.floatConstant(`${module}.weight`, weight.shape, standardizeConvWeight(weight));
    return this.graph.node("Conv", [input, weightName], module, {
      kernel_shape: [kernelH, kernelW],
      strides: [stride, stride],
      pads: [padding, padding, padding, padding],
    });
  }

  /**
   * GroupNorm + ReLU without the GroupNormalization op (its onnxruntime support differs by
   * opset): InstanceNormalization over [N, G, C/G·H·W], then the per-channel affine as one
   * inference-mode BatchNormalization (mean 0, variance 1, epsilon 0: exactly w·x + b) — one
   * pass over the activations where a Mul and an Add took two.
   */
  private groupNormRelu(input: string, module: string): string {
    const g = this.graph;
    const weight = this.tensor(`${module}.weight`);
    const bias = this.tensor(`${module}.bias`);
    const channels = weight.shape[0];
    const grouped = g.node("Reshape", [input, this.groupedShape], `${module}.grouped`);
    const normalized = g.node("InstanceNormalization", [grouped, this.groupOnes, this.groupZeros], `${module}.normalized`, {
      epsilon: { float: GROUP_NORM_EPS },
    });
    const inputShape = g.node("Shape", [input], `${module}.input_shape`);
    const ungrouped = g.node("Reshape", [normalized, inputShape], `${module}.ungrouped`);
    const affine = g.node(
      "BatchNormalization",
      [
        ungrouped,
        g.floatConstant(`${module}.weight`, [channels], weight.data),
        g.floatConstant(`${module}.bias`, [channels], bias.data),
        this.channelConstant("zeros", channels, 0),
        this.channelConstant("ones", channels, 1),
      ],
      `${module}.affine`,
      { epsilon: { float: 0 } },
    );
    return g.node("Relu", [affine], `${module}.act`);
  }

  /** One shared constant vector per channel count (BatchNormalization's mean and variance). */
  private channelConstant(kind: "zeros" | "ones", channels: number, value: number): string {
    const name = `affine.${kind}.${channels}`;
    if (!this.channelConstants.has(name)) this.channelConstants.set(name, this.graph.floatConstant(name, [channels], new Float32Array(channels).fill(value)));
    return name;
  }

  private stem(input: string): string {
    const conv = this.stdConv(input, "stem.conv", 2, 3);
    // ConstantPad2d(1, 0.) then an unpadded pool: zero padding, not MaxPool's -inf padding, so
    // the pad must stay a separate node. onnxruntime's PadFusion folds a zero Pad into the next
    // MaxPool's pads (which changes the result) unless the Pad has an `axes` input.
    const g = this.graph;
    const padded = g.node(
      "Pad",
      [
        conv,
        g.int64Constant("stem.pad.pads", [1, 1, 1, 1]),
        g.floatConstant("stem.pad.value", [], new Float32Array([0])),
        g.int64Constant("stem.pad.axes", [2, 3]),
      ],
      "stem.pad",
    );
    return this.graph.node("MaxPool", [padded], "stem.pool", { kernel_shape: [3, 3], strides: [2, 2] });
  }

  private block(input: string, prefix: string, stride: number, hasDownsample: boolean): string {
    const preact = this.groupNormRelu(input, `${prefix}.norm1`);
    const shortcut = hasDownsample ? this.stdConv(preact, `${prefix}.downsample.conv`, stride, 0) : input;
    let x = this.stdConv(preact, `${prefix}.conv1`, 1, 0);
    x = this.stdConv(this.groupNormRelu(x, `${prefix}.norm2`), `${prefix}.conv2`, stride, 1);
    x = this.stdConv(this.groupNormRelu(x, `${prefix}.norm3`), `${prefix}.conv3`, 1, 0);
    return this.graph.node("Add", [x, shortcut], `${prefix}.out`);
  }

  build(layout: BitLayout, opset: number): Uint8Array {
    let x = this.stem(BIT_INPUT_NAME);
    layout.stages.forEach((stage, s) => {
      for (let b = 0; b < stage.depth; b++) {
        const stride = s > 0 && b === 0 ? 2 : 1;
        x = this.block(x, `stages.${s}.blocks.${b}`, stride, b === 0);
      }
    });
    x = this.groupNormRelu(x, "norm");
    x = this.graph.node("GlobalAveragePool", [x], "head.global_pool");
    this.graph.node("Flatten", [x], BIT_OUTPUT_NAME, { axis: 1 });

    const features = layout.stages.at(-1)!.outChannels;
    const float = onnx.TensorProto.DataType.FLOAT;
    const model = onnx.ModelProto.create({
      irVersion: irVersionFor(opset),
      opsetImport: [{ domain: "", version: opset }],
      producerName: "encoder-compare convert-bit",
      producerVersion: "2",
      docString: "BiT ResNetV2 pre-logits embedding (not L2-normalised), converted from timm safetensors weights",
      metadataProps: [{ key: "layout", value: JSON.stringify(layout) }],
      graph: {
        name: "bit_resnetv2",
        node: this.graph.nodes,
        initializer: this.graph.initializers,
        input: [
          {
            name: BIT_INPUT_NAME,
            type: {
              tensorType: {
                elemType: float,
                shape: { dim: [{ dimParam: "batch" }, { dimValue: layout.inChannels }, { dimParam: "height" }, { dimParam: "width" }] },
              },
            },
          },
        ],
        output: [
          {
            name: BIT_OUTPUT_NAME,
            type: { tensorType: { elemType: float, shape: { dim: [{ dimParam: "batch" }, { dimValue: features }] } } },
          },
        ],
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

export interface ConvertBitOptions {
  /** ONNX default-domain opset to declare, 18..21 (default DEFAULTS.converters.bitOpset). */
  opset?: number;
}

/** Converts an already decoded state dict (see `convertBitSafetensors`). */
export function convertBitTensors(tensors: ReadonlyMap<string, FloatTensor>, options: ConvertBitOptions = {}): Uint8Array {
  const opset = options.opset ?? DEFAULTS.converters.bitOpset;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`convertBit: opset ${opset} is not supported; use an integer from ${MIN_OPSET} to ${MAX_OPSET}`);
  }
  const layout = describeBitLayout(tensors);
  return new BitGraph(tensors).build(layout, opset);
}

/**
 * Converts timm BiT ResNetV2 weights (model.safetensors bytes) into ONNX ModelProto bytes with
 * input `pixel_values` [batch, 3, H, W] and output `embedding` [batch, C]. Same input, same bytes.
 */
export function convertBitSafetensors(weights: Uint8Array, options: ConvertBitOptions = {}): Uint8Array {
  let tensors: Map<string, FloatTensor>;
  try {
    tensors = readSafetensors(weights);
  } catch (error) {
    throw new Error(`convertBit: cannot read the BiT weights file: ${(error as Error).message}`, { cause: error });
  }
  return convertBitTensors(tensors, options);
}
