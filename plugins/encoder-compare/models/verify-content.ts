// Is a downloaded file what it claims to be? A hash recorded on first download only proves the
// file did not change since; a captive portal's HTML page has a sha256 too. So before a file is
// placed or pinned, its content is checked against its format: an ONNX model must parse, have the
// spec's input and output, and hold no operator that loops without bound (onnx-graph-check.ts);
// safetensors weights must have a header that parses, tensors that lie inside the file, and the
// tensor set their converter needs. The safetensors check and the ONNX input/output check read only
// the structure (a few KiB to a few MiB); the ONNX graph check decodes the whole model, which is why
// a passed check is recorded (verified-sidecar.ts) and a warm build never runs it again.
import { open, type FileHandle } from "node:fs/promises";
import { readSafetensorsHeader, safetensorsHeaderSpan } from "./safetensors.ts";

export type ModelFileFormat =
  | { kind: "onnx"; inputName: string; outputName: string }
  | {
      kind: "safetensors";
      /** Who reads the weights (a converter name), for messages and the verified record. */
      purpose: string;
      /** Throws, naming what is wrong, when the tensor names and shapes are not what the reader needs. */
      checkTensors?: (shapes: ReadonlyMap<string, number[]>) => void | Promise<void>;
    };

/**
 * Identifies the check that passed, so a cached file is checked again when its format or the check changes
 * (`+bounded`: the ONNX check includes the unbounded-operator check).
 */
export function formatKey(format: ModelFileFormat): string {
  return format.kind === "onnx" ? `onnx:${format.inputName}>${format.outputName}+bounded` : `safetensors:${format.purpose}`;
}

export function describeFormat(format: ModelFileFormat): string {
  return format.kind === "onnx" ? "ONNX model" : `safetensors weights for ${format.purpose}`;
}

/** Why `file` is not a valid `format` file, in plain words; undefined when it is. */
export async function contentProblem(file: string, format: ModelFileFormat): Promise<string | undefined> {
  const handle = await open(file, "r");
  try {
    const size = (await handle.stat()).size;
    const found = format.kind === "onnx" ? await onnxProblem(handle, size, format) : await safetensorsProblem(handle, size, format);
    if (!found) return undefined;
    // A file that does not even parse is shown by its first bytes (often an HTML page).
    return found.parsed ? found.problem : `${found.problem}${await looksLike(handle, size)}`;
  } finally {
    await handle.close();
  }
}

interface Found {
  problem: string;
  /** The file parsed as its format; the problem is in what it holds. */
  parsed: boolean;
}

async function safetensorsProblem(handle: FileHandle, size: number, format: ModelFileFormat & { kind: "safetensors" }): Promise<Found | undefined> {
  let shapes: Map<string, number[]>;
  try {
    const first8 = await readAt(handle, 0, Math.min(8, size));
    shapes = readSafetensorsHeader(await readAt(handle, 0, safetensorsHeaderSpan(first8, size)), size);
  } catch (error) {
    return { problem: (error as Error).message, parsed: false };
  }
  try {
    await format.checkTensors?.(shapes);
    return undefined;
  } catch (error) {
    return { problem: (error as Error).message, parsed: true };
  }
}

async function onnxProblem(handle: FileHandle, size: number, format: { inputName: string; outputName: string }): Promise<Found | undefined> {
  let io: OnnxIo;
  try {
    io = await readOnnxIo(new Cursor(handle, size));
  } catch (error) {
    return { problem: `not a valid ONNX model: ${(error as Error).message}`, parsed: false };
  }
  if (!io.inputs.includes(format.inputName) || !io.outputs.includes(format.outputName)) {
    const problem =
      `the ONNX model has inputs [${io.inputs.join(", ")}] and outputs [${io.outputs.join(", ")}], ` +
      `the encoder spec needs input "${format.inputName}" and output "${format.outputName}"`;
    return { problem, parsed: true };
  }
  // Loaded on use: the check pulls in onnx-proto, and a warm build whose check is recorded never needs it.
  const { findUnboundedOperator, unboundedGraphWhy } = await import("./onnx-graph-check.ts");
  const found = findUnboundedOperator(await readAt(handle, 0, size));
  return found ? { problem: `its graph holds ${unboundedGraphWhy(found)}`, parsed: true } : undefined;
}

