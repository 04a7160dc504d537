import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** What the first request with an `Idempotency-Key` left behind. */
export interface IdempotencyRecord {
  route: string;
  requestHash: string;
  /** null while the first request is still running */
  status: number | null;
  /** the stored answer (opaque to the store: the API encrypts it) */
  response: string | null;
  createdAt: number;
  expiresAt: number;
}

export type IdempotencyBegin = { claimed: true } | { claimed: false; record: IdempotencyRecord };

/**
 * `Idempotency-Key` records, per API key. `begin` claims a key for a new request (an expired record
 * counts as absent and is replaced) or returns the live record; `finish` stores the answer; `abandon`
 * forgets a claim whose request failed, so the retry runs again. Expired records are pruned as new
 * ones are claimed.
 */
export interface IdempotencyStore {
  /** `staleMs`: an unanswered claim older than this (its request died with its process) counts as absent. */
  begin(apiKeyId: string, key: string, rec: { route: string; requestHash: string; ttlMs: number; staleMs: number }, now?: number): Promise<IdempotencyBegin>;
  finish(apiKeyId: string, key: string, status: number, response: string): Promise<void>;
  abandon(apiKeyId: string, key: string): Promise<void>;
  /** Deletes expired records; returns how many. */
  prune(now?: number): Promise<number>;
}

const COLUMNS = 'route, request_hash AS "requestHash", status, response, created_at AS "createdAt", expires_at AS "expiresAt"';

export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly x: Executor,
    _d: Dialect,
  ) {}

  async begin(apiKeyId: string, key: string, rec: { route: string; requestHash: string; ttlMs: number; staleMs: number }, now = Date.now()): Promise<IdempotencyBegin> {
    return this.x.tx(async (q) => {
      // Expired records go first (this one included), so a key can be used again after its expiry.
      await q.run('DELETE FROM idempotency_keys WHERE expires_at <= ?', [now]);
      await q.run('DELETE FROM idempotency_keys WHERE api_key_id = ? AND key = ? AND status IS NULL AND created_at <= ?', [apiKeyId, key, now - rec.staleMs]);
      const inserted = await q.get(
        `INSERT INTO idempotency_keys (api_key_id, key, route, request_hash, status, response, created_at, expires_at)
         VALUES (?, ?, ?, ?, NULL, NULL, ?, ?) ON CONFLICT (api_key_id, key) DO NOTHING RETURNING key`,
        [apiKeyId, key, rec.route, rec.requestHash, now, now + rec.ttlMs],
      );
      if (inserted) return { claimed: true } as const;
      const record = await q.get<IdempotencyRecord>(`SELECT ${COLUMNS} FROM idempotency_keys WHERE api_key_id = ? AND key = ?`, [apiKeyId, key]);
      return {
        claimed: false,
        record: { ...record!, status: record!.status === null ? null : Number(record!.status), createdAt: Number(record!.createdAt), expiresAt: Number(record!.expiresAt) },
      } as const;
    });
  }

  async finish(apiKeyId: string, key: string, status: number, response: string): Promise<void> {
    await this.x.run('UPDATE idempotency_keys SET status = ?, response = ? WHERE api_key_id = ? AND key = ?', [status, response, apiKeyId, key]);
  }

  async abandon(apiKeyId: string, key: string): Promise<void> {
    await this.x.run('DELETE FROM idempotency_keys WHERE api_key_id = ? AND key = ? AND status IS NULL', [apiKeyId, key]);
  }

  async prune(now = Date.now()): Promise<number> {
    return (await this.x.run('DELETE FROM idempotency_keys WHERE expires_at <= ?', [now])).changes;
  }
}
