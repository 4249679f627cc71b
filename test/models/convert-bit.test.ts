// The BiT converter (models/convert-bit.ts) against the torch reference, its errors, and a full-size random model.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { describe, test } from "node:test";
import * as ort from "onnxruntime-node";
import {
  BIT_INPUT_NAME,
  BIT_OUTPUT_NAME,
  RESNETV2_50X1_BIT_LAYOUT,
  bitTensorShapes,
  convertBitSafetensors,
  describeBitLayout,
  type BitLayout,
} from "../../plugins/encoder-compare/models/convert-bit.ts";
import { type FloatTensor, readSafetensors, writeSafetensors } from "../../plugins/encoder-compare/models/safetensors.ts";
import { seededRandom } from "../support/prng.ts";

const FIXTURES = new URL("../fixtures/bit/", import.meta.url);
const TOLERANCE = 1e-4;

interface ReferenceCase {
  input: string;
  input_shape: number[];
  expected: string;
  expected_shape: number[];
}

const meta = JSON.parse(readFileSync(new URL("meta.json", FIXTURES), "utf8")) as { cases: ReferenceCase[] };
const tinyWeights = new Uint8Array(readFileSync(new URL("tiny-resnetv2.safetensors", FIXTURES)));

function readFloat32File(name: string): Float32Array {
  const bytes = readFileSync(new URL(name, FIXTURES));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

async function embed(
  model: Uint8Array,
  input: Float32Array,
  dims: number[],
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model, options);
  try {
    assert.deepEqual(session.inputNames, [BIT_INPUT_NAME]);
    assert.deepEqual(session.outputNames, [BIT_OUTPUT_NAME]);
    const outputs = await session.run({ [BIT_INPUT_NAME]: new ort.Tensor("float32", input, dims) });
    return outputs[BIT_OUTPUT_NAME];
  } finally {
    await session.release();
  }
}

