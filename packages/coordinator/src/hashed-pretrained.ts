import { readFileSync } from 'node:fs';
import {
  decodeFloats,
  type FloatEncoding,
  type PretrainedSource,
  parseSafetensorsHeader,
  type TableSpec,
  viewTensor,
} from '@rowshard/core';
import { type PretrainedInfo, pretrainedFailure } from './pretrained.js';

/** A hashed table's starting rows: ids and their rows [ids, dim]. */
export interface HashedRows {
  readonly ids: BigUint64Array;
  readonly rows: Float32Array;
}

/**
 * from_pretrained for a hashed table: a safetensors file with the rows (`weight` or
 * `<table>.weight`, [n, dim], F16/BF16/F32/F64) and their 64-bit ids (`ids`, U64 [n]), as
 * `rowshard export --format safetensors` writes a hashed table. Rows are keyed by id, so a
 * row-ordered file (npy, text) cannot say which id a row is. Ids must be distinct. Every
 * mistake is E_BAD_DATA naming the field, the file and what is wrong.
 */
export function readHashedPretrained(spec: TableSpec, source: PretrainedSource): { info: PretrainedInfo; rows: HashedRows } {
  const file = source.path;
  const fail = pretrainedFailure(spec, file);
  if (source.format !== 'safetensors')
    throw fail(
      `table '${spec.name}' is hashed: its rows come from safetensors with an 'ids' tensor (as rowshard export writes), not ${source.format}`,
      'format',
    );
  if (source.vocab !== null) throw fail('a hashed table is keyed by ids, not words', 'vocab');
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw fail(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let h: ReturnType<typeof parseSafetensorsHeader>;
  try {
    h = parseSafetensorsHeader(bytes, bytes.length, file);
  } catch (e) {
    throw fail((e as Error).message);
  }
  const weight = h.tensors.find((t) => t.name === 'weight') ?? h.tensors.find((t) => t.name === `${spec.name}.weight`);
  const ids = h.tensors.find((t) => t.name === 'ids') ?? h.tensors.find((t) => t.name === `${spec.name}.ids`);
  const names = h.tensors.map((t) => t.name).join(', ') || 'none';
  if (!weight) throw fail(`has no tensor 'weight' or '${spec.name}.weight' (tensors: ${names})`);
  if (!ids) throw fail(`has no tensor 'ids' (U64, the row ids of a hashed table; tensors: ${names})`);
  const encoding = ({ F16: 'f16', BF16: 'bf16', F32: 'f32', F64: 'f64' } as Record<string, FloatEncoding>)[weight.dtype];
  if (!encoding) throw fail(`tensor '${weight.name}' is ${weight.dtype}; F16, BF16, F32 and F64 are supported`);
  if (ids.dtype !== 'U64' || ids.shape.length !== 1)
    throw fail(`tensor 'ids' is ${ids.dtype} [${ids.shape.join(', ')}]; it must be U64 [n]`);
  const n = ids.shape[0];
  if (weight.shape.length !== 2 || weight.shape[0] !== n || weight.shape[1] !== spec.embeddingDim)
    throw fail(
      `tensor '${weight.name}' is [${weight.shape.join(', ')}]; with ${n} ids table '${spec.name}' needs [${n}, ${spec.embeddingDim}]`,
    );
  const idValues = BigUint64Array.from(
    viewTensor(bytes.subarray(h.dataStart + ids.begin, h.dataStart + ids.end), 'U64') as BigUint64Array,
  );
  const seen = new Set<bigint>();
  for (const id of idValues) {
    if (seen.has(id)) throw fail(`id ${id} is given twice`);
    seen.add(id);
  }
  const rows = decodeFloats(bytes.subarray(h.dataStart + weight.begin, h.dataStart + weight.end), encoding, true);
  return {
    info: { table: spec.name, file, format: 'safetensors', binary: false, rowsSet: n },
    rows: { ids: idValues, rows: Float32Array.from(rows) },
  };
}
