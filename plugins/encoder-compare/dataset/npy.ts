// NumPy's .npy format (versions 1.0, 2.0, 3.0): a magic string, a version, a little-endian header
// length (2 bytes in v1, 4 in v2/v3), a Python-literal header dict (descr, fortran_order, shape),
// then the array's bytes. Only what embeddings use is read: 2-D, C order, float16 or float32.
// Rows are read by offset from the open file, so a shard never has to be in memory whole.
import fs from "node:fs";
import { halfTable } from "../base/half-float.ts";
import { readAt } from "../base/safe-read.ts";

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

export interface NpyMatrix {
  file: string;
  rows: number;
  dim: number;
  dtype: "float16" | "float32";
  /** Byte offset of row 0. */
  dataOffset: number;
}

/** numpy itself refuses headers above 10,000 bytes unless told otherwise; anything far above is not an embeddings shard. */
const MAX_NPY_HEADER_BYTES = 65_536;
/** Widest vector read: far above any image encoder's, and small enough that a block of rows fits in memory. */
const MAX_NPY_DIM = 65_536;

function fail(file: string, message: string, cause?: unknown): never {
  throw new Error(`${file}: ${message}`, cause === undefined ? undefined : { cause });
}

function openForReading(file: string): number {
  try {
    return fs.openSync(file, "r");
  } catch (error) {
    fail(file, `cannot be opened (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
}

/** Reads and checks the header; the file must hold exactly rows·dim values after it. */
export function readNpyHeader(file: string): NpyMatrix {
  const fd = openForReading(file);
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(12);
    const got = fs.readSync(fd, prefix, 0, 12, 0);
    if (got < 10 || !prefix.subarray(0, 6).equals(MAGIC)) fail(file, "is not a .npy file (no \\x93NUMPY magic)");
    const major = prefix[6];
    if (major !== 1 && major !== 2 && major !== 3) fail(file, `uses .npy format version ${major}.${prefix[7]}; versions 1, 2 and 3 are read`);
    const headerStart = major === 1 ? 10 : 12;
    const headerLength = major === 1 ? prefix.readUInt16LE(8) : prefix.readUInt32LE(8);
    if (headerLength > MAX_NPY_HEADER_BYTES) fail(file, `declares a .npy header of ${headerLength} bytes (at most ${MAX_NPY_HEADER_BYTES} are read)`);
    if (headerStart + headerLength > size) fail(file, `is truncated inside its header (${headerLength} bytes declared, ${size} in the file)`);
    const header = Buffer.alloc(headerLength);
    fs.readSync(fd, header, 0, headerLength, headerStart);
    const text = header.toString(major === 3 ? "utf8" : "latin1");
    const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
    const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
    if (descr === undefined || fortran === undefined || shapeText === undefined) {
      fail(file, `has an unreadable .npy header ${JSON.stringify(text.trim().slice(0, 120))}`);
    }
    const dtype = descr === "<f4" ? "float32" : descr === "<f2" ? "float16" : undefined;
    if (!dtype) fail(file, `holds dtype '${descr}'; embeddings must be little-endian float16 ('<f2') or float32 ('<f4')`);
    if (fortran === "True") fail(file, "is in Fortran order; save it in C order (np.ascontiguousarray) before use");
    const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
    if (shape.length !== 2 || shape.some((n) => !Number.isSafeInteger(n) || n < 0)) fail(file, `has shape (${shapeText}); a 2-D array (rows, dim) is expected`);
    const [rows, dim] = shape;
    if (dim < 1 || dim > MAX_NPY_DIM) fail(file, `has shape (${shapeText}): vectors of ${dim} dimensions (1 to ${MAX_NPY_DIM} are read)`);
    const dataOffset = headerStart + headerLength;
    const expected = dataOffset + rows * dim * (dtype === "float16" ? 2 : 4);
    if (!Number.isSafeInteger(expected)) fail(file, `has shape (${shapeText}), more values than a file can hold`);
    if (size < expected) fail(file, `is truncated: its header says ${rows}×${dim} ${dtype} (${expected} bytes) but the file has ${size} bytes`);
    if (size > expected) fail(file, `has ${size - expected} bytes after its ${rows}×${dim} ${dtype} data`);
    return { file, rows, dim, dtype, dataOffset };
  } finally {
    fs.closeSync(fd);
  }
}

/** Rows [start, start+count) as float32, row-major, into `target` at `targetOffset` (values). */
export function readNpyRows(matrix: NpyMatrix, fd: number, start: number, count: number, target: Float32Array, targetOffset = 0): void {
  const width = matrix.dtype === "float16" ? 2 : 4;
  const values = count * matrix.dim;
  const bytes = Buffer.allocUnsafe(values * width);
  const position = matrix.dataOffset + start * matrix.dim * width;
  let read: number;
  try {
    read = readAt(fd, bytes, position);
  } catch (error) {
    fail(matrix.file, `cannot be read at row ${start} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, error);
  }
  if (read < bytes.length) fail(matrix.file, `is truncated: row ${start + Math.floor(read / width / matrix.dim)} could not be read`);
  if (width === 4) {
    target.set(new Float32Array(bytes.buffer, bytes.byteOffset, values), targetOffset);
    return;
  }
  const table = halfTable();
  for (let i = 0; i < values; i++) target[targetOffset + i] = table[bytes.readUInt16LE(i * 2)];
}

/** A .npy file holding `rows` (row-major float32 or float16 values) in format version 1.0. */
export function encodeNpy(values: Float32Array | Uint16Array, rows: number, dim: number): Buffer {
  const descr = values instanceof Float32Array ? "<f4" : "<f2";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  // The whole preamble is padded with spaces to a multiple of 64 bytes and ends in a newline.
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const preamble = Buffer.alloc(10);
  MAGIC.copy(preamble, 0);
  preamble[6] = 1;
  preamble[7] = 0;
  preamble.writeUInt16LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, "latin1"), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}
