import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NotFoundError } from '../../core/errors.ts';
import { listModels } from '../../predict/registry.ts';
import { fmtInt, printJson, table, UsageError, withStore, writeLine, type Command } from '../command.ts';

export const scoreCommand: Command = {
  name: 'score',
  summary: 'write every trained model’s predictions as predicted traits for all users',
  usesDatabase: true,
  usage: `usage: traitlens score [--model NAME] [--as-of TIME] [--json]

Scores every user with profiling consent with the newest version of every trained model in
TRAITLENS_MODELS_DIR (or only --model NAME) and stores the predictions as \`predicted\` traits
(producer model:NAME, version = the model version). A trait changes only when the value or the
confidence moved. The pipeline does the same per user as events arrive; this is the batch run,
e.g. after \`traitlens train\`.

  --model NAME   only this model (repeatable)
  --as-of TIME   the features' cut-off, ISO 8601 (default: now)
  --json         print one JSON object per model in an array`,
  async run(args, { config, io }) {
    const { values } = parseArgs({
      args,
      options: { model: { type: 'string', multiple: true }, 'as-of': { type: 'string' }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: false,
    });
    const dir = resolve(config.TRAITLENS_MODELS_DIR);
    const trained = listModels({ dir }).map((m) => m.name);
    if (!trained.length) throw new NotFoundError(`no trained models in ${dir}: run \`traitlens train SPEC\` first`, { dir });
    for (const m of values.model ?? []) if (!trained.includes(m)) throw new NotFoundError(`no trained model named "${m}" in ${dir} (trained: ${trained.join(', ')})`, { name: m });
    let asOf: number | undefined;
    if (values['as-of'] !== undefined) {
      asOf = Date.parse(values['as-of']);
      if (!Number.isFinite(asOf)) throw new UsageError('--as-of must be an ISO 8601 time');
    }
    const { profilingUserIds, scoreAll } = await import('../../predict/score.ts'); // tfjs: loaded only when used
    const out = await withStore(config, async (store) => {
      return scoreAll(store, {
        dir,
        userIds: await profilingUserIds(store.features, config.TRAITLENS_DEFAULT_CONSENT),
        ...(values.model ? { models: values.model } : {}),
        ...(asOf !== undefined ? { asOf } : {}),
      });
    });
    if (values.json) printJson(io, out);
    else
      writeLine(
        io.stdout,
        table(
          ['model', 'version', 'users', 'changed', 'seconds'],
          out.map((s) => [s.model, s.version, s.users, s.changed, s.seconds.toFixed(2)]),
        ),
      );
    if (!values.json && out.every((s) => s.users === 0)) writeLine(io.stderr, `no user had events to score (${fmtInt(out.length)} model(s))`);
    return 0;
  },
};
