import { parseArgs } from 'node:util';
import { trainStoreItemEmbeddings } from '../../pipeline/item-embeddings.ts';
import { fmtInt, printJson, table, UsageError, withStore, writeLine, type Command } from '../command.ts';

const intOption = (name: string, v: string | undefined, min: number, max: number): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max} (got "${v}")`);
  return n;
};

export const trainItemsCommand: Command = {
  name: 'train-items',
  summary: 'learn item embeddings from interactions (the active version for similar items and recommendations)',
  usage: `usage: traitlens train-items [--method item2vec|mf] [--dim N] [--epochs N] [--seed N] [--min-count N] [--json]

Reads every interaction (events whose properties name an item: TRAITLENS_ITEM_PROPERTIES, weighted
by TRAITLENS_ITEM_WEIGHT_PROPERTY, of TRAITLENS_ITEM_EVENT_TYPES) of users with profiling consent,
adds the items events name but the catalogue lacks (source "learned"), trains item embeddings with
tfjs and saves them as the active version (with a model card). The pipeline also retrains on its own
(TRAITLENS_ITEM_RETRAIN_INTERACTIONS, TRAITLENS_ITEM_RETRAIN_MS); an erased user's interactions stop
influencing the embeddings at the next training.

  --method     mf (items bought by the same people) or item2vec (items bought together);
               default TRAITLENS_ITEM_METHOD (mf)
  --dim        embedding size (default TRAITLENS_ITEM_DIM)
  --epochs     passes over the data
  --seed       random seed (the same data and seed give the same vectors)
  --min-count  items with fewer interactions are left out (default 2)
  --json       print the report and model card as JSON`,
  async run(args, { config, io }) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        method: { type: 'string' },
        dim: { type: 'string' },
        epochs: { type: 'string' },
        seed: { type: 'string' },
        'min-count': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    // Loaded here, not at start-up: tfjs costs every other command a few hundred ms.
    const { ITEM_EMBEDDING_METHODS } = await import('../../items/embeddings.ts');
    if (values.method !== undefined && !(ITEM_EMBEDDING_METHODS as readonly string[]).includes(values.method))
      throw new UsageError(`--method must be ${ITEM_EMBEDDING_METHODS.join(' or ')} (got "${values.method}")`);
    const dim = intOption('dim', values.dim, 2, 512);
    const epochs = intOption('epochs', values.epochs, 1, 1000);
    const seed = intOption('seed', values.seed, 0, 2 ** 31 - 1);
    const minCount = intOption('min-count', values['min-count'], 1, 1_000_000);
    const { initBackend } = await import('../../predict/backend.ts');
    await initBackend({ log: (m) => writeLine(io.stderr, m) });
    const json = values.json;
    const r = await withStore(config, (store) =>
      trainStoreItemEmbeddings(store, config, {
        ...(values.method ? { method: values.method } : {}),
        ...(dim !== undefined ? { dim } : {}),
        ...(epochs !== undefined ? { epochs } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(minCount !== undefined ? { minCount } : {}),
        ...(json ? {} : { onProgress: (p: { epoch: number; loss: number }) => writeLine(io.stderr, `epoch ${p.epoch}: loss ${p.loss.toFixed(4)}`) }),
      }),
    );
    if (json) {
      printJson(io, r);
      return 0;
    }
    const card = r.card as { method?: string; backend?: string; epochs?: number; minCount?: number; dataWindow?: { from?: string; to?: string } };
    writeLine(
      io.stdout,
      `trained item embeddings ${r.version} (${card.method ?? '?'}, ${r.dim} dimensions, backend ${card.backend ?? '?'}) in ${r.seconds.toFixed(1)} s; now the active version`,
    );
    writeLine(io.stdout, '');
    writeLine(
      io.stdout,
      table(
        ['', 'count'],
        [
          ['interactions', r.interactions],
          ['users (profiling consent)', r.users],
          [`items embedded (≥ ${card.minCount ?? '?'} interactions)`, r.items],
          ['catalogue rows learned from events', r.learned],
        ],
      ),
    );
    if (card.dataWindow)
      writeLine(io.stdout, `\ndata ${card.dataWindow.from ?? '?'} to ${card.dataWindow.to ?? '?'}, through event ${fmtInt(r.throughEventId)}; ${card.epochs ?? '?'} epochs`);
    writeLine(io.stdout, 'similar items: GET /v1/items/:id/similar; recommendations: GET /v1/users/:id/recommendations');
    return 0;
  },
};
