/**
 * The error function to double precision. JavaScript has no Math.erf, and the
 * exact GELU and its gradient check in float64 need more than the 1e-7 of the
 * usual rational approximations.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax > 6) return x > 0 ? 1 : -1;
  if (ax < 3.5) {
    // erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)); all terms are
    // positive, so nothing cancels.
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
    return x < 0 ? -r : r;
  }
  return x > 0 ? 1 - erfcLarge(ax) : erfcLarge(ax) - 1;
}

/** erfc(x) for x >= 3.5 by its continued fraction, evaluated backwards. */
function erfcLarge(x: number): number {
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
