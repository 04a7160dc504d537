import type { EventOutcome, IngestSummary } from '../core/types.ts';
import { IngestStore } from '../db/ingest-store.ts';
import type { EventStore, PendingEvent, PendingRejection } from '../db/stores/events.ts';
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
    if (r.ok) pending.push({ index, event: r.event, missing: r.missing, propertiesJson: r.propertiesJson });
    else rejected.push({ index, status: 'rejected', ...r.rejection, ...(r.eventId !== undefined ? { eventId: r.eventId } : {}) });
  }
  return { receivedAt, size: raw.length, pending, rejected };
}

/** Events cleaned between two yields to the event loop (~0.3 ms of work on the benchmark batch). */
const CLEAN_SLICE = 64;

/**
 * `cleanBatch` in slices with a yield to the event loop between them, for the serving thread: a
 * large batch's validation no longer runs as one block while other requests (a health check, a
 * profile read) wait. Same result as `cleanBatch`.
 */
export async function cleanBatchSliced(raw: readonly unknown[], opts: { limits?: CleanLimits; now?: number } = {}): Promise<CleanedBatch> {
  if (raw.length <= CLEAN_SLICE) return cleanBatch(raw, opts);
  const now = opts.now ?? Date.now();
  const out: CleanedBatch = { receivedAt: now, size: raw.length, pending: [], rejected: [] };
  for (let start = 0; start < raw.length; start += CLEAN_SLICE) {
    if (start > 0) await new Promise((r) => setImmediate(r));
    const part = cleanBatch(raw.slice(start, start + CLEAN_SLICE), { ...opts, now });
    for (const p of part.pending) out.pending.push({ ...p, index: p.index + start });
    for (const r of part.rejected) out.rejected.push({ ...r, index: r.index + start });
  }
  return out;
}

/** The write half of `ingestBatch`: one transaction; every event's outcome in batch order. */
export async function writeCleanedBatch(events: EventStore, batch: CleanedBatch): Promise<IngestSummary> {
  const { results, rejections } = splitRejected(batch);
  return summarise(results, await events.writeBatch(batch.pending, rejections, batch.receivedAt));
}

function splitRejected(batch: CleanedBatch): { results: EventOutcome[]; rejections: PendingRejection[] } {
  const results: EventOutcome[] = new Array(batch.size);
  const rejections: PendingRejection[] = [];
  for (const r of batch.rejected) {
    results[r.index] = r;
    rejections.push({ index: r.index, reason: r.reason });
  }
  return { results, rejections };
}

function summarise(results: EventOutcome[], written: readonly EventOutcome[]): IngestSummary {
  for (const o of written) results[o.index] = o;
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
 * One bad event never rejects its neighbours. Resolves only after the transaction committed.
 */
export function ingestBatch(events: EventStore, raw: readonly unknown[], opts?: { limits?: CleanLimits; now?: number }): Promise<IngestSummary>;
/**
 * TRANSITION: the synchronous form over the SQLite writer, for callers not yet converted to the
 * store (tests' sync helpers, eval, bench). Delete once none remain.
 * @deprecated pass `store.events` and await
 */
export function ingestBatch(store: IngestStore, raw: readonly unknown[], opts?: { limits?: CleanLimits; now?: number }): IngestSummary;
export function ingestBatch(store: EventStore | IngestStore, raw: readonly unknown[], opts: { limits?: CleanLimits; now?: number } = {}): IngestSummary | Promise<IngestSummary> {
  if (store instanceof IngestStore) {
    const batch = cleanBatch(raw, opts);
    const { results, rejections } = splitRejected(batch);
    return summarise(results, store.writeBatch(batch.pending, rejections, batch.receivedAt));
  }
  return cleanBatchSliced(raw, opts).then((batch) => writeCleanedBatch(store, batch));
}
