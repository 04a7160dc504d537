import type { EventOutcome, IngestSummary } from '../core/types.ts';
import type { IngestStore, PendingEvent, PendingRejection } from '../db/ingest-store.ts';
import { cleanEvent, DEFAULT_CLEAN_LIMITS, type CleanLimits } from './clean.ts';

/**
 * The ingestion stage, shared by `POST /v1/events` and `traitlens import`: clean each event,
 * write the good ones in one transaction, and report every event's outcome in request order.
 * One bad event never rejects its neighbours. Returns only after the transaction committed.
 */
export function ingestBatch(store: IngestStore, raw: readonly unknown[], opts: { limits?: CleanLimits; now?: number } = {}): IngestSummary {
  const receivedAt = opts.now ?? Date.now();
  const limits = opts.limits ?? DEFAULT_CLEAN_LIMITS;
  const pending: PendingEvent[] = [];
  const rejections: PendingRejection[] = [];
  const results: EventOutcome[] = new Array(raw.length);
  for (let index = 0; index < raw.length; index++) {
    const r = cleanEvent(raw[index], receivedAt, limits);
    if (r.ok) pending.push({ index, event: r.event, missing: r.missing });
    else {
      rejections.push({ index, reason: r.rejection.reason });
      results[index] = { index, status: 'rejected', ...r.rejection, ...(r.eventId !== undefined ? { eventId: r.eventId } : {}) };
    }
  }
  for (const o of store.writeBatch(pending, rejections, receivedAt)) results[o.index] = o;
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
