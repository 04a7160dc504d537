/**
 * The demo's behavioural models: trains the example specs (models/specs/) on the demo data into the
 * demo's own models folder, then scores every user with profiling consent, so each profile carries
 * predicted traits (producer model:NAME, version = the model version).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnprocessableError } from '../core/errors.ts';
import type { ConsentFlag } from '../core/types.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import type { TraitStore } from '../db/stores/traits.ts';
import { profilingUserIds, scoreAll, type ScoreSummary } from '../predict/score.ts';
import { loadSpec } from '../predict/spec.ts';
import { trainModel } from '../predict/train.ts';

export const DEMO_SPECS = ['purchase_30d', 'churn_30d'] as const;

export interface DemoModel {
  name: string;
  version: string;
  traitKey: string;
  /** held-out test ROC AUC, and logistic regression's on the same features */
  auc: number;
  baselineAuc: number;
  trainSeconds: number;
}

export interface DemoModelsResult {
  models: DemoModel[];
  scored: ScoreSummary[];
  seconds: number;
}

const specPath = (name: string) => fileURLToPath(new URL(`../../models/specs/${name}.json`, import.meta.url));

/**
 * Removes the previous run's demo models (the demo database is fresh on every run, so are they).
 * Only the demo's own model folders: the models folder is the one every command uses.
 */
export function clearDemoModels(modelsDir: string): void {
  for (const name of DEMO_SPECS) rmSync(join(modelsDir, name), { recursive: true, force: true });
}

export async function trainDemoModels(
  store: { features: FeatureStore; traits: TraitStore },
  opts: { modelsDir: string; asOf: number; defaultConsent: readonly ConsentFlag[]; log?: (line: string) => void },
): Promise<DemoModelsResult> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const models: DemoModel[] = [];
  for (const name of DEMO_SPECS) {
    let r: Awaited<ReturnType<typeof trainModel>>;
    try {
      r = await trainModel(store, loadSpec(specPath(name)), { modelsDir: opts.modelsDir, log: () => {} });
    } catch (err) {
      // A small population (--users 50) may not have enough history at the cut-offs: no model, no predictions.
      if (!(err instanceof UnprocessableError)) throw err;
      log(`  ${name}: not trained (${err.message})`);
      continue;
    }
    const c = r.card;
    const m = c.metrics.test;
    const b = c.baseline.logisticRegression;
    const model = { name: c.name, version: c.version, traitKey: c.traitKey, auc: m.auc, baselineAuc: b.auc, trainSeconds: c.training.seconds };
    models.push(model);
    log(
      `  ${c.name} ${c.version}: test AUC ${m.auc.toFixed(3)} (logistic regression ${b.auc.toFixed(3)}), ${c.examples.train + c.examples.validation + c.examples.test} examples → trait ${c.traitKey}`,
    );
  }
  const scored = !models.length ? [] : await scoreAll(store, { dir: opts.modelsDir, asOf: opts.asOf, userIds: await profilingUserIds(store.features, opts.defaultConsent) });
  for (const s of scored) log(`  scored ${s.users} users with ${s.model} in ${s.seconds.toFixed(1)}s`);
  return { models, scored, seconds: (performance.now() - t0) / 1000 };
}
