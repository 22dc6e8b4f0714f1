import { configError } from './errors.js';
import { fmix32, hashString32, mix64to32 } from './hash.js';
import { jobDefaults } from './job-defaults.js';
import { nonNegativeInt, numberInRange, oneOf, optional, positiveInt, rejectUnknownKeys, requireObject } from './validate.js';

/**
 * Which ids of a hashed table get a row (Monolith's and TFRA's feature filters). An id that is
 * not admitted reads the default vector and takes no update; a shard counts, for each id
 * without a row, the steps in which it got a gradient (its distinct ids of a step, over every
 * rank's part: the same count whatever the batch split), and at the end of the step that makes
 * it admitted the id gets a row with its deterministic init; that step's gradient, taken at
 * the default vector, is dropped.
 *
 * - `count`: admitted on its `minCount`-th such step, counted in a count-min sketch of
 *   `depth` rows × `width` counters per shard and table (estimates never fall short, so an id
 *   is admitted on time or, after collisions, early).
 * - `probability`: admitted at each such step with probability `p`, a pure function of (job
 *   seed, table, id, step): reproducible, with no state.
 *
 * `default`: what a not-admitted id reads: `zeros`, or `unknown`, one shared row (the
 * deterministic init of the table's reserved unknown id 2^64 − 1), never updated.
 */
export type AdmissionSpec =
  | {
      readonly kind: 'count';
      readonly minCount: number;
      readonly width: number;
      readonly depth: number;
      readonly default: 'zeros' | 'unknown';
    }
  | { readonly kind: 'probability'; readonly p: number; readonly default: 'zeros' | 'unknown' };

/**
 * When rows of a hashed table go away (TorchRec's managed collision modules, Monolith's
 * expiry), always at the end of a step, so BSP stays bitwise reproducible: rows not updated
 * for `ttlSteps` steps, then, while a shard holds more than its capacity (`capacityRows`, or
 * `capacityBytes` as rows of dynamicRowBytes) of the table,
 * the least recently updated (ties: the smaller id). An evicted row's slot and memory go to
 * the next new row; an evicted id that comes back starts again from its deterministic init
 * (and, with admission, must be admitted again).
 */
export interface EvictionSpec {
  readonly capacityRows: number | null;
  /** A capacity in bytes per shard, as rows of `dynamicRowBytes` each (the smaller of the two capacities applies). */
  readonly capacityBytes: number | null;
  readonly ttlSteps: number | null;
}

/**
 * What one row of a hashed table costs a shard, for `capacityBytes`: its weights and optimizer
 * state, its id (8), last update step (4), presence byte (1) and its index bucket (12 bytes,
 * at the index's 35–70% load: 24).
 */
export function dynamicRowBytes(dim: number, stateFloats: number): number {
  return 4 * (dim + stateFloats) + 8 + 4 + 1 + 24;
}

/** The rows a shard may keep: the smaller of capacityRows and capacityBytes over the row cost; null for no cap. */
export function capacityRowsOf(spec: EvictionSpec, dim: number, stateFloats: number): number | null {
  const byBytes = spec.capacityBytes === null ? null : Math.floor(spec.capacityBytes / dynamicRowBytes(dim, stateFloats));
  if (byBytes === null) return spec.capacityRows;
  return spec.capacityRows === null ? byBytes : Math.min(byBytes, spec.capacityRows);
}

/** The id a table's shared unknown row is initialised as: 2^64 − 1 (lo, hi). */
export const UNKNOWN_ID_HALF = 0xffffffff;

export function parseAdmissionSpec(value: unknown, field: string): AdmissionSpec | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  const kind = oneOf(obj.kind, `${field}.kind`, ['count', 'probability'] as const);
  const d = jobDefaults.tables.admission;
  const dflt = optional(obj.default, d.default, (v) => oneOf(v, `${field}.default`, ['zeros', 'unknown'] as const));
  if (kind === 'probability') {
    rejectUnknownKeys(obj, ['kind', 'p', 'default'], field);
    const p = numberInRange(obj.p, `${field}.p`, 0, 1, { minExclusive: true });
    return Object.freeze({ kind, p, default: dflt });
  }
  rejectUnknownKeys(obj, ['kind', 'minCount', 'width', 'depth', 'default'], field);
  const depth = optional(obj.depth, d.depth, (v) => positiveInt(v, `${field}.depth`));
  if (depth > 16) throw configError(`${field}.depth`, `must be at most 16, got ${depth}`);
  const width = optional(obj.width, d.width, (v) => positiveInt(v, `${field}.width`));
  if (width > 1 << 26) throw configError(`${field}.width`, `must be at most 2^26 (counters per sketch row), got ${width}`);
  return Object.freeze({ kind, minCount: positiveInt(obj.minCount, `${field}.minCount`), width, depth, default: dflt });
}

