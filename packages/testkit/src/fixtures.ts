import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The PyTorch fixtures shipped with the repository: test/fixtures/pytorch is a copy of the
 * project's shared golden set, test/fixtures/pytorch-alt a second set in the same schema with
 * other sizes and hyperparameters (made by test/fixtures/make_fixtures.py), and
 * test/fixtures/torch-extra holds golden values outside that schema (dense optimizers,
 * schedules) for unit tests.
 */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function fixtureDir(set: 'pytorch' | 'pytorch-alt' | 'torch-extra' = 'pytorch'): string {
  return `${repoRoot}test/fixtures/${set}`;
}

export function loadFixture<T = Record<string, unknown>>(
  file: string,
  set: 'pytorch' | 'pytorch-alt' | 'torch-extra' = 'pytorch',
): T {
  return JSON.parse(readFileSync(`${fixtureDir(set)}/${file}`, 'utf8')) as T;
}

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export function f32(t: FixtureTensor): Float32Array {
  return Float32Array.from(t.data);
}

/** Largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
