import { ErrorCodes, RowshardError } from '../errors.js';
import { decodeUtf8, encodeUtf8 } from '../utf8.js';

/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__": {string: string}}, then the raw little-endian tensor bytes. Pure: builds
 * and parses headers and byte ranges; callers stream the bytes to and from files.
 */
export type SafetensorsDtype = 'F16' | 'BF16' | 'F32' | 'F64' | 'I32' | 'I64' | 'U32' | 'U64' | 'U8';

export const dtypeBytes: Record<SafetensorsDtype, number> = {
  F16: 2,
  BF16: 2,
  F32: 4,
  F64: 8,
  I32: 4,
  I64: 8,
  U32: 4,
  U64: 8,
  U8: 1,
};

export interface TensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
}

export interface TensorLayout extends TensorEntry {
  /** Byte range inside the data section. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly tensors: readonly TensorLayout[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Bytes before the data section (8 + header length). */
  readonly dataStart: number;
  /** Total file size the header implies. */
  readonly fileBytes: number;
}

/** Lays tensors out back to back (8-byte aligned starts) and encodes the header. */
export function buildSafetensorsHeader(
  entries: readonly TensorEntry[],
  metadata: Record<string, string> = {},
): { header: Uint8Array; layout: TensorLayout[]; fileBytes: number } {
  const layout: TensorLayout[] = [];
  let at = 0;
  for (const e of entries) {
    const bytes = e.shape.reduce((a, b) => a * b, 1) * dtypeBytes[e.dtype];
    layout.push({ ...e, begin: at, end: at + bytes });
    at += bytes;
  }
  const json: Record<string, unknown> = { __metadata__: metadata };
  for (const t of layout) json[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [t.begin, t.end] };
  let text = JSON.stringify(json);
  // Pad the JSON with spaces so the data section starts 8-byte aligned (the format allows it).
  while ((8 + encodeUtf8(text).length) % 8 !== 0) text += ' ';
  const body = encodeUtf8(text);
  const header = new Uint8Array(8 + body.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true);
  header.set(body, 8);
  return { header, layout, fileBytes: header.length + at };
}

/** Parses and checks a header from the first bytes of a file of `fileBytes` bytes. */
export function parseSafetensorsHeader(prefix: Uint8Array, fileBytes: number, file: string): SafetensorsHeader {
  const bad = (why: string) =>
    new RowshardError(ErrorCodes.BAD_CHECKPOINT, `${file}: not a valid safetensors file: ${why}`, { file });
  if (prefix.length < 8 || fileBytes < 8) throw bad('shorter than its 8-byte header length');
  const n = Number(new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true));
  if (n > 100_000_000 || 8 + n > fileBytes) throw bad(`header length ${n} exceeds the file (${fileBytes} bytes)`);
  if (prefix.length < 8 + n) throw bad('header truncated');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(decodeUtf8(prefix.subarray(8, 8 + n)));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  const metadata = (json.__metadata__ ?? {}) as Record<string, string>;
  const tensors: TensorLayout[] = [];
  let dataBytes = 0;
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const t = raw as { dtype?: string; shape?: number[]; data_offsets?: number[] };
    if (
      !t ||
      typeof t.dtype !== 'string' ||
      !(t.dtype in dtypeBytes) ||
      !Array.isArray(t.shape) ||
      !Array.isArray(t.data_offsets)
    ) {
      throw bad(`tensor '${name}' has a malformed entry`);
    }
    const [begin, end] = t.data_offsets;
    const expected = t.shape.reduce((a, b) => a * b, 1) * dtypeBytes[t.dtype as SafetensorsDtype];
    if (end - begin !== expected) throw bad(`tensor '${name}' spans ${end - begin} bytes, its shape needs ${expected}`);
    tensors.push({ name, dtype: t.dtype as SafetensorsDtype, shape: t.shape, begin, end });
    dataBytes = Math.max(dataBytes, end);
  }
  const implied = 8 + n + dataBytes;
  if (implied !== fileBytes) throw bad(`header describes ${implied} bytes but the file has ${fileBytes} (truncated or padded)`);
  return { tensors, metadata, dataStart: 8 + n, fileBytes: implied };
}

/** Views raw little-endian bytes as a typed array of the dtype (copying only if misaligned); F16 and BF16 as their bits. */
export function viewTensor(
  bytes: Uint8Array,
  dtype: SafetensorsDtype,
): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint32Array | BigUint64Array | Uint16Array | Uint8Array {
  const size = dtypeBytes[dtype];
  // A copy, not bytes.slice(): on a Node Buffer slice() is a view at the same (misaligned) offset.
  const aligned = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = aligned.byteLength / size;
  switch (dtype) {
    case 'F16':
    case 'BF16':
      return new Uint16Array(aligned.buffer, aligned.byteOffset, n);
    case 'F32':
      return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'F64':
      return new Float64Array(aligned.buffer, aligned.byteOffset, n);
    case 'I32':
      return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'I64':
      return new BigInt64Array(aligned.buffer, aligned.byteOffset, n);
    case 'U32':
      return new Uint32Array(aligned.buffer, aligned.byteOffset, n);
    case 'U64':
      return new BigUint64Array(aligned.buffer, aligned.byteOffset, n);
    case 'U8':
      return aligned;
  }
}
