import { and, eq, isNull } from 'drizzle-orm';
import { ConflictError, NotFoundError } from '../core/errors.ts';
import type { Consent, Json, JsonObject, Trait } from '../core/types.ts';
import type { Db } from './connection.ts';
import { REFRESH_JOB } from './ingest-store.ts';
import { enqueueJob } from './jobs.ts';
import { events, identities, jobs, llmCache, signalEmbeddings, traits, userEmbeddings, users } from './schema.ts';

/*
 * TRANSITION: the synchronous originals of `UserStore` (src/db/stores/users.ts) for callers not yet
 * converted (demo, eval, some tests). Delete each once nothing calls it; new code uses the store.
 */

export type UserRow = typeof users.$inferSelect;

const USER_COLUMNS =
  'u.id, u.external_id AS externalId, u.attributes, u.consent, u.event_count AS eventCount, u.first_event_at AS firstEventAt, ' +
  'u.last_event_at AS lastEventAt, u.profile_version AS profileVersion, u.data_version AS dataVersion, u.created_at AS createdAt, u.updated_at AS updatedAt';

/** Finds a user by its external id, else by an anonymous alias. (Hot: every profile read; raw cached SQL.) */
export function findUser(db: Db, ref: string): UserRow | undefined {
  return db
    .stmt(
      `SELECT ${USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id
       WHERE i.alias = ? AND i.kind IN ('user', 'anonymous') ORDER BY i.kind = 'user' DESC LIMIT 1`,
    )
    .get(ref) as UserRow | undefined;
}

export function requireUser(db: Db, ref: string): UserRow {
  const u = findUser(db, ref);
  if (!u) throw new NotFoundError(`no user with id or alias "${ref}"`, { userId: ref });
  return u;
}

export function rowToTrait(r: typeof traits.$inferSelect): Trait {
  return {
    id: r.id,
    key: r.key,
    value: JSON.parse(r.value) as Json,
    kind: r.kind,
    confidence: r.confidence,
    evidence: JSON.parse(r.evidence) as Trait['evidence'],
    producer: r.producer,
    version: r.version,
    validFrom: r.validFrom,
    validTo: r.validTo,
    supersededBy: r.supersededBy,
  };
}

export type IdentifyOutcome = { status: 'linked' | 'merged' | 'unchanged'; userId: string; movedEvents: number };

/**
 * Links an anonymous id to a known user. When the anonymous id already has its own (anonymous)
 * user, that user's events, traits and aliases move to the known user and it is removed: nothing
 * is lost and calling again changes nothing. An anonymous id that belongs to another known user
 * is a conflict (merging two known users is never done implicitly).
 */
