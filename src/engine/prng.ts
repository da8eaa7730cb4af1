/**
 * Seeded PRNG (SplitMix32-style mixing over a 32-bit state). Every random choice of an instance
 * comes from here, so the same `seed` gives the same simulation (docs/API.md §3). Its state is one
 * integer, which makes snapshots trivial.
 */
export class Prng {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform integer in [0, n) for n ≥ 1 (n ≤ 2^32). */
  below(n: number): number {
    return Math.floor((this.nextUint32() / 4294967296) * n);
  }
}
