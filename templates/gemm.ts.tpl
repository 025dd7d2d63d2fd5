
/**
 * C[i, j] = Σₚ A[i, p]·B[p, j] over strided matrices (element (r, c) of X at xOffset + r·xRow + c·xCol).
 * 4×4 blocks of C live in sixteen locals while p runs, so each loaded element feeds four products.
 */
function gemm(
  m: number, n: number, k: number,
  a: Values, aOffset: number, aRow: number, aCol: number,
  b: Values, bOffset: number, bRow: number, bCol: number,
  c: Real, cOffset: number, cRow: number,
): void {
  const m4 = m - (m % 4);
  const n4 = n - (n % 4);
  for (let i = 0; i < m4; i += 4) {
    const a0 = aOffset + i * aRow, a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
    for (let j = 0; j < n4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let pa = 0;
      let pb = bOffset + j * bCol;
      for (let p = 0; p < k; p++) {
        const x0 = a[a0 + pa], x1 = a[a1 + pa], x2 = a[a2 + pa], x3 = a[a3 + pa];
        const y0 = b[pb], y1 = b[pb + bCol], y2 = b[pb + 2 * bCol], y3 = b[pb + 3 * bCol];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        pa += aCol;
        pb += bRow;
      }
      const r0 = cOffset + i * cRow + j, r1 = r0 + cRow, r2 = r1 + cRow, r3 = r2 + cRow;
      c[r0] = c00; c[r0 + 1] = c01; c[r0 + 2] = c02; c[r0 + 3] = c03;
      c[r1] = c10; c[r1 + 1] = c11; c[r1 + 2] = c12; c[r1 + 3] = c13;
      c[r2] = c20; c[r2 + 1] = c21; c[r2 + 2] = c22; c[r2 + 3] = c23;
      c[r3] = c30; c[r3 + 1] = c31; c[r3 + 2] = c32; c[r3 + 3] = c33;
    }
  }
  // The rows and columns left over from the 4×4 blocks: plain dot products.
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let dot = 0;
      for (let p = 0; p < k; p++) dot += a[aOffset + i * aRow + p * aCol] * b[bOffset + p * bRow + j * bCol];
      c[cOffset + i * cRow + j] = dot;
    }
  }
}
