import { describe, expect, it } from 'vitest';
import { formatFixed, formatG, writeG } from './cpp-format.js';

describe('C++ ostream number formats', () => {
  it('writes %g as std::cout does', () => {
    expect(formatG(0.250188)).toBe('0.250188');
    expect(formatG(0.25)).toBe('0.25');
    expect(formatG(1)).toBe('1');
    expect(formatG(1e-4)).toBe('0.0001');
    expect(formatG(5.9726e-5, 5)).toBe('5.9726e-05');
    expect(formatG(-0.0067589123, 5)).toBe('-0.0067589');
    expect(formatG(1234567)).toBe('1.23457e+06');
    expect(formatG(0.4, 3)).toBe('0.4');
    expect(formatG(Number.NaN)).toBe('nan');
  });

  it('writes %g as bytes (writeG) exactly as formatG does: float32 values of every exponent, ties and edges', () => {
    const out = new Uint8Array(64);
    const asText = (x: number, p: number) => Buffer.from(out.subarray(0, writeG(x, p, out, 0))).toString('latin1');
    // Every float32 exponent, pseudo-random mantissas and signs (xorshift, seeded: the same values every run).
    let state = 0x9e3779b9;
    const next = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const values: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      bits[0] = next();
      values.push(f32[0]);
    }
    // Exact halves at precision 5 (formatG rounds them up), powers of ten, and the ends of float32.
    values.push(1.03125, 2.5, 99999.5, 0.000015, 1e-4, 9.99995e-5, 1e5, 1e-5, 99999.4, 3.4028234663852886e38, 1e-45, -0, 0);
    values.push(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 123456789, 0.1, -0.0067589123);
    // Doubles past float32, subnormal ones included (their binary exponent says nothing of their decimal one).
    values.push(5e-324, -1e-310, 2.2250738585072014e-308, 1.7976931348623157e308, 1e300, 1e-300, 1.23456e55, 9.99999e-56);
    for (const p of [5, 1, 3, 6, 9, 12]) {
      const mismatched = values.filter((x) => asText(x, p) !== formatG(x, p));
      expect(mismatched.map((x) => [x, p, asText(x, p), formatG(x, p)])).toEqual([]);
    }
  });

  it('writes std::fixed', () => {
    expect(formatFixed(0.4, 3)).toBe('0.400');
    expect(formatFixed(1, 6)).toBe('1.000000');
  });
});
