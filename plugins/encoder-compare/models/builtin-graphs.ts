// The encoders that ship with the project as ONNX graphs it builds itself (no weights to
// download). Both take `pixel_values` float32 [batch, 3, H, W] with values already rescaled
// to 0..1 and return `embedding` float32 [batch, D], L2-normalised.
import {
  ElementType,
  encodeModel,
  floatInitializer,
  int64Initializer,
  node,
  tensorValueInfo,
  type GraphDefinition,
} from "./onnx-builder.ts";

export type BuiltinGraphName = "pixels" | "phash";

export const BUILTIN_GRAPH_SHAPES: Record<BuiltinGraphName, { width: number; height: number; dim: number }> = {
  pixels: { width: 16, height: 16, dim: 3 * 16 * 16 },
  phash: { width: 32, height: 32, dim: 64 },
};

const INPUT = "pixel_values";
const OUTPUT = "embedding";
const BATCH = "batch";

const BUILDERS: Record<BuiltinGraphName, () => GraphDefinition> = {
  pixels: pixelsGraph,
  phash: phashGraph,
};

export const BUILTIN_GRAPH_NAMES = Object.keys(BUILDERS) as BuiltinGraphName[];

/** Serialised ONNX model for a built-in encoder; identical bytes on every call. */
export function buildBuiltinGraph(name: BuiltinGraphName): Uint8Array {
  if (!Object.hasOwn(BUILDERS, name)) {
    throw new Error(`unknown built-in graph "${String(name)}"; known: ${BUILTIN_GRAPH_NAMES.join(", ")}`);
  }
  return encodeModel(BUILDERS[name]());
}

function inputInfo(name: BuiltinGraphName) {
  const { width, height } = BUILTIN_GRAPH_SHAPES[name];
  return tensorValueInfo(INPUT, ElementType.float, [BATCH, 3, height, width]);
}

function outputInfo(name: BuiltinGraphName) {
  return tensorValueInfo(OUTPUT, ElementType.float, [BATCH, BUILTIN_GRAPH_SHAPES[name].dim]);
}

/**
 * Thumbnail encoder: the 3×16×16 image flattened (NCHW order), centred on its own mean and
 * L2-normalised. An image whose values are all equal has no direction and maps to zeros.
 */
function pixelsGraph(): GraphDefinition {
  return {
    name: "pixels",
    docString: "16x16 RGB thumbnail, mean-centred, L2-normalised (zero vector for a flat image)",
    initializers: [
      int64Initializer("axis_1", [1], [1]),
      floatInitializer("tiny", [], [1e-30]),
      floatInitializer("zero", [], [0]),
    ],
    nodes: [
      node("Flatten", [INPUT], ["flat"], { axis: 1 }),
      node("ReduceMean", ["flat", "axis_1"], ["mean"], { keepdims: 1 }),
      node("Sub", ["flat", "mean"], ["centred"]),
      node("ReduceSumSquare", ["centred", "axis_1"], ["sum_squares"], { keepdims: 1 }),
      node("Sqrt", ["sum_squares"], ["norm"]),
      node("Max", ["norm", "tiny"], ["safe_norm"]),
      node("Div", ["centred", "safe_norm"], ["unit"]),
      // Flatness is tested as max == min rather than norm == 0: the float32 mean of equal values
      // is not always exactly that value, and the rounding residue would normalise to noise.
      node("ReduceMax", ["flat", "axis_1"], ["highest"], { keepdims: 1 }),
      node("ReduceMin", ["flat", "axis_1"], ["lowest"], { keepdims: 1 }),
      node("Greater", ["highest", "lowest"], ["varies"]),
      node("Where", ["varies", "unit", "zero"], [OUTPUT]),
    ],
    inputs: [inputInfo("pixels")],
    outputs: [outputInfo("pixels")],
  };
}

const PHASH_SIZE = 32;
const PHASH_BLOCK = 8;
const LUMA_WEIGHTS = [0.299, 0.587, 0.114];

/**
 * First `rows` rows of the orthonormal N×N DCT-II matrix, D[u][x] = α(u)·cos(π(2x+1)u / 2N).
 * Keeping the top-left block of D·X·Dᵀ equals using only these rows on both sides.
 */
function dctRows(size: number, rows: number): Float32Array {
  const matrix = new Float32Array(rows * size);
  for (let u = 0; u < rows; u++) {
    const scale = Math.sqrt((u === 0 ? 1 : 2) / size);
    for (let x = 0; x < size; x++) matrix[u * size + x] = scale * Math.cos((Math.PI * (2 * x + 1) * u) / (2 * size));
  }
  return matrix;
}

function transpose(matrix: Float32Array, rows: number, cols: number): Float32Array {
  const result = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) result[c * rows + r] = matrix[r * cols + c];
  return result;
}

/**
 * DCT perceptual hash: BT.601 luma at 32×32, orthonormal 2-D DCT-II, the top-left 8×8 block
 * (DC included, row-major: vertical frequency × 8 + horizontal), each coefficient compared with
 * the block's median. Bits are ±1/8, so the vector has unit norm and
 * cosine = 1 − 2·hamming/64.
 */
function phashGraph(): GraphDefinition {
  const block = PHASH_BLOCK * PHASH_BLOCK;
  const dct = dctRows(PHASH_SIZE, PHASH_BLOCK);
  return {
    name: "phash",
    docString: "DCT perceptual hash: 32x32 luma, 8x8 low-frequency DCT block vs its median, +-1/8 per bit",
    initializers: [
      floatInitializer("luma_weights", [1, 3, 1, 1], LUMA_WEIGHTS),
      int64Initializer("axis_1", [1], [1]),
      floatInitializer("dct_rows", [PHASH_BLOCK, PHASH_SIZE], dct),
      floatInitializer("dct_rows_transposed", [PHASH_SIZE, PHASH_BLOCK], transpose(dct, PHASH_BLOCK, PHASH_SIZE)),
      // The median of 64 values is the mean of the 32nd and 33rd smallest (ranks 31, 32 from 0).
      int64Initializer("lower_half_plus_one", [1], [block / 2 + 1]),
      int64Initializer("median_ranks_start", [1], [block / 2 - 1]),
      int64Initializer("median_ranks_end", [1], [block / 2 + 1]),
      floatInitializer("bit_set", [], [1 / PHASH_BLOCK]),
      floatInitializer("bit_clear", [], [-1 / PHASH_BLOCK]),
    ],
    nodes: [
      node("Mul", [INPUT, "luma_weights"], ["weighted_channels"]),
      node("ReduceSum", ["weighted_channels", "axis_1"], ["luma"], { keepdims: 0 }),
      node("MatMul", ["dct_rows", "luma"], ["dct_vertical"]),
      node("MatMul", ["dct_vertical", "dct_rows_transposed"], ["dct_block"]),
      node("Flatten", ["dct_block"], ["coefficients"], { axis: 1 }),
      node("TopK", ["coefficients", "lower_half_plus_one"], ["smallest", "smallest_indices"], {
        axis: 1,
        largest: 0,
        sorted: 1,
      }),
      node("Slice", ["smallest", "median_ranks_start", "median_ranks_end", "axis_1"], ["middle_pair"]),
      node("ReduceMean", ["middle_pair", "axis_1"], ["median"], { keepdims: 1 }),
      node("Greater", ["coefficients", "median"], ["above_median"]),
      node("Where", ["above_median", "bit_set", "bit_clear"], [OUTPUT]),
    ],
    inputs: [inputInfo("phash")],
    outputs: [outputInfo("phash")],
  };
}