function maxAbsDifference(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let max = 0;
  for (let i = 0; i < actual.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

function withTensors(edit: (tensors: Map<string, FloatTensor>) => void): Uint8Array {
  const tensors = readSafetensors(tinyWeights);
  edit(tensors);
  return writeSafetensors(tensors);
}

/** Deterministic uniform [-1, 1) numbers. */
function seededUniform(seed: number): () => number {
  const random = seededRandom(seed);
  return () => random() * 2 - 1;
}

/** Random weights with the real timm tensor names and shapes of a layout, as safetensors bytes. */
function randomBitSafetensors(layout: BitLayout, seed: number): Uint8Array {
  const uniform = seededUniform(seed);
  const tensors = new Map<string, FloatTensor>();
  for (const [name, shape] of bitTensorShapes(layout)) {
    const data = new Float32Array(shape.reduce((product, dim) => product * dim, 1));
    const isNormWeight = /norm\d?\.weight$/.test(name);
    for (let i = 0; i < data.length; i++) data[i] = isNormWeight ? 1 + 0.1 * uniform() : 0.1 * uniform();
    tensors.set(name, { shape, data });
  }
  return writeSafetensors(tensors);
}

describe("convertBitSafetensors on the tiny torch-reference model", () => {
  test("reads depths and widths from the tensor shapes", () => {
    assert.deepEqual(describeBitLayout(readSafetensors(tinyWeights)), {
      inChannels: 3,
      stemChannels: 64,
      stages: [
        { depth: 2, midChannels: 32, outChannels: 128 },
        { depth: 1, midChannels: 32, outChannels: 128 },
        { depth: 1, midChannels: 64, outChannels: 256 },
        { depth: 1, midChannels: 64, outChannels: 256 },
      ],
      headClasses: 10,
    });
  });

  // Both optimisation levels: onnxruntime's graph rewrites once broke the stem's zero Pad
  // (PadFusion into MaxPool); the unoptimised run checks the graph as written.
  const runs = [
    { opset: 18, graphOptimizationLevel: "all" },
    { opset: 21, graphOptimizationLevel: "all" },
    { opset: 18, graphOptimizationLevel: "disabled" },
  ] as const;
  for (const { opset, graphOptimizationLevel } of runs) {
    test(`matches the torch reference within ${TOLERANCE} (opset ${opset}, optimisation ${graphOptimizationLevel})`, async (t) => {
      const started = performance.now();
      const model = convertBitSafetensors(tinyWeights, { opset });
      const converted = performance.now();
      for (const reference of meta.cases) {
        const output = await embed(model, readFloat32File(reference.input), reference.input_shape, { graphOptimizationLevel });
        assert.equal(output.type, "float32");
        assert.deepEqual(output.dims, reference.expected_shape);
        const delta = maxAbsDifference(output.data as Float32Array, readFloat32File(reference.expected));
        t.diagnostic(`${reference.input} [${reference.input_shape.join("x")}]: max |Δ| = ${delta.toExponential(3)}`);
        assert.ok(delta <= TOLERANCE, `max |Δ| ${delta} exceeds ${TOLERANCE} for ${reference.input}`);
      }
      t.diagnostic(
        `conversion ${(converted - started).toFixed(1)} ms, ` +
          `sessions+inference ${(performance.now() - converted).toFixed(1)} ms, model ${model.byteLength} bytes`,
      );
    });
  }

  test("produces identical bytes for identical weights", () => {
    const first = convertBitSafetensors(tinyWeights);
    const second = convertBitSafetensors(new Uint8Array(tinyWeights));
    assert.ok(Buffer.from(first).equals(Buffer.from(second)));
  });

  test("names a missing tensor", () => {
    const weights = withTensors((tensors) => tensors.delete("stages.0.blocks.1.norm2.weight"));
    assert.throws(() => convertBitSafetensors(weights), /tensor "stages\.0\.blocks\.1\.norm2\.weight" is missing/);
  });

  test("names a missing first-block downsample", () => {
    const weights = withTensors((tensors) => tensors.delete("stages.2.blocks.0.downsample.conv.weight"));
    assert.throws(() => convertBitSafetensors(weights), /"stages\.2\.blocks\.0\.downsample\.conv\.weight" is missing/);
  });

  test("names a tensor whose shape does not fit the layout", () => {
    const weights = withTensors((tensors) =>
      tensors.set("stages.1.blocks.0.conv2.weight", { shape: [32, 32, 1, 1], data: new Float32Array(32 * 32) }),
    );
    assert.throws(
      () => convertBitSafetensors(weights),
      /"stages\.1\.blocks\.0\.conv2\.weight" has shape \[32, 32, 1, 1\], expected \[32, 32, 3, 3\]/,
    );
  });

  test("names an unexpected tensor", () => {
    const weights = withTensors((tensors) =>
      tensors.set("stages.0.blocks.1.downsample.conv.weight", { shape: [128, 128, 1, 1], data: new Float32Array(128 * 128) }),
    );
    assert.throws(() => convertBitSafetensors(weights), /unexpected tensor "stages\.0\.blocks\.1\.downsample\.conv\.weight"/);
  });

  test("reports a truncated weights file", () => {
    assert.throws(
      () => convertBitSafetensors(tinyWeights.subarray(0, tinyWeights.byteLength - 100)),
      (error: Error) => /cannot read the BiT weights file/.test(error.message) && /truncated/.test(error.message) && error.cause instanceof Error,
    );
  });

  test("refuses unsupported opsets", () => {
    assert.throws(() => convertBitSafetensors(tinyWeights, { opset: 17 }), /opset 17 is not supported/);
  });
});

describe("full-size ResNetV2-50x1 (random weights, real tensor names)", () => {
  test("converts and embeds a 224×224 image into 2048 finite values", async (t) => {
    // Without head.fc (44.7M values) — it is ignored anyway and would only slow the test.
    const layout: BitLayout = { ...RESNETV2_50X1_BIT_LAYOUT, headClasses: undefined };
    let started = performance.now();
    const weights = randomBitSafetensors(layout, 1);
    const generatedMs = performance.now() - started;

    started = performance.now();
    const model = convertBitSafetensors(weights);
    const convertedMs = performance.now() - started;

    const uniform = seededUniform(2);
    const image = Float32Array.from({ length: 3 * 224 * 224 }, () => uniform());
    started = performance.now();
    const session = await ort.InferenceSession.create(model);
    const sessionMs = performance.now() - started;
    try {
      started = performance.now();
      const outputs = await session.run({ [BIT_INPUT_NAME]: new ort.Tensor("float32", image, [1, 3, 224, 224]) });
      const inferenceMs = performance.now() - started;
      const embedding = outputs[BIT_OUTPUT_NAME];
      assert.deepEqual(embedding.dims, [1, 2048]);
      const values = embedding.data as Float32Array;
      assert.ok(values.every(Number.isFinite), "embedding has NaN or infinite values");
      assert.ok(values.some((value) => value > 0), "embedding is all zeros");
      t.diagnostic(
        `weights ${(weights.byteLength / 2 ** 20).toFixed(1)} MiB generated in ${generatedMs.toFixed(0)} ms; ` +
          `conversion ${convertedMs.toFixed(0)} ms → ${(model.byteLength / 2 ** 20).toFixed(1)} MiB ONNX; ` +
          `session ${sessionMs.toFixed(0)} ms; inference (1×224²) ${inferenceMs.toFixed(0)} ms`,
      );
    } finally {
      await session.release();
    }
  });
});
