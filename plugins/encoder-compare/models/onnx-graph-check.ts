// What a user's ONNX graph may hold before onnxruntime runs it. A run cannot be stopped once started (onnxruntime-node
// has no way to end a run in flight), so operators whose iteration count comes from data (Loop, Scan) are refused,
// wherever they sit: the main graph, a subgraph of If, Loop or Scan, or a model-local function.
import type { onnx as OnnxTypes } from "onnx-proto";
import { onnx } from "./onnx-builder.ts";


/** Operators that repeat a body as often as a tensor says: unbounded work from the graph's own data. */
export const UNBOUNDED_OPERATORS: ReadonlySet<string> = new Set(["Loop", "Scan"]);
/** Subgraphs nested deeper than this are refused too (each level is a walk; none of our encoders nests at all). */
export const MAX_SUBGRAPH_DEPTH = 16;

/**
 * Where the graph holds an operator that can loop without bound, as words ("node "spin" (Loop) in graph "main"");
 * undefined when it holds none, or when the bytes are not an ONNX model (onnxruntime then says why).
 */
export function findUnboundedOperator(bytes: Uint8Array): string | undefined {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const inNodes = (nodes: readonly OnnxTypes.INodeProto[] | null | undefined, where: string, depth: number): string | undefined => {
    for (const node of nodes ?? []) {
      const op = node.opType ?? "";
      const domain = node.domain ?? "";
      if (UNBOUNDED_OPERATORS.has(op) && (domain === "" || domain === "ai.onnx")) return `node "${node.name || "(unnamed)"}" (${op}) in ${where}`;
      for (const attribute of node.attribute ?? []) {
        const graphs = [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])];
        for (const graph of graphs) {
          const inner = `${node.opType} "${node.name || "(unnamed)"}" ${attribute.name} of ${where}`;
          if (depth + 1 > MAX_SUBGRAPH_DEPTH) return `${inner}: subgraphs nested deeper than ${MAX_SUBGRAPH_DEPTH}`;
          const found = inNodes(graph.node, inner, depth + 1);
          if (found) return found;
        }
      }
    }
    return undefined;
  };
  const main = inNodes(model.graph?.node, `graph "${model.graph?.name ?? ""}"`, 0);
  if (main) return main;
  for (const fn of model.functions ?? []) {
    const found = inNodes(fn.node, `function "${fn.name ?? ""}"`, 0);
    if (found) return found;
  }
  return undefined;
}

/** Why a graph holding `found` is not run, in words that follow "holds". */
export function unboundedGraphWhy(found: string): string {
  const operators = [...UNBOUNDED_OPERATORS].join(" and ");
  return (
    `${found}; ${operators} repeat as often as a tensor says and a run cannot be stopped, ` +
    `so graphs with them are not run (export the encoder without them, e.g. with the loop unrolled)`
  );
}
