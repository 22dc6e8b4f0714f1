import { readFileSync } from 'node:fs';
import { type DataSpec, ErrorCodes, hashString32, RowshardError } from '@rowshard/core';
import { type Batch, indexTensor } from '@rowshard/nn';
import type { BatchSource } from './batch-source.js';

type Spec = Extract<DataSpec, { kind: 'ctr_file' }>;

/** Click-through examples in memory: labels, dense features [n, numDense], ids per feature as halves [n, 2]. */
export interface CtrExamples {
  readonly count: number;
  readonly labels: Float32Array;
  readonly dense: Float32Array;
  readonly ids: readonly Uint32Array[];
}

const bad = (file: string, line: number, field: string, why: string) =>
  new RowshardError(ErrorCodes.BAD_DATA, `${file}:${line}: ${field}: ${why}`, { file, line, field });

/**
 * A Criteo categorical value: up to 16 hex digits, the raw 64-bit id (halves into out at 2i);
 * an empty field is id 0 (missing), as Criteo leaves a feature out.
 */
function hexId(text: string, out: Uint32Array, i: number, file: string, line: number, field: string): void {
  if (!/^[0-9a-fA-F]{0,16}$/.test(text))
    throw bad(file, line, field, `expected up to 16 hex digits, got ${JSON.stringify(text)}`);
  const hi = text.length > 8 ? text.slice(0, text.length - 8) : '';
  const lo = text.length > 8 ? text.slice(text.length - 8) : text;
  out[2 * i] = lo ? Number.parseInt(lo, 16) >>> 0 : 0;
  out[2 * i + 1] = hi ? Number.parseInt(hi, 16) >>> 0 : 0;
}

/** Criteo's integer features as DLRM feeds them: log(1 + x) for x > 0, else 0 (empty fields too). */
function denseValue(text: string, file: string, line: number, field: string): number {
  if (text === '') return 0;
  if (!/^-?\d+$/.test(text)) throw bad(file, line, field, `expected an integer or nothing, got ${JSON.stringify(text)}`);
  const x = Number(text);
  return x > 0 ? Math.log1p(x) : 0;
}

/**
 * A JSONL categorical value: a non-negative integer (below 2^53) or a decimal/0x string of a
 * 64-bit id is the id itself; any other string is hashed to 64 bits (two 32-bit FNV-1a hashes),
 * the same in every process; null or missing is id 0.
 */
function jsonId(value: unknown, out: Uint32Array, i: number, file: string, line: number, field: string): void {
  if (value === null || value === undefined) {
    out[2 * i] = 0;
    out[2 * i + 1] = 0;
  } else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw bad(file, line, field, `a numeric id must be an integer in [0, 2^53), got ${value} (give larger ids as strings)`);
    out[2 * i] = value >>> 0;
    out[2 * i + 1] = Math.floor(value / 4294967296);
  } else if (typeof value === 'string') {
    if (/^(\d{1,20}|0x[0-9a-fA-F]{1,16})$/.test(value) && BigInt(value) < 2n ** 64n) {
      const v = BigInt(value);
      out[2 * i] = Number(v & 0xffffffffn);
      out[2 * i + 1] = Number(v >> 32n);
    } else {
      out[2 * i] = hashString32(value);
      out[2 * i + 1] = hashString32(`\u0001${value}`);
    }
  } else throw bad(file, line, field, `expected an id (integer or string), got ${JSON.stringify(value)}`);
}

function labelValue(value: unknown, file: string, line: number, field: string): number {
  if (value === 0 || value === 1 || value === '0' || value === '1') return Number(value);
  if (value === true || value === false) return Number(value);
  throw bad(file, line, field, `a label must be 0 or 1, got ${JSON.stringify(value)}`);
}

