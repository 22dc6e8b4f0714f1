import { ZipfRanks } from '@rowshard/core';
/** Small helpers shared by the benchmarks: percentiles, medians, formatting. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Seconds of wall time `fn` takes. */
export function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

export function fmt(n: number, digits = 3): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toPrecision(digits)}M`;
  if (Math.abs(n) >= 1e3) return `${(n / 1e3).toPrecision(digits)}k`;
  return n.toPrecision(digits);
}

/** A deterministic xorshift generator for benchmark inputs (not for model init). */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const zipfTables = new Map<string, ZipfRanks>();

/** The distinct ids of `lookups` draws from zipf(s) over [0, n) (rank 0 most frequent). */
export function zipfBatch(n: number, lookups: number, s: number, rand: () => number): Uint32Array {
  const key = `${n}:${s}`;
  let ranks = zipfTables.get(key);
  if (!ranks) {
    ranks = new ZipfRanks(n, s);
    zipfTables.set(key, ranks);
  }
  const seen = new Set<number>();
  for (let k = 0; k < lookups; k++) seen.add(ranks.rank(rand()));
  return Uint32Array.from(seen);
}