/** A hint at what the file is instead: its first bytes, printable ones only. */
async function looksLike(handle: FileHandle, size: number): Promise<string> {
  if (size === 0) return " (the file is empty)";
  const start = (await readAt(handle, 0, Math.min(24, size))).toString("latin1");
  const shown = start.replace(/[^\x20-\x7e]/g, ".");
  const html = /^\s*</.test(start) ? " — an HTML page, e.g. a login or error page from a proxy?" : "";
  return ` (${size} bytes, starting ${JSON.stringify(shown)}${html})`;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

// ---------------------------------------------------------------------------------------------
// ONNX: a protobuf ModelProto walked field by field; weights and nodes are skipped, not read
// ---------------------------------------------------------------------------------------------

interface OnnxIo {
  inputs: string[];
  outputs: string[];
}

const MODEL_IR_VERSION = 1;
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
const VALUE_INFO_NAME = 1;
const MAX_NAME_BYTES = 64 * 1024;

/** Reads a file forward through a 64 KiB window. */
class Cursor {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  position = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async byte(): Promise<number> {
    if (this.position >= this.size) throw new Error(`it ends in the middle of a field at byte ${this.position}`);
    const offset = this.position - this.windowStart;
    if (offset < 0 || offset >= this.window.length) {
      this.window = await readAt(this.handle, this.position, 64 * 1024);
      this.windowStart = this.position;
    }
    return this.window[this.position++ - this.windowStart]!;
  }

  async varint(): Promise<number> {
    let value = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const b = await this.byte();
      if (shift < 53) value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new Error(`a varint at byte ${this.position} is longer than 10 bytes`);
  }

  async text(length: number): Promise<string> {
    const bytes = await readAt(this.handle, this.position, length);
    this.position += length;
    return bytes.toString("utf8");
  }
}

interface Field {
  number: number;
  wireType: number;
  /** For length-delimited fields: where the payload ends. */
  end: number;
}

/** The next field header within `end`; the cursor is left at its payload. Length-delimited payloads are bounded. */
async function nextField(cursor: Cursor, end: number): Promise<Field> {
  const at = cursor.position;
  const tag = await cursor.varint();
  const number = Math.floor(tag / 8);
  const wireType = tag % 8;
  if (number === 0) throw new Error(`field number 0 at byte ${at}`);
  if (wireType === 2) {
    const length = await cursor.varint();
    const payloadEnd = cursor.position + length;
    if (payloadEnd > end) throw new Error(`field ${number} at byte ${at} claims ${length} bytes, past the end of its message`);
    return { number, wireType, end: payloadEnd };
  }
  if (wireType !== 0 && wireType !== 1 && wireType !== 5) throw new Error(`field ${number} at byte ${at} has wire type ${wireType}`);
  return { number, wireType, end: cursor.position };
}

async function skipPayload(cursor: Cursor, field: Field, end: number): Promise<void> {
  if (field.wireType === 0) await cursor.varint();
  else if (field.wireType === 1) cursor.position += 8;
  else if (field.wireType === 5) cursor.position += 4;
  else cursor.position = field.end;
  if (cursor.position > end) throw new Error(`field ${field.number} runs past the end of its message`);
}

async function readOnnxIo(cursor: Cursor): Promise<OnnxIo> {
  const io: OnnxIo = { inputs: [], outputs: [] };
  let irVersion = false;
  let graph = false;
  if (cursor.size === 0) throw new Error("the file is empty");
  while (cursor.position < cursor.size) {
    const field = await nextField(cursor, cursor.size);
    if (field.number === MODEL_IR_VERSION && field.wireType === 0) irVersion = true;
    if (field.number === MODEL_GRAPH && field.wireType === 2) {
      graph = true;
      await readGraphIo(cursor, field.end, io);
    } else {
      await skipPayload(cursor, field, cursor.size);
    }
  }
  if (!irVersion) throw new Error("it has no ir_version");
  if (!graph) throw new Error("it has no graph");
  return io;
}

async function readGraphIo(cursor: Cursor, end: number, io: OnnxIo): Promise<void> {
  while (cursor.position < end) {
    const field = await nextField(cursor, end);
    const list = field.wireType === 2 ? (field.number === GRAPH_INPUT ? io.inputs : field.number === GRAPH_OUTPUT ? io.outputs : undefined) : undefined;
    if (list) list.push(await readValueInfoName(cursor, field.end));
    else await skipPayload(cursor, field, end);
  }
}

async function readValueInfoName(cursor: Cursor, end: number): Promise<string> {
  let name = "";
  while (cursor.position < end) {
    const field = await nextField(cursor, end);
    if (field.number === VALUE_INFO_NAME && field.wireType === 2 && field.end - cursor.position <= MAX_NAME_BYTES) {
      name = await cursor.text(field.end - cursor.position);
    } else {
      await skipPayload(cursor, field, end);
    }
  }
  return name;
}