/** Reads a whole Criteo TSV or JSONL file, checking every line; errors name file:line and the field. */
export function readCtrExamples(spec: Spec): CtrExamples {
  let text: string;
  try {
    text = readFileSync(spec.path, 'utf8');
  } catch (e) {
    throw new RowshardError(
      ErrorCodes.BAD_DATA,
      `${spec.path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { file: spec.path },
    );
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const { numDense, numCategorical, path: file } = spec;
  const n = lines.length;
  const labels = new Float32Array(n);
  const dense = new Float32Array(n * numDense);
  const ids = Array.from({ length: numCategorical }, () => new Uint32Array(2 * n));
  for (let e = 0; e < n; e++) {
    const line = e + 1;
    const raw = lines[e].endsWith('\r') ? lines[e].slice(0, -1) : lines[e];
    if (spec.format === 'criteo') {
      const cols = raw.split('\t');
      const want = 1 + numDense + numCategorical;
      if (cols.length !== want)
        throw bad(
          file,
          line,
          'columns',
          `${cols.length} tab-separated columns; a Criteo line has ${want} (label, ${numDense} integer, ${numCategorical} categorical)`,
        );
      labels[e] = labelValue(cols[0], file, line, 'label (column 1)');
      for (let j = 0; j < numDense; j++)
        dense[e * numDense + j] = denseValue(cols[1 + j], file, line, `I${j + 1} (column ${2 + j})`);
      for (let f = 0; f < numCategorical; f++)
        hexId(cols[1 + numDense + f], ids[f], e, file, line, `C${f + 1} (column ${2 + numDense + f})`);
      continue;
    }
    const fields = spec.fields as NonNullable<Spec['fields']>;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (err) {
      throw bad(file, line, 'line', `not JSON (${(err as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw bad(file, line, 'line', 'expected a JSON object');
    const rec = obj as Record<string, unknown>;
    if (!(fields.label in rec)) throw bad(file, line, fields.label, 'missing (the label)');
    labels[e] = labelValue(rec[fields.label], file, line, fields.label);
    fields.dense.forEach((name, j) => {
      const v = rec[name];
      if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v)))
        throw bad(file, line, name, `expected a finite number or null, got ${JSON.stringify(v)}`);
      dense[e * numDense + j] = typeof v === 'number' ? v : 0;
    });
    fields.categorical.forEach((name, f) => {
      jsonId(rec[name], ids[f], e, file, line, name);
    });
  }
  if (n === 0) throw new RowshardError(ErrorCodes.BAD_DATA, `${file}: holds no examples`, { file });
  return { count: n, labels, dense, ids };
}

/**
 * Batches of a click-through file, in file order: global batch t is examples
 * [t·B, (t+1)·B) wrapping at the end, so every worker takes its slice of the same batch.
 * Layout as SyntheticCtr's: inputs[f] feature f's ids [B] (BigUint64Array), values[0] dense.
 */
export class CtrFileBatches implements BatchSource {
  private readonly examples: CtrExamples;

  constructor(
    private readonly spec: Spec,
    private readonly batchSize: number,
  ) {
    this.examples = readCtrExamples(spec);
  }

  get count(): number {
    return this.examples.count;
  }

  slice(step: number, start: number, end: number): Batch {
    const { numDense, numCategorical } = this.spec;
    const ex = this.examples;
    const n = end - start;
    const ids = Array.from({ length: numCategorical }, () => new BigUint64Array(n));
    const words = ids.map((a) => new Uint32Array(a.buffer));
    const dense = new Float32Array(n * numDense);
    const target = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const e = (step * this.batchSize + start + i) % ex.count;
      target[i] = ex.labels[e];
      dense.set(ex.dense.subarray(e * numDense, (e + 1) * numDense), i * numDense);
      for (let f = 0; f < numCategorical; f++) {
        words[f][2 * i] = ex.ids[f][2 * e];
        words[f][2 * i + 1] = ex.ids[f][2 * e + 1];
      }
    }
    return { inputs: ids.map((a) => indexTensor([n], a)), values: [{ shape: [n, numDense], data: dense }], target };
  }
}