export function identify(db: Db, anonymousId: string, userId: string, now = Date.now()): IdentifyOutcome {
  return db.sqlite
    .transaction((): IdentifyOutcome => {
      const idOf = (kind: 'user' | 'anonymous', alias: string) =>
        db.orm
          .select({ userId: identities.userId })
          .from(identities)
          .where(and(eq(identities.kind, kind), eq(identities.alias, alias)))
          .get()?.userId;
      const known = idOf('user', userId);
      const anon = idOf('anonymous', anonymousId);
      if (anon !== undefined && anon === known) return { status: 'unchanged', userId, movedEvents: 0 };
      const anonUser = anon !== undefined ? db.orm.select().from(users).where(eq(users.id, anon)).get() : undefined;
      if (anonUser && anonUser.externalId !== null)
        throw new ConflictError(`anonymousId "${anonymousId}" already belongs to another user`, { field: 'anonymousId' }, 'identity_conflict');

      if (anonUser === undefined) {
        const target = known ?? createKnownUser(db, userId, now);
        db.orm.insert(identities).values({ kind: 'anonymous', alias: anonymousId, userId: target, createdAt: now }).run();
        return { status: 'linked', userId, movedEvents: 0 };
      }
      if (known === undefined) {
        // The anonymous user simply becomes the known user: nothing has to move.
        db.orm.update(users).set({ externalId: userId, updatedAt: now }).where(eq(users.id, anonUser.id)).run();
        db.orm.insert(identities).values({ kind: 'user', alias: userId, userId: anonUser.id, createdAt: now }).run();
        enqueueRefresh(db, anonUser.id, now);
        return { status: 'linked', userId, movedEvents: 0 };
      }
      const moved = db.orm.update(events).set({ userId: known }).where(eq(events.userId, anonUser.id)).run().changes;
      db.orm.update(traits).set({ userId: known }).where(eq(traits.userId, anonUser.id)).run();
      db.orm.update(signalEmbeddings).set({ userId: known }).where(eq(signalEmbeddings.userId, anonUser.id)).run();
      db.orm.update(llmCache).set({ userId: known }).where(eq(llmCache.userId, anonUser.id)).run();
      // The per-user text vector is derived: the refresh job recomputes it from all moved signals.
      db.orm.delete(userEmbeddings).where(eq(userEmbeddings.userId, anonUser.id)).run();
      db.orm.update(identities).set({ userId: known }).where(eq(identities.userId, anonUser.id)).run();
      db.orm.delete(jobs).where(eq(jobs.userId, anonUser.id)).run();
      const target = db.orm.select().from(users).where(eq(users.id, known)).get()!;
      // Attributes the known user declared win over the anonymous ones.
      const attributes = { ...(JSON.parse(anonUser.attributes) as JsonObject), ...(JSON.parse(target.attributes) as JsonObject) };
      db.orm
        .update(users)
        .set({
          attributes: JSON.stringify(attributes),
          eventCount: target.eventCount + anonUser.eventCount,
          firstEventAt: minOf(target.firstEventAt, anonUser.firstEventAt),
          lastEventAt: maxOf(target.lastEventAt, anonUser.lastEventAt),
          updatedAt: now,
        })
        .where(eq(users.id, known))
        .run();
      db.orm.delete(users).where(eq(users.id, anonUser.id)).run();
      enqueueRefresh(db, known, now);
      return { status: 'merged', userId, movedEvents: moved };
    })
    .immediate();
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function createKnownUser(db: Db, externalId: string, now: number): number {
  const id = db.orm.insert(users).values({ externalId, createdAt: now, updatedAt: now }).returning({ id: users.id }).get().id;
  db.orm.insert(identities).values({ kind: 'user', alias: externalId, userId: id, createdAt: now }).run();
  return id;
}

function enqueueRefresh(db: Db, userId: number, now: number): void {
  enqueueJob(db, REFRESH_JOB, userId, {}, now);
}

/**
 * Sets declared attributes (a null value removes one) and consent flags, creating the user if
 * needed. Each change is also written as a `declared` trait, closing the previous value, so
 * declared attributes have the same history as every other trait.
 */
export function setAttributes(db: Db, ref: string, changes: Record<string, Json>, consent: Partial<Consent> | undefined, now = Date.now()): UserRow {
  return db.sqlite
    .transaction((): UserRow => {
      const existing = findUser(db, ref);
      const id = existing?.id ?? createKnownUser(db, ref, now);
      const row = existing ?? db.orm.select().from(users).where(eq(users.id, id)).get()!;
      const attrs = JSON.parse(row.attributes) as JsonObject;
      for (const [key, value] of Object.entries(changes)) {
        const prev = db.orm
          .select()
          .from(traits)
          .where(and(eq(traits.userId, id), eq(traits.key, key), eq(traits.kind, 'declared'), isNull(traits.validTo)))
          .get();
        if (prev && prev.value === JSON.stringify(value)) continue;
        let newId: number | null = null;
        if (value === null) delete attrs[key];
        else {
          attrs[key] = value;
          newId = db.orm
            .insert(traits)
            .values({ userId: id, key, value: JSON.stringify(value), kind: 'declared', confidence: 1, producer: 'client', version: '1', validFrom: now })
            .returning({ id: traits.id })
            .get().id;
        }
        if (prev) db.orm.update(traits).set({ validTo: now, supersededBy: newId }).where(eq(traits.id, prev.id)).run();
      }
      const mergedConsent = consent ? { ...(row.consent ? (JSON.parse(row.consent) as Partial<Consent>) : {}), ...consent } : undefined;
      db.orm
        .update(users)
        .set({ attributes: JSON.stringify(attrs), ...(mergedConsent ? { consent: JSON.stringify(mergedConsent) } : {}), updatedAt: now })
        .where(eq(users.id, id))
        .run();
      return db.orm.select().from(users).where(eq(users.id, id)).get()!;
    })
    .immediate();
}
