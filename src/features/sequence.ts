/**
 * Each user's last N events before the cut-off as a fixed-size sequence for recurrent models:
 * event type one-hot (fitted types + other), log dwell seconds, log purchase value, log gap to the
 * previous event (hours) and log age at the cut-off (days). Left-padded with zero rows, so the
 * most recent event is always the last step.
 */
import { UnprocessableError, ValidationError } from '../core/errors.ts';
import type { FeatureEvent, FeatureStore } from '../db/stores/features.ts';
import { moneyOf, type UserEvents } from './compute.ts';
import { DAY_MS, PURCHASE_TYPES, type FeatureSchema } from './definitions.ts';

export const SEQUENCE_EXTRA = ['log_dwell_s', 'log_value', 'log_gap_h', 'log_age_d'] as const;

export function sequenceDim(schema: FeatureSchema): number {
  return schema.eventTypes.length + 1 + SEQUENCE_EXTRA.length;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Sequences keyed by user id, each `length × sequenceDim(schema)` floats, row-major. `events`: one
 * user's events already read (a refresh shares them), instead of a scan of `userIds`.
 */
export async function computeSequences(
  features: FeatureStore,
  opts: { asOf: number; schema: FeatureSchema; length: number; userIds?: readonly number[]; events?: UserEvents },
): Promise<Map<number, Float32Array>> {
  const { asOf, schema, length } = opts;
  if (!Number.isFinite(asOf)) throw new ValidationError('asOf must be a finite epoch-millisecond time');
  const dim = sequenceDim(schema);
  const nTypes = schema.eventTypes.length;
  const typeIndex = new Map(schema.eventTypes.map((t, i) => [t, i]));
  const out = new Map<number, Float32Array>();
  // A ring of the user's last `length` events; materialised when the user's rows end.
  let ring: FeatureEvent[] = [];
  let cur = -1;
  const flush = () => {
    if (cur < 0 || ring.length === 0) return;
    const buf = new Float32Array(length * dim);
    const start = length - ring.length;
    let prev: number | null = null;
    ring.forEach((e, i) => {
      const o = (start + i) * dim;
      buf[o + (typeIndex.get(e.type) ?? nTypes)] = 1;
      const dwell = num(e.dwellMs);
      const price = num(e.price);
      const value = PURCHASE_TYPES.has(e.type) ? (price !== null ? price * (num(e.quantity) ?? 1) : num(moneyOf(e))) : null;
      buf[o + nTypes + 1] = dwell !== null ? Math.log1p(dwell / 1000) : 0;
      buf[o + nTypes + 2] = value !== null ? Math.sign(value) * Math.log1p(Math.abs(value)) : 0;
      buf[o + nTypes + 3] = prev !== null ? Math.log1p((e.ts - prev) / 3_600_000) : 0;
      buf[o + nTypes + 4] = Math.log1p((asOf - e.ts) / DAY_MS);
      prev = e.ts;
    });
    out.set(cur, buf);
  };
  const consume = (e: FeatureEvent) => {
    if (e.ts > asOf) throw new UnprocessableError(`feature leakage guard: event at ${e.ts} is after the cut-off ${asOf}`);
    if (e.userId !== cur) {
      if (ring.length > length) ring = ring.slice(-length);
      flush();
      cur = e.userId;
      ring = [];
    }
    ring.push(e);
    // Keep at most 2×length before trimming: amortised O(1) per event.
    if (ring.length > 2 * length) ring = ring.slice(-length);
  };
  if (opts.events) {
    if (opts.events.asOf !== asOf) throw new ValidationError('events were read for another cut-off', { asOf, eventsAsOf: opts.events.asOf });
    for (const e of opts.events.events) consume(e);
  } else {
    for await (const page of features.scanEvents({ asOf, ...(opts.userIds ? { userIds: opts.userIds } : {}) })) for (const e of page) consume(e);
  }
  if (ring.length > length) ring = ring.slice(-length);
  flush();
  return out;
}
