import { describe, expect, it } from 'vitest';
import { bestF1Threshold, binaryMetrics, calibrationBins, confusion, logLoss, majorityBaseline, multiclassMetrics, prAuc, rocAuc } from '../../src/predict/metrics.ts';

describe('metrics against hand-computed values', () => {
  const y = [0, 0, 1, 1];
  const p = [0.1, 0.4, 0.35, 0.8];

  it('ROC AUC by ranks, ties counted half', () => {
    expect(rocAuc(y, p)).toBe(0.75);
    // positives {0.5, 0.9} vs negatives {0.5, 0.2}: 0.5 + 1 + 1 + 1 of 4 pairs
    expect(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBe(0.875);
    expect(rocAuc([1, 1, 0], [0.2, 0.2, 0.2])).toBe(0.5);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it('PR AUC as average precision', () => {
    expect(prAuc(y, p)).toBeCloseTo(0.5 * 1 + 0.5 * (2 / 3), 12);
    // all tied: one threshold, precision 0.5 at recall 1
    expect(prAuc([1, 0], [0.3, 0.3])).toBe(0.5);
  });

  it('log loss, confusion, F1', () => {
    expect(logLoss(y, p)).toBeCloseTo(-(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4, 12);
    const c = confusion(y, p, 0.5);
    expect(c).toMatchObject({ tp: 1, fp: 0, tn: 2, fn: 1, accuracy: 0.75, precision: 1, recall: 0.5 });
    expect(c.f1).toBeCloseTo(2 / 3, 12);
    expect(bestF1Threshold(y, p)).toBe(0.35); // predicts 0.8, 0.4, 0.35 positive: F1 0.8
    expect(confusion(y, p, 0.35).f1).toBeCloseTo(0.8, 12);
  });

  it('calibration bins and the majority baseline', () => {
    const bins = calibrationBins([0, 1, 1], [0.05, 0.95, 0.91], 10);
    expect(bins[0]).toMatchObject({ count: 1, meanPredicted: 0.05, fractionPositive: 0 });
    expect(bins[9]!.count).toBe(2);
    expect(bins[9]!.meanPredicted).toBeCloseTo(0.93, 12);
    expect(bins[5]!.count).toBe(0);
    const maj = majorityBaseline([0, 0, 0, 1], [0, 1, 0, 0]);
    expect(maj.accuracy).toBe(0.75);
    expect(maj.auc).toBe(0.5);
    expect(binaryMetrics(y, p).n).toBe(4);
  });

  it('multi-class accuracy, macro F1 and log loss', () => {
    const m = multiclassMetrics([0, 1, 2], [0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.5, 0.3, 0.2], 3);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    // class 0: p 1/2 r 1 → 2/3; class 1: 1; class 2: 0
    expect(m.macroF1).toBeCloseTo((2 / 3 + 1 + 0) / 3, 12);
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7) + Math.log(0.2)) / 3, 12);
  });
});
