import { effectiveConsent } from '../core/consent.ts';
import type { Consent, ConsentFlag } from '../core/types.ts';
import type { Db } from './connection.ts';

/**
 * Consent checks for stages and routes. Marketing outputs (audience=marketing summaries, segments,
 * lookalikes) must call `filterByConsent(db, ids, 'marketing', defaults)` (or `hasConsent`) before
 * returning users; profiling stages check `profiling`, anything sending text to a model `llm_processing`.
 */
export function consentOf(db: Db, userId: number, defaults: readonly ConsentFlag[]): Consent {
  const r = db.stmt('SELECT consent FROM users WHERE id = ?').get(userId) as { consent: string | null } | undefined;
  return effectiveConsent(r?.consent ?? null, defaults);
}

export function hasConsent(db: Db, userId: number, flag: ConsentFlag, defaults: readonly ConsentFlag[]): boolean {
  const r = db.stmt('SELECT consent FROM users WHERE id = ?').get(userId) as { consent: string | null } | undefined;
  return r !== undefined && effectiveConsent(r.consent, defaults)[flag];
}

/** The subset of internal user ids that have `flag`, in the input order (unknown ids are dropped). */
export function filterByConsent(db: Db, userIds: readonly number[], flag: ConsentFlag, defaults: readonly ConsentFlag[]): number[] {
  if (!userIds.length) return [];
  const allowed = new Set<number>();
  // Chunks stay under SQLite's bound-parameter limit.
  for (let i = 0; i < userIds.length; i += 500) {
    const chunk = userIds.slice(i, i + 500);
    const rows = db.stmt(`SELECT id, consent FROM users WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as { id: number; consent: string | null }[];
    for (const r of rows) if (effectiveConsent(r.consent, defaults)[flag]) allowed.add(r.id);
  }
  return userIds.filter((id) => allowed.has(id));
}

/**
 * A SQL condition over a `users` alias that keeps only users with `flag`, for queries that select
 * many users at once (segments, lookalikes): `WHERE ${consentSql('u', 'marketing', defaults)}`.
 * A stored flag wins; a missing one falls back to the configured default.
 */
export function consentSql(alias: string, flag: ConsentFlag, defaults: readonly ConsentFlag[]): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(alias)) throw new Error(`bad SQL alias ${alias}`);
  const fallback = defaults.includes(flag) ? 1 : 0;
  // json_extract returns 1/0 for JSON true/false and NULL when the flag is absent or consent is NULL.
  return `coalesce(json_extract(${alias}.consent, '$.${flag}'), ${fallback}) = 1`;
}
