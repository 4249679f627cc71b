// A user's ONNX graph whose work comes from its own data: a Loop of 2^40 iterations (it held the build forever), a
// Scan, and a Loop hidden in an If branch or a model-local function are refused by name before onnxruntime runs
// them. Builds run in a child process under a kill timer, so a hang fails the test instead of the suite.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as onnxProtoModule from "onnx-proto";
import type { onnx as OnnxTypes } from "onnx-proto";
import { buildBuiltinGraph } from "../../plugins/encoder-compare/models/builtin-graphs.ts";
import { findUnboundedOperator } from "../../plugins/encoder-compare/models/onnx-graph-check.ts";
import { int64Initializer } from "../../plugins/encoder-compare/models/onnx-builder.ts";
import { projectMaker } from "../support/small-project.ts";

const onnx = ((onnxProtoModule as unknown as { default?: typeof onnxProtoModule }).default ?? onnxProtoModule).onnx;
const ROOT = process.cwd();
const WORK = path.join(ROOT, "test/.output/unbounded-model-graphs");
const project = projectMaker(WORK);
before(() => fs.rmSync(WORK, { recursive: true, force: true }));
after(() => fs.rmSync(WORK, { recursive: true, force: true }));

const BOOL = 9;
const FLOAT = 1;
const INT64 = 7;
const valueInfo = (name: string, elemType: number, dims?: number[]): OnnxTypes.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((dimValue) => ({ dimValue })) } } : {}) } },
});

/** A Loop that passes `carried` through unchanged `trips` times. */
function loopNode(name: string, carried: string, output: string): OnnxTypes.INodeProto {
  const body: OnnxTypes.IGraphProto = {
    name: `${name}_body`,
    node: [
      { opType: "Identity", name: `${name}_cond`, input: ["c"], output: ["c_out"] },
      { opType: "Identity", name: `${name}_value`, input: ["v"], output: ["v_out"] },
    ],
    input: [valueInfo("i", INT64, []), valueInfo("c", BOOL, []), valueInfo("v", FLOAT)],
    output: [valueInfo("c_out", BOOL, []), valueInfo("v_out", FLOAT)],
  };
  return { opType: "Loop", name, input: ["trips", "keep_going", carried], output: [output], attribute: [{ name: "body", type: 5, g: body }] };
}

/** The built-in pixels graph with `insert` placed between its input and every node that read it. */
function pixelsWith(insert: (input: string, output: string) => OnnxTypes.INodeProto, functions: OnnxTypes.IFunctionProto[] = []): Uint8Array {
  const model = onnx.ModelProto.decode(buildBuiltinGraph("pixels"));
  const graph = model.graph!;
  const input = graph.input![0].name!;
  for (const node of graph.node!) node.input = node.input!.map((name) => (name === input ? `${input}_looped` : name));
  graph.node!.unshift(insert(input, `${input}_looped`));
  graph.initializer!.push(int64Initializer("trips", [], [2 ** 40]), { name: "keep_going", dims: [], dataType: BOOL, rawData: new Uint8Array([1]) });
  model.functions = functions;
  return onnx.ModelProto.encode(model).finish();
}

const LOOP = () => pixelsWith((input, output) => loopNode("spin", input, output));
const SCAN = () =>
  pixelsWith((input, output) => ({
    opType: "Scan",
    name: "scan",
    input: [input],
    output: [output],
    attribute: [{ name: "num_scan_inputs", type: 2, i: 1 }, { name: "body", type: 5, g: { name: "scan_body", node: [] } }],
  }));
const IF_LOOP = () =>
  pixelsWith((input, output) => ({
    opType: "If",
    name: "choose",
    input: ["keep_going"],
    output: [output],
    attribute: [
      { name: "then_branch", type: 5, g: { name: "then", node: [loopNode("hidden", input, output)], output: [valueInfo(output, FLOAT)] } },
      {
        name: "else_branch",
        type: 5,
        g: { name: "else", node: [{ opType: "Identity", input: [input], output: [output] }], output: [valueInfo(output, FLOAT)] },
      },
    ],
  }));
