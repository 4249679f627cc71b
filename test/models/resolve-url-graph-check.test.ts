// A downloaded (url) model's graph is checked for unbounded operators once, with its content check, and the verdict
// is kept in its `.verified` record: a warm build does not read the model's bytes again. A graph with a Loop is still
// refused, and a record written before the graph check existed is checked again.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { EncoderSpec } from "../../plugins/encoder-compare/encoders/spec.ts";
import { BUILTIN_ENCODERS } from "../../plugins/encoder-compare/encoders/registry.ts";
import { buildBuiltinGraph } from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { cachedFilePath } from "../../plugins/encoder-compare/models/cache-layout.ts";
import { onnx } from "../../plugins/encoder-compare/models/onnx-builder.ts";
import { ModelUnavailableError } from "../../plugins/encoder-compare/models/model-file.ts";
import { resolveModel } from "../../plugins/encoder-compare/models/resolve.ts";

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), "resolve-url-graph-check-"));
after(() => fs.rmSync(WORK, { recursive: true, force: true }));

const URL = "https://models.example.org/org/mine/resolve/main/model.onnx";
const sha256 = (bytes: Uint8Array) => crypto.createHash("sha256").update(bytes).digest("hex");

/** A url encoder pinned to `bytes`, whose file is already in a fresh models dir (no network is used: offline). */
function cachedUrlModel(name: string, bytes: Uint8Array): { spec: EncoderSpec; modelsDir: string; file: string } {
  const modelsDir = path.join(WORK, name);
  const file = cachedFilePath(modelsDir, URL);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  const spec: EncoderSpec = { ...BUILTIN_ENCODERS[0]!, id: name, source: { kind: "url", url: URL, sha256: sha256(bytes) } };
  return { spec, modelsDir, file };
}

/** The built-in pixels graph plus a Loop node (its outputs unused: the check refuses it wherever it sits). */
function pixelsWithLoop(): Uint8Array {
  const model = onnx.ModelProto.decode(buildBuiltinGraph("pixels"));
  const body = { name: "body", type: 5, g: { name: "spin_body" } };
  model.graph!.node!.push({ opType: "Loop", name: "spin", input: ["trips", "", "pixel_values"], output: ["spun"], attribute: [body] });
  return onnx.ModelProto.encode(model).finish();
}

/** The built-in pixels graph padded with a doc string to exactly `length` bytes. */
function pixelsOfLength(length: number): Uint8Array {
  const model = onnx.ModelProto.decode(buildBuiltinGraph("pixels"));
  for (let pad = 0; pad <= length; pad++) {
    model.docString = "x".repeat(pad);
    const bytes = onnx.ModelProto.encode(model).finish();
    if (bytes.length === length) return bytes;
  }
  throw new Error(`no padding makes the pixels graph ${length} bytes long`);
}

const resolve = (spec: EncoderSpec, modelsDir: string) => resolveModel(spec, { projectRoot: WORK, modelsDir, offline: true });

/** resolveModel in a fresh process, as the next build runs it (no memo of this process helps it). */
function resolveInChild(spec: EncoderSpec, modelsDir: string): unknown {
  const script = `
    import { resolveModel } from ${JSON.stringify(path.resolve("plugins/encoder-compare/models/resolve.ts"))};
    const options = { projectRoot: ${JSON.stringify(WORK)}, modelsDir: ${JSON.stringify(modelsDir)}, offline: true };
    const resolved = await resolveModel(${JSON.stringify(spec)}, options);
    process.stdout.write(JSON.stringify(resolved));`;
  return JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8" }));
}

describe("a downloaded model's graph check", () => {
  test("the next build's resolve uses the verdict in the .verified record and does not read the model's bytes", async () => {
    const looped = pixelsWithLoop();
    const { spec, modelsDir, file } = cachedUrlModel("bounded", pixelsOfLength(looped.length));
    const first = await resolve(spec, modelsDir);
    assert.equal(first.model, file);
    const record = JSON.parse(fs.readFileSync(`${file}.verified`, "utf8")) as { content?: string };
    assert.match(record.content ?? "", /\+bounded$/, "the passed graph check is recorded");

    // The bytes become a graph with a Loop of the same length, and the record is made to match the file's new mtime:
    // a read of the bytes would refuse the Loop, so a resolve that passes read none of them.
    fs.writeFileSync(file, looped);
    const stats = fs.statSync(file);
    fs.writeFileSync(`${file}.verified`, JSON.stringify({ ...record, size: stats.size, mtimeMs: stats.mtimeMs }));
    assert.deepEqual(resolveInChild(spec, modelsDir), first);
  });

  test("a graph with a Loop is refused, naming the Loop, and nothing is recorded as passed", async () => {
    const { spec, modelsDir, file } = cachedUrlModel("looped", pixelsWithLoop());
    const error = await resolve(spec, modelsDir).then(
      () => assert.fail("a graph with a Loop was resolved"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ModelUnavailableError);
    assert.match(error.message, /its graph holds node "spin" \(Loop\) in graph "[^"]*"; Loop and Scan repeat as often as a tensor says/);
    const record = fs.existsSync(`${file}.verified`) ? (JSON.parse(fs.readFileSync(`${file}.verified`, "utf8")) as { content?: string }) : {};
    assert.equal(record.content, undefined);
  });

  test("a record from before the graph check (content key without +bounded) is checked again, and a Loop found", async () => {
    const bytes = pixelsWithLoop();
    const { spec, modelsDir, file } = cachedUrlModel("old-record", bytes);
    const stats = fs.statSync(file);
    const old = { size: stats.size, mtimeMs: stats.mtimeMs, sha256: sha256(bytes), content: "onnx:pixel_values>embedding" };
    fs.writeFileSync(`${file}.verified`, JSON.stringify(old));
    await assert.rejects(resolve(spec, modelsDir), /its graph holds node "spin" \(Loop\)/);
  });
});
