import { effectiveConsent } from '../../core/consent.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import type { Consent, ConsentFlag, Json, JsonObject, Trait } from '../../core/types.ts';
import { classifyDriverError } from '../errors.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import { SqliteExecutor } from '../sql/sqlite-executor.ts';
import { moveEventCounts, REFRESH_JOB } from './events.ts';
import { ENQUEUE_JOB_SQL, enqueueParams } from './jobs.ts';
import { CURRENT_TRAITS_SQL, toTrait, type TraitRow } from './traits.ts';

/** A user row as the stores return it (times are epoch ms; attributes and consent are JSON text). */
export interface UserRow {
  id: number;
  externalId: string | null;
  attributes: string;
  consent: string | null;
  eventCount: number;
  firstEventAt: number | null;
  lastEventAt: number | null;
  profileVersion: number;
  /** bumped by triggers on every write to the user's identities and traits */
  dataVersion: number;
  createdAt: number;
  updatedAt: number;
}

export interface Identity {
  kind: IdentityKind;
  alias: string;
  createdAt: number;
}

/** user: the external id; anonymous: an anonymous id; email: the declared `email` attribute, normalised. */
export type IdentityKind = 'user' | 'anonymous' | 'email';

/** How support tools find someone: by email, by any identity alias, by declared attribute values (all given must match). */
export interface UserLookup {
  email?: string;
  /** an external id, an anonymous id or an email */
  alias?: string;
  /** declared attribute → value as text (`"pro"`, `5`, `true` all match their text) */
  attributes?: Record<string, string>;
  limit: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const MAX_EMAIL_CHARS = 320;

/**
 * An email as identities keep it: trimmed and lower-cased (Unicode NFC). Throws a ValidationError
 * naming `field` for something that is not an email address.
 */
export function normaliseEmail(raw: unknown, field = 'attributes.email'): string {
  const e = typeof raw === 'string' ? raw.normalize('NFC').trim().toLowerCase() : '';
  if (!EMAIL.test(e) || e.length > MAX_EMAIL_CHARS)
    throw new ValidationError(`${field} must be an email address (got ${JSON.stringify(raw)})`, [{ field, message: 'not an email address' }]);
  return e;
}

export type IdentifyOutcome = { status: 'linked' | 'merged' | 'unchanged'; userId: string; movedEvents: number };

/** What a profile read answers: the user row, its aliases, event counts by type and current traits. */
export interface UserProfileRead {
  user: UserRow;
  identities: Identity[];
  /** per event type (the tally kept at ingestion) */
  eventCounts: Record<string, number>;
  /** as `TraitStore.current(userId)` returns them */
  traits: Trait[];
}

/** Users, their identities (external id and anonymous aliases), declared attributes and consent. */
export interface UserStore {
  /** by external id, else by anonymous alias (hot: every profile read) */
  find(ref: string): Promise<UserRow | undefined>;
  /**
   * `find` plus the user's identities, event counts by type and current traits, read as one
   * snapshot (one read transaction on SQLite, synchronous; on PostgreSQL the three reads after the
   * user run side by side on the pool). Undefined for an unknown reference.
   */
  profile(ref: string): Promise<UserProfileRead | undefined>;
  /** like `find`, or a 404 naming the reference */
  require(ref: string): Promise<UserRow>;
  byId(id: number): Promise<UserRow | undefined>;
  /** whether the database has any user (every event makes one): false on a new, empty database */
  hasAny(): Promise<boolean>;
  /** the current external ids of internal ids (absent: erased, or never identified) */
  externalIds(ids: readonly number[]): Promise<Map<number, string>>;
  identities(userId: number): Promise<Identity[]>;
  /**
   * Links an anonymous id to a known user. When the anonymous id already has its own (anonymous)
   * user, that user's events, traits and aliases move to the known user and it is removed: nothing
   * is lost and calling again changes nothing. An anonymous id that belongs to another known user
   * is a 409 `identity_conflict`. Safe when two processes identify the same ids at once.
   */
  identify(anonymousId: string, userId: string, now?: number): Promise<IdentifyOutcome>;
  /**
   * Sets declared attributes (a null value removes one) and consent flags, creating the user if
   * needed. Each change is also written as a `declared` trait closing the previous value, so
   * declared attributes have the same history as every other trait. An `email` attribute is
   * normalised (trimmed, lower-cased) and kept as the user's `email` identity too (one per user;
   * an email another user has is a 409 `identity_conflict`).
   */
  setAttributes(ref: string, changes: Record<string, Json>, consent: Partial<Consent> | undefined, now?: number): Promise<UserRow>;
  /**
   * Users matching every given criterion (email and alias through identities, attributes through the
   * declared attributes), by internal id, at most `limit`.
   */
  lookup(q: UserLookup): Promise<UserRow[]>;
  consentOf(userId: number, defaults: readonly ConsentFlag[]): Promise<Consent>;
  /** false for unknown users */
  hasConsent(userId: number, flag: ConsentFlag, defaults: readonly ConsentFlag[]): Promise<boolean>;
  /** the subset of internal ids that have `flag`, in the input order (unknown ids are dropped) */
  filterByConsent(userIds: readonly number[], flag: ConsentFlag, defaults: readonly ConsentFlag[]): Promise<number[]>;
}

const USER_COLUMNS =
  'u.id, u.external_id AS "externalId", u.attributes, u.consent, u.event_count AS "eventCount", u.first_event_at AS "firstEventAt", ' +
  'u.last_event_at AS "lastEventAt", u.profile_version AS "profileVersion", u.data_version AS "dataVersion", u.created_at AS "createdAt", u.updated_at AS "updatedAt"';

/**
 * A SQL condition over a `users` alias that keeps only users with `flag`, for stores that select
 * many users at once (segments, lookalikes): a stored flag wins, a missing one takes the default.
 * Portable: SQLite's JSON text of `true` is 1, PostgreSQL's is 'true'.
 */
export function consentSql(d: Dialect, alias: string, flag: ConsentFlag, defaults: readonly ConsentFlag[]): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias)) throw new Error(`bad SQL alias ${alias}`);
  const fallback = defaults.includes(flag) ? 1 : 0;
  return `(CASE CAST(${d.jsonText(`${alias}.consent`, flag)} AS TEXT) WHEN '1' THEN 1 WHEN 'true' THEN 1 WHEN '0' THEN 0 WHEN 'false' THEN 0 ELSE ${fallback} END) = 1`;
}

