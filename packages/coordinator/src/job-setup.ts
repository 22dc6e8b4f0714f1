import { readFileSync } from 'node:fs';
import { ErrorCodes, parseNpy, RowshardError } from '@rowshard/core';
import { type Model, type ModuleImporter, type ResolvedJob, resolveJob } from '@rowshard/nn';
import { type HashedRows, readHashedPretrained } from './hashed-pretrained.js';
import { loadInitialState } from './initial-state.js';
import { loadPretrained } from './pretrained.js';

/** A job as the coordinator starts it: the resolved job and model, and any starting rows and values. */
export interface CoordinatorJob extends ResolvedJob {
  /** Starting dense values (a parity fixture's initial_state), by parameter name. */
  readonly initialDense: Record<string, Float32Array>;
  /** Whole tables to load into the shards before the first step (from_pretrained, initial_state); hashed ones by id. */
  readonly initialTables: Record<string, Float32Array | HashedRows>;
}

/**
 * Resolves the job (model, overrides, optimizer groups) and reads the files it names for its
 * starting state: pretrained tables and a fixture's initial state. Everything here runs before
 * the coordinator listens, so a bad file stops the job before any process waits on it.
 */
export async function setUpJob(
  raw: Record<string, unknown>,
  importModule: ModuleImporter,
  readJson: (path: string) => unknown,
): Promise<CoordinatorJob> {
  const resolved = await resolveJob(raw, importModule);
  const { job, model } = resolved;
  const pretrained: Record<string, Float32Array | HashedRows> = {};
  for (const spec of model.tables) {
    const source = job.tables[spec.name]?.pretrained;
    if (!source) continue;
    pretrained[spec.name] =
      spec.kind === 'hashed' ? readHashedPretrained(spec, source).rows : loadPretrained(spec, source, job.seed);
  }
  const fixture = job.initialState?.fixture;
  const { dense, tables } = fixture ? loadInitialState(readJson(fixture), fixture, model) : { dense: {}, tables: {} };
  for (const [name, path] of Object.entries(job.initialState?.dense ?? {})) dense[name] = readDenseNpy(model, name, path);
  return { ...resolved, initialDense: dense, initialTables: { ...tables, ...pretrained } };
}

/** `initialState.dense`: a dense parameter's starting values from a .npy of its shape. */
function readDenseNpy(model: Model, name: string, path: string): Float32Array {
  const spec = model.dense.find((p) => p.name === name);
  const fail = (why: string) =>
    new RowshardError(ErrorCodes.BAD_CONFIG, `initialState.dense.${name}: ${why}`, {
      field: `initialState.dense.${name}`,
      file: path,
    });
  if (!spec)
    throw fail(`the model has no dense parameter '${name}' (it has ${model.dense.map((p) => p.name).join(', ') || 'none'})`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw fail(`cannot read ${path} (${(e as Error).message})`);
  }
  const { shape, data } = parseNpy(bytes, path);
  if (shape.join(',') !== spec.shape.join(','))
    throw fail(`${path} is [${shape.join(', ')}], the parameter is [${spec.shape.join(', ')}]`);
  return Float32Array.from(data);
}
