/**
 * A small, fast, seeded pseudo-random generator (sfc32, Chris Doty-Humphrey's "Small Fast Chaotic" PRNG,
 * seeded through splitmix32) for everything that must be reproducible: the trace generator, property
 * tests, benchmarks. Same seed -> same sequence on every platform and Node version (32-bit integer ops only).
 * Not for cryptography.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from any number (its low 32 bits and, for larger integers, the bits above). */
  constructor(seed: number) {
    let s = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let k = 0; k < 12; k++) this.u32();
  }

  /** The next unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n) for 0 < n <= 2^32 (multiply-shift; the bias is below 2^-32 * n). */
  below(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** An integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /**
   * An index picked with probability proportional to the weights whose running totals are `cumulative`
   * (ascending, last entry = total weight).
   */
  pick(cumulative: ArrayLike<number>): number {
    const x = this.float() * cumulative[cumulative.length - 1];
    let k = 0;
    while (k < cumulative.length - 1 && x >= cumulative[k]) k++;
    return k;
  }

  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): Uint8Array {
    let k = 0;
    for (; k + 4 <= out.length; k += 4) {
      const v = this.u32();
      out[k] = v >>> 24;
      out[k + 1] = (v >>> 16) & 0xff;
      out[k + 2] = (v >>> 8) & 0xff;
      out[k + 3] = v & 0xff;
    }
    if (k < out.length) {
      const v = this.u32();
      for (let j = 0; k < out.length; k++, j++) out[k] = (v >>> (24 - 8 * j)) & 0xff;
    }
    return out;
  }
}

/** Running totals of `weights` (for `Prng.pick`). */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let t = 0;
  for (let k = 0; k < weights.length; k++) {
    if (!(weights[k] >= 0)) throw new Error(`weights must be non-negative numbers, got ${weights[k]}`);
    t += weights[k];
    out[k] = t;
  }
  if (t <= 0) throw new Error('at least one weight must be positive');
  return out;
}
