import type { Evidence, Json, Trait, TraitKind } from '../../core/types.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import { REFRESH_JOB } from './events.ts';
import { ENQUEUE_JOB_SQL, enqueueParams } from './jobs.ts';
import { BUMP_COUNTER_SQL } from './stats.ts';

export interface TraitFilter {
  /** one kind, or several (the trait stage reads semantic traits and facts together) */
  kind?: TraitKind | readonly TraitKind[] | undefined;
  key?: string | undefined;
  producer?: string | undefined;
  minConfidence?: number | undefined;
}

/** A text signal an extractor has not read yet. */
export interface UnreadSignal {
  id: number;
  type: string;
  text: string;
  ts: number;
}

export interface NewTrait {
  key: string;
  value: Json;
  kind: TraitKind;
  confidence: number;
  evidence: Evidence[];
  producer: string;
  version: string;
}

/**
 * One step of a trait stage's plan. Ids name rows: a positive id is a stored row, a negative one
 * (`ref`) the row inserted by an earlier `insert` of the same plan.
 */
export type TraitChange =
  | { op: 'insert'; ref: number; trait: NewTrait }
  /** history keeps the row with the time it stopped holding and what replaced it */
  | { op: 'close'; id: number; supersededBy: number | null };

export interface TraitPlan<R> {
  changes: TraitChange[];
  /** pipeline counters (ingest_counters) to bump in the same transaction */
  counters?: { metric: string; key: string; n: number }[];
  result: R;
}

export interface TraitMergeInput<R> {
  userId: number;
  /** the kinds `plan` sees (and changes): one, or several merged in one transaction */
  kind: TraitKind | readonly TraitKind[];
  now: number;
  /** decides the changes from the user's current traits of `kind`, read inside the transaction */
  plan(current: readonly Trait[]): TraitPlan<R>;
  /** signals read by `producer@version`, marked in the same transaction */
  markRead?: { eventIds: readonly number[]; producer: string; version: string };
}

export interface TraitMergeResult<R> {
  result: R;
  /** ids of inserted rows by their plan ref */
  inserted: Map<number, number>;
  /** the user's new profile version, or null when no row changed */
  profileVersion: number | null;
}

/** A computed or predicted value from one producer; `value: null` closes the current row. */
export interface ReplacementRow {
  userId: number;
  key: string;
  value: Json | null;
  confidence: number;
  version: string;
}

export interface ReplaceResult {
  written: number;
  closed: number;
  /** new profile version per user whose traits changed */
  profileVersions: Map<number, number>;
}

export interface TraitStore {
  /**
   * The user's current traits (valid_to is null): the ONE query every reader uses (API, summary,
   * profile vector, merge), sorted by kind, key, confidence (highest first), then id.
   */
  current(userId: number, filter?: TraitFilter): Promise<Trait[]>;
  /**
   * `current(userId)` (no filter) for many users at once, one statement per 64 users (the
   * similar-users answer explains each neighbour): each user's list in the same order; users with
   * no current trait map to [].
   */
  currentOfMany(userIds: readonly number[]): Promise<Map<number, Trait[]>>;
  /** Every version of a key, newest first. */
  history(userId: number, key: string): Promise<Trait[]>;
  /**
   * A trait stage's changes in one transaction: reads the current rows of `kind`, lets `plan`
   * decide the inserts and closes, writes them, bumps the profile version when anything changed,
   * bumps the counters and marks the signals read.
   */
  merge<R>(input: TraitMergeInput<R>): Promise<TraitMergeResult<R>>;
  /**
   * Several merges (several users' trait stages) in ONE transaction, each exactly as `merge`
   * would run it, in order: one commit (one fsync under synchronous FULL) for the lot. All land or
   * none does: a failure rolls every one back, read marks included.
   */
  mergeMany<R>(inputs: readonly TraitMergeInput<R>[]): Promise<TraitMergeResult<R>[]>;
  /**
   * Replaces one producer's traits of `kind` (computed features, model predictions) in one
   * transaction: per row, an unchanged value (same value and version, confidence within
   * `confidenceTolerance`) is left alone, a new one supersedes the current row, `null` closes it.
   */
  replaceTraits(kind: TraitKind, producer: string, rows: readonly ReplacementRow[], opts: { now: number; confidenceTolerance?: number }): Promise<ReplaceResult>;
  /** Text signals of a user that `producer@version` has not read yet, oldest first. */
  unreadSignals(userId: number, producer: string, version: string): Promise<UnreadSignal[]>;
  markSignalsRead(eventIds: readonly number[], producer: string, version: string, now: number): Promise<void>;
  /** Forgets which of the user's signals were read, so the next run re-reads them all; returns how many. */
  forgetSignalsRead(userId: number): Promise<number>;
  /**
   * Forgets the user's read marks and queues a refresh job in one transaction (an on-demand
   * re-read); returns how many signals will be re-read.
   */
  requestReread(userId: number, now: number): Promise<number>;
}