export function parseEvictionSpec(value: unknown, field: string): EvictionSpec | null {
  if (value === undefined || value === null) return null;
  const obj = requireObject(value, field);
  rejectUnknownKeys(obj, ['capacityRows', 'capacityBytes', 'ttlSteps'], field);
  const capacityRows = optional(obj.capacityRows, null as number | null, (v) => nonNegativeInt(v, `${field}.capacityRows`));
  const capacityBytes = optional(obj.capacityBytes, null as number | null, (v) => nonNegativeInt(v, `${field}.capacityBytes`));
  const ttlSteps = optional(obj.ttlSteps, null as number | null, (v) => positiveInt(v, `${field}.ttlSteps`));
  if (capacityRows === null && capacityBytes === null && ttlSteps === null)
    throw configError(field, 'needs capacityRows, capacityBytes, ttlSteps or a combination');
  return Object.freeze({ capacityRows, capacityBytes, ttlSteps });
}

/** A shard's admission state for one table: the sketch (count) or nothing (probability). */
export class AdmissionFilter {
  /** depth × width counters (count admission); empty for probability admission. */
  readonly sketch: Uint32Array;
  private readonly seeds: Uint32Array;
  private readonly tableKey: number;

  constructor(
    readonly spec: AdmissionSpec,
    jobSeed: number,
    table: string,
  ) {
    this.tableKey = fmix32((hashString32(table) ^ Math.imul(jobSeed >>> 0, 0x9e3779b1)) >>> 0);
    const depth = spec.kind === 'count' ? spec.depth : 0;
    this.sketch = new Uint32Array(spec.kind === 'count' ? spec.depth * spec.width : 0);
    this.seeds = Uint32Array.from({ length: depth }, (_, r) => fmix32((this.tableKey + Math.imul(r + 1, 0x85ebca6b)) >>> 0));
  }

  /**
   * One step in which id (lo, hi), which has no row, got a gradient: counts it and says
   * whether it is admitted now.
   */
  offer(lo: number, hi: number, step: number): boolean {
    const spec = this.spec;
    if (spec.kind === 'probability') {
      const h = fmix32((mix64to32(lo, hi) ^ fmix32((this.tableKey ^ Math.imul(step >>> 0, 0xc2b2ae35)) >>> 0)) >>> 0);
      return h / 4294967296 < spec.p;
    }
    let estimate = Number.MAX_SAFE_INTEGER;
    for (let r = 0; r < spec.depth; r++) {
      const cell = r * spec.width + (mix64to32((lo ^ this.seeds[r]) >>> 0, hi) % spec.width);
      const c = this.sketch[cell] + 1;
      if (c <= 0xffffffff) this.sketch[cell] = c;
      estimate = Math.min(estimate, c);
    }
    return estimate >= spec.minCount;
  }

  /** Adds another shard's sketch (restoring onto another shard count: counts can only grow). */
  addSketch(other: Uint32Array): void {
    if (other.length !== this.sketch.length)
      throw new RangeError(`sketch of ${other.length} counters, expected ${this.sketch.length}`);
    for (let i = 0; i < other.length; i++) this.sketch[i] = Math.min(0xffffffff, this.sketch[i] + other[i]);
  }

  clear(): void {
    this.sketch.fill(0);
  }
}

/**
 * The rows to evict at the end of step `step`, of `n` candidates (slot k: last update
 * `lastUpdate[k]`, id halves `lo[k]`, `hi[k]`): those idle for ttlSteps or more, then the least
 * recently updated (ties: smaller id, unsigned) until at most capacityRows remain. Returns
 * candidate positions, in no particular order. A pure function of the rows, so a shard and
 * the single-process reference choose the same.
 */
export function chooseEvictions(
  spec: { readonly ttlSteps: number | null; readonly capacityRows: number | null },
  step: number,
  n: number,
  lastUpdate: ArrayLike<number>,
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
): number[] {
  const out: number[] = [];
  const keep: number[] = [];
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    if (spec.ttlSteps !== null && step - lastUpdate[k] >= spec.ttlSteps) out.push(k);
    else {
      keep.push(k);
      oldest = Math.min(oldest, lastUpdate[k]);
      newest = Math.max(newest, lastUpdate[k]);
    }
  }
  const capacity = spec.capacityRows;
  if (capacity === null || keep.length <= capacity) return out;
  const excess = keep.length - capacity;
  const byIdThenStep = (a: number, b: number) => lastUpdate[a] - lastUpdate[b] || hi[a] - hi[b] || lo[a] - lo[b];
  if (newest - oldest > 4 * keep.length) {
    keep.sort(byIdThenStep);
    for (let i = 0; i < excess; i++) out.push(keep[i]);
    return out;
  }
  // Steps are small integers: count rows per last-update step, take whole steps from the
  // oldest, and sort only the step that is split (by id). Linear in the rows, not n log n:
  // this runs at the end of every step of a table at its capacity.
  const counts = new Int32Array(newest - oldest + 1);
  for (const k of keep) counts[lastUpdate[k] - oldest]++;
  let taken = 0;
  let split = 0;
  while (taken + counts[split] <= excess) taken += counts[split++];
  const boundary: number[] = [];
  for (const k of keep) {
    const at = lastUpdate[k] - oldest;
    if (at < split) out.push(k);
    else if (at === split) boundary.push(k);
  }
  boundary.sort(byIdThenStep);
  for (let i = 0; i < excess - taken; i++) out.push(boundary[i]);
  return out;
}

/** Counts of a hashed table's dynamic rows on a shard, since the start (metrics). */
export interface DynamicRowCounts {
  admitted: number;
  /** Steps an id without a row got a gradient and was not admitted. */
  rejected: number;
  evicted: number;
}
