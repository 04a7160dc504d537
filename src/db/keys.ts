import { eq, isNull } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import { SCOPES, type Scope } from '../core/types.ts';
import type { Db } from './connection.ts';
import { apiKeys } from './schema.ts';

export interface CreatedKey {
  id: string;
  name: string;
  scopes: Scope[];
  /** shown once; only its sha256 is stored */
  secret: string;
  createdAt: string;
}
export interface KeyInfo {
  id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

// A 256-bit random secret needs no slow password hash: sha256 cannot be brute-forced back.
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function parseScopes(raw: string | readonly string[]): Scope[] {
  const list = (typeof raw === 'string' ? raw.split(',') : [...raw]).map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length || list.length === 0)
    throw new ValidationError(`scopes must be a comma-separated list of ${SCOPES.join(', ')}`, { field: 'scopes', invalid: bad });
  return [...new Set(list)] as Scope[];
}

export function createApiKey(db: Db, name: string, scopes: Scope[], now = Date.now()): CreatedKey {
  if (!name.trim()) throw new ValidationError('name must not be empty', { field: 'name' });
  const id = `key_${randomBytes(6).toString('hex')}`;
  const secret = `tlk_${randomBytes(32).toString('base64url')}`;
  db.orm
    .insert(apiKeys)
    .values({ id, name: name.trim(), secretHash: hashSecret(secret), prefix: secret.slice(0, 10), scopes: JSON.stringify(scopes), createdAt: now })
    .run();
  return { id, name: name.trim(), scopes, secret, createdAt: new Date(now).toISOString() };
}

/** The key a secret belongs to, or null when it is unknown or revoked. */
export function verifyApiKey(db: Db, secret: string): { id: string; scopes: Scope[] } | null {
  // Every request runs this: a cached raw statement, not a query built per call.
  const row = db.stmt('SELECT id, scopes, revoked_at FROM api_keys WHERE secret_hash = ?').get(hashSecret(secret)) as
    | { id: string; scopes: string; revoked_at: number | null }
    | undefined;
  if (!row || row.revoked_at !== null) return null;
  return { id: row.id, scopes: JSON.parse(row.scopes) as Scope[] };
}

export function touchApiKey(db: Db, id: string, now = Date.now()): void {
  db.orm.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, id)).run();
}

export function listApiKeys(db: Db, opts: { includeRevoked?: boolean } = {}): KeyInfo[] {
  const q = db.orm.select().from(apiKeys);
  const rows = (opts.includeRevoked ? q : q.where(isNull(apiKeys.revokedAt))).orderBy(apiKeys.createdAt).all();
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    scopes: JSON.parse(r.scopes) as Scope[],
    prefix: r.prefix,
    createdAt: new Date(r.createdAt).toISOString(),
    lastUsedAt: iso(r.lastUsedAt),
    revokedAt: iso(r.revokedAt),
  }));
}

export function revokeApiKey(db: Db, id: string, now = Date.now()): void {
  const r = db.orm.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, id)).run();
  if (r.changes === 0) throw new NotFoundError(`no API key ${id}`);
}
