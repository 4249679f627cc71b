import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import path from "node:path";
import { before, describe, it } from "node:test";
import { InferenceSession, Tensor } from "onnxruntime-node";
import sharp, { type Sharp } from "sharp";
import {
  BUILTIN_GRAPH_SHAPES,
  buildBuiltinGraph,
  type BuiltinGraphName,
} from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { referencePhash, referencePixels, type NchwTensor } from "../reference/builtin-encoders.ts";

const EMOJI_DIR = path.resolve("node_modules/emoji-datasource-google/img/google/64");
const EMOJI_FILES = ["1f600", "1f436", "1f431", "1f34e", "1f697", "2764-fe0f", "1f525", "1f30a"].map((code) =>
  path.join(EMOJI_DIR, `${code}.png`),
);
const FIXTURE_NAMES = [...EMOJI_FILES.map((file) => path.basename(file)), "gradient", "flat colour", "flat grey"];
const FLAT_INDICES = new Set([EMOJI_FILES.length + 1, EMOJI_FILES.length + 2]);
/** Every value of the grey image is equal, so pixels (centred across channels too) has no direction. */
const GREY_INDEX = EMOJI_FILES.length + 2;

const PHASH_TIE_TOLERANCE = 1e-5;

/** A 64×64 smooth, non-separable gradient (so its DCT has no structurally zero coefficients). */
function gradientImage(): Sharp {
  const size = 64;
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const fx = x / (size - 1);
      const fy = y / (size - 1);
      const offset = (y * size + x) * 3;
      pixels[offset] = Math.round(255 * fx);
      pixels[offset + 1] = Math.round(255 * fy * fy);
      pixels[offset + 2] = Math.round(255 * Math.min(1, Math.hypot(fx, fy) / Math.SQRT2));
    }
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
}

function flatImage(background: { r: number; g: number; b: number }): Sharp {
  return sharp({ create: { width: 64, height: 64, channels: 3, background } });
}

/** Decodes every fixture to RGB at width×height and packs them as one NCHW tensor in 0..1. */
async function fixtureTensor(width: number, height: number): Promise<NchwTensor> {
  const images = [
    ...EMOJI_FILES.map((file) => sharp(file)),
    gradientImage(),
    flatImage({ r: 128, g: 64, b: 200 }),
    // onnxruntime's float32 mean of 768 × 200/255 is not exactly 200/255, so a norm-only guard
    // would let that residue through as a unit vector; the graph must still give zeros.
    flatImage({ r: 200, g: 200, b: 200 }),
  ];
  const plane = width * height;
  const data = new Float32Array(images.length * 3 * plane);
  for (const [index, image] of images.entries()) {
    const rgb = await image
      .flatten({ background: "#ffffff" })
      .resize(width, height, { fit: "fill" })
      .removeAlpha()
      .raw()
      .toBuffer();
    assert.equal(rgb.length, plane * 3, `fixture ${FIXTURE_NAMES[index]} decoded to the wrong size`);
    const base = index * 3 * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) data[base + c * plane + p] = rgb[p * 3 + c] / 255;
    }
  }
  return { data, batch: images.length, height, width };
}

function sliceBatch(tensor: NchwTensor, index: number): NchwTensor {
  const size = 3 * tensor.height * tensor.width;
  return { ...tensor, batch: 1, data: tensor.data.slice(index * size, (index + 1) * size) };
}

async function embed(session: InferenceSession, tensor: NchwTensor): Promise<Float32Array[]> {
  const input = new Tensor("float32", tensor.data, [tensor.batch, 3, tensor.height, tensor.width]);
  const { embedding } = await session.run({ pixel_values: input });
  assert.equal(embedding.type, "float32");
  const dim = embedding.dims[1];
  assert.deepEqual(embedding.dims, [tensor.batch, dim]);
  const values = embedding.data as Float32Array;
  return Array.from({ length: tensor.batch }, (_, row) => values.slice(row * dim, (row + 1) * dim));
}

function norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

interface Encoder {
  session: InferenceSession;
  tensor: NchwTensor;
  rows: Float32Array[];
}

async function loadEncoder(name: BuiltinGraphName): Promise<Encoder> {
  const { width, height } = BUILTIN_GRAPH_SHAPES[name];
  const session = await InferenceSession.create(buildBuiltinGraph(name));
  const tensor = await fixtureTensor(width, height);
  return { session, tensor, rows: await embed(session, tensor) };
}

