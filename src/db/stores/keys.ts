import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { SCOPES, type Scope } from '../../core/types.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';
import { SqliteExecutor } from '../sql/sqlite-executor.ts';

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

/** API keys: only a hash of each secret is kept. */
export interface KeyStore {
  /**
   * Creates a key. `secret` is for callers that must know it before the key is written (test
   * fixtures); it must look like a generated one (`newKeySecret()`). Default: a fresh random one.
   */
  create(name: string, scopes: readonly Scope[], opts?: { now?: number; secret?: string }): Promise<CreatedKey>;
  /** The key a secret belongs to, or null when it is unknown or revoked. */
  verify(secret: string): Promise<{ id: string; scopes: Scope[] } | null>;
  /** Records a use (callers throttle: it is a write). On SQLite skipped, not waited for, while another connection holds the write lock. */
  touch(id: string, now?: number): Promise<void>;
  /** Oldest first; revoked keys only with `includeRevoked`. */
  list(opts?: { includeRevoked?: boolean }): Promise<KeyInfo[]>;
  /** Revokes a key for good; NotFoundError for an unknown id. */
  revoke(id: string, now?: number): Promise<void>;
}

// A 256-bit random secret needs no slow password hash: sha256 cannot be brute-forced back.
const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');
const SECRET_FORMAT = /^tlk_[A-Za-z0-9_-]{43}$/;

/** A fresh key secret: `tlk_` + 256 random bits, base64url. */
export const newKeySecret = () => `tlk_${randomBytes(32).toString('base64url')}`;

export function parseScopes(raw: string | readonly string[]): Scope[] {
  const list = (typeof raw === 'string' ? raw.split(',') : [...raw]).map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length || list.length === 0) throw new ValidationError(`scopes must be a comma-separated list of ${SCOPES.join(', ')}`, { field: 'scopes', invalid: bad });
  return [...new Set(list)] as Scope[];
}

const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());

export class SqlKeyStore implements KeyStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async create(name: string, scopes: readonly Scope[], opts: { now?: number; secret?: string } = {}): Promise<CreatedKey> {
    const trimmed = name.trim();
    if (!trimmed) throw new ValidationError('name must not be empty', { field: 'name' });
    const valid = parseScopes(scopes);
    const secret = opts.secret ?? newKeySecret();
    if (!SECRET_FORMAT.test(secret)) throw new ValidationError('a key secret must be tlk_ followed by 43 base64url characters', { field: 'secret' });
    const now = opts.now ?? Date.now();
    const id = `key_${randomBytes(6).toString('hex')}`;
    await this.x.run('INSERT INTO api_keys (id, name, secret_hash, prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      id,
      trimmed,
      hashSecret(secret),
      secret.slice(0, 10),
      JSON.stringify(valid),
      now,
    ]);
    return { id, name: trimmed, scopes: valid, secret, createdAt: new Date(now).toISOString() };
  }

  async verify(secret: string): Promise<{ id: string; scopes: Scope[] } | null> {
    // Every request runs this: one constant statement (prepared once per connection on SQLite).
    const row = await this.x.get<{ id: string; scopes: string; revokedAt: number | null }>('SELECT id, scopes, revoked_at AS "revokedAt" FROM api_keys WHERE secret_hash = ?', [
      hashSecret(secret),
    ]);
    if (!row || row.revokedAt !== null) return null;
    return { id: row.id, scopes: JSON.parse(row.scopes) as Scope[] };
  }

  async touch(id: string, now = Date.now()): Promise<void> {
    const sql = 'UPDATE api_keys SET last_used_at = ? WHERE id = ?';
    // SQLite: on the serving thread, a use is not worth waiting for the write lock (the busy handler
    // sleeps on the event loop, stalling every request): skipped while another connection writes.
    if (this.x instanceof SqliteExecutor) await this.x.tryRun(sql, [now, id]);
    else await this.x.run(sql, [now, id]);
  }

  async list(opts: { includeRevoked?: boolean } = {}): Promise<KeyInfo[]> {
    const rows = await this.x.all<{ id: string; name: string; scopes: string; prefix: string; createdAt: number; lastUsedAt: number | null; revokedAt: number | null }>(
      `SELECT id, name, scopes, prefix, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
       FROM api_keys ${opts.includeRevoked ? '' : 'WHERE revoked_at IS NULL '}ORDER BY created_at, id`,
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      scopes: JSON.parse(r.scopes) as Scope[],
      prefix: r.prefix,
      createdAt: new Date(Number(r.createdAt)).toISOString(),
      lastUsedAt: iso(r.lastUsedAt),
      revokedAt: iso(r.revokedAt),
    }));
  }

  async revoke(id: string, now = Date.now()): Promise<void> {
    // Revoking twice keeps the first time: the key stopped working then.
    const r = await this.x.run('UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?', [now, id]);
    if (r.changes === 0) throw new NotFoundError(`no API key ${id}`);
  }
}
