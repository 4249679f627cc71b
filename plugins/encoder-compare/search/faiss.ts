// Lazy access to the optional faiss-node addon: importing this module never loads it, and a
// missing or broken addon becomes a status with a reason instead of an exception.
import { createRequire } from "node:module";

/** The slice of faiss-node's API this project uses (declared here: the package is optional). */
export interface FaissFlatIndex {
  add(vectors: number[]): void;
  search(query: number[], k: number): { distances: number[]; labels: number[] };
  ntotal(): number;
}

interface FaissModule {
  IndexFlatIP: new (dim: number) => FaissFlatIndex;
}

export type FaissStatus = { available: true } | { available: false; reason: string };

const REBUILD_HINT = "run `npm run build:faiss` (needs libfaiss-dev) to build it";

let loaded: { status: FaissStatus; module?: FaissModule } | undefined;

function load(): { status: FaissStatus; module?: FaissModule } {
  if (loaded) return loaded;
  try {
    const module = createRequire(import.meta.url)("faiss-node") as FaissModule;
    // Loading can succeed while the binary is unusable, so run one tiny search.
    const probe = new module.IndexFlatIP(2);
    probe.add([1, 0, 0, 1]);
    if (probe.search([0, 1], 1).labels[0] !== 1) throw new Error("faiss-node returned a wrong probe result");
    loaded = { status: { available: true }, module };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    let reason = `faiss-node did not load (${detail}); ${REBUILD_HINT}`;
    if (code === "MODULE_NOT_FOUND" && /'faiss-node'/.test(detail)) reason = `faiss-node is not installed; ${REBUILD_HINT}`;
    if (/Could not locate the bindings file/.test(detail)) {
      reason = `faiss-node is installed but its compiled addon (build/Release/faiss-node.node) is missing; ${REBUILD_HINT}`;
    }
    loaded = { status: { available: false, reason } };
  }
  return loaded;
}

/** Whether the faiss backend can be used; the addon is loaded once, on first call. */
export function faissStatus(): FaissStatus {
  return load().status;
}

/** A new empty IndexFlatIP; throws with the reason when faiss-node is unavailable. */
export function createFlatInnerProductIndex(dim: number): FaissFlatIndex {
  const { status, module } = load();
  if (!status.available || !module) {
    const reason = status.available ? "unknown" : status.reason;
    throw new Error(`The faiss search backend was requested but is unavailable: ${reason}. Use backend "auto" or "js" to search without it.`);
  }
  return new module.IndexFlatIP(dim);
}
