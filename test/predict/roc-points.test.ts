import { describe, expect, it } from 'vitest';
import { rocPoints } from '../../src/predict/card.ts';
import { rocAuc } from '../../src/predict/metrics.ts';

/** Trapezoid area under the points. */
const area = (pts: { fpr: number; tpr: number }[]) => pts.slice(1).reduce((a, p, i) => a + ((p.fpr - pts[i]!.fpr) * (p.tpr + pts[i]!.tpr)) / 2, 0);

describe('rocPoints (model cards)', () => {
  it('runs from (0,0) to (1,1), one point per distinct score, and its area is the ROC AUC', () => {
    const y = [1, 0, 1, 1, 0, 0, 1, 0];
    const p = [0.9, 0.8, 0.8, 0.6, 0.4, 0.3, 0.3, 0.1];
    const pts = rocPoints(y, p);
    expect(pts[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(pts.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    expect(pts).toHaveLength(1 + new Set(p).size);
    expect(area(pts)).toBeCloseTo(rocAuc(y, p), 10);
  });

  it('thins long curves to maxPoints with the ends kept; one class only gives no curve', () => {
    const n = 2000;
    const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const p = Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const pts = rocPoints(y, p, 21);
    expect(pts).toHaveLength(21);
    expect(pts[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(pts.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.fpr).toBeGreaterThanOrEqual(pts[i - 1]!.fpr);
    expect(rocPoints([1, 1], [0.2, 0.4])).toEqual([]);
  });
});