/**
 * Runs a write transaction again when it lost a race the database settled: a unique index tripped
 * (another process created the same user between our read and our insert) or the database chose it
 * as a deadlock / serialization victim (PostgreSQL; merges lock two user rows). The next run sees
 * the winner's commit and decides again.
 */
async function retried<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const kind = classifyDriverError(err);
      if (i >= attempts || (kind !== 'unique' && kind !== 'busy')) throw err;
    }
  }
}

/** A merge that lost a race re-reads and decides again; more than this many rounds is a bug. */
const MAX_ROUNDS = 5;

export class SqlUserStore implements UserStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  find(ref: string): Promise<UserRow | undefined> {
    return findIn(this.x, ref);
  }

  async profile(ref: string): Promise<UserProfileRead | undefined> {
    const x = this.x;
    if (x instanceof SqliteExecutor)
      return x.read((q) => {
        const params = [ref];
        const user = q.get<UserRow>(FIND_KNOWN_SQL, params) ?? q.get<UserRow>(FIND_ANONYMOUS_SQL, params);
        return user && profileOf(user, q.all<Identity>(IDENTITIES_SQL, [user.id]), q.all<EventCount>(EVENT_COUNTS_SQL, [user.id]), q.all<TraitRow>(CURRENT_TRAITS_SQL, [user.id]));
      });
    const user = await findIn(x, ref);
    if (!user) return undefined;
    const [ids, counts, traits] = await Promise.all([
      x.all<Identity>(IDENTITIES_SQL, [user.id]),
      x.all<EventCount>(EVENT_COUNTS_SQL, [user.id]),
      x.all<TraitRow>(CURRENT_TRAITS_SQL, [user.id]),
    ]);
    return profileOf(user, ids, counts, traits);
  }

  async require(ref: string): Promise<UserRow> {
    const u = await this.find(ref);
    if (!u) throw new NotFoundError(`no user with id or alias "${ref}"`, { userId: ref });
    return u;
  }

  byId(id: number): Promise<UserRow | undefined> {
    return byIdIn(this.x, id);
  }

  async hasAny(): Promise<boolean> {
    return (await this.x.get('SELECT 1 AS one FROM users LIMIT 1')) !== undefined;
  }

  async externalIds(ids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows = await this.x.all<{ id: number; externalId: string | null }>(
        `SELECT id, external_id AS "externalId" FROM users WHERE id IN (${chunk.map(() => '?').join(',')})`,
        chunk,
      );
      for (const r of rows) if (r.externalId !== null) out.set(Number(r.id), r.externalId);
    }
    return out;
  }

  async identities(userId: number): Promise<Identity[]> {
    return this.x.all<Identity>(IDENTITIES_SQL, [userId]);
  }

  async identify(anonymousId: string, userId: string, now = Date.now()): Promise<IdentifyOutcome> {
    // Every step either writes through a unique index (ON CONFLICT DO NOTHING) or takes the row it
    // changes with a guarded UPDATE, then re-reads: a concurrent identify/ingest in another process
    // makes a round come out empty, and the next round sees its result. If one still trips a unique
    // index (another process created the known user between our read and our write), the whole
    // transaction runs once more and finds that user.
    return retried(() => this.x.tx((q) => this.identifyIn(q, anonymousId, userId, now)));
  }

  private async identifyIn(q: Queryable, anonymousId: string, userId: string, now: number): Promise<IdentifyOutcome> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const known = await ownerOf(q, 'user', userId);
      const anon = await ownerOf(q, 'anonymous', anonymousId);
      if (anon !== undefined && anon === known) return { status: 'unchanged', userId, movedEvents: 0 };
      const anonUser = anon !== undefined ? await byIdIn(q, anon) : undefined;
      if (anonUser && anonUser.externalId === userId) {
        // Our reads straddled a concurrent identify's commit (each statement sees the latest commit
        // on PostgreSQL): it converted the anonymous user to this very user. Repair a missing alias, decide again.
        await q.run('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, alias) DO NOTHING', ['user', userId, anonUser.id, now]);
        continue;
      }
      if (anonUser && anonUser.externalId !== null)
        throw new ConflictError(`anonymousId "${anonymousId}" already belongs to another user`, { field: 'anonymousId' }, 'identity_conflict');

      if (anonUser === undefined) {
        // An unseen anonymous id: attach it to the known user (created if new).
        const target = known ?? (await ensureKnownUser(q, userId, now));
        const r = await q.run('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, alias) DO NOTHING', [
          'anonymous',
          anonymousId,
          target,
          now,
        ]);
        if (r.changes === 1) return { status: 'linked', userId, movedEvents: 0 };
        continue; // someone else attached it meanwhile: decide again
      }
      if (known === undefined) {
        // The anonymous user simply becomes the known user: nothing has to move. The guard makes
        // the row ours; a concurrent identify that converted it first leaves 0 changes here.
        const r = await q.run('UPDATE users SET external_id = ?, updated_at = ? WHERE id = ? AND external_id IS NULL', [userId, now, anonUser.id]);
        if (r.changes !== 1) continue;
        await q.run('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, alias) DO NOTHING', ['user', userId, anonUser.id, now]);
        await enqueueRefresh(q, anonUser.id, now);
        return { status: 'linked', userId, movedEvents: 0 };
      }
      const moved = await this.mergeInto(q, anonUser.id, known, now);
      if (moved === null) continue;
      return { status: 'merged', userId, movedEvents: moved };
    }
    throw new Error(`identify(${anonymousId}, ${userId}) did not settle`);
  }

  /** Moves an anonymous user into a known one; null when the anonymous user is already gone (a concurrent merge). */
  private async mergeInto(q: Queryable, anonId: number, known: number, now: number): Promise<number | null> {
    // Take both rows (anonymous first, so two merges into one user queue instead of deadlocking),
    // then read them: the figures below are the committed ones.
    if ((await q.run('UPDATE users SET updated_at = ? WHERE id = ? AND external_id IS NULL', [now, anonId])).changes !== 1) return null;
    await q.run('UPDATE users SET updated_at = ? WHERE id = ?', [now, known]);
    const from = await byIdIn(q, anonId);
    const to = await byIdIn(q, known);
    if (!from || !to) return null;
    const moved = (await q.run('UPDATE events SET user_id = ? WHERE user_id = ?', [known, anonId])).changes;
    await moveEventCounts(q, anonId, known);
    await q.run('UPDATE traits SET user_id = ? WHERE user_id = ?', [known, anonId]);
    await q.run('UPDATE signal_embeddings SET user_id = ? WHERE user_id = ?', [known, anonId]);
    await q.run('UPDATE llm_cache SET user_id = ? WHERE user_id = ?', [known, anonId]);
    await q.run('UPDATE llm_calls SET user_id = ? WHERE user_id = ?', [known, anonId]);
    await q.run('UPDATE audit_log SET user_id = ? WHERE user_id = ?', [known, anonId]);
    // Per-user derived rows (text vector, profile vector, summaries) are rebuilt by the refresh from the moved signals.
    await q.run('DELETE FROM user_embeddings WHERE user_id = ?', [anonId]);
    await q.run('DELETE FROM user_profiles WHERE user_id = ?', [anonId]);
    await q.run('DELETE FROM summaries WHERE user_id = ?', [anonId]);
    // The known user's email identity wins over the anonymous one's, like its declared attributes.
    await q.run("DELETE FROM identities WHERE user_id = ? AND kind = 'email' AND EXISTS (SELECT 1 FROM identities k WHERE k.user_id = ? AND k.kind = 'email')", [anonId, known]);
    await q.run('UPDATE identities SET user_id = ? WHERE user_id = ?', [known, anonId]);
    await q.run('DELETE FROM jobs WHERE user_id = ?', [anonId]);
    // Attributes the known user declared win over the anonymous ones.
    const attributes = { ...(JSON.parse(from.attributes) as JsonObject), ...(JSON.parse(to.attributes) as JsonObject) };
    await q.run(
      `UPDATE users SET attributes = ?, event_count = event_count + ?,
         first_event_at = coalesce(${this.d.least('first_event_at', 'coalesce(?, first_event_at)')}, ?),
         last_event_at = coalesce(${this.d.greatest('last_event_at', 'coalesce(?, last_event_at)')}, ?),
         profile_version = profile_version + 1, updated_at = ?
       WHERE id = ?`,
      [JSON.stringify(attributes), from.eventCount, from.firstEventAt, from.firstEventAt, from.lastEventAt, from.lastEventAt, now, known],
    );
    await q.run('DELETE FROM users WHERE id = ?', [anonId]);
    await enqueueRefresh(q, known, now);
    return moved;
  }

  async setAttributes(ref: string, changes: Record<string, Json>, consent: Partial<Consent> | undefined, now = Date.now()): Promise<UserRow> {
    if ('email' in changes && changes.email !== null) changes = { ...changes, email: normaliseEmail(changes.email) };
    const run = () =>
      this.x.tx(async (q) => {
        const id = (await findIn(q, ref))?.id ?? (await ensureKnownUser(q, ref, now));
        // Take the row before reading it, so two concurrent changes apply one after the other.
        await q.run('UPDATE users SET updated_at = ? WHERE id = ?', [now, id]);
        const row = (await byIdIn(q, id))!;
        const attrs = JSON.parse(row.attributes) as JsonObject;
        for (const [key, value] of Object.entries(changes)) {
          const prev = await q.get<{ id: number; value: string }>(
            "SELECT id, value FROM traits WHERE user_id = ? AND key = ? AND kind = 'declared' AND valid_to IS NULL ORDER BY id DESC LIMIT 1",
            [id, key],
          );
          if (prev && prev.value === JSON.stringify(value)) continue;
          let newId: number | null = null;
          if (value === null) delete attrs[key];
          else {
            attrs[key] = value;
            const ins = await q.get<{ id: number }>(
              `INSERT INTO traits (user_id, key, value, kind, confidence, evidence, producer, version, valid_from)
               VALUES (?, ?, ?, 'declared', 1, '[]', 'client', '1', ?) RETURNING id`,
              [id, key, JSON.stringify(value), now],
            );
            newId = Number(ins!.id);
          }
          if (prev) await q.run('UPDATE traits SET valid_to = ?, superseded_by = ? WHERE id = ?', [now, newId, prev.id]);
        }
        if ('email' in changes) await setEmailIdentity(q, id, changes.email as string | null, now);
        const mergedConsent = consent ? { ...(row.consent ? (JSON.parse(row.consent) as Partial<Consent>) : {}), ...consent } : undefined;
        await q.run('UPDATE users SET attributes = ?, consent = coalesce(?, consent), updated_at = ? WHERE id = ?', [
          JSON.stringify(attrs),
          mergedConsent ? JSON.stringify(mergedConsent) : null,
          now,
          id,
        ]);
        return (await byIdIn(q, id))!;
      });
    return retried(run);
  }

  async lookup(q: UserLookup): Promise<UserRow[]> {
    const conds: string[] = [];
    const params: unknown[] = [];
    if (q.email !== undefined) {
      conds.push("u.id IN (SELECT user_id FROM identities WHERE kind = 'email' AND alias = ?)");
      params.push(normaliseEmail(q.email, 'email'));
    }
    if (q.alias !== undefined) {
      // Any identity; an email-looking alias also as identities keep emails.
      const forms = [...new Set([q.alias, ...(EMAIL.test(q.alias.trim()) ? [q.alias.normalize('NFC').trim().toLowerCase()] : [])])];
      conds.push(`u.id IN (SELECT user_id FROM identities WHERE alias IN (${forms.map(() => '?').join(', ')}))`);
      params.push(...forms);
    }
    for (const [key, value] of Object.entries(q.attributes ?? {})) {
      // The value's JSON text as a string, and as the number or boolean the text spells.
      const forms = [JSON.stringify(value)];
      if (/^-?\d+(\.\d+)?$/.test(value)) forms.push(JSON.stringify(Number(value)));
      if (value === 'true' || value === 'false') forms.push(value);
      conds.push(`${this.d.jsonLiteralParam('u.attributes')} IN (${forms.map(() => '?').join(', ')})`);
      params.push(key, ...new Set(forms));
    }
    if (!conds.length) throw new ValidationError('give email, alias or attribute.KEY to look users up', [{ field: 'query', message: 'no criterion' }]);
    return this.x.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE ${conds.join(' AND ')} ORDER BY u.id LIMIT ?`, [...params, q.limit]);
  }

  async consentOf(userId: number, defaults: readonly ConsentFlag[]): Promise<Consent> {
    const r = await this.x.get<{ consent: string | null }>('SELECT consent FROM users WHERE id = ?', [userId]);
    return effectiveConsent(r?.consent ?? null, defaults);
  }

  async hasConsent(userId: number, flag: ConsentFlag, defaults: readonly ConsentFlag[]): Promise<boolean> {
    const r = await this.x.get<{ consent: string | null }>('SELECT consent FROM users WHERE id = ?', [userId]);
    return r !== undefined && effectiveConsent(r.consent, defaults)[flag];
  }

  async filterByConsent(userIds: readonly number[], flag: ConsentFlag, defaults: readonly ConsentFlag[]): Promise<number[]> {
    const allowed = new Set<number>();
    for (const chunk of chunks([...new Set(userIds)])) {
      const rows = await this.x.all<{ id: number; consent: string | null }>(`SELECT id, consent FROM users WHERE id IN (${chunk.map(() => '?').join(',')})`, chunk);
      for (const r of rows) if (effectiveConsent(r.consent, defaults)[flag]) allowed.add(Number(r.id));
    }
    return userIds.filter((id) => allowed.has(id));
  }
}

/** Chunks stay under SQLite's bound-parameter limit. */
function chunks<T>(list: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * `find`: the user whose external id is `ref`, else the one with `ref` as an anonymous alias (a
 * reference that is both, one user's external id and another's anonymous id, names the known user).
 * Two statements, each one probe of the unique (kind, alias) index and no sort: the single statement
 * over both kinds (`kind IN (...) ORDER BY CASE ... LIMIT 1`) sorted its rows in a temporary b-tree on
 * every profile read, and an external id, the usual reference, now needs only the first.
 */
const FIND_KNOWN_SQL = `SELECT ${USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id WHERE i.kind = 'user' AND i.alias = ?`;
const FIND_ANONYMOUS_SQL = `SELECT ${USER_COLUMNS} FROM identities i JOIN users u ON u.id = i.user_id WHERE i.kind = 'anonymous' AND i.alias = ?`;
const IDENTITIES_SQL = 'SELECT kind, alias, created_at AS "createdAt" FROM identities WHERE user_id = ? ORDER BY id';
/** The per-type tally ingestion keeps (`EventStore.countsByType` reads the same table). */
const EVENT_COUNTS_SQL = 'SELECT type, n FROM user_event_counts WHERE user_id = ? ORDER BY type';

interface EventCount {
  type: string;
  n: number;
}

function profileOf(user: UserRow, identities: Identity[], counts: EventCount[], traits: TraitRow[]): UserProfileRead {
  return { user, identities, eventCounts: Object.fromEntries(counts.map((c) => [c.type, Number(c.n)])), traits: traits.map(toTrait) };
}

async function findIn(q: Queryable, ref: string): Promise<UserRow | undefined> {
  const params = [ref];
  return (await q.get<UserRow>(FIND_KNOWN_SQL, params)) ?? q.get<UserRow>(FIND_ANONYMOUS_SQL, params);
}

function byIdIn(q: Queryable, id: number): Promise<UserRow | undefined> {
  return q.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ?`, [id]);
}

