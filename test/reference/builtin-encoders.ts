// Plain float64 implementations of the built-in encoders, written from their definitions
// (not from the graph builder) so the ONNX graphs can be checked against them.
// Input: a Float32Array holding an NCHW tensor [batch, 3, height, width] with values in 0..1.

export interface NchwTensor {
  data: Float32Array;
  batch: number;
  height: number;
  width: number;
}

function imageValues(tensor: NchwTensor, index: number): Float32Array {
  const size = 3 * tensor.height * tensor.width;
  if (tensor.data.length !== tensor.batch * size) {
    throw new Error(`tensor has ${tensor.data.length} values, expected ${tensor.batch}×3×${tensor.height}×${tensor.width}`);
  }
  return tensor.data.subarray(index * size, (index + 1) * size);
}

/** Flattened image minus its mean, divided by its L2 norm; all zeros when every value is equal. */
export function referencePixels(tensor: NchwTensor): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let b = 0; b < tensor.batch; b++) {
    const values = imageValues(tensor, b);
    const row = new Float64Array(values.length);
    if (values.every((value) => value === values[0])) {
      rows.push(row);
      continue;
    }
    let sum = 0;
    for (const value of values) sum += value;
    const mean = sum / values.length;
    let sumSquares = 0;
    for (let i = 0; i < values.length; i++) {
      row[i] = values[i] - mean;
      sumSquares += row[i] * row[i];
    }
    const norm = Math.sqrt(sumSquares);
    for (let i = 0; i < row.length; i++) row[i] /= norm;
    rows.push(row);
  }
  return rows;
}

export interface ReferencePhash {
  /** ±1/8 per coefficient: +1/8 where the coefficient is above the median. */
  embedding: Float64Array;
  /** The 8×8 low-frequency DCT coefficients, index = vertical frequency × 8 + horizontal. */
  coefficients: Float64Array;
  median: number;
}

/** BT.601 luma, orthonormal 2-D DCT-II of the whole image, 8×8 low-frequency block vs its median. */
export function referencePhash(tensor: NchwTensor): ReferencePhash[] {
  const { height, width } = tensor;
  const plane = height * width;
  const results: ReferencePhash[] = [];
  for (let b = 0; b < tensor.batch; b++) {
    const values = imageValues(tensor, b);
    const luma = new Float64Array(plane);
    for (let p = 0; p < plane; p++) {
      luma[p] = 0.299 * values[p] + 0.587 * values[plane + p] + 0.114 * values[2 * plane + p];
    }

    const coefficients = new Float64Array(64);
    for (let u = 0; u < 8; u++) {
      for (let v = 0; v < 8; v++) {
        let sum = 0;
        for (let y = 0; y < height; y++) {
          const rowBasis = Math.cos((Math.PI * (2 * y + 1) * u) / (2 * height));
          for (let x = 0; x < width; x++) {
            sum += luma[y * width + x] * rowBasis * Math.cos((Math.PI * (2 * x + 1) * v) / (2 * width));
          }
        }
        const alphaU = Math.sqrt((u === 0 ? 1 : 2) / height);
        const alphaV = Math.sqrt((v === 0 ? 1 : 2) / width);
        coefficients[u * 8 + v] = alphaU * alphaV * sum;
      }
    }

    const sorted = Array.from(coefficients).sort((a, c) => a - c);
    const median = (sorted[31] + sorted[32]) / 2;
    const embedding = coefficients.map((value) => (value > median ? 1 / 8 : -1 / 8));
    results.push({ embedding, coefficients, median });
  }
  return results;
}
