import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { printJson, table, UsageError, withStore, writeLine, type Command } from '../command.ts';
import { metricCells } from './train.ts';

export const evaluateCommand: Command = {
  name: 'evaluate',
  summary: 'score a trained model against the current data (latest fully observed cut-off)',
  usesDatabase: true,
  usage: `usage: traitlens evaluate NAME [--version V] [--as-of TIME] [--json]

Re-evaluates a trained model (from TRAITLENS_MODELS_DIR) on the events in TRAITLENS_DB: users as
of a cut-off (default: the latest one whose horizon is fully observed), labels from after it, the
model's saved decision threshold. The examples may include users it was trained on; the held-out
figures are in its model card (GET /v1/models/NAME).

  --version V     a model version (default: the newest)
  --as-of TIME    the cut-off, ISO 8601 (default: latest event minus the horizon)
  --json          print the result as one JSON object`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: { json: { type: 'boolean', default: false }, version: { type: 'string' }, 'as-of': { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one model name');
    let asOf: number | undefined;
    if (values['as-of'] !== undefined) {
      asOf = Date.parse(values['as-of']);
      if (!Number.isFinite(asOf)) throw new UsageError('--as-of must be an ISO 8601 time');
    }
    const name = positionals[0] as string;
    const { evaluateModel } = await import('../../predict/evaluate.ts'); // tfjs: loaded only when used
    const r = await withStore(config, (store) =>
      evaluateModel(store, name, { dir: resolve(config.TRAITLENS_MODELS_DIR), ...(values.version ? { version: values.version } : {}), ...(asOf !== undefined ? { asOf } : {}) }),
    );
    if (values.json) {
      printJson(io, r);
      return 0;
    }
    writeLine(io.stdout, `${r.name} ${r.version} as of ${r.asOf}: ${r.metrics.n} users${r.metrics.kind === 'binary' ? `, ${r.metrics.positives} positive` : ''}`);
    writeLine(io.stdout, table(['model', 'ROC AUC', 'PR AUC', 'F1', 'accuracy'], [metricCells(r.name, r.metrics)]));
    return 0;
  },
};
