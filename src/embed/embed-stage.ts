import type { EmbeddingStore } from '../db/stores/embeddings.ts';
import type { Embedder } from '../providers/types.ts';
import { redactPii, type RedactOptions } from '../traits/redact.ts';

export interface EmbedReport {
  userId: number;
  embedded: number;
  signals: number;
  embedder: string;
}

/** Recency weight of a signal: halves every `halfLifeDays`. */
export function recencyWeight(ts: number, now: number, halfLifeDays = 30): number {
  return 0.5 ** (Math.max(0, now - ts) / (halfLifeDays * 86_400_000));
}

/**
 * Embeds the user's text signals that have no vector from this embedder yet (the redacted text:
 * no PII goes to an embedding endpoint either), then recomputes the user's text vector as the
 * recency-weighted mean of all of them, L2-normalised. Rows carry the embedder id and dimension,
 * so switching embedder re-embeds and never mixes dimensions.
 */
export async function embedUser(
  embeddings: EmbeddingStore,
  embedder: Embedder,
  userId: number,
  opts: { redact?: RedactOptions; batchSize?: number; now?: number } = {},
): Promise<EmbedReport> {
  const todo = await embeddings.signalsToEmbed(userId, embedder.id);
  const batchSize = opts.batchSize ?? 64;
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const vectors = await embedder.embed(batch.map((r) => redactPii(r.text, opts.redact).text));
    await embeddings.putSignalEmbeddings(
      userId,
      embedder.id,
      embedder.dim,
      batch.map((r, j) => ({ eventId: r.id, vector: vectors[j] as Float32Array })),
      Date.now(),
    );
  }
  const all = await embeddings.signalEmbeddings(userId, embedder.id, embedder.dim);
  const now = opts.now ?? Date.now();
  const mean = new Float32Array(embedder.dim);
  for (const r of all) {
    const w = recencyWeight(r.ts, now);
    for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) + w * (r.vector[k] as number);
  }
  let norm = 0;
  for (const x of mean) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let k = 0; k < mean.length; k++) mean[k] = (mean[k] as number) / norm;
  // Unchanged (no new signal; the recency weights only moved with the clock, which normalisation
  // cancels up to rounding): the stored vector stays, so no commit and the user vector stays as it is.
  const old = todo.length === 0 ? await embeddings.getUserEmbedding(userId, embedder.id) : null;
  if (!old || old.signals !== all.length || !close(old.vector, mean)) await embeddings.putUserEmbedding(userId, embedder.id, mean, all.length, Date.now());
  return { userId, embedded: todo.length, signals: all.length, embedder: embedder.id };
}

function close(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs((a[i] as number) - (b[i] as number)) > 1e-6) return false;
  return true;
}
