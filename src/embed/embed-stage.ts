import type { Db } from '../db/connection.ts';
import type { Embedder } from '../providers/types.ts';
import { redactPii, type RedactOptions } from '../traits/redact.ts';

export interface EmbedReport {
  userId: number;
  embedded: number;
  signals: number;
  embedder: string;
}

export const toBlob = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
export const fromBlob = (b: Buffer): Float32Array => {
  // Copy: a Buffer from SQLite may not be 4-byte aligned for a Float32Array view.
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

/** Recency weight of a signal: halves every `halfLifeDays`. */
export function recencyWeight(ts: number, now: number, halfLifeDays = 30): number {
  return Math.pow(0.5, Math.max(0, now - ts) / (halfLifeDays * 86_400_000));
}

/**
 * Embeds the user's text signals that have no vector from this embedder yet (the redacted text:
 * no PII goes to an embedding endpoint either), then recomputes the user's text vector as the
 * recency-weighted mean of all of them, L2-normalised. Rows carry the embedder id and dimension,
 * so switching embedder re-embeds and never mixes dimensions.
 */
export async function embedUser(db: Db, embedder: Embedder, userId: number, opts: { redact?: RedactOptions; batchSize?: number; now?: number } = {}): Promise<EmbedReport> {
  const s = db.sqlite;
  const todo = s
    .prepare(
      `SELECT e.id, e.text FROM events e
       WHERE e.user_id = ? AND e.text IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM signal_embeddings x WHERE x.event_id = e.id AND x.embedder_id = ?)
       ORDER BY e.id`,
    )
    .all(userId, embedder.id) as { id: number; text: string }[];
  const batchSize = opts.batchSize ?? 64;
  const insert = s.prepare(
    'INSERT OR REPLACE INTO signal_embeddings (event_id, user_id, embedder_id, dim, vector, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const vectors = await embedder.embed(batch.map((r) => redactPii(r.text, opts.redact).text));
    const now = Date.now();
    s.transaction(() => {
      batch.forEach((r, j) => insert.run(r.id, userId, embedder.id, embedder.dim, toBlob(vectors[j] as Float32Array), now));
    }).immediate();
  }
  const all = s
    .prepare(
      `SELECT x.vector, e.ts FROM signal_embeddings x JOIN events e ON e.id = x.event_id
       WHERE x.user_id = ? AND x.embedder_id = ? AND x.dim = ?`,
    )
    .all(userId, embedder.id, embedder.dim) as { vector: Buffer; ts: number }[];
  const now = opts.now ?? Date.now();
  const mean = new Float32Array(embedder.dim);
  for (const r of all) {
    const v = fromBlob(r.vector);
    const w = recencyWeight(r.ts, now);
    for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) + w * (v[k] as number);
  }
  let norm = 0;
  for (const x of mean) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) / norm;
  s.prepare(
    `INSERT INTO user_embeddings (user_id, embedder_id, dim, vector, signals, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, embedder_id) DO UPDATE SET dim = excluded.dim, vector = excluded.vector, signals = excluded.signals, updated_at = excluded.updated_at`,
  ).run(userId, embedder.id, embedder.dim, toBlob(mean), all.length, Date.now());
  return { userId, embedded: todo.length, signals: all.length, embedder: embedder.id };
}

export function getUserEmbedding(db: Db, userId: number, embedderId: string): { vector: Float32Array; signals: number } | null {
  const r = db.stmt('SELECT vector, signals FROM user_embeddings WHERE user_id = ? AND embedder_id = ?').get(userId, embedderId) as
    | { vector: Buffer; signals: number }
    | undefined;
  return r ? { vector: fromBlob(r.vector), signals: r.signals } : null;
}
