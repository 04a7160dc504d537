/**
 * Import speed: imports FILE into a fresh temp database twice (the second run must add nothing)
 * and prints a table.
 *   node --import tsx bench/gen-events.ts /tmp/1m.jsonl 1000000
 *   node --import tsx bench/import.ts /tmp/1m.jsonl [--inline] [--sync FULL|NORMAL|OFF] [--batch-size N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../src/db/connection.ts';
import { sqliteStore } from '../src/db/store.ts';
import { importFile } from '../src/ingest/import-file.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { inline: { type: 'boolean' }, sync: { type: 'string', default: 'FULL' }, 'batch-size': { type: 'string', default: '5000' }, once: { type: 'boolean' } },
});
const file = positionals[0];
if (!file) throw new Error('usage: bench/import.ts FILE [--inline] [--sync FULL|NORMAL|OFF] [--batch-size N] [--once]');
const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-'));
const db = openDb(join(dir, 'bench.db'), { synchronous: values.sync as 'FULL' | 'NORMAL' | 'OFF' });
// CPU time of all threads per event: steadier than wall time on a machine shared with others.
const cpuPerEvent = (since: NodeJS.CpuUsage, events: number) => {
  const c = process.cpuUsage(since);
  return Number(((c.user + c.system) / events).toFixed(1));
};
const rows: Record<string, string | number>[] = [];
try {
  for (const run of values.once ? ['first'] : ['first', 'again']) {
    const cpu0 = process.cpuUsage();
    const s = await importFile(sqliteStore(db).events, file, { worker: !values.inline, batchSize: Number(values['batch-size']) });
    rows.push({
      run,
      mode: values.inline ? 'inline' : 'worker',
      sync: values.sync!,
      events: s.events,
      accepted: s.accepted,
      duplicates: s.duplicates,
      rejected: s.rejected,
      seconds: s.seconds,
      'events/s': s.eventsPerSecond,
      'cpu µs/event': cpuPerEvent(cpu0, s.events),
    });
  }
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
console.table(rows);
