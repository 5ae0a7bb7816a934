/**
 * A small seeded generator (mulberry32) returning numbers in [0, 1), so a
 * randomized test or benchmark can be replayed from its seed. 32-bit integer
 * arithmetic throughout: a float multiply would lose precision and cycle early.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
