import type { TypedArray } from '../../core/dtype.js';

/**
 * Batched matrix product with optional transposition of either operand, read
 * in place (no transposed copies). Loop orders keep the innermost access
 * contiguous: i-k-j for plain B, i-j-k (dot products) for transposed B.
 */
export function matmul(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
  const row = new Float64Array(n);
  for (let p = 0; p < batch; p++) {
    const ao = p * m * k;
    const bo = p * k * n;
    const co = p * m * n;
    if (!transB) {
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let q = 0; q < k; q++) {
          const av = transA ? a[ao + q * m + i] : a[ao + i * k + q];
          const bRow = bo + q * n;
          for (let j = 0; j < n; j++) row[j] += av * b[bRow + j];
        }
        for (let j = 0; j < n; j++) out[co + i * n + j] = row[j];
      }
    } else {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const bRow = bo + j * k;
          let s = 0;
          if (transA) for (let q = 0; q < k; q++) s += a[ao + q * m + i] * b[bRow + q];
          else {
            const aRow = ao + i * k;
            for (let q = 0; q < k; q++) s += a[aRow + q] * b[bRow + q];
          }
          out[co + i * n + j] = s;
        }
      }
    }
  }
}

export function addmm(
  bias: TypedArray,
  a: TypedArray,
  b: TypedArray,
  out: TypedArray,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
): void {
  matmul(a, b, out, 1, m, n, k, transA, transB);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) out[row + j] += bias[j];
  }
}
