/**
 * L2-regularised logistic regression by IRLS (Newton's method), closed-form and deterministic: the
 * baseline every model is compared with on the same features. Inputs are the standardised matrix.
 */

export interface LogRegModel {
  /** weights[0] is the intercept */
  weights: number[];
  iterations: number;
}

/** Solves A x = b for symmetric positive-definite A (Cholesky); A is n × n row-major. */
function solveSpd(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) l[i * n + i] = Math.sqrt(Math.max(s, 1e-12));
      else l[i * n + j] = s / (l[j * n + j] as number);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Fits on x (n × dim, row-major) and 0/1 labels; `l2` penalises weights but not the intercept. */
export function fitLogReg(x: Float32Array, y: ArrayLike<number>, dim: number, opts: { l2?: number; maxIter?: number; tol?: number } = {}): LogRegModel {
  const n = y.length;
  const d = dim + 1;
  const l2 = opts.l2 ?? 1;
  const w = new Float64Array(d);
  let it = 0;
  for (; it < (opts.maxIter ?? 30); it++) {
    const h = new Float64Array(d * d);
    const g = new Float64Array(d);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      row[0] = 1;
      for (let j = 0; j < dim; j++) row[j + 1] = x[i * dim + j] as number;
      let z = 0;
      for (let j = 0; j < d; j++) z += (w[j] as number) * (row[j] as number);
      const p = sigmoid(z);
      const r = (y[i] as number) - p;
      const s = Math.max(p * (1 - p), 1e-9);
      for (let j = 0; j < d; j++) {
        const rj = row[j] as number;
        g[j]! += r * rj;
        const sj = s * rj;
        for (let k = 0; k <= j; k++) h[j * d + k]! += sj * (row[k] as number);
      }
    }
    for (let j = 0; j < d; j++) for (let k = 0; k < j; k++) h[k * d + j] = h[j * d + k] as number;
    for (let j = 1; j < d; j++) {
      h[j * d + j]! += l2;
      g[j]! -= l2 * (w[j] as number);
    }
    const step = solveSpd(h, g, d);
    let maxStep = 0;
    for (let j = 0; j < d; j++) {
      w[j]! += step[j] as number;
      maxStep = Math.max(maxStep, Math.abs(step[j] as number));
    }
    if (maxStep < (opts.tol ?? 1e-6)) {
      it++;
      break;
    }
  }
  return { weights: Array.from(w), iterations: it };
}

export function predictLogReg(m: LogRegModel, x: Float32Array, dim: number): Float64Array {
  const n = x.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = m.weights[0] as number;
    for (let j = 0; j < dim; j++) z += (m.weights[j + 1] as number) * (x[i * dim + j] as number);
    out[i] = sigmoid(z);
  }
  return out;
}
