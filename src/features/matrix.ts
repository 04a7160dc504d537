/**
 * Raw feature rows → model input: missing values filled by MISSING_VALUE_POLICY (with is-missing
 * flags for flagged types), heavy-tailed columns on a signed log1p scale, then standardised. Every
 * statistic is fitted on training rows only and saved with the model, so scoring is identical.
 */
import { fillMissing, FLAGGED_POLICIES, type FeatureType } from '../core/data-quality.ts';
import type { FeatureDef } from './definitions.ts';

export interface PreprocessColumn {
  name: string;
  type: FeatureType;
  log: boolean;
  /** training fill statistic (raw scale) */
  fill: number;
  flagged: boolean;
}

export interface Preprocessor {
  columns: PreprocessColumn[];
  /** names of the model inputs, flags included (`<name>__missing`) */
  inputs: string[];
  mean: number[];
  std: number[];
}

const slog = (x: number) => Math.sign(x) * Math.log1p(Math.abs(x));

function filledColumns(defs: readonly FeatureDef[], rows: readonly (number | null)[][], fills?: readonly number[]): { cols: number[][]; fills: number[] } {
  const cols: number[][] = [];
  const outFills: number[] = [];
  defs.forEach((d, j) => {
    const raw = rows.map((r) => r[j]);
    const f = fillMissing(raw, d.type, { fallback: d.fallback, ...(fills ? { fill: fills[j] as number } : {}) });
    cols.push(d.log ? f.values.map(slog) : f.values);
    if (f.missing) cols.push(f.missing);
    outFills.push(f.fill);
  });
  return { cols, fills: outFills };
}

export function fitPreprocessor(defs: readonly FeatureDef[], rows: readonly (number | null)[][]): Preprocessor {
  const { cols, fills } = filledColumns(defs, rows);
  const columns: PreprocessColumn[] = defs.map((d, j) => ({ name: d.name, type: d.type, log: d.log, fill: fills[j] as number, flagged: FLAGGED_POLICIES.has(d.type) }));
  const inputs = columns.flatMap((c) => (c.flagged ? [c.name, `${c.name}__missing`] : [c.name]));
  const mean: number[] = [];
  const std: number[] = [];
  for (const c of cols) {
    const m = c.length ? c.reduce((a, b) => a + b, 0) / c.length : 0;
    const v = c.length ? c.reduce((a, b) => a + (b - m) * (b - m), 0) / c.length : 0;
    mean.push(m);
    // A constant column carries no information: std 1 keeps it at zero instead of dividing by 0.
    std.push(v > 1e-12 ? Math.sqrt(v) : 1);
  }
  return { columns, inputs, mean, std };
}

/** Applies a fitted preprocessor; `defs` must be the same columns it was fitted on. */
export function transformRows(pre: Preprocessor, defs: readonly FeatureDef[], rows: readonly (number | null)[][]): Float32Array {
  if (defs.length !== pre.columns.length || defs.some((d, j) => d.name !== pre.columns[j]!.name)) throw new Error('feature columns differ from the ones the model was trained on');
  const { cols } = filledColumns(
    defs,
    rows,
    pre.columns.map((c) => c.fill),
  );
  const dim = cols.length;
  const out = new Float32Array(rows.length * dim);
  for (let j = 0; j < dim; j++) {
    const c = cols[j] as number[];
    const m = pre.mean[j] as number;
    const s = pre.std[j] as number;
    for (let i = 0; i < rows.length; i++) out[i * dim + j] = ((c[i] as number) - m) / s;
  }
  return out;
}
