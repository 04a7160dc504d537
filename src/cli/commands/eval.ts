import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BehaviourDataset, BehaviourEvalResult } from '../../eval/behaviour.ts';
import { printJson, UsageError, writeLine, type Command, type Io } from '../command.ts';

const ARCHS = ['mlp', 'gru', 'lstm', 'logreg'] as const;
// Repeated from eval/behaviour.ts so usage and --help need not load it (it pulls in tfjs).
const BEHAVIOUR_DATASETS: readonly BehaviourDataset[] = ['cdnow', 'online-retail', 'online-shoppers'];
/** Line-item Online Retail: item-aware models against aggregates only (eval/behaviour.ts runItemsEval). */
const ITEMS_DATASET = 'online-retail-items';

async function behaviourItems(
  values: { data?: string | undefined; arch?: string | undefined; json?: boolean | undefined; keep?: boolean | undefined; folds?: string | undefined },
  io: Io,
): Promise<number> {
  if (values.folds !== undefined) throw new UsageError(`--folds is not available for ${ITEMS_DATASET} (one users holdout shared by every model)`);
  if (!(ARCHS as readonly string[]).includes(values.arch as string)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')}`);
  const json = values.json === true;
  const { runItemsEval, formatItemsEval } = await import('../../eval/behaviour.ts');
  const r = await runItemsEval({
    dataDir: resolve(values.data as string),
    architecture: values.arch as (typeof ARCHS)[number],
    keep: values.keep === true,
    log: (m) => {
      if (!json) writeLine(io.stderr, m);
    },
  });
  if (json) printJson(io, camelKeys(r));
  else writeLine(io.stdout, formatItemsEval(r));
  return 0;
}

async function behaviour(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dataset: { type: 'string' },
      data: { type: 'string', default: '../shared/datasets' },
      arch: { type: 'string', default: 'mlp' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      folds: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.dataset === ITEMS_DATASET) return behaviourItems(values, io);
  if (!values.dataset || !(BEHAVIOUR_DATASETS as readonly string[]).includes(values.dataset))
    throw new UsageError(`--dataset must be one of ${[...BEHAVIOUR_DATASETS, ITEMS_DATASET].join(', ')}`);
  if (!(ARCHS as readonly string[]).includes(values.arch as string)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')}`);
  const folds = values.folds === undefined ? undefined : Number(values.folds);
  if (folds !== undefined && (!Number.isInteger(folds) || folds < 2 || folds > 20)) throw new UsageError('--folds must be an integer from 2 to 20');
  const json = values.json === true;
  const { runBehaviourEval } = await import('../../eval/behaviour.ts');
  const r = await runBehaviourEval({
    dataset: values.dataset as BehaviourDataset,
    dataDir: resolve(values.data as string),
    architecture: values.arch as (typeof ARCHS)[number],
    keep: values.keep === true,
    ...(folds ? { folds } : {}),
    log: (m) => {
      if (!json) writeLine(io.stderr, m);
    },
  });
  if (json) printJson(io, camelKeys(r));
  else writeLine(io.stdout, formatBehaviour(r));
  return 0;
}

export function formatBehaviour(r: BehaviourEvalResult): string {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  return [
    `dataset ${r.dataset} (${r.architecture}, backend ${r.backend}); examples train/validation/test ${r.examples.train}/${r.examples.validation}/${r.examples.test}`,
    `model                AUC ${f(r.auc)}  PR AUC ${f(r.pr_auc)}  F1 ${f(r.f1)}  accuracy ${f(r.accuracy)}  log loss ${f(r.log_loss)}`,
    `logistic regression  AUC ${f(r.baseline_auc)}  F1 ${f(r.baseline_f1)}  accuracy ${f(r.baseline_accuracy)}`,
    `majority accuracy ${f(r.majority_accuracy)}; reference AUC ${r.reference_auc}; test base rate ${f(r.base_rate_test)}`,
    `ingest ${r.ingest_seconds.toFixed(1)} s, training ${r.train_seconds.toFixed(1)} s (${r.epochs} epochs), total ${r.total_seconds.toFixed(1)} s`,
    `network alone AUC ${f(r.network_auc)}; network weight in the blend ${r.blend_weight}${r.cv ? `; ${r.cv.folds}-fold CV: AUC sd ${f(r.cv.auc_sd)}, regression AUC sd ${f(r.cv.baseline_auc_sd)}` : ''}`,
  ].join('\n');
}

const EMBEDDING_METHODS = ['mf', 'item2vec'] as const;

async function recommend(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      dataset: { type: 'string' },
      data: { type: 'string', default: '../shared/datasets' },
      owned: { type: 'string', default: 'exclude' },
      methods: { type: 'string', default: 'mf' },
      seed: { type: 'string', default: '42' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.dataset !== ITEMS_DATASET) throw new UsageError(`--dataset must be ${ITEMS_DATASET}`);
  if (values.owned !== 'exclude' && values.owned !== 'include') throw new UsageError('--owned must be exclude or include');
  const methods = (values.methods as string).split(',').map((m) => m.trim());
  if (!methods.length || methods.some((m) => !(EMBEDDING_METHODS as readonly string[]).includes(m)))
    throw new UsageError(`--methods must be a comma list of ${EMBEDDING_METHODS.join(', ')}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new UsageError('--seed must be an integer');
  const json = values.json === true;
  const { runRecommendEval, formatRecommendEval } = await import('../../eval/recommend.ts');
  const r = await runRecommendEval({
    dataset: ITEMS_DATASET,
    dataDir: resolve(values.data as string),
    excludeOwned: values.owned === 'exclude',
    methods: methods as (typeof EMBEDDING_METHODS)[number][],
    seed,
    log: (m) => {
      if (!json) writeLine(io.stderr, m);
    },
  });
  if (json) printJson(io, camelKeys(r));
  else writeLine(io.stdout, formatRecommendEval(r));
  return 0;
}

/** snake_case → camelCase (`pr_auc` → `prAuc`, `recall_at_10` → `recallAt10`). */
const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
/** Fields whose keys are data (trait keys, rejection reasons), not field names: their keys stay as they are. */
const RECORD_FIELDS = new Set(['per_key', 'rejected', 'rejectedByReason']);

/**
 * The evaluation reports in the CLI's JSON style. Every `--json` of the CLI, like the HTTP API, is
 * camelCase; the eval modules (and the bench scripts that print them directly) keep snake_case.
 */
export function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      camel(k),
      RECORD_FIELDS.has(k) && v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([rk, rv]) => [rk, camelKeys(rv)]))
        : camelKeys(v),
    ]),
  );
}

/** An eval module's runner whose `--json` report is printed camelCase (its text output passes through). */
function camelJsonOut(args: readonly string[], io: Io): { out: (s: string) => void; err: (s: string) => void; flush: () => void } {
  const json = args.includes('--json');
  let buf = '';
  return {
    out: (s) => {
      if (json) buf += s;
      else io.stdout.write(s);
    },
    err: (s) => io.stderr.write(s),
    flush: () => {
      if (buf.trim()) printJson(io, camelKeys(JSON.parse(buf)));
    },
  };
}

const SUBCOMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  behaviour,
  recommend,
  traits: async (args, io) => {
    const { traitsEvalMain } = await import('../../eval/traits.ts');
    const out = camelJsonOut(args, io);
    const code = await traitsEvalMain(args, out);
    out.flush();
    return code;
  },
  similar: async (args, io) => {
    const at = args.indexOf('--limit');
    const limit = at >= 0 ? args[at + 1] : undefined;
    if (at >= 0 && !(limit !== undefined && /^\d+$/.test(limit) && Number(limit) >= 1)) throw new UsageError(`--limit must be a whole number ≥ 1 (got "${limit ?? ''}")`);
    const { similarEvalMain } = await import('../../eval/similar.ts');
    const out = camelJsonOut(args, io);
    const code = await similarEvalMain(args, out);
    out.flush();
    return code;
  },
};

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate on real public datasets: behaviour models, trait extraction, similar users, recommendations',
  usage: `usage: traitlens eval <behaviour|traits|similar|recommend> [options]

Runs an evaluation on a public dataset in a temporary database (nothing touches TRAITLENS_DB).
--json prints one JSON object with camelCase keys, like the HTTP API and every other --json.

  eval behaviour --dataset ${BEHAVIOUR_DATASETS.join('|')} [--data DIR] [--arch mlp|gru|lstm|logreg] [--folds K] [--json] [--keep]
      loads the dataset through the ingest path, trains the behavioural model, reports held-out
      AUC, F1, accuracy against logistic regression on the same features and the dataset's
      reference figure, on a 25 % user holdout or (--folds K) as K-fold cross-validation means.
      --data is the datasets folder (default ../shared/datasets).
  eval behaviour --dataset ${ITEMS_DATASET} [--data DIR] [--arch A] [--json] [--keep]
      Online Retail line items: customer country (United Kingdom or not) from aggregates only,
      aggregates + items, and logistic regression on the item matrix (AUC, balanced accuracy);
      repurchase after 2011-08-31 with and without items (docs/eval-behaviour.md).
  eval traits --data FILE [--limit N] [--offset N] [--mode offline|llm-test-server] [--json] ...
      trait extraction on PersonaChat speakers, scored against their persona facts
      (docs/eval-traits.md).
  eval recommend --dataset ${ITEMS_DATASET} [--data DIR] [--owned exclude|include] [--methods mf,item2vec] [--seed N] [--json]
      Online Retail line items, time split at 2011-09-01: recall@10 and NDCG@10 of the ranking the
      service uses (item embeddings, similar users, popularity) against popularity and item-kNN
      baselines on the same customers; both owned-items settings are measured, --owned picks the
      headline (docs/eval-recommend.md).
  eval similar [--data FILE] [--limit N] [--cache-dir DIR] [--json] [--keep]
      similar-user lookup on PersonaChat speakers: do users with overlapping personas come out as
      neighbours (docs/user-vector.md).`,
  async run(args, { io }) {
    const [sub, ...rest] = args;
    if (sub === undefined) throw new UsageError('give a subcommand: behaviour, traits, similar or recommend');
    const fn = SUBCOMMANDS[sub];
    if (!fn) throw new UsageError(`unknown subcommand "${sub}"`);
    return fn(rest, io);
  },
};
