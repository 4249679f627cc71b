// What the embeddings-folder suites share: the emoji images their datasets and queries are made of, and the
// independent Python writer (numpy, python3-faiss) of the .npy shards, parquet files and faiss indexes they read.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { faissStatus } from "../../plugins/encoder-compare/search/faiss.ts";

const ROOT = process.cwd();
const MAKE = path.join(ROOT, "test/fixtures/cluster/make-fixtures.py");

export const EMOJI = (vendor: string, code: string) => path.join(ROOT, `node_modules/emoji-datasource-${vendor}/img/${vendor}/64/${code}.png`);
/** The dataset's images: six Google emoji. */
export const CODES = ["1f436", "1f431", "1f34e", "1f697", "1f438", "1f42d"];
/** Two in the dataset's vendor (one of them a member), one from another vendor. */
export const QUERIES = [EMOJI("google", "1f436"), EMOJI("google", "1f415"), EMOJI("twitter", "1f34e")];
export const K = 4;
/** Tests that read faiss indexes written by python3-faiss need the optional faiss-node addon. */
export const NEEDS_FAISS = { skip: !faissStatus().available && "faiss-node not built" };

/** Runs one command of the Python fixture writer; returns what it printed. */
export const python = (...args: string[]): string =>
  execFileSync("/usr/bin/python3", [MAKE, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OMP_NUM_THREADS: "1" } });
