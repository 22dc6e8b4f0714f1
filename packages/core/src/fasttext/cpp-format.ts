import { writeByteString } from './tokens.js';

/**
 * Numbers as a C++ `std::ostream` writes them, so rowshard's output of a fastText command can
 * be compared with fastText's line for line: the default float format is printf's `%g` at the
 * stream's precision (6 unless set; fastText sets 5 for vectors and 3 for P@k), and
 * `std::fixed` is `%f`.
 */
export function formatG(x: number, precision = 6): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const p = precision === 0 ? 1 : precision;
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  // Rounded once to p significant digits, as printf does; then laid out by the exponent.
  const s = x.toExponential(p - 1);
  const at = s.indexOf('e');
  const exp = Number(s.slice(at + 1));
  if (exp < -4 || exp >= p) {
    const sign = exp < 0 ? '-' : '+';
    return `${stripZeros(s.slice(0, at))}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const negative = x < 0;
  const digits = s.slice(negative ? 1 : 0, at).replace('.', '');
  const whole = exp >= 0 ? digits.slice(0, exp + 1) : '0';
  const fraction = exp >= 0 ? digits.slice(exp + 1) : '0'.repeat(-exp - 1) + digits;
  let end = fraction.length;
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end--;
  const text = end === 0 ? whole : `${whole}.${fraction.slice(0, end)}`;
  return negative ? `-${text}` : text;
}

/** 10^k for k in [-60, 60], each the double nearest to it (a decimal literal is correctly rounded). */
const POW10 = Array.from({ length: 121 }, (_, i) => Number(`1e${i - 60}`));
/** Digits of the fast path: `precision` up to 9 keeps the rounded significand an exact integer. */
const FAST_PRECISION = 9;
/** How close to a half the scaled value may come before the exact (string) path decides the rounding. */
const NEAR_HALF = 1e-6;

/**
 * formatG(x, precision) written as ASCII bytes into `out` from `at`; returns the end. For text
 * files of millions of numbers (a .vec: 100 per word), where a string per number made most of
 * the time and the garbage. The significand is x scaled by a power of ten and rounded, in
 * doubles; that agrees with formatG's exact decimal rounding except within a hair of a half
 * (the scaling's error is ~1e-11 of a unit), where formatG itself decides. `out` must have
 * room: 16 bytes per number at precision 5.
 */
export function writeG(x: number, precision: number, out: Uint8Array, at: number): number {
  const p = precision === 0 ? 1 : precision;
  if (x === 0 || !Number.isFinite(x) || p > FAST_PRECISION) return writeByteString(formatG(x, precision), out, at);
  const a = Math.abs(x);
  // floor(log10 a) from a's binary exponent: right or one low (log10 per number took a fifth of
  // writeG's time); one low is corrected below as log10's misses are.
  BITS[0] = a;
  let e = DECIMAL_EXPONENT[BITS_HIGH[1] >>> 20];
  // Past the table (doubles beyond float32's range, with a step of slack for the correction below): the string path.
  const k = 60 + p - 1 - e;
  if (k < 1 || k > POW10.length - 2) return writeByteString(formatG(x, precision), out, at);
  const low = POW10[60 + p - 1];
  let scaled = a * POW10[60 + p - 1 - e];
  // The estimate can be one low (and a double product one off near a power of ten).
  if (scaled >= 10 * low) scaled = a * POW10[60 + p - 1 - ++e];
  else if (scaled < low) scaled = a * POW10[60 + p - 1 - --e];
  if (!(Math.abs(scaled - Math.floor(scaled) - 0.5) > NEAR_HALF)) return writeByteString(formatG(x, precision), out, at);
  // At most FAST_PRECISION digits: an int32, so the digits below are integer arithmetic (a
  // double's % is a call into the runtime, and was half of writeG's time).
  let n = Math.round(scaled) | 0;
  if (n === 10 * low) {
    n = low;
    e++;
  }
  // The p digits of n, most significant first, without trailing zeros.
  const digits = DIGITS;
  for (let i = p - 1; i >= 0; i--) {
    const q = (n / 10) | 0;
    digits[i] = 48 + n - 10 * q;
    n = q;
  }
  let last = p;
  while (last > 1 && digits[last - 1] === 48) last--;
  if (x < 0) out[at++] = 45; // '-'
  if (e < -4 || e >= p) {
    out[at++] = digits[0];
    if (last > 1) {
      out[at++] = 46; // '.'
      for (let i = 1; i < last; i++) out[at++] = digits[i];
    }
    out[at++] = 101; // 'e'
    out[at++] = e < 0 ? 45 : 43;
    const ex = Math.abs(e);
    if (ex >= 100) out[at++] = 48 + Math.floor(ex / 100);
    out[at++] = 48 + (Math.floor(ex / 10) % 10);
    out[at++] = 48 + (ex % 10);
    return at;
  }
  if (e >= 0) {
    for (let i = 0; i <= e; i++) out[at++] = digits[i];
    if (last > e + 1) {
      out[at++] = 46;
      for (let i = e + 1; i < last; i++) out[at++] = digits[i];
    }
    return at;
  }
  out[at++] = 48; // '0'
  out[at++] = 46;
  for (let i = 1; i < -e; i++) out[at++] = 48;
  for (let i = 0; i < last; i++) out[at++] = digits[i];
  return at;
}

const DIGITS = new Uint8Array(FAST_PRECISION);
/** A double's bits: its biased binary exponent is the top 11 bits of the high word. */
const BITS = new Float64Array(1);
const BITS_HIGH = new Uint32Array(BITS.buffer);
/** floor(log10 2^k) for the biased exponent k + 1023: floor(log10 a) or one less, for a in [2^k, 2^(k+1)). */
const DECIMAL_EXPONENT = Int32Array.from({ length: 2048 }, (_, b) => Math.floor((b - 1023) * Math.LOG10E * Math.LN2));

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

/** `std::fixed << std::setprecision(d)`. */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return x.toFixed(digits);
}
