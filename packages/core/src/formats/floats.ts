/**
 * Raw IEEE floats of any width and byte order, as files hold them (.npy in either byte
 * order, safetensors little-endian), to float32. The bytes may sit at any offset (a Buffer
 * read from disk often does), so nothing is viewed in place: the result is always a copy.
 */
export type FloatEncoding = 'f16' | 'bf16' | 'f32' | 'f64';

export const floatEncodingBytes: Record<FloatEncoding, number> = { f16: 2, bf16: 2, f32: 4, f64: 8 };

export function decodeFloats(bytes: Uint8Array, encoding: FloatEncoding, littleEndian: boolean): Float32Array {
  const size = floatEncodingBytes[encoding];
  const n = Math.floor(bytes.byteLength / size);
  const out = new Float32Array(n);
  if (encoding === 'f32' && littleEndian) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, n * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (encoding) {
    case 'f32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, littleEndian);
      break;
    case 'f64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, littleEndian);
      break;
    case 'f16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, littleEndian));
      break;
    case 'bf16': {
      // bfloat16 is the top half of a float32.
      const word = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) word[i] = view.getUint16(i * 2, littleEndian) << 16;
      break;
    }
  }
  return out;
}

/** IEEE 754 binary16 to a number: subnormals, infinities and NaN included. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