/** The user's one `email` identity follows the declared attribute: replaced, or removed with it. */
async function setEmailIdentity(q: Queryable, userId: number, email: string | null, now: number): Promise<void> {
  await q.run("DELETE FROM identities WHERE user_id = ? AND kind = 'email' AND alias <> coalesce(?, '')", [userId, email]);
  if (email === null) return;
  await q.run("INSERT INTO identities (kind, alias, user_id, created_at) VALUES ('email', ?, ?, ?) ON CONFLICT (kind, alias) DO NOTHING", [email, userId, now]);
  const owner = await ownerOf(q, 'email', email);
  if (owner !== userId) throw new ConflictError(`email "${email}" already belongs to another user`, { field: 'attributes.email' }, 'identity_conflict');
}

async function ownerOf(q: Queryable, kind: IdentityKind, alias: string): Promise<number | undefined> {
  const r = await q.get<{ userId: number }>('SELECT user_id AS "userId" FROM identities WHERE kind = ? AND alias = ?', [kind, alias]);
  return r === undefined ? undefined : Number(r.userId);
}

/** The known user with this external id, created if new; never a second one (the unique index decides). */
async function ensureKnownUser(q: Queryable, externalId: string, now: number): Promise<number> {
  const created = await q.get<{ id: number }>('INSERT INTO users (external_id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (external_id) DO NOTHING RETURNING id', [
    externalId,
    now,
    now,
  ]);
  const id = created ? Number(created.id) : Number((await q.get<{ id: number }>('SELECT id FROM users WHERE external_id = ?', [externalId]))!.id);
  await q.run('INSERT INTO identities (kind, alias, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, alias) DO NOTHING', ['user', externalId, id, now]);
  return id;
}

/** One pending refresh per user (the partial unique index coalesces), as ingestion enqueues it. */
async function enqueueRefresh(q: Queryable, userId: number, now: number): Promise<void> {
  await q.run(ENQUEUE_JOB_SQL, enqueueParams(REFRESH_JOB, userId, {}, now));
}
