import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { TestMetrics } from '../../predict/card.ts';
import { loadSpec } from '../../predict/spec.ts';
import { printJson, table, UsageError, withStore, writeLine, type Command } from '../command.ts';

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(3));

/** One table row of test metrics; multi-class rows show macro F1. */
export function metricCells(label: string, m: TestMetrics): string[] {
  return m.kind === 'binary' ? [label, f3(m.auc), f3(m.prAuc), f3(m.f1), f3(m.accuracy)] : [label, f3(m.auc), 'n/a', `${f3(m.macroF1)} (macro)`, f3(m.accuracy)];
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a behavioural model from a spec (models/specs/*.json) on the database',
  usesDatabase: true,
  usage: `usage: traitlens train SPEC [--version V] [--json]

Trains the model a spec file describes (target, architecture, split, training settings; see
models/specs/) on the events in TRAITLENS_DB, evaluates it on held-out data against logistic
regression and the majority class, and saves it with its model card under
TRAITLENS_MODELS_DIR/NAME/VERSION/. The newest version is the one \`traitlens score\` and the
pipeline use.

  --version V   the version folder (default: the training time, e.g. 20261128T101500Z)
  --json        print the model card as one JSON object (progress stays on stderr)`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean', default: false }, version: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one spec file');
    if (values.version !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(values.version))
      throw new UsageError('--version must be letters, digits, ".", "_" or "-" (a folder name)');
    const spec = loadSpec(resolve(positionals[0] as string));
    const json = values.json === true;
    const log = (m: string) => {
      // Per-epoch lines are noise in --json runs; the rest goes to stderr either way.
      if (!json || !m.startsWith('epoch ')) writeLine(io.stderr, m);
    };
    // Loaded here, not at start-up: tfjs costs every other command a few hundred ms.
    const { trainModel } = await import('../../predict/train.ts');
    const r = await withStore(config, (store) =>
      trainModel(store, spec, { modelsDir: resolve(config.TRAITLENS_MODELS_DIR), log, ...(values.version ? { version: values.version } : {}) }),
    );
    const c = r.card;
    if (json) {
      printJson(io, { dir: r.dir, card: c });
      return 0;
    }
    writeLine(io.stdout, `trained ${c.name} ${c.version} (${c.architecture}, backend ${c.backend}) → ${r.dir}`);
    writeLine(
      io.stdout,
      `examples train/validation/test ${c.examples.train}/${c.examples.validation}/${c.examples.test}; ${c.training.epochsRun} epochs in ${c.training.seconds.toFixed(1)} s`,
    );
    writeLine(io.stdout, '');
    writeLine(
      io.stdout,
      table(
        ['test metrics', 'ROC AUC', 'PR AUC', 'F1', 'accuracy'],
        [metricCells(c.name, c.metrics.test), metricCells('logistic regression', c.baseline.logisticRegression), metricCells('majority class', c.baseline.majority)],
      ),
    );
    writeLine(io.stdout, '');
    writeLine(io.stdout, `predicted trait: ${c.traitKey}; model card: ${resolve(r.dir, 'card.md')}`);
    return 0;
  },
};
