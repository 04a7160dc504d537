// Writes batches into a database file from a separate process (for concurrency tests).
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';

const [path, prefix, batches] = process.argv.slice(2) as [string, string, string];
const db = openDb(path, { synchronous: 'OFF', busyTimeoutMs: 10_000 });
const store = sqliteStore(db);
let accepted = 0;
for (let b = 0; b < Number(batches); b++) {
  const events = Array.from({ length: 200 }, (_, i) => ({ eventId: `${prefix}-${b}-${i}`, userId: `u${i % 37}`, type: 'page_view', timestamp: 1_700_000_000_000 + b * 1000 + i }));
  accepted += (await ingestBatch(store.events, events)).accepted;
}
await store.close();
process.stdout.write(JSON.stringify({ accepted }));