export interface TraitRow {
  id: number;
  key: string;
  value: string;
  kind: TraitKind;
  confidence: number;
  evidence: string;
  producer: string;
  version: string;
  validFrom: number;
  validTo: number | null;
  supersededBy: number | null;
}

const FORGET_SQL = 'DELETE FROM signal_extractions WHERE event_id IN (SELECT id FROM events WHERE user_id = ?)';

const COLS = 'id, key, value, kind, confidence, evidence, producer, version, valid_from AS "validFrom", valid_to AS "validTo", superseded_by AS "supersededBy"';

/** A user's current traits, as `current(userId)` with no filter reads them (the profile read runs it in its snapshot). */
export const CURRENT_TRAITS_SQL = `SELECT ${COLS} FROM traits WHERE user_id = ? AND valid_to IS NULL ORDER BY kind, key, confidence DESC, id`;

export const toTrait = (r: TraitRow): Trait => ({
  id: Number(r.id),
  key: r.key,
  value: JSON.parse(r.value) as Json,
  kind: r.kind,
  confidence: Number(r.confidence),
  evidence: JSON.parse(r.evidence) as Evidence[],
  producer: r.producer,
  version: r.version,
  validFrom: Number(r.validFrom),
  validTo: r.validTo === null ? null : Number(r.validTo),
  supersededBy: r.supersededBy === null ? null : Number(r.supersededBy),
});

/** `currentOfMany` reads this many users per statement (a fixed list, padded with NULL, so one prepared statement serves every call). */
const MANY_CHUNK = 64;
const MANY_LIST = Array(MANY_CHUNK).fill('?').join(', ');

