// A seeded shuffle that gives the same order as CPython's `random.seed(n); random.shuffle(x)`.
// The 2021 meme backend sampled its 10,000 memes that way (seed 42), so using the same
// algorithm lets `dataset import --seed 42` pick the same memes from the same memes.json.
// The generator is the Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998), seeded the way
// CPython seeds it from an integer (init_by_array over the integer's 32-bit words).

const N = 624;
const M = 397;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const MATRIX_A = 0x9908b0df;

export class PythonRandom {
  readonly #mt = new Uint32Array(N);
  #index = N + 1;

  /** `seed` must be a non-negative safe integer (CPython uses the absolute value of an int seed). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative whole number up to 2^53, got ${seed}`);
    const key: number[] = [];
    for (let rest = seed; rest > 0; rest = Math.floor(rest / 2 ** 32)) key.push(rest % 2 ** 32);
    if (key.length === 0) key.push(0);
    this.#initByArray(key);
  }

  #initGenrand(seed: number): void {
    const mt = this.#mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = Math.imul(1812433253, previous) + i;
    }
    this.#index = N;
  }

  #initByArray(key: readonly number[]): void {
    const mt = this.#mt;
    this.#initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (mt[i] ^ Math.imul(previous, 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (mt[i] ^ Math.imul(previous, 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = UPPER_MASK;
  }

  #twist(): void {
    const mt = this.#mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[(i + 1) % N] & LOWER_MASK);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.#index = 0;
  }

  /** The next 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#mt[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** CPython's getrandbits(k) for 1 ≤ k ≤ 32: the top k bits of one output. */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 1 || k > 32) throw new Error(`getrandbits supports 1 to 32 bits, got ${k}`);
    return this.nextUint32() >>> (32 - k);
  }

  /** A uniform integer in [0, n), by rejection sampling on bit_length(n) bits, as CPython does. */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n >= 2 ** 32) throw new Error(`randbelow needs a whole number from 1 to 2^32 - 1, got ${n}`);
    const bits = 32 - Math.clz32(n);
    let r = this.getrandbits(bits);
    while (r >= n) r = this.getrandbits(bits);
    return r;
  }

  /** Fisher–Yates from the end, exactly as CPython's random.shuffle; shuffles in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/**
 * `count` distinct rows of `rows` (all of them when count ≥ rows), drawn with randbelow from a
 * generator seeded with `seed`, in the order drawn: the sample the embeddings checks share.
 */
export function sampleRows(rows: number, count: number, seed: number): number[] {
  const random = new PythonRandom(seed);
  const drawn = new Set<number>();
  while (drawn.size < Math.min(count, rows)) drawn.add(random.randbelow(rows));
  return [...drawn];
}
