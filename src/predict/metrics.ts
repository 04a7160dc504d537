/**
 * Classification metrics, dependency-free. Labels are 0/1 (binary) or class indexes; scores are
 * probabilities of the positive class. Undefined values (AUC with one class only) are NaN, never a
 * made-up 0.5, so a broken split is visible in reports.
 */

export interface ConfusionMetrics {
  threshold: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface CalibrationBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

export interface BinaryMetrics extends ConfusionMetrics {
  n: number;
  positives: number;
  auc: number;
  prAuc: number;
  logLoss: number;
  brier: number;
  calibration: CalibrationBin[];
}

function checkLengths(y: ArrayLike<number>, p: ArrayLike<number>): void {
  if (y.length !== p.length) throw new RangeError(`labels (${y.length}) and scores (${p.length}) differ in length`);
}

/** ROC AUC by the rank-sum (Mann–Whitney) statistic; tied scores get their average rank. */
export function rocAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLengths(y, p);
  const n = y.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[a] as number) - (p[b] as number));
  let pos = 0;
  let rankSumPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && p[idx[j + 1] as number] === p[idx[i] as number]) j++;
    const avgRank = (i + j + 2) / 2; // ranks are 1-based
    for (let k = i; k <= j; k++) {
      if (y[idx[k] as number] === 1) {
        pos++;
        rankSumPos += avgRank;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Area under the precision-recall curve as average precision: Σ (R_k − R_{k−1}) · P_k over
 * distinct score thresholds, highest first (tied scores enter together, as sklearn does).
 */
export function prAuc(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLengths(y, p);
  const n = y.length;
  let totalPos = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) totalPos++;
  if (totalPos === 0) return NaN;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && p[idx[j + 1] as number] === p[idx[i] as number]) j++;
    for (let k = i; k <= j; k++) if (y[idx[k] as number] === 1) tp++;
    seen = j + 1;
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}

/** Mean binary cross-entropy, probabilities clipped to [eps, 1 − eps]. */
export function logLoss(y: ArrayLike<number>, p: ArrayLike<number>, eps = 1e-15): number {
  checkLengths(y, p);
  if (y.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(1 - eps, Math.max(eps, p[i] as number));
    s -= y[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return s / y.length;
}

export function brier(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLengths(y, p);
  let s = 0;
  for (let i = 0; i < y.length; i++) s += ((p[i] as number) - (y[i] as number)) ** 2;
  return y.length ? s / y.length : NaN;
}

/** Counts and rates at a threshold (score ≥ threshold predicts positive). 0/0 rates are 0. */
export function confusion(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): ConfusionMetrics {
  checkLengths(y, p);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    const pred = (p[i] as number) >= threshold;
    if (y[i] === 1) pred ? tp++ : fn++;
    else pred ? fp++ : tn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    threshold,
    tp,
    fp,
    tn,
    fn,
    accuracy: y.length ? (tp + tn) / y.length : NaN,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
  };
}

/** Equal-width probability bins; empty bins are kept (count 0, NaN rates) so bins line up across models. */
export function calibrationBins(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): CalibrationBin[] {
  checkLengths(y, p);
  const out: CalibrationBin[] = Array.from({ length: bins }, (_, b) => ({ lo: b / bins, hi: (b + 1) / bins, count: 0, meanPredicted: 0, fractionPositive: 0 }));
  for (let i = 0; i < y.length; i++) {
    const q = p[i] as number;
    const b = out[Math.min(bins - 1, Math.max(0, Math.floor(q * bins)))] as CalibrationBin;
    b.count++;
    b.meanPredicted += q;
    b.fractionPositive += y[i] as number;
  }
  for (const b of out) {
    b.meanPredicted = b.count ? b.meanPredicted / b.count : NaN;
    b.fractionPositive = b.count ? b.fractionPositive / b.count : NaN;
  }
  return out;
}

/** The threshold maximising F1 (choose it on validation data, apply it to test). */
export function bestF1Threshold(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLengths(y, p);
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  let totalPos = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) totalPos++;
  let tp = 0;
  let best = 0.5;
  let bestF1 = -1;
  for (let k = 0; k < idx.length; k++) {
    if (y[idx[k] as number] === 1) tp++;
    const next = idx[k + 1];
    if (next !== undefined && p[next] === p[idx[k] as number]) continue;
    const f1 = (2 * tp) / (k + 1 + totalPos);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = p[idx[k] as number] as number;
    }
  }
  return best;
}