export class SqlTraitStore implements TraitStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  current(userId: number, filter: TraitFilter = {}): Promise<Trait[]> {
    return currentOn(this.x, userId, filter);
  }

  async currentOfMany(userIds: readonly number[]): Promise<Map<number, Trait[]>> {
    const ids = [...new Set(userIds)];
    const out = new Map<number, Trait[]>(ids.map((id) => [id, []]));
    for (let i = 0; i < ids.length; i += MANY_CHUNK) {
      const chunk: (number | null)[] = ids.slice(i, i + MANY_CHUNK);
      while (chunk.length < MANY_CHUNK) chunk.push(null);
      const rows = await this.x.all<TraitRow & { userId: number }>(
        `SELECT user_id AS "userId", ${COLS} FROM traits WHERE user_id IN (${MANY_LIST}) AND valid_to IS NULL ORDER BY user_id, kind, key, confidence DESC, id`,
        chunk,
      );
      for (const r of rows) out.get(Number(r.userId))?.push(toTrait(r));
    }
    return out;
  }

  async history(userId: number, key: string): Promise<Trait[]> {
    const rows = await this.x.all<TraitRow>(`SELECT ${COLS} FROM traits WHERE user_id = ? AND key = ? ORDER BY valid_from DESC, id DESC`, [userId, key]);
    return rows.map(toTrait);
  }

  merge<R>(input: TraitMergeInput<R>): Promise<TraitMergeResult<R>> {
    return this.x.tx((q) => mergeOn(q, input));
  }

  mergeMany<R>(inputs: readonly TraitMergeInput<R>[]): Promise<TraitMergeResult<R>[]> {
    if (!inputs.length) return Promise.resolve([]);
    return this.x.tx(async (q) => {
      const out: TraitMergeResult<R>[] = [];
      for (const input of inputs) out.push(await mergeOn(q, input));
      return out;
    });
  }

  replaceTraits(kind: TraitKind, producer: string, rows: readonly ReplacementRow[], opts: { now: number; confidenceTolerance?: number }): Promise<ReplaceResult> {
    const tolerance = opts.confidenceTolerance ?? 0;
    return this.x.tx(async (q) => {
      const out: ReplaceResult = { written: 0, closed: 0, profileVersions: new Map() };
      const changed = new Set<number>();
      // The current rows of every user in the call, read once (not one query per row). A row whose
      // user and key an earlier row of this call already wrote reads them again: it sees that write.
      const before = await currentOfProducer(
        q,
        kind,
        producer,
        rows.map((r) => r.userId),
      );
      const touched = new Set<string>();
      for (const r of rows) {
        const slot = `${r.userId}\u0000${r.key}`;
        const prev = touched.has(slot) ? (await currentOn(q, r.userId, { kind, key: r.key, producer }))[0] : before.get(slot);
        touched.add(slot);
        if (r.value === null) {
          if (!prev) continue;
          await closeRow(q, prev.id, opts.now, null);
          out.closed++;
          changed.add(r.userId);
          continue;
        }
        if (prev && prev.version === r.version && JSON.stringify(prev.value) === JSON.stringify(r.value) && Math.abs(prev.confidence - r.confidence) <= tolerance) continue;
        const id = await insertRow(q, r.userId, { key: r.key, value: r.value, kind, confidence: r.confidence, evidence: [], producer, version: r.version }, opts.now);
        if (prev) {
          await closeRow(q, prev.id, opts.now, id);
          out.closed++;
        }
        out.written++;
        changed.add(r.userId);
      }
      for (const u of changed) out.profileVersions.set(u, await bumpProfileVersion(q, u, opts.now));
      return out;
    });
  }

  unreadSignals(userId: number, producer: string, version: string): Promise<UnreadSignal[]> {
    return this.x
      .all<UnreadSignal>(
        `SELECT e.id, e.type, e.text, e.ts FROM events e
         WHERE e.user_id = ? AND e.text IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM signal_extractions s WHERE s.event_id = e.id AND s.producer = ? AND s.version = ?)
         ORDER BY e.ts, e.id`,
        [userId, producer, version],
      )
      .then((rows) => rows.map((r) => ({ id: Number(r.id), type: r.type, text: r.text, ts: Number(r.ts) })));
  }

  markSignalsRead(eventIds: readonly number[], producer: string, version: string, now: number): Promise<void> {
    if (!eventIds.length) return Promise.resolve();
    return this.x.tx((q) => markRead(q, eventIds, producer, version, now));
  }

  async forgetSignalsRead(userId: number): Promise<number> {
    const r = await this.x.run(FORGET_SQL, [userId]);
    return r.changes;
  }

  requestReread(userId: number, now: number): Promise<number> {
    return this.x.tx(async (q) => {
      const r = await q.run(FORGET_SQL, [userId]);
      await q.run(ENQUEUE_JOB_SQL, enqueueParams(REFRESH_JOB, userId, {}, now));
      return r.changes;
    });
  }
}

/** One merge on an open transaction: read the current rows, plan, write, bump, count, mark read. */
async function mergeOn<R>(q: Queryable, input: TraitMergeInput<R>): Promise<TraitMergeResult<R>> {
  const current = await currentOn(q, input.userId, { kind: input.kind });
  const plan = input.plan(current);
  const inserted = await applyChanges(q, input.userId, plan.changes, input.now);
  const profileVersion = plan.changes.length ? await bumpProfileVersion(q, input.userId, input.now) : null;
  for (const c of plan.counters ?? []) await bumpCounter(q, c.metric, c.key, c.n);
  if (input.markRead) await markRead(q, input.markRead.eventIds, input.markRead.producer, input.markRead.version, input.now);
  return { result: plan.result, inserted, profileVersion };
}

