import { describe, expect, it } from 'vitest';
import { formatFixed, formatG } from './cpp-format.js';

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

  it('writes std::fixed', () => {
    expect(formatFixed(0.4, 3)).toBe('0.400');
    expect(formatFixed(1, 6)).toBe('1.000000');
  });
});
