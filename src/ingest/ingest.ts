import type { EventOutcome, IngestSummary } from '../core/types.ts';
import type { IngestStore, PendingEvent, PendingRejection } from '../db/ingest-store.ts';
import { cleanEvent, DEFAULT_CLEAN_LIMITS, type CleanLimits } from './clean.ts';

/** A batch after cleaning, before writing: plain data, so it can cross a worker_threads boundary. */
export interface CleanedBatch {
  receivedAt: number;
  /** number of raw events in the batch (indexes run 0..size-1) */
  size: number;
  pending: PendingEvent[];
  /** rejections with their full outcome; `rejections` for the store is derived from these */
  rejected: Extract<EventOutcome, { status: 'rejected' }>[];
}

/** The clean half of `ingestBatch`: pure, no I/O (the import worker runs it off the main thread). */
export function cleanBatch(raw: readonly unknown[], opts: { limits?: CleanLimits; now?: number } = {}): CleanedBatch {
  const receivedAt = opts.now ?? Date.now();
  const limits = opts.limits ?? DEFAULT_CLEAN_LIMITS;
  const pending: PendingEvent[] = [];
  const rejected: CleanedBatch['rejected'] = [];
  for (let index = 0; index < raw.length; index++) {
    const r = cleanEvent(raw[index], receivedAt, limits);
    if (r.ok) pending.push({ index, event: r.event, missing: r.missing });
    else rejected.push({ index, status: 'rejected', ...r.rejection, ...(r.eventId !== undefined ? { eventId: r.eventId } : {}) });
  }
  return { receivedAt, size: raw.length, pending, rejected };
}

/** The write half of `ingestBatch`: one transaction; every event's outcome in batch order. */
export function writeCleanedBatch(store: IngestStore, batch: CleanedBatch): IngestSummary {
  const results: EventOutcome[] = new Array(batch.size);
  const rejections: PendingRejection[] = [];
  for (const r of batch.rejected) {
    results[r.index] = r;
    rejections.push({ index: r.index, reason: r.reason });
  }
  for (const o of store.writeBatch(batch.pending, rejections, batch.receivedAt)) results[o.index] = o;
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (const o of results) {
    if (o.status === 'accepted') accepted++;
    else if (o.status === 'duplicate') duplicates++;
    else rejected++;
  }
  return { accepted, duplicates, rejected, results };
}

/**
 * The ingestion stage, shared by `POST /v1/events` and `traitlens import`: clean each event,
 * write the good ones in one transaction, and report every event's outcome in request order.
 * One bad event never rejects its neighbours. Returns only after the transaction committed.
 */
export function ingestBatch(store: IngestStore, raw: readonly unknown[], opts: { limits?: CleanLimits; now?: number } = {}): IngestSummary {
  return writeCleanedBatch(store, cleanBatch(raw, opts));
}
