import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** A text signal without a vector from a given embedder. */
export interface SignalText {
  id: number;
  text: string;
}

export interface StoredVector {
  vector: Float32Array;
  /** epoch ms of the signal (for recency weights) */
  ts: number;
}

export interface UserEmbedding {
  vector: Float32Array;
  signals: number;
  dim: number;
  updatedAt: number;
}

/**
 * Per-signal and per-user text embeddings. Rows carry the embedder id and dimension, so switching
 * embedder re-embeds and never mixes dimensions.
 */
export interface EmbeddingStore {
  /** The user's text signals with no vector from `embedderId` yet, by id. */
  signalsToEmbed(userId: number, embedderId: string): Promise<SignalText[]>;
  /** Stores one batch of signal vectors in one transaction (replacing any earlier vector). */
  putSignalEmbeddings(userId: number, embedderId: string, dim: number, rows: readonly { eventId: number; vector: Float32Array }[], now: number): Promise<void>;
  /** Every signal vector of the user from `embedderId` with that dimension, with the signal's time. */
  signalEmbeddings(userId: number, embedderId: string, dim: number): Promise<StoredVector[]>;
  putUserEmbedding(userId: number, embedderId: string, vector: Float32Array, signals: number, now: number): Promise<void>;
  getUserEmbedding(userId: number, embedderId: string): Promise<UserEmbedding | null>;
}

export const toBlob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const fromBlob = (b: Uint8Array): Float32Array => {
  // Copy: a Buffer from the driver may not be 4-byte aligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

export class SqlEmbeddingStore implements EmbeddingStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async signalsToEmbed(userId: number, embedderId: string): Promise<SignalText[]> {
    const rows = await this.x.all<SignalText>(
      `SELECT e.id, e.text FROM events e
       WHERE e.user_id = ? AND e.text IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM signal_embeddings x WHERE x.event_id = e.id AND x.embedder_id = ?)
       ORDER BY e.id`,
      [userId, embedderId],
    );
    return rows.map((r) => ({ id: Number(r.id), text: r.text }));
  }

  async putSignalEmbeddings(userId: number, embedderId: string, dim: number, rows: readonly { eventId: number; vector: Float32Array }[], now: number): Promise<void> {
    if (!rows.length) return;
    await this.x.tx(async (q) => {
      for (const r of rows) {
        await q.run(
          `INSERT INTO signal_embeddings (event_id, user_id, embedder_id, dim, vector, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (event_id, embedder_id) DO UPDATE SET user_id = excluded.user_id, dim = excluded.dim, vector = excluded.vector, created_at = excluded.created_at`,
          [r.eventId, userId, embedderId, dim, toBlob(r.vector), now],
        );
      }
    });
  }

  async signalEmbeddings(userId: number, embedderId: string, dim: number): Promise<StoredVector[]> {
    const rows = await this.x.all<{ vector: Uint8Array; ts: number }>(
      `SELECT x.vector, e.ts FROM signal_embeddings x JOIN events e ON e.id = x.event_id
       WHERE x.user_id = ? AND x.embedder_id = ? AND x.dim = ?
       ORDER BY x.event_id`,
      [userId, embedderId, dim],
    );
    return rows.map((r) => ({ vector: fromBlob(r.vector), ts: Number(r.ts) }));
  }

  async putUserEmbedding(userId: number, embedderId: string, vector: Float32Array, signals: number, now: number): Promise<void> {
    await this.x.run(
      `INSERT INTO user_embeddings (user_id, embedder_id, dim, vector, signals, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, embedder_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector, signals = excluded.signals, updated_at = excluded.updated_at`,
      [userId, embedderId, vector.length, toBlob(vector), signals, now],
    );
  }

  async getUserEmbedding(userId: number, embedderId: string): Promise<UserEmbedding | null> {
    const r = await this.x.get<{ vector: Uint8Array; signals: number; dim: number; updatedAt: number }>(
      'SELECT vector, signals, dim, updated_at AS "updatedAt" FROM user_embeddings WHERE user_id = ? AND embedder_id = ?',
      [userId, embedderId],
    );
    return r ? { vector: fromBlob(r.vector), signals: Number(r.signals), dim: Number(r.dim), updatedAt: Number(r.updatedAt) } : null;
  }
}
