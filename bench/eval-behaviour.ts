/**
 * Behavioural model evaluation on a real dataset:
 *   node --import tsx bench/eval-behaviour.ts --dataset cdnow|online-retail|online-shoppers|online-retail-items --data DIR [--arch mlp|gru|lstm|logreg] [--folds K] [--json] [--keep]
 * (the same as `traitlens eval behaviour`)
 */
import { parseArgs } from 'node:util';
import { BEHAVIOUR_DATASETS, formatItemsEval, ITEMS_DATASET, runBehaviourEval, runItemsEval, type BehaviourDataset } from '../src/eval/behaviour.ts';
import type { ModelSpec } from '../src/predict/spec.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string' },
    data: { type: 'string', default: '../shared/datasets' },
    arch: { type: 'string', default: 'mlp' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    folds: { type: 'string' },
    pretrained: { type: 'boolean', default: false },
  },
});
if (values.dataset === ITEMS_DATASET) {
  // Line-item Online Retail: item-aware models against aggregates only (docs/eval-behaviour.md).
  const r = await runItemsEval({
    dataDir: values.data as string,
    architecture: values.arch as ModelSpec['architecture'],
    keep: values.keep as boolean,
    pretrained: values.pretrained as boolean,
    log: values.json ? () => {} : undefined,
  });
  process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${formatItemsEval(r)}\n`);
  process.exit(0);
}
if (!values.dataset || !(BEHAVIOUR_DATASETS as readonly string[]).includes(values.dataset)) {
  process.stderr.write(`--dataset must be one of ${BEHAVIOUR_DATASETS.join(', ')}\n`);
  process.exit(2);
}
const r = await runBehaviourEval({
  dataset: values.dataset as BehaviourDataset,
  dataDir: values.data as string,
  architecture: values.arch as ModelSpec['architecture'],
  keep: values.keep as boolean,
  ...(values.folds ? { folds: Number(values.folds) } : {}),
  log: values.json ? () => {} : undefined,
});
if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
else {
  const f = (x: number) => x.toFixed(3);
  console.log(`dataset ${r.dataset} (${r.architecture}, backend ${r.backend}); examples train/val/test ${r.examples.train}/${r.examples.validation}/${r.examples.test}`);
  console.log(`AUC ${f(r.auc)}  PR AUC ${f(r.pr_auc)}  F1 ${f(r.f1)}  accuracy ${f(r.accuracy)}  log loss ${f(r.log_loss)}`);
  console.log(
    `logistic regression AUC ${f(r.baseline_auc)} F1 ${f(r.baseline_f1)} accuracy ${f(r.baseline_accuracy)}; majority accuracy ${f(r.majority_accuracy)}; reference AUC ${r.reference_auc}`,
  );
  console.log(`ingest ${r.ingest_seconds.toFixed(1)} s, training ${r.train_seconds.toFixed(1)} s (${r.epochs} epochs), total ${r.total_seconds.toFixed(1)} s`);
}
