import { ErrorCodes, RowshardError } from '../errors.js';
import { decodeLatin1 } from '../utf8.js';
import { decodeFloats, type FloatEncoding, floatEncodingBytes } from './floats.js';

/**
 * NumPy's .npy format (version 1.0): magic "\x93NUMPY", version 1.0, a little-endian uint16
 * header length, an ASCII Python dict {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
 * padded with spaces and a newline so the data starts on a 64-byte boundary, then the data.
 * numpy.load and torch.from_numpy read it directly.
 */
export function npyHeader(shape: readonly number[], descr: '<f4' | '<f8' | '<i8' | '<u8' | '<i4' = '<f4'): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const pre = 10; // magic(6) + version(2) + header length(2)
  while ((pre + dict.length + 1) % 64 !== 0) dict += ' ';
  dict += '\n';
  const out = new Uint8Array(pre + dict.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[pre + i] = dict.charCodeAt(i);
  return out;
}

/** What an .npy header says, checked against the file's size. */
export interface NpyHeader {
  readonly shape: number[];
  /** The dtype as written ('<f4', '>f8', ...). */
  readonly descr: string;
  readonly encoding: FloatEncoding;
  readonly littleEndian: boolean;
  readonly fortranOrder: boolean;
  /** Byte offset of the data. */
  readonly dataStart: number;
}

export interface NpyArray {
  readonly shape: number[];
  /** The values in C (row-major) order, whatever the file's order and dtype. */
  readonly data: Float32Array;
}

const npyFloatKinds: Record<string, FloatEncoding> = { f2: 'f16', f4: 'f32', f8: 'f64' };

/**
 * Parses the header of a .npy file (versions 1, 2 and 3) from its first bytes; `fileBytes`
 * is the whole file's size, which must be the header plus exactly the data its shape and
 * dtype need. Floating-point dtypes of either byte order ('<f4', '>f8', '<f2', ...) in C or
 * Fortran order. `prefix` may be the whole file.
 */
export function parseNpyHeader(prefix: Uint8Array, fileBytes: number, file: string): NpyHeader {
  const bad = (why: string) => new RowshardError(ErrorCodes.BAD_DATA, `${file}: not a readable .npy file: ${why}`, { file });
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (prefix.length < 10 || magic.some((m, i) => prefix[i] !== m)) throw bad('missing the \\x93NUMPY magic');
  const major = prefix[6];
  if (major < 1 || major > 3) throw bad(`unknown format version ${major}.${prefix[7]}`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerAt = major === 1 ? 10 : 12;
  if (prefix.length < headerAt) throw bad('header truncated');
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = headerAt + headerLen;
  if (dataStart > fileBytes) throw bad('header runs past the end of the file');
  if (dataStart > prefix.length) throw bad('header truncated');
  const header = decodeLatin1(prefix.subarray(headerAt, dataStart));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!fortran || shapeText === undefined) throw bad(`cannot read the header ${JSON.stringify(header.trim())}`);
  const shape = shapeText
    .split(',')
    .map((d) => d.trim().replace(/L$/, ''))
    .filter((d) => d.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`cannot read the shape (${shapeText})`);
  const m = descr === undefined ? null : /^([<>=|])(f[248])$/.exec(descr);
  const encoding = m ? npyFloatKinds[m[2]] : undefined;
  if (!m || !encoding) {
    throw bad(
      `dtype ${descr ?? '(structured)'} is not supported: floating point is (float16, float32 or float64, either byte order)`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * floatEncodingBytes[encoding];
  const found = fileBytes - dataStart;
  if (found !== need) {
    throw bad(
      `shape (${shape.join(', ')}) of ${descr} needs ${need} bytes of data, found ${found} (${found < need ? 'truncated' : 'trailing bytes'})`,
    );
  }
  // '=' is the writer's native order; numpy writes '<' or '>' for floats, and every machine here is little-endian.
  return { shape, descr: descr as string, encoding, littleEndian: m[1] !== '>', fortranOrder: fortran === 'True', dataStart };
}

/** Reads a floating-point .npy (any byte order, C or Fortran order) into float32 values in C order. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const h = parseNpyHeader(bytes, bytes.length, file);
  const values = decodeFloats(bytes.subarray(h.dataStart), h.encoding, h.littleEndian);
  return { shape: h.shape, data: h.fortranOrder ? fortranToC(values, h.shape) : values };
}

/**
 * Fortran (column-major) order to C (row-major): element (i0, ..., ik) sits at
 * i0 + s0·(i1 + s1·(i2 + ...)) in the file. One pass in C order with a running multi-index.
 */
function fortranToC(values: Float32Array, shape: readonly number[]): Float32Array {
  const rank = shape.length;
  if (rank < 2) return values;
  const out = new Float32Array(values.length);
  const stride: number[] = [];
  let s = 1;
  for (let k = 0; k < rank; k++) {
    stride.push(s);
    s *= shape[k];
  }
  const index = new Array<number>(rank).fill(0);
  let from = 0;
  for (let to = 0; to < out.length; to++) {
    out[to] = values[from];
    // Advance the C-order index: the last axis fastest.
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      from += stride[k];
      if (index[k] < shape[k]) break;
      from -= stride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}
