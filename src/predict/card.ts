/** Model cards: what a trained model is, on which data, how good, against which baselines. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BinaryMetrics, MulticlassMetrics } from './metrics.ts';
import type { ItemCardInfo } from './items.ts';
import type { TargetSpec } from './spec.ts';

export type TestMetrics = ({ kind: 'binary' } & BinaryMetrics) | ({ kind: 'multiclass' } & MulticlassMetrics);

export interface ModelCard {
  name: string;
  version: string;
  description: string;
  createdAt: string;
  backend: string;
  architecture: string;
  target: TargetSpec;
  traitKey: string;
  producer: string;
  classes: string[];
  threshold: number | null;
  dataWindow: {
    firstEventAt: string | null;
    trainAsOf: string;
    validationAsOf: string;
    testAsOf: string;
    horizonDays: number | null;
    split: 'time' | 'users';
  };
  examples: { train: number; validation: number; test: number; trainPositiveRate: number | null };
  /** `inputs`: the base (aggregate or per-step) width; `items`: the item inputs of an item-aware model */
  features: { version: string; inputs: number; names: string[]; sequenceLength: number | null; items?: ItemCardInfo | null };
  training: { epochsRun: number; bestEpoch: number; seconds: number; secondsPerEpoch: number; finalLoss: number; bestValLoss: number };
  /** the network averaged with logistic regression (weight chosen on validation); null: network alone */
  blend?: { networkWeight: number; chosenBy: string } | null;
  /** `test`: the model as it scores; `networkTest`: the network alone, when blended */
  metrics: { validation: TestMetrics; test: TestMetrics; networkTest?: TestMetrics };
  baseline: { logisticRegression: TestMetrics; majority: TestMetrics };
  /** binary models: the test ROC curve, for plots (the console draws it) */
  curves?: { test: { roc: RocPoint[] } };
}

export interface RocPoint {
  fpr: number;
  tpr: number;
  /** scores at or above it count as positive */
  threshold: number;
}

/**
 * The ROC curve at every distinct score, thinned to at most `maxPoints` (evenly by rank, ends
 * kept) so a card stays small. Empty when the labels hold one class only.
 */
export function rocPoints(labels: ArrayLike<number>, scores: ArrayLike<number>, maxPoints = 51): RocPoint[] {
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let P = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === 1) P++;
  const N = labels.length - P;
  if (!P || !N) return [];
  const all: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: 1 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    if (labels[idx[k] as number] === 1) tp++;
    else fp++;
    const next = idx[k + 1];
    // Tied scores move together: one point per distinct threshold.
    if (next !== undefined && scores[next] === scores[idx[k] as number]) continue;
    all.push({ fpr: fp / N, tpr: tp / P, threshold: scores[idx[k] as number] as number });
  }
  if (all.length <= maxPoints) return all;
  const step = (all.length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, i) => all[Math.round(i * step)] as RocPoint);
}

const f = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(3));

function metricRow(label: string, m: TestMetrics): string {
  if (m.kind === 'binary') return `| ${label} | ${f(m.auc)} | ${f(m.prAuc)} | ${f(m.f1)} | ${f(m.precision)} | ${f(m.recall)} | ${f(m.accuracy)} | ${f(m.logLoss)} |`;
  return `| ${label} | ${f(m.auc)} | n/a | ${f(m.macroF1)} (macro) | n/a | n/a | ${f(m.accuracy)} | ${f(m.logLoss)} |`;
}

function itemLine(i: ItemCardInfo): string {
  const src = i.embedding === 'pretrained' ? `pretrained item embeddings ${i.embeddingsVersion ?? ''} (dim ${i.dim}, pooled, fixed)` : `a learned embedding bag (dim ${i.dim})`;
  return `- **Items**: property \`${i.property}\`${i.event ? ` of \`${i.event}\` events` : ''}${i.valueProperty ? `, weighted by \`${i.valueProperty}\`` : ''}; ${src}; vocabulary ${i.vocabulary} slots fitted on training users (items with ≥ ${i.minUsers} users; slot 0 = rare/unknown); ${i.trainUsersWithItems} training users with items, ${i.trainUsersWithRareItems} with rare items${i.sequenceLength ? `; item sequences of the last ${i.sequenceLength} items` : ''}`;
}

export function cardMarkdown(c: ModelCard): string {
  const lines = [
    `# Model card: ${c.name} ${c.version}`,
    '',
    c.description || '',
    '',
    `- **Target**: \`${JSON.stringify(c.target)}\` → predicted trait \`${c.traitKey}\` (producer \`${c.producer}\`)`,
    `- **Architecture**: ${c.architecture}; backend ${c.backend}; created ${c.createdAt}`,
    `- **Data window**: events from ${c.dataWindow.firstEventAt ?? 'n/a'}; ${c.dataWindow.split} split; cut-offs train ${c.dataWindow.trainAsOf}, validation ${c.dataWindow.validationAsOf}, test ${c.dataWindow.testAsOf}; horizon ${c.dataWindow.horizonDays ?? 'n/a'} days`,
    `- **Examples**: train ${c.examples.train}, validation ${c.examples.validation}, test ${c.examples.test}; train positive rate ${f(c.examples.trainPositiveRate ?? undefined)}`,
    `- **Features**: version ${c.features.version}, ${c.features.inputs} inputs${c.features.sequenceLength ? `, sequences of the last ${c.features.sequenceLength} events` : ''}`,
    ...(c.features.items ? [itemLine(c.features.items)] : []),
    `- **Training**: ${c.training.epochsRun} epochs (best ${c.training.bestEpoch}), ${c.training.seconds.toFixed(1)} s (${c.training.secondsPerEpoch.toFixed(2)} s/epoch)`,
    `- **Decision threshold**: ${c.threshold === null ? 'argmax' : `${c.threshold.toFixed(3)} (max F1 on validation)`}`,
    '',
    '## Test metrics',
    '',
    '| model | ROC AUC | PR AUC | F1 | precision | recall | accuracy | log loss |',
    '|---|---|---|---|---|---|---|---|',
    metricRow(c.blend ? `${c.name} (network × ${c.blend.networkWeight} + regression × ${1 - c.blend.networkWeight})` : c.name, c.metrics.test),
    ...(c.metrics.networkTest ? [metricRow('network alone', c.metrics.networkTest)] : []),
    metricRow('logistic regression (same features)', c.baseline.logisticRegression),
    metricRow('majority class', c.baseline.majority),
    '',
  ];
  if (c.metrics.test.kind === 'binary') {
    lines.push('## Calibration (test)', '', '| bin | n | mean predicted | fraction positive |', '|---|---|---|---|');
    for (const b of c.metrics.test.calibration)
      if (b.count) lines.push(`| ${b.lo.toFixed(1)}–${b.hi.toFixed(1)} | ${b.count} | ${f(b.meanPredicted)} | ${f(b.fractionPositive)} |`);
    lines.push('');
  }
  lines.push('## Inputs', '', c.features.names.join(', '), '');
  return lines.join('\n');
}

export function writeCard(dir: string, c: ModelCard): void {
  writeFileSync(join(dir, 'card.json'), `${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  writeFileSync(join(dir, 'card.md'), cardMarkdown(c));
}
