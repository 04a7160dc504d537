import { parseArgs } from 'node:util';
import { copyStore, type TableReport } from '../../db/copy.ts';
import { openStore } from '../../db/open.ts';
import { PgProfileStore } from '../../db/stores/profiles-pg.ts';
import { table, UsageError, writeLine, type Command } from '../command.ts';

export const migrateStoreCommand: Command = {
  name: 'migrate-store',
  summary: 'copy everything from one database to another (SQLite → PostgreSQL) and verify it',
  usage: `usage: traitlens migrate-store --from SOURCE --to TARGET [--json]

Copies every table (events, users, identities, traits with history, keys, audit, jobs, segments,
summaries, vectors, LLM usage and cache) from SOURCE to TARGET, then verifies row counts and a
per-table checksum. SOURCE and TARGET are a SQLite file path or a postgres:// URL; the target is
migrated first. Safe to re-run: rows already there are left alone. Exit 0 when every table
matches, 1 otherwise. Stop writers to SOURCE first, or re-run after they stop.

  --from   the database to read (e.g. ./data/traitlens.db)
  --to     the database to write (e.g. postgres://traitlens:…@db:5432/traitlens)
  --json   print the per-table report as JSON`,
  async run(args, { config, io }) {
    const { values } = parseArgs({
      args,
      options: { from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean', default: false } },
      strict: true,
      allowPositionals: false,
    });
    if (!values.from || !values.to) throw new UsageError('both --from and --to are required');
    if (values.from === values.to) throw new UsageError('--from and --to name the same database');
    const from = await openStore({ ...config, TRAITLENS_DB: values.from });
    try {
      const to = await openStore({ ...config, TRAITLENS_DB: values.to });
      try {
        const result = await copyStore(from.exec, to.exec, {
          onTable: (t) => {
            if (!values.json && io.stderr.isTTY) writeLine(io.stderr, `${t.table}: ${t.copied} copied`);
          },
        });
        // Copied vectors arrive as float32 blobs; pgvector's column is filled from them.
        if (to.profiles instanceof PgProfileStore) await to.profiles.backfillEmbeddings();
        if (values.json) writeLine(io.stdout, JSON.stringify(result, null, 2));
        else writeLine(io.stdout, render(result.tables, result.ok));
        return result.ok ? 0 : 1;
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
  },
};

function render(tables: TableReport[], ok: boolean): string {
  const rows = tables.map((t): (string | number)[] => [t.table, t.source, t.target, t.copied, t.ok ? 'ok' : `MISMATCH ${t.sourceChecksum} ≠ ${t.targetChecksum}`]);
  return `${table(['table', 'source rows', 'target rows', 'copied now', 'verified'], rows)}\n\n${ok ? 'every table verified: counts and checksums match' : 'verification FAILED: see the tables marked MISMATCH'}`;
}