async function currentOn(q: Queryable, userId: number, f: TraitFilter): Promise<Trait[]> {
  const conds = ['user_id = ?', 'valid_to IS NULL'];
  const params: unknown[] = [userId];
  if (typeof f.kind === 'string') {
    conds.push('kind = ?');
    params.push(f.kind);
  } else if (f.kind) {
    if (!f.kind.length) return [];
    conds.push(`kind IN (${f.kind.map(() => '?').join(', ')})`);
    params.push(...f.kind);
  }
  if (f.key) {
    conds.push('key = ?');
    params.push(f.key);
  }
  if (f.producer) {
    conds.push('producer = ?');
    params.push(f.producer);
  }
  if (f.minConfidence !== undefined) {
    conds.push('confidence >= ?');
    params.push(f.minConfidence);
  }
  const rows = await q.all<TraitRow>(`SELECT ${COLS} FROM traits WHERE ${conds.join(' AND ')} ORDER BY kind, key, confidence DESC, id`, params);
  return rows.map(toTrait);
}

/**
 * The current rows of one producer and kind for several users, as `currentOn` with a key filter
 * would return first for each (user, key): highest confidence, then lowest id. One statement per
 * 64 users (the padded list `currentOfMany` uses).
 */
async function currentOfProducer(q: Queryable, kind: TraitKind, producer: string, userIds: readonly number[]): Promise<Map<string, Trait>> {
  const ids = [...new Set(userIds)];
  const out = new Map<string, Trait>();
  for (let i = 0; i < ids.length; i += MANY_CHUNK) {
    const chunk: (number | null)[] = ids.slice(i, i + MANY_CHUNK);
    while (chunk.length < MANY_CHUNK) chunk.push(null);
    const rows = await q.all<TraitRow & { userId: number }>(
      `SELECT user_id AS "userId", ${COLS} FROM traits WHERE user_id IN (${MANY_LIST}) AND valid_to IS NULL AND kind = ? AND producer = ? ORDER BY user_id, key, confidence DESC, id`,
      [...chunk, kind, producer],
    );
    for (const r of rows) {
      const slot = `${Number(r.userId)}\u0000${r.key}`;
      if (!out.has(slot)) out.set(slot, toTrait(r));
    }
  }
  return out;
}

async function insertRow(q: Queryable, userId: number, t: NewTrait, now: number): Promise<number> {
  const r = await q.get<{ id: number }>(
    `INSERT INTO traits (user_id, key, value, kind, confidence, evidence, producer, version, valid_from)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [userId, t.key, JSON.stringify(t.value), t.kind, t.confidence, JSON.stringify(t.evidence), t.producer, t.version, now],
  );
  return Number(r!.id);
}

async function closeRow(q: Queryable, id: number, now: number, supersededBy: number | null): Promise<void> {
  await q.run('UPDATE traits SET valid_to = ?, superseded_by = ? WHERE id = ?', [now, supersededBy, id]);
}

async function applyChanges(q: Queryable, userId: number, changes: readonly TraitChange[], now: number): Promise<Map<number, number>> {
  const inserted = new Map<number, number>();
  const idOf = (ref: number) => {
    if (ref > 0) return ref;
    const id = inserted.get(ref);
    if (id === undefined) throw new Error(`trait plan refers to row ${ref} before inserting it`);
    return id;
  };
  for (const c of changes) {
    if (c.op === 'insert') inserted.set(c.ref, await insertRow(q, userId, c.trait, now));
    else await closeRow(q, idOf(c.id), now, c.supersededBy === null ? null : idOf(c.supersededBy));
  }
  return inserted;
}

async function bumpProfileVersion(q: Queryable, userId: number, now: number): Promise<number> {
  const r = await q.get<{ v: number }>('UPDATE users SET profile_version = profile_version + 1, updated_at = ? WHERE id = ? RETURNING profile_version AS v', [now, userId]);
  return Number(r?.v ?? 0);
}

async function bumpCounter(q: Queryable, metric: string, key: string, n: number): Promise<void> {
  if (n === 0) return;
  await q.run(BUMP_COUNTER_SQL, [metric, key, n]);
}

async function markRead(q: Queryable, eventIds: readonly number[], producer: string, version: string, now: number): Promise<void> {
  for (const id of eventIds) {
    await q.run('INSERT INTO signal_extractions (event_id, producer, version, extracted_at) VALUES (?, ?, ?, ?) ON CONFLICT (event_id, producer, version) DO NOTHING', [
      id,
      producer,
      version,
      now,
    ]);
  }
}
