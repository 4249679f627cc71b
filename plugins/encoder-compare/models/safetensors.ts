// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length, a JSON header mapping tensor names to
// { dtype, shape, data_offsets }, then the raw little-endian tensor bytes.
// Every tensor is returned as float32; F16, BF16 and F64 are widened/narrowed on read.
import { halfTable } from "../base/half-float.ts";

export interface FloatTensor {
  shape: number[];
  data: Float32Array;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** Refuse absurd headers before allocating; real files have headers of a few hundred KiB. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function malformed(detail: string, cause?: unknown): Error {
  return new Error(
    `not a valid safetensors file: ${detail} (re-download the weights or regenerate the file)`,
    cause === undefined ? undefined : { cause },
  );
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function parseHeader(bytes: Uint8Array): { entries: [string, HeaderEntry][]; dataStart: number } {
  if (bytes.byteLength < 8) throw malformed(`only ${bytes.byteLength} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8))) {
    throw malformed(`header length ${headerLength} does not fit in a ${bytes.byteLength}-byte file`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (error) {
    throw malformed("the header is not UTF-8 JSON", error);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw malformed("the header is not a JSON object");
  }
  const entries: [string, HeaderEntry][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    entries.push([name, checkEntry(name, value)]);
  }
  return { entries, dataStart };
}

function checkEntry(name: string, value: unknown): HeaderEntry {
  const entry = value as Partial<HeaderEntry> | null;
  if (typeof entry !== "object" || entry === null) throw malformed(`tensor "${name}" has no header entry object`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== "string") throw malformed(`tensor "${name}" has no dtype`);
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
    throw malformed(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) ||
    offsets[1] < offsets[0]
  ) {
    throw malformed(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  return { dtype, shape, data_offsets: offsets as [number, number] };
}

function decodeToFloat32(dtype: string, raw: Uint8Array, count: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  switch (dtype) {
    case "F32":
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case "F64":
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case "F16": {
      const table = halfTable();
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)];
      break;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const widened = new DataView(out.buffer);
      for (let i = 0; i < count; i++) widened.setUint32(i * 4, view.getUint16(i * 2, true) << 16, true);
      break;
    }
  }
  return out;
}

/** Checks one tensor's dtype and byte range against the data section; returns its element count. */
function checkExtent(name: string, { dtype, shape, data_offsets: [begin, end] }: HeaderEntry, dataLength: number): number {
  const elementBytes = BYTES_PER_ELEMENT[dtype];
  if (elementBytes === undefined) {
    throw new Error(
      `safetensors tensor "${name}" has dtype ${dtype}; only ${Object.keys(BYTES_PER_ELEMENT).join(", ")} can be read as float32`,
    );
  }
  const count = shape.reduce((product, dim) => product * dim, 1);
  if (end - begin !== count * elementBytes) {
    throw malformed(
      `tensor "${name}" (${dtype} [${shape.join(", ")}]) needs ${count * elementBytes} bytes but data_offsets span ${end - begin}`,
    );
  }
  if (end > dataLength) {
    throw malformed(`tensor "${name}" ends at byte ${end} of the data section, which has only ${dataLength} bytes (truncated file?)`);
  }
  return count;
}

/** How many bytes from the start of a `fileBytes`-long file hold its header, read from its first 8 bytes. */
export function safetensorsHeaderSpan(first8: Uint8Array, fileBytes: number): number {
  if (first8.byteLength < 8 || fileBytes < 8) throw malformed(`only ${fileBytes} bytes, need at least 8 for the header length`);
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, fileBytes - 8))) {
    throw malformed(`header length ${headerLength} does not fit in a ${fileBytes}-byte file`);
  }
  return 8 + Number(headerLength);
}

/**
 * Tensor names and shapes of a `fileBytes`-long safetensors file from its first bytes (the span
 * safetensorsHeaderSpan gives), after checking that every tensor lies inside the file.
 */
export function readSafetensorsHeader(head: Uint8Array, fileBytes: number): Map<string, number[]> {
  const { entries, dataStart } = parseHeader(head);
  const shapes = new Map<string, number[]>();
  for (const [name, entry] of entries) {
    checkExtent(name, entry, fileBytes - dataStart);
    shapes.set(name, [...entry.shape]);
  }
  return shapes;
}

/** Decodes every tensor of a safetensors file as float32, in header order. */
export function readSafetensors(bytes: Uint8Array): Map<string, FloatTensor> {
  const { entries, dataStart } = parseHeader(bytes);
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, FloatTensor>();
  for (const [name, entry] of entries) {
    const { dtype, shape, data_offsets: [begin, end] } = entry;
    const count = checkExtent(name, entry, dataLength);
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { shape: [...shape], data: decodeToFloat32(dtype, raw, count) });
  }
  return tensors;
}

/**
 * Encodes float32 tensors as a safetensors file (dtype F32), in the given order, with the
 * header padded by spaces to a multiple of 8 bytes as the reference implementation does.
 */
export function writeSafetensors(
  tensors: Map<string, FloatTensor> | Iterable<[string, FloatTensor]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const parts: [FloatTensor, number][] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((product, dim) => product * dim, 1);
    if (count !== tensor.data.length) {
      throw new Error(`cannot write tensor "${name}": shape [${tensor.shape.join(", ")}] needs ${count} values, got ${tensor.data.length}`);
    }
    if (name === "__metadata__" || name in header) throw new Error(`cannot write tensor "${name}": duplicate or reserved name`);
    header[name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + count * 4] };
    parts.push([tensor, offset]);
    offset += count * 4;
  }
  let headerText = JSON.stringify(header);
  const headerBytesUnpadded = new TextEncoder().encode(headerText).byteLength;
  headerText += " ".repeat((8 - (headerBytesUnpadded % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);

  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.byteLength;
  for (const [tensor, tensorOffset] of parts) {
    const base = dataStart + tensorOffset;
    for (let i = 0; i < tensor.data.length; i++) view.setFloat32(base + i * 4, tensor.data[i], true);
  }
  return out;
}
