import { describe, expect, it } from 'vitest';
import { fillMissing, median } from '../../src/core/data-quality.ts';

describe('missing-value policy', () => {
  it('counts fill with zero and no flag', () => {
    expect(fillMissing([3, null, 1], 'count')).toEqual({ values: [3, 0, 1], missing: null, fill: 0 });
  });
  it('durations fill with the median and flag', () => {
    expect(fillMissing([10, null, 30, 1000], 'duration')).toEqual({ values: [10, 30, 30, 1000], missing: [0, 1, 0, 0], fill: 30 });
  });
  it('rates fill with the mean and flag', () => {
    expect(fillMissing([0.2, undefined, 0.4], 'rate').values[1]).toBeCloseTo(0.3);
  });
  it('recency fills with the fallback (window length) and flags', () => {
    expect(fillMissing([2, null], 'recency', { fallback: 90 })).toEqual({ values: [2, 90], missing: [0, 1], fill: 90 });
  });
  it('a saved fill from training is reused at scoring time', () => {
    expect(fillMissing([null, 5], 'duration', { fill: 42 }).values).toEqual([42, 5]);
  });
  it('NaN counts as missing; median of even count', () => {
    expect(fillMissing([NaN, 4], 'monetary').values).toEqual([0, 4]);
    expect(median([1, 2, 3, 4])).toBe(2.5);
  });
});
