import type { Db } from './connection.ts';

/** SQL for user vectors, profile meta, summaries and segments (src/profile, src/similar, src/segments). */

export const toBlob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const fromBlob = (b: Buffer): Float32Array => {
  // Copy: a Buffer from SQLite may not be 4-byte aligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

export interface ProfileRow {
  userId: number;
  version: string;
  dim: number;
  vector: Float32Array;
  blocks: Record<string, boolean>;
  profileVersion: number;
  updatedAt: number;
}

interface RawProfile {
  user_id: number;
  version: string;
  dim: number;
  vector: Buffer;
  blocks: string;
  profile_version: number;
  updated_at: number;
}
const toRow = (r: RawProfile): ProfileRow => ({
  userId: r.user_id,
  version: r.version,
  dim: r.dim,
  vector: fromBlob(r.vector),
  blocks: JSON.parse(r.blocks) as Record<string, boolean>,
  profileVersion: r.profile_version,
  updatedAt: r.updated_at,
});

/** Writes a vector; `updated_at` strictly increases per row (the index owner's sync keys on it). */
export function upsertProfile(db: Db, p: Omit<ProfileRow, 'dim'>): void {
  db.sqlite
    .prepare(
      `INSERT INTO user_profiles (user_id, version, dim, vector, blocks, profile_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, dim = excluded.dim, vector = excluded.vector,
         blocks = excluded.blocks, profile_version = excluded.profile_version,
         updated_at = max(excluded.updated_at, user_profiles.updated_at + 1)`,
    )
    .run(p.userId, p.version, p.vector.length, toBlob(p.vector), JSON.stringify(p.blocks), p.profileVersion, p.updatedAt);
}

export function deleteProfile(db: Db, userId: number): boolean {
  return db.stmt('DELETE FROM user_profiles WHERE user_id = ?').run(userId).changes > 0;
}

export function deleteProfilesNotOfVersion(db: Db, version: string): number {
  return db.stmt('DELETE FROM user_profiles WHERE version != ?').run(version).changes;
}

export function getProfile(db: Db, userId: number): ProfileRow | null {
  const r = db.stmt('SELECT * FROM user_profiles WHERE user_id = ?').get(userId) as RawProfile | undefined;
  return r ? toRow(r) : null;
}

export function getProfiles(db: Db, userIds: readonly number[]): Map<number, ProfileRow> {
  const out = new Map<number, ProfileRow>();
  const stmt = db.stmt('SELECT * FROM user_profiles WHERE user_id = ?');
  for (const id of userIds) {
    const r = stmt.get(id) as RawProfile | undefined;
    if (r) out.set(id, toRow(r));
  }
  return out;
}

/** Rows changed at or after `since` (epoch ms), oldest first. */
export function* profilesChangedSince(db: Db, since: number): Generator<ProfileRow> {
  // A fresh statement: a cached one would be busy if two iterations overlap.
  for (const r of db.sqlite.prepare('SELECT * FROM user_profiles WHERE updated_at >= ? ORDER BY updated_at, user_id').iterate(since) as Iterable<RawProfile>)
    yield toRow(r);
}

/** (user, updated_at, version) of rows changed at or after `since`: cheap, no vectors. */
export function profileChangesSince(db: Db, since: number): { userId: number; updatedAt: number; version: string }[] {
  return db.sqlite
    .prepare('SELECT user_id AS userId, updated_at AS updatedAt, version FROM user_profiles WHERE updated_at >= ? ORDER BY updated_at, user_id')
    .all(since) as { userId: number; updatedAt: number; version: string }[];
}

/** Every row of one vector version (a full rebuild). */
export function* profilesOfVersion(db: Db, version: string): Generator<ProfileRow> {
  for (const r of db.sqlite.prepare('SELECT * FROM user_profiles WHERE version = ? ORDER BY user_id').iterate(version) as Iterable<RawProfile>) yield toRow(r);
}

export function profileIdsOfVersion(db: Db, version: string): number[] {
  return (db.stmt('SELECT user_id FROM user_profiles WHERE version = ?').pluck().all(version) as number[]);
}

export function countProfiles(db: Db, version?: string): number {
  return (version === undefined
    ? db.stmt('SELECT count(*) FROM user_profiles').pluck().get()
    : db.stmt('SELECT count(*) FROM user_profiles WHERE version = ?').pluck().get(version)) as number;
}

export function maxProfileUpdatedAt(db: Db): number {
  return (db.stmt('SELECT coalesce(max(updated_at), 0) FROM user_profiles').pluck().get() as number) ?? 0;
}

export function getMeta(db: Db, key: string): { value: string; updatedAt: number } | null {
  const r = db.stmt('SELECT value, updated_at FROM profile_meta WHERE key = ?').get(key) as { value: string; updated_at: number } | undefined;
  return r ? { value: r.value, updatedAt: r.updated_at } : null;
}

export function setMeta(db: Db, key: string, value: string, now = Date.now()): void {
  db.sqlite
    .prepare('INSERT INTO profile_meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
    .run(key, value, now);
}

/** Users with events (the ones a profile can be built for), ascending. */
export function userIdsWithEvents(db: Db): number[] {
  return db.stmt('SELECT id FROM users WHERE event_count > 0 ORDER BY id').pluck().all() as number[];
}

/** The public id of each user: the external id, else the first anonymous alias. */
export function publicIds(db: Db, userIds: readonly number[]): Map<number, string> {
  const out = new Map<number, string>();
  const stmt = db.stmt(
    `SELECT coalesce(u.external_id, (SELECT alias FROM identities i WHERE i.user_id = u.id ORDER BY i.id LIMIT 1)) FROM users u WHERE u.id = ?`,
  ).pluck();
  for (const id of userIds) {
    const v = stmt.get(id) as string | null | undefined;
    if (v) out.set(id, v);
  }
  return out;
}

/** Users (among `userIds`) whose effective consent has `flag`; `def` is the configured default. */
export function usersWithConsent(db: Db, userIds: readonly number[], flag: string, def: boolean): Set<number> {
  const out = new Set<number>();
  const stmt = db.stmt(`SELECT coalesce(json_extract(consent, '$.' || ?), ?) FROM users WHERE id = ?`).pluck();
  for (const id of userIds) if (stmt.get(flag, def ? 1 : 0, id) === 1) out.add(id);
  return out;
}

// ---- summaries -------------------------------------------------------------------------------

export function getSummary(db: Db, userId: number, profileVersion: number, audience: string, generator: string): { text: string; createdAt: number } | null {
  const r = db.sqlite
    .prepare('SELECT text, created_at FROM summaries WHERE user_id = ? AND profile_version = ? AND audience = ? AND generator = ?')
    .get(userId, profileVersion, audience, generator) as { text: string; created_at: number } | undefined;
  return r ? { text: r.text, createdAt: r.created_at } : null;
}

/** Stores a summary and drops the user's summaries of older profile versions (they can never be served again). */
export function putSummary(db: Db, userId: number, profileVersion: number, audience: string, generator: string, text: string, now = Date.now()): void {
  db.sqlite.transaction(() => {
    db.stmt('DELETE FROM summaries WHERE user_id = ? AND profile_version < ?').run(userId, profileVersion);
    db.sqlite
      .prepare('INSERT OR REPLACE INTO summaries (user_id, profile_version, audience, generator, text, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(userId, profileVersion, audience, generator, text, now);
  }).immediate();
}

// ---- segments --------------------------------------------------------------------------------

export interface SegmentRow {
  id: number;
  name: string;
  description: string | null;
  filter: string;
  createdAt: number;
  updatedAt: number;
}
interface RawSegment {
  id: number;
  name: string;
  description: string | null;
  filter: string;
  created_at: number;
  updated_at: number;
}
const toSegment = (r: RawSegment): SegmentRow => ({ id: r.id, name: r.name, description: r.description, filter: r.filter, createdAt: r.created_at, updatedAt: r.updated_at });

export function insertSegment(db: Db, s: { name: string; description: string | null; filter: string }, now = Date.now()): SegmentRow {
  const r = db.sqlite
    .prepare('INSERT INTO segments (name, description, filter, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING *')
    .get(s.name, s.description, s.filter, now, now) as RawSegment;
  return toSegment(r);
}

export function getSegment(db: Db, id: number): SegmentRow | null {
  const r = db.stmt('SELECT * FROM segments WHERE id = ?').get(id) as RawSegment | undefined;
  return r ? toSegment(r) : null;
}

export function listSegments(db: Db): SegmentRow[] {
  return (db.stmt('SELECT * FROM segments ORDER BY id').all() as RawSegment[]).map(toSegment);
}

/** Runs a compiled segment condition (SQL over `users u`, from src/segments/dsl.ts) and returns matching user ids, ascending. */
export function selectUserIds(db: Db, where: string, params: readonly unknown[]): number[] {
  return db.stmt(`SELECT u.id FROM users u WHERE ${where} ORDER BY u.id`).pluck().all(...params) as number[];
}

// ---- recommendations -------------------------------------------------------------------------

export interface EngagementRow {
  userId: number;
  type: string;
  productId: string | null;
  category: string | null;
  n: number;
}

/** Product engagements (by item and category) of the given users, for the given event types. */
export function engagements(db: Db, userIds: readonly number[], types: readonly string[]): EngagementRow[] {
  if (!userIds.length || !types.length) return [];
  const out: EngagementRow[] = [];
  const stmt = db.stmt(
    `SELECT user_id AS userId, type, CAST(json_extract(properties, '$.product_id') AS TEXT) AS productId,
            CAST(json_extract(properties, '$.category') AS TEXT) AS category, count(*) AS n
     FROM events WHERE user_id = ? AND type IN (${types.map(() => '?').join(', ')})
     GROUP BY type, productId, category`,
  );
  for (const id of userIds) out.push(...(stmt.all(id, ...types) as EngagementRow[]));
  return out;
}
