import { and, asc, desc, eq, gte, isNull, sql } from 'drizzle-orm';
import type { Evidence, Json, Trait, TraitKind } from '../core/types.ts';
import type { Db } from './connection.ts';
import { traits, users } from './schema.ts';

/**
 * TRANSITION: the synchronous trait queries a few callers (tests that seed traits, eval, demo)
 * still use. Everything else reads and writes traits through TraitStore (src/db/stores/traits.ts);
 * delete this file once these callers have moved (`store.traits.current / history / merge`,
 * test/support/traits.ts `seedTraits`).
 */

const rowToTrait = (r: typeof traits.$inferSelect): Trait => ({
  id: r.id,
  key: r.key,
  value: JSON.parse(r.value) as Json,
  kind: r.kind,
  confidence: r.confidence,
  evidence: JSON.parse(r.evidence) as Evidence[],
  producer: r.producer,
  version: r.version,
  validFrom: r.validFrom,
  validTo: r.validTo,
  supersededBy: r.supersededBy,
});

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

/** Same order as TraitStore.current: kind, key, confidence (highest first), id. */
export function listCurrentTraits(db: Db, userId: number, f: TraitFilter = {}): Trait[] {
  const conds = [eq(traits.userId, userId), isNull(traits.validTo)];
  if (f.kind) conds.push(eq(traits.kind, f.kind));
  if (f.key) conds.push(eq(traits.key, f.key));
  if (f.minConfidence !== undefined) conds.push(gte(traits.confidence, f.minConfidence));
  return db.orm
    .select()
    .from(traits)
    .where(and(...conds))
    .orderBy(asc(traits.kind), asc(traits.key), desc(traits.confidence), asc(traits.id))
    .all()
    .map(rowToTrait);
}

/** Every version of a key, newest first. */
export function traitHistory(db: Db, userId: number, key: string): Trait[] {
  return db.orm
    .select()
    .from(traits)
    .where(and(eq(traits.userId, userId), eq(traits.key, key)))
    .orderBy(desc(traits.validFrom), desc(traits.id))
    .all()
    .map(rowToTrait);
}
