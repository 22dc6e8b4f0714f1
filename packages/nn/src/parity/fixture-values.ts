import { ErrorCodes, RowshardError } from '@rowshard/core';
import { type IndexTensor, indexTensor, shapeSize } from '../tensor.js';

/**
 * Readers for the fixture format (test/fixtures/pytorch/README.md): a tensor is
 * {"shape": [...], "data": [row-major float32]}, an index tensor is a nested int list.
 * Every failure names the file and the JSON path, never a stack trace.
 */
export class FixtureReader {
  constructor(readonly file: string) {}

  fail(path: string, message: string): RowshardError {
    return new RowshardError(ErrorCodes.BAD_FIXTURE, `${this.file}: ${path}: ${message}`, { file: this.file, field: path });
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw this.fail(path, 'expected an object');
    return value as Record<string, unknown>;
  }

  field(obj: Record<string, unknown>, key: string, path: string): unknown {
    if (!(key in obj)) throw this.fail(`${path}.${key}`, 'missing field');
    return obj[key];
  }

  array(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) throw this.fail(path, 'expected a list');
    return value;
  }

  number(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw this.fail(path, `expected a finite number, got ${JSON.stringify(value)}`);
    return value;
  }

  string(value: unknown, path: string): string {
    if (typeof value !== 'string') throw this.fail(path, 'expected a string');
    return value;
  }

  /** {"shape": [...], "data": [...]} → shape and Float32Array, with the sizes checked. */
  tensor(value: unknown, path: string): { shape: number[]; data: Float32Array } {
    const obj = this.object(value, path);
    const shapeRaw = this.array(this.field(obj, 'shape', path), `${path}.shape`);
    const shape = shapeRaw.map((d, i) => {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
        throw this.fail(`${path}.shape[${i}]`, `bad dimension ${JSON.stringify(d)}`);
      return d;
    });
    const dataRaw = this.array(this.field(obj, 'data', path), `${path}.data`);
    const size = shapeSize(shape);
    if (dataRaw.length !== size)
      throw this.fail(`${path}.data`, `shape [${shape.join(', ')}] needs ${size} values, got ${dataRaw.length}`);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const v = dataRaw[i];
      if (typeof v !== 'number') throw this.fail(`${path}.data[${i}]`, `expected a number, got ${JSON.stringify(v)}`);
      data[i] = v;
    }
    return { shape, data };
  }

  /** A nested list of integers of any rank (a scalar list, [B, L], ...) → IndexTensor. */
  indices(value: unknown, path: string): IndexTensor & { readonly data: ArrayLike<number> } {
    const shape: number[] = [];
    let probe: unknown = value;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = probe[0];
      if (shape[shape.length - 1] === 0) break;
    }
    if (shape.length === 0) throw this.fail(path, 'expected a (nested) list of integer indices');
    const out: number[] = [];
    const walk = (v: unknown, depth: number, at: string): void => {
      if (depth === shape.length) {
        if (typeof v !== 'number' || !Number.isInteger(v))
          throw this.fail(at, `expected an integer index, got ${JSON.stringify(v)}`);
        out.push(v);
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[depth])
        throw this.fail(at, `ragged index list: expected ${shape[depth]} entries at depth ${depth}`);
      for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${at}[${i}]`);
    };
    walk(value, 0, path);
    return indexTensor(shape, Float64Array.from(out)) as IndexTensor & { readonly data: Float64Array };
  }

  /** A target vector given either as a tensor or as a plain list of numbers. */
  vector(value: unknown, path: string): Float64Array {
    if (Array.isArray(value)) return Float64Array.from(value.map((v, i) => this.number(v, `${path}[${i}]`)));
    return Float64Array.from(this.tensor(value, path).data);
  }
}
