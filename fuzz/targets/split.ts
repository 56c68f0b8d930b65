import type { Rng } from '../rng.ts';

/**
 * Ways to cut one input into the chunks a socket might deliver: byte by byte (the
 * reference for "as soon as it is complete"), whole, and at random points (with the
 * odd empty chunk, which sockets never deliver but `push`/`write` must accept).
 */

export function byteByByte(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i++) out.push(input.subarray(i, i + 1));
  return out;
}

export function randomSplit(input: Buffer, rng: Rng): Buffer[] {
  const cuts = new Set<number>();
  const count = rng.skewed(Math.min(32, input.length));
  for (let i = 0; i < count; i++) cuts.add(rng.int(input.length + 1));
  const points = [...cuts].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    out.push(input.subarray(from, at));
    from = at;
  }
  out.push(input.subarray(from));
  return rng.chance(0.8) ? out.filter((c) => c.length > 0) : out;
}

/** Byte by byte for small inputs; pieces of 1–16 bytes for large ones (most boundaries, bounded cost). */
export function fineSplit(input: Buffer, rng: Rng, byteLimit = 1024): Buffer[] {
  if (input.length <= byteLimit) return byteByByte(input);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const n = rng.range(1, 16);
    out.push(input.subarray(i, i + n));
    i += n;
  }
  return out;
}
