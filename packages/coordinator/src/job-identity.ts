import { createHash } from 'node:crypto';
import type { JobConfig, JobIdentity } from '@rowshard/core';

/**
 * What makes two runs the same job: the settings that decide the numbers a run computes
 * (seed, model and its options, optimizers and schedules, sync mode, steps, batch size, data,
 * freeze plan, table overrides, initial state). Left out on purpose: how it runs and where it
 * writes (cluster size: a checkpoint resumes onto any number of shards; timeouts, limits,
 * logging, evaluation, checkpoint policy, debug; sync.poolBags, which like the limits decides
 * what travels, not what BSP computes; sync.prefetch, which decides when an ASP worker reads,
 * in a mode whose numbers depend on timing), and the vocabulary, label and tokenised examples
 * files' locations (a temporary directory per run).
 */
export function jobSettings(job: JobConfig): Record<string, unknown> {
  const data = { ...job.data } as Record<string, unknown>;
  delete data.vocabFile;
  delete data.labelsFile;
  delete data.examplesFile;
  return {
    seed: job.seed,
    model: job.model,
    optimizers: Object.fromEntries(job.optimizers.map((g) => [g.name, { ...g.optimizer, schedule: g.schedule }])),
    sync: { ...job.sync, poolBags: undefined, prefetch: undefined },
    steps: job.steps,
    batchSize: job.batchSize,
    data,
    freeze: job.freeze,
    tables: job.tables,
    initialState: job.initialState,
  };
}

/** JSON with object keys sorted, so equal settings always give the same text. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/** The job's settings and their sha256, as each checkpoint's manifest records them. */
export function jobIdentity(job: JobConfig): JobIdentity {
  const settings = JSON.parse(canonical(jobSettings(job))) as Record<string, unknown>;
  return { fingerprint: createHash('sha256').update(canonical(settings)).digest('hex'), settings };
}

function leaves(value: unknown, prefix: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, canonical(value));
  return out;
}

/**
 * What differs between two jobs' settings, for people: `optimizers.dense.lr: 0.01 → 0.001`,
 * at most `max` of them and a count of the rest.
 */
export function describeJobChanges(before: Record<string, unknown>, after: Record<string, unknown>, max = 3): string {
  const a = leaves(before, '', new Map());
  const b = leaves(after, '', new Map());
  const changes: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const was = a.get(key);
    const now = b.get(key);
    if (was !== now) changes.push(`${key}: ${was ?? '(unset)'} → ${now ?? '(unset)'}`);
  }
  if (changes.length === 0) return 'no setting differs (a checkpoint of an older rowshard)';
  const more = changes.length > max ? ` and ${changes.length - max} more` : '';
  return `${changes.slice(0, max).join(', ')}${more}`;
}
