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
