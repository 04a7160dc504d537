import type { Db } from '../../src/db/connection.ts';
import { IngestStore } from '../../src/db/ingest-store.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';

/** Writes raw events through the real ingest path; fails the test on any rejection. */
export function ingest(db: Db, events: Record<string, unknown>[], now = Date.parse('2030-01-01T00:00:00Z')): void {
  const s = ingestBatch(new IngestStore(db), events, { now });
  if (s.rejected) throw new Error(`rejected: ${JSON.stringify(s.results.filter((r) => r.status === 'rejected'))}`);
}

export function userId(db: Db, external: string): number {
  return (db.sqlite.prepare('SELECT id FROM users WHERE external_id = ?').get(external) as { id: number }).id;
}