const FUNCTION_LOOP = () =>
  pixelsWith(
    (input, output) => ({ opType: "Spin", domain: "local", name: "call", input: ["trips", "keep_going", input], output: [output] }),
    [{ name: "Spin", domain: "local", input: ["trips", "keep_going", "x"], output: ["y"], node: [loopNode("in_function", "x", "y")] }],
  );

/** A build of a project whose only encoder is the model in `file`, in a child process killed after `seconds`. */
function childBuild(dir: string, model: string, strict: boolean, seconds: number): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  const rel = (p: string) => path.relative(ROOT, path.join(dir, p));
  const script = `
    import { buildWithPlugin } from ${JSON.stringify(path.join(ROOT, "test/support/eleventy.ts"))};
    import { BUILTIN_ENCODERS } from ${JSON.stringify(path.join(ROOT, "plugins/encoder-compare/encoders/registry.ts"))};
    const mine = { ...BUILTIN_ENCODERS[0], id: "mine", label: "Mine", source: { kind: "file", path: ${JSON.stringify(path.relative(ROOT, model))} } };
    await buildWithPlugin(${JSON.stringify(rel("content"))}, ${JSON.stringify(rel("_site"))}, {
      dataset: ${JSON.stringify(rel("dataset"))}, cacheDir: ${JSON.stringify(rel(".cache"))}, tileSize: 16,
      encoders: ["mine"], customEncoders: [mine], strict: ${strict},
    });
    process.stdout.write("built\\n");`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, ENCODER_COMPARE_OFFLINE: "1", ENCODER_COMPARE_MODELS_DIR: path.join(WORK, "models") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), seconds * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe("ONNX graphs that can loop without bound", () => {
  test("a file model with a Loop of 2^40 iterations: a strict build fails in one line naming the file and the Loop, no hang", async () => {
    const p = project(`<% encoderCompare "query.png", encoders="mine" %>`);
    const model = path.join(p.dir, "spin.onnx");
    fs.writeFileSync(model, LOOP());
    const result = await childBuild(p.dir, model, true, 90);
    assert.equal(result.signal, null, "the build was still running after 90 s");
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /encoder "mine": model file .*spin\.onnx holds node "spin" \(Loop\) in graph "pixels"; Loop and Scan repeat as often/);
  });

  test("without strict the build ends too: the model is unavailable, and the page's error says why", async () => {
    const p = project(`<% encoderCompare "query.png", encoders="mine" %>`);
    const model = path.join(p.dir, "spin.onnx");
    fs.writeFileSync(model, LOOP());
    const result = await childBuild(p.dir, model, false, 90);
    assert.equal(result.signal, null, "the build was still running after 90 s");
    assert.match(result.stderr, /Mine \(mine\) is not available: its graph holds node "spin" \(Loop\) in graph "pixels"/);
  });

  test("further graphs: a Scan, a Loop inside an If branch, a Loop inside a model-local function; the built-in graphs pass", () => {
    assert.equal(findUnboundedOperator(SCAN()), 'node "scan" (Scan) in graph "pixels"');
    assert.equal(findUnboundedOperator(IF_LOOP()), 'node "hidden" (Loop) in If "choose" then_branch of graph "pixels"');
    assert.equal(findUnboundedOperator(FUNCTION_LOOP()), 'node "in_function" (Loop) in function "Spin"');
    for (const name of ["pixels", "phash"] as const) assert.equal(findUnboundedOperator(buildBuiltinGraph(name)), undefined, name);
    assert.equal(findUnboundedOperator(new Uint8Array([1, 2, 3])), undefined);
  });

  test("the If-hidden Loop through a strict build: refused by name as well", async () => {
    const p = project(`<% encoderCompare "query.png", encoders="mine" %>`);
    const model = path.join(p.dir, "if-loop.onnx");
    fs.writeFileSync(model, IF_LOOP());
    const result = await childBuild(p.dir, model, true, 90);
    assert.equal(result.signal, null, "the build was still running after 90 s");
    assert.match(result.stderr, /if-loop\.onnx holds node "hidden" \(Loop\) in If "choose" then_branch of graph "pixels"/);
  });
});
