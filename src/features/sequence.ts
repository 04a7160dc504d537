/**
 * Each user's last N events before the cut-off as a fixed-size sequence for recurrent models:
 * event type one-hot (fitted types + other), log dwell seconds, log purchase value, log gap to the
 * previous event (hours) and log age at the cut-off (days). Left-padded with zero rows, so the
 * most recent event is always the last step.
 */
import { UnprocessableError, ValidationError } from '../core/errors.ts';
import type { Db } from '../db/connection.ts';
import { DAY_MS, PURCHASE_TYPES, type FeatureSchema } from './definitions.ts';

export const SEQUENCE_EXTRA = ['log_dwell_s', 'log_value', 'log_gap_h', 'log_age_d'] as const;

export function sequenceDim(schema: FeatureSchema): number {
  return schema.eventTypes.length + 1 + SEQUENCE_EXTRA.length;
}

interface SeqRow {
  user_id: number;
  type: string;
  ts: number;
  dwell: unknown;
  price: unknown;
  qty: unknown;
  amount: unknown;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Sequences keyed by user id, each `length × sequenceDim(schema)` floats, row-major. */
export function computeSequences(
  db: Db,
  opts: { asOf: number; schema: FeatureSchema; length: number; userIds?: readonly number[] },
): Map<number, Float32Array> {
  const { asOf, schema, length } = opts;
  if (!Number.isFinite(asOf)) throw new ValidationError('asOf must be a finite epoch-millisecond time');
  const dim = sequenceDim(schema);
  const nTypes = schema.eventTypes.length;
  const typeIndex = new Map(schema.eventTypes.map((t, i) => [t, i]));
  const wanted = opts.userIds ? new Set(opts.userIds) : null;
  const one = wanted !== null && wanted.size <= 64;
  const sql = `SELECT user_id, type, ts, json_extract(properties, '$.dwell_ms') AS dwell,
      json_extract(properties, '$.price') AS price, json_extract(properties, '$.quantity') AS qty,
      coalesce(json_extract(properties, '$.amount'), json_extract(properties, '$.revenue'), json_extract(properties, '$.total'), json_extract(properties, '$.value')) AS amount
    FROM events WHERE ${one ? 'user_id = ? AND ' : wanted ? 'user_id IN (SELECT value FROM json_each(?)) AND ' : ''}ts <= ? ORDER BY user_id, ts, id`;
  const stmt = db.sqlite.prepare(sql);
  const out = new Map<number, Float32Array>();
  // A ring of the user's last `length` events; materialised when the user's rows end.
  let ring: SeqRow[] = [];
  let cur = -1;
  const flush = () => {
    if (cur < 0 || ring.length === 0) return;
    const buf = new Float32Array(length * dim);
    const start = length - ring.length;
    let prev: number | null = null;
    ring.forEach((e, i) => {
      const o = (start + i) * dim;
      buf[o + (typeIndex.get(e.type) ?? nTypes)] = 1;
      const dwell = num(e.dwell);
      const price = num(e.price);
      const value = PURCHASE_TYPES.has(e.type) ? (price !== null ? price * (num(e.qty) ?? 1) : num(e.amount)) : null;
      buf[o + nTypes + 1] = dwell !== null ? Math.log1p(dwell / 1000) : 0;
      buf[o + nTypes + 2] = value !== null ? Math.sign(value) * Math.log1p(Math.abs(value)) : 0;
      buf[o + nTypes + 3] = prev !== null ? Math.log1p((e.ts - prev) / 3_600_000) : 0;
      buf[o + nTypes + 4] = Math.log1p((asOf - e.ts) / DAY_MS);
      prev = e.ts;
    });
    out.set(cur, buf);
  };
  const consume = (e: SeqRow) => {
    if (e.ts > asOf) throw new UnprocessableError(`feature leakage guard: event at ${e.ts} is after the cut-off ${asOf}`);
    if (e.user_id !== cur) {
      flush();
      cur = e.user_id;
      ring = [];
    }
    ring.push(e);
    // Keep at most 2×length before trimming: amortised O(1) per event.
    if (ring.length > 2 * length) ring = ring.slice(-length);
  };
  const finishUser = () => {
    if (ring.length > length) ring = ring.slice(-length);
    flush();
  };
  if (one) {
    for (const uid of wanted) {
      for (const e of stmt.iterate(uid, asOf) as Iterable<SeqRow>) consume(e);
      finishUser();
      cur = -1;
      ring = [];
    }
    return out;
  }
  // Many users: an IN list over json_each lets SQLite walk the (user_id, ts) index for just those
  // users instead of scanning every event up to the cut-off and dropping the rest here.
  const rows = (wanted ? stmt.iterate(JSON.stringify([...wanted]), asOf) : stmt.iterate(asOf)) as Iterable<SeqRow>;
  for (const e of rows) {
    if (e.user_id !== cur && ring.length > length) ring = ring.slice(-length);
    consume(e);
  }
  finishUser();
  return out;
}
