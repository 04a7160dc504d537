/**
 * Re-evaluates a saved model on the current data (`traitlens evaluate`): examples at a cut-off
 * (default: the latest one whose horizon is fully observed), labels from after it, the model's
 * saved threshold. Note the examples may overlap its training users; the card holds the held-out figures.
 */
import type { FeatureStore } from '../db/stores/features.ts';
import { binaryMetrics, multiclassMetrics } from './metrics.ts';
import type { TestMetrics } from './card.ts';
import { buildExamples, resolveAsOf } from './dataset.ts';
import { loadModel, predictUsers } from './score.ts';

export async function evaluateModel(
  store: { features: FeatureStore },
  name: string,
  opts: { dir?: string; version?: string; asOf?: number } = {},
): Promise<{ name: string; version: string; asOf: string; metrics: TestMetrics }> {
  const m = await loadModel(name, opts);
  const a = m.artefact;
  const asOf = opts.asOf ?? (await resolveAsOf(store.features, { ...a.spec, asOf: undefined }));
  const ex = await buildExamples(store.features, a.spec, a.schema, asOf, a.classes);
  const preds = await predictUsers(store.features, m, { asOf, userIds: ex.userIds });
  const byUser = new Map(preds.map((p) => [p.userId, p]));
  let metrics: TestMetrics;
  if (a.classes.length === 2) {
    const scores = ex.userIds.map((u) => byUser.get(u)?.probability ?? 0);
    metrics = { kind: 'binary', ...binaryMetrics(ex.labels, scores, a.threshold ?? 0.5) };
  } else {
    // Multi-class predictions carry only the top class; score it as a one-hot distribution.
    const k = a.classes.length;
    const probs = new Float64Array(ex.userIds.length * k);
    ex.userIds.forEach((u, i) => {
      const p = byUser.get(u);
      const c = p ? a.classes.indexOf(String(p.value)) : 0;
      probs[i * k + Math.max(0, c)] = 1;
    });
    metrics = { kind: 'multiclass', ...multiclassMetrics(ex.labels, probs, k) };
  }
  return { name, version: a.version, asOf: new Date(asOf).toISOString(), metrics };
}
