import { and, asc, desc, eq, gte, isNull, sql } from 'drizzle-orm';
import type { Json, Trait, TraitKind } from '../core/types.ts';
import type { Db } from './connection.ts';
import { signalExtractions, traits, users, ingestCounters } from './schema.ts';
import { rowToTrait } from './users.ts';

export type TraitRow = typeof traits.$inferSelect;

/** Current (valid_to is null) rows of one kind, optionally one key. */
export function currentTraitRows(db: Db, userId: number, kind: TraitKind, key?: string): TraitRow[] {
  const conds = [eq(traits.userId, userId), eq(traits.kind, kind), isNull(traits.validTo)];
  if (key) conds.push(eq(traits.key, key));
  return db.orm.select().from(traits).where(and(...conds)).orderBy(asc(traits.id)).all();
}

export interface NewTrait {
  userId: number;
  key: string;
  value: Json;
  kind: TraitKind;
  confidence: number;
  evidence: { eventId: number; quote: string }[];
  producer: string;
  version: string;
  validFrom: number;
}

export function insertTrait(db: Db, t: NewTrait): number {
  return db.orm
    .insert(traits)
    .values({ ...t, value: JSON.stringify(t.value), evidence: JSON.stringify(t.evidence) })
    .returning({ id: traits.id })
    .get().id;
}

/** Closes a row: history keeps it with the time it stopped holding and what replaced it. */
export function closeTrait(db: Db, id: number, now: number, supersededBy: number | null): void {
  db.orm.update(traits).set({ validTo: now, supersededBy }).where(eq(traits.id, id)).run();
}

export function bumpProfileVersion(db: Db, userId: number, now: number): number {
  return db.orm
    .update(users)
    .set({ profileVersion: sql`${users.profileVersion} + 1`, updatedAt: now })
    .where(eq(users.id, userId))
    .returning({ v: users.profileVersion })
    .get()!.v;
}

export interface TraitFilter {
  kind?: TraitKind | undefined;
  key?: string | undefined;
  minConfidence?: number | undefined;
}

export function listCurrentTraits(db: Db, userId: number, f: TraitFilter = {}): Trait[] {
  const conds = [eq(traits.userId, userId), isNull(traits.validTo)];
  if (f.kind) conds.push(eq(traits.kind, f.kind));
  if (f.key) conds.push(eq(traits.key, f.key));
  if (f.minConfidence !== undefined) conds.push(gte(traits.confidence, f.minConfidence));
  return db.orm.select().from(traits).where(and(...conds)).orderBy(asc(traits.kind), asc(traits.key), desc(traits.confidence)).all().map(rowToTrait);
}

/** Every version of a key, newest first. */
export function traitHistory(db: Db, userId: number, key: string): Trait[] {
  return db.orm.select().from(traits).where(and(eq(traits.userId, userId), eq(traits.key, key))).orderBy(desc(traits.validFrom), desc(traits.id)).all().map(rowToTrait);
}

/** Text signals of a user that `producer@version` has not read yet, oldest first. */
export function unreadSignals(db: Db, userId: number, producer: string, version: string): { id: number; type: string; text: string; ts: number }[] {
  return db.sqlite
    .prepare(
      `SELECT e.id, e.type, e.text, e.ts FROM events e
       WHERE e.user_id = ? AND e.text IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM signal_extractions s WHERE s.event_id = e.id AND s.producer = ? AND s.version = ?)
       ORDER BY e.ts, e.id`,
    )
    .all(userId, producer, version) as { id: number; type: string; text: string; ts: number }[];
}

export function markSignalsRead(db: Db, eventIds: number[], producer: string, version: string, now: number): void {
  if (!eventIds.length) return;
  db.orm
    .insert(signalExtractions)
    .values(eventIds.map((eventId) => ({ eventId, producer, version, extractedAt: now })))
    .onConflictDoNothing()
    .run();
}

/** Forgets which signals were read, so the next run re-reads them all (the LLM cache still answers unchanged batches). */
export function forgetSignalsRead(db: Db, userId: number): number {
  return db.stmt('DELETE FROM signal_extractions WHERE event_id IN (SELECT id FROM events WHERE user_id = ?)').run(userId).changes;
}

/** Pipeline counters (trait rejections, sensitive drops...) share the ingest counters table. */
export function bumpCounter(db: Db, metric: string, key: string, n = 1): void {
  if (n === 0) return;
  db.orm
    .insert(ingestCounters)
    .values({ metric, key, count: n })
    .onConflictDoUpdate({ target: [ingestCounters.metric, ingestCounters.key], set: { count: sql`${ingestCounters.count} + ${n}` } })
    .run();
}