describe("built-in ONNX graphs", () => {
  const encoders = {} as Record<BuiltinGraphName, Encoder>;

  before(async () => {
    encoders.pixels = await loadEncoder("pixels");
    encoders.phash = await loadEncoder("phash");
  });

  it("declare pixel_values [batch, 3, H, W] → embedding [batch, D]", () => {
    for (const name of ["pixels", "phash"] as const) {
      const { session, rows } = encoders[name];
      assert.deepEqual(session.inputNames, ["pixel_values"]);
      assert.deepEqual(session.outputNames, ["embedding"]);
      for (const row of rows) assert.equal(row.length, BUILTIN_GRAPH_SHAPES[name].dim);
    }
    assert.equal(BUILTIN_GRAPH_SHAPES.pixels.dim, 768);
    assert.equal(BUILTIN_GRAPH_SHAPES.phash.dim, 64);
  });

  it("pixels matches the float64 reference within 1e-5", () => {
    const { tensor, rows } = encoders.pixels;
    const expected = referencePixels(tensor);
    for (const [index, row] of rows.entries()) {
      const difference = maxAbsDifference(row, expected[index]);
      assert.ok(difference <= 1e-5, `${FIXTURE_NAMES[index]}: max |Δ| ${difference}`);
    }
  });

  it("phash signs match the reference except at coefficients tied with the median", (t) => {
    const { tensor, rows } = encoders.phash;
    const expected = referencePhash(tensor);
    const report: string[] = [];
    for (const [index, row] of rows.entries()) {
      const { embedding, coefficients, median } = expected[index];
      const ties = new Set<number>();
      coefficients.forEach((value, i) => {
        if (Math.abs(value - median) <= PHASH_TIE_TOLERANCE) ties.add(i);
      });
      const mismatches: number[] = [];
      row.forEach((value, i) => {
        assert.ok(value === 0.125 || value === -0.125, `${FIXTURE_NAMES[index]}[${i}] = ${value}`);
        if (value !== embedding[i]) mismatches.push(i);
      });
      report.push(`${FIXTURE_NAMES[index]}: ${ties.size} ties, ${mismatches.length} mismatches`);
      for (const i of mismatches) {
        assert.ok(ties.has(i), `${FIXTURE_NAMES[index]}[${i}] differs but is not tied with the median`);
      }
      // Only flat images (all AC coefficients are rounding noise around 0) may have ties.
      if (!FLAT_INDICES.has(index)) assert.equal(ties.size, 0, `${FIXTURE_NAMES[index]} has coefficients tied with the median`);
    }
    t.diagnostic(report.join("; "));
  });

  it("gives unit vectors, and a zero vector (no NaN) for a flat grey image under pixels", () => {
    for (const name of ["pixels", "phash"] as const) {
      for (const [index, row] of encoders[name].rows.entries()) {
        assert.ok(row.every(Number.isFinite), `${name} ${FIXTURE_NAMES[index]} has a non-finite value`);
        const expectedNorm = name === "pixels" && index === GREY_INDEX ? 0 : 1;
        assert.ok(Math.abs(norm(row) - expectedNorm) <= 1e-5, `${name} ${FIXTURE_NAMES[index]}: norm ${norm(row)}`);
      }
    }
    assert.ok(encoders.pixels.rows[GREY_INDEX].every((value) => value === 0));
  });

  it("embeds each image the same alone as in a batch", async () => {
    for (const name of ["pixels", "phash"] as const) {
      const { session, tensor, rows } = encoders[name];
      for (let index = 0; index < tensor.batch; index++) {
        const [alone] = await embed(session, sliceBatch(tensor, index));
        const difference = maxAbsDifference(alone, rows[index]);
        assert.ok(difference <= 1e-6, `${name} ${FIXTURE_NAMES[index]}: batch of 1 vs N differ by ${difference}`);
      }
    }
  });

  it("builds byte-identical graphs on every call", () => {
    for (const name of ["pixels", "phash"] as const) {
      const first = buildBuiltinGraph(name);
      const second = buildBuiltinGraph(name);
      assert.deepEqual(Buffer.from(first), Buffer.from(second));
      assert.equal(createHash("sha256").update(first).digest("hex"), createHash("sha256").update(second).digest("hex"));
    }
    assert.notDeepEqual(Buffer.from(buildBuiltinGraph("pixels")), Buffer.from(buildBuiltinGraph("phash")));
  });

  it("rejects an unknown graph name, listing the known ones", () => {
    assert.throws(() => buildBuiltinGraph("clip" as BuiltinGraphName), /unknown built-in graph "clip"; known: pixels, phash/);
  });
});
