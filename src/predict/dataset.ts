/**
 * Examples for a spec: users as of a cut-off, their raw features, and labels read only from
 * events after the cut-off (or a declared attribute). Features never see a labelled event: the
 * feature pass stops at the cut-off and the label queries start just after it.
 */
import { UnprocessableError } from '../core/errors.ts';
import type { Db } from '../db/connection.ts';
import { computeFeatureRows, type FeatureRows } from '../features/compute.ts';
import { DAY_MS, type FeatureSchema } from '../features/definitions.ts';
import { horizonDays, type ModelSpec, type TargetSpec } from './spec.ts';

export interface Examples extends FeatureRows {
  labels: number[];
}

export function dataRange(db: Db): { first: number | null; last: number | null; events: number } {
  const r = db.sqlite.prepare('SELECT min(ts) AS first, max(ts) AS last, count(*) AS events FROM events').get() as { first: number | null; last: number | null; events: number };
  return r;
}

/** The test cut-off: the spec's, else the latest event minus the horizon (labels fully observed). */
export function resolveAsOf(db: Db, spec: ModelSpec): number {
  if (spec.asOf) {
    const t = Date.parse(spec.asOf.length === 10 ? `${spec.asOf}T23:59:59.999Z` : spec.asOf);
    return t;
  }
  const { last } = dataRange(db);
  if (last === null) throw new UnprocessableError('no events to train on');
  const h = horizonDays(spec.target);
  return h === null ? last : last - h * DAY_MS;
}

/** Class names: binary targets have ['negative', 'positive'] and one sigmoid output. */
export function fitClasses(db: Db, target: TargetSpec, asOf: number): string[] {
  if (target.kind === 'next_category') {
    const rows = db.sqlite
      .prepare(
        `SELECT json_extract(properties, '$.category') AS c, count(*) AS n FROM events
         WHERE ts <= ? AND c IS NOT NULL AND c != '' GROUP BY c ORDER BY n DESC, c LIMIT ?`,
      )
      .all(asOf, target.classes - 1) as { c: unknown }[];
    return [...rows.map((r) => String(r.c)), '__other__'];
  }
  if (target.kind === 'attribute' && target.positive === undefined) {
    const rows = db.sqlite
      .prepare(`SELECT json_extract(attributes, ?) AS v, count(*) AS n FROM users WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT 50`)
      .all(`$."${target.key}"`) as { v: unknown }[];
    return rows.map((r) => String(r.v));
  }
  return ['negative', 'positive'];
}

/** One label per user (null: no label, the user is left out), from data strictly after `asOf`. */
export function labelUsers(db: Db, target: TargetSpec, asOf: number, userIds: readonly number[], classes: readonly string[]): (number | null)[] {
  if (target.kind === 'event_in_horizon' || target.kind === 'churn') {
    const end = asOf + target.horizonDays * DAY_MS;
    const types = target.kind === 'event_in_horizon' ? target.eventTypes : null;
    const sql = `SELECT DISTINCT user_id FROM events WHERE ts > ? AND ts <= ?${types ? ` AND type IN (${types.map(() => '?').join(',')})` : ''}`;
    const active = new Set((db.sqlite.prepare(sql).pluck().all(asOf, end, ...(types ?? [])) as number[]));
    return userIds.map((u) => (target.kind === 'churn' ? (active.has(u) ? 0 : 1) : active.has(u) ? 1 : 0));
  }
  if (target.kind === 'next_category') {
    const end = asOf + target.horizonDays * DAY_MS;
    const first = new Map<number, string>();
    const rows = db.sqlite
      .prepare(
        `SELECT user_id, json_extract(properties, '$.category') AS c FROM events
         WHERE ts > ? AND ts <= ? AND c IS NOT NULL AND c != '' ORDER BY user_id, ts, id`,
      )
      .iterate(asOf, end) as Iterable<{ user_id: number; c: unknown }>;
    for (const r of rows) if (!first.has(r.user_id)) first.set(r.user_id, String(r.c));
    const other = classes.length - 1;
    return userIds.map((u) => {
      const c = first.get(u);
      if (c === undefined) return null;
      const i = classes.indexOf(c);
      return i >= 0 ? i : other;
    });
  }
  // Declared attribute: the label is the user's current value.
  const get = db.sqlite.prepare('SELECT json_extract(attributes, ?) AS v FROM users WHERE id = ?').pluck();
  const path = `$."${target.key}"`;
  return userIds.map((u) => {
    const v = get.get(path, u) as unknown;
    if (v === null || v === undefined) return null;
    if (target.positive !== undefined) {
      const pos = typeof target.positive === 'boolean' ? (target.positive ? 1 : 0) : target.positive;
      return v === pos || String(v) === String(target.positive) ? 1 : 0;
    }
    const i = classes.indexOf(String(v));
    return i >= 0 ? i : null;
  });
}

export function buildExamples(db: Db, spec: ModelSpec, schema: FeatureSchema, asOf: number, classes: readonly string[]): Examples {
  const f = computeFeatureRows(db, { asOf, schema });
  const labels = labelUsers(db, spec.target, asOf, f.userIds, classes);
  const keep = labels.map((l, i) => (l === null ? -1 : i)).filter((i) => i >= 0);
  return {
    asOf,
    defs: f.defs,
    userIds: keep.map((i) => f.userIds[i] as number),
    rows: keep.map((i) => f.rows[i] as (number | null)[]),
    labels: keep.map((i) => labels[i] as number),
  };
}

/** A deterministic [0, 1) draw per (seed, user): the user split is stable across runs. */
export function userDraw(seed: number, userId: number): number {
  let h = (Math.imul(userId ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 0x27d4eb2f, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
