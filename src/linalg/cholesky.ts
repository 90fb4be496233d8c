// Dense Cholesky factorization for the small symmetric systems of calibration (GPTQ's Hessians, least-squares
// pruning reconstruction), in Float64.

/** In-place Cholesky factorization A = L Lᵀ of a k×k matrix (only its lower triangle is read); L replaces the lower
 *  triangle and the upper is zeroed. False when A is not positive definite. */
export function choleskyInPlace(a: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j];
    for (let p = 0; p < j; p++) d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j];
      for (let p = 0; p < j; p++) s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / ljj;
    }
    for (let p = j + 1; p < k; p++) a[j * k + p] = 0;
  }
  return true;
}
