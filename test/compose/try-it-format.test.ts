// The try-it vector encodings (compose/try-it-format.ts, base/half-float.ts): half precision and int8 within their
// stated error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeVectors, encodeVectors } from "../../plugins/encoder-compare/compose/try-it-format.ts";
import { floatToHalf as toHalf, halfTable, halfToFloat as fromHalf } from "../../plugins/encoder-compare/base/half-float.ts";
import { seededRandom } from "../support/prng.ts";

describe("vector encodings", () => {
  test("half precision: exact where representable, nearest-even otherwise, specials kept", () => {
    for (const value of [0, 1, -1, 0.5, 0.125, -0.125, 65504, 2 ** -24, 2 ** -14]) assert.equal(fromHalf(toHalf(value)), value);
    assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1, "a tie rounds to even");
    assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9, "a tie rounds to even (up)");
    assert.equal(fromHalf(toHalf(1e6)), Infinity);
    assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
    // Every half value survives the way back, and the decode table is the same function.
    const table = halfTable();
    for (let bits = 0; bits < 65536; bits++) {
      if (Number.isNaN(fromHalf(bits))) continue;
      assert.equal(toHalf(fromHalf(bits)), bits, `bits ${bits}`);
      assert.equal(table[bits], fromHalf(bits), `table ${bits}`);
    }
  });
  test("unit vectors survive f16 within 2^-11 relative per value and i8 within half a step", () => {
    const random = seededRandom(3);
    const values = Float32Array.from({ length: 4096 }, () => (random() - 0.5) / 8);
    const f16 = encodeVectors(values, "f16");
    assert.equal(f16.bytes.byteLength, values.length * 2);
    const back = decodeVectors(f16.bytes.slice().buffer, "f16");
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back[i] - values[i]) <= Math.abs(values[i]) * 2 ** -11 + 2 ** -25, `${values[i]} → ${back[i]}`);
    const i8 = encodeVectors(values, "i8");
    assert.equal(i8.bytes.byteLength, values.length);
    const back8 = decodeVectors(i8.bytes.slice().buffer, "i8", i8.scale);
    for (let i = 0; i < values.length; i++) assert.ok(Math.abs(back8[i] - values[i]) <= i8.scale! / 2 + 1e-9);
  });
});