/** (TPR + TNR) / 2 with scores ≥ `threshold` positive; NaN when either class is absent. */
export function balancedAccuracy(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): number {
  checkLengths(y, p);
  let tp = 0;
  let pos = 0;
  let tn = 0;
  let neg = 0;
  for (let i = 0; i < y.length; i++) {
    const yes = (p[i] as number) >= threshold;
    if (y[i] === 1) {
      pos++;
      if (yes) tp++;
    } else {
      neg++;
      if (!yes) tn++;
    }
  }
  return pos && neg ? (tp / pos + tn / neg) / 2 : Number.NaN;
}

/** The threshold (one of the scores) maximising balanced accuracy: choose it on validation, apply it to test. */
export function bestBalancedThreshold(y: ArrayLike<number>, p: ArrayLike<number>): number {
  checkLengths(y, p);
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number));
  let pos = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) pos++;
  const neg = y.length - pos;
  if (!pos || !neg) return 0.5;
  let tp = 0;
  let fp = 0;
  let best = 0.5;
  let bestBa = -1;
  for (let k = 0; k < idx.length; k++) {
    if (y[idx[k] as number] === 1) tp++;
    else fp++;
    const next = idx[k + 1];
    if (next !== undefined && p[next] === p[idx[k] as number]) continue;
    const ba = (tp / pos + (neg - fp) / neg) / 2;
    if (ba > bestBa) {
      bestBa = ba;
      best = p[idx[k] as number] as number;
    }
  }
  return best;
}

export function binaryMetrics(y: ArrayLike<number>, p: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  let positives = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) positives++;
  return {
    n: y.length,
    positives,
    ...confusion(y, p, threshold),
    auc: rocAuc(y, p),
    prAuc: prAuc(y, p),
    logLoss: logLoss(y, p),
    brier: brier(y, p),
    calibration: calibrationBins(y, p),
  };
}

export interface MulticlassMetrics {
  n: number;
  classes: number;
  accuracy: number;
  macroF1: number;
  /** mean one-vs-rest ROC AUC over classes present in the data */
  auc: number;
  logLoss: number;
}

/** `probs` is n × k row-major. */
export function multiclassMetrics(y: ArrayLike<number>, probs: ArrayLike<number>, k: number, eps = 1e-15): MulticlassMetrics {
  const n = y.length;
  let correct = 0;
  let ll = 0;
  const tp = new Array<number>(k).fill(0);
  const predN = new Array<number>(k).fill(0);
  const trueN = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    let arg = 0;
    for (let c = 1; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + arg] as number)) arg = c;
    const t = y[i] as number;
    if (arg === t) {
      correct++;
      tp[t]!++;
    }
    predN[arg]!++;
    trueN[t]!++;
    ll -= Math.log(Math.min(1 - eps, Math.max(eps, probs[i * k + t] as number)));
  }
  const f1s: number[] = [];
  const aucs: number[] = [];
  for (let c = 0; c < k; c++) {
    if (trueN[c] === 0) continue;
    const prec = predN[c] ? (tp[c] as number) / (predN[c] as number) : 0;
    const rec = (tp[c] as number) / (trueN[c] as number);
    f1s.push(prec + rec ? (2 * prec * rec) / (prec + rec) : 0);
    const yc = Array.from(y, (v) => (v === c ? 1 : 0));
    const pc = Array.from({ length: n }, (_, i) => probs[i * k + c] as number);
    const a = rocAuc(yc, pc);
    if (!Number.isNaN(a)) aucs.push(a);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  return { n, classes: k, accuracy: n ? correct / n : NaN, macroF1: mean(f1s), auc: mean(aucs), logLoss: n ? ll / n : NaN };
}

/** The majority-class baseline: predicts the training base rate for everyone. */
export function majorityBaseline(trainY: ArrayLike<number>, testY: ArrayLike<number>): BinaryMetrics {
  let pos = 0;
  for (let i = 0; i < trainY.length; i++) if (trainY[i] === 1) pos++;
  const rate = trainY.length ? pos / trainY.length : 0;
  const p = new Float64Array(testY.length).fill(rate);
  // Predicting the majority class: threshold just above/below the constant score.
  return binaryMetrics(testY, p, rate >= 0.5 ? rate : rate + 1e-9);
}
