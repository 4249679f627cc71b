// Tests and benchmarks draw their data from the plugin's seeded generator (mulberry32): the same data on every run.
export { seededRandom } from "../../plugins/encoder-compare/base/seeded-random.ts";
