/**
 * mulberry32: a tiny full-period seeded PRNG in 32-bit integer arithmetic, so the same seed gives
 * the same numbers on every machine (the offline embedder's reference corpus depends on it; tests
 * and benchmarks use it for reproducible data). Not for anything secret.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
