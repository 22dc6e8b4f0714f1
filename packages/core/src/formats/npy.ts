import { ErrorCodes, RowshardError } from '../errors.js';
import { decodeLatin1 } from '../utf8.js';

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

export interface NpyArray {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** Reads a float32 or float64 C-order .npy (v1/v2/v3) into a Float32Array. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const bad = (why: string) => new RowshardError(ErrorCodes.BAD_DATA, `${file}: not a readable .npy file: ${why}`, { file });
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw bad('missing the \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) throw bad('header runs past the end of the file');
  const header = decodeLatin1(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw bad(`cannot read the header ${JSON.stringify(header.trim())}`);
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported; save with numpy.ascontiguousarray');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(start);
  if (descr === '<f4') {
    if (body.length !== count * 4)
      throw bad(`shape (${shape.join(', ')}) needs ${count * 4} bytes of data, found ${body.length}`);
    return { shape, data: new Float32Array(body.slice().buffer) };
  }
  if (descr === '<f8') {
    if (body.length !== count * 8)
      throw bad(`shape (${shape.join(', ')}) needs ${count * 8} bytes of data, found ${body.length}`);
    return { shape, data: Float32Array.from(new Float64Array(body.slice().buffer)) };
  }
  throw bad(`dtype ${descr} is not supported (float32 '<f4' or float64 '<f8')`);
}
