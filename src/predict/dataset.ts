/**
 * Examples for a spec: users as of a cut-off, their raw features, and labels read only from
 * events after the cut-off (or a declared attribute). Features never see a labelled event: the
 * feature pass stops at the cut-off and the label queries start just after it.
 */
import { UnprocessableError } from '../core/errors.ts';
import type { FeatureStore } from '../db/stores/features.ts';
import { computeFeatureRows, type FeatureRows } from '../features/compute.ts';
import { DAY_MS, type FeatureSchema } from '../features/definitions.ts';
import { horizonDays, type ModelSpec, type TargetSpec } from './spec.ts';

export interface Examples extends FeatureRows {
  labels: number[];
}

export function dataRange(features: FeatureStore): Promise<{ first: number | null; last: number | null; events: number }> {
  return features.dataSpan();
}

/** The test cut-off: the spec's, else the latest event minus the horizon (labels fully observed). */
export async function resolveAsOf(features: FeatureStore, spec: ModelSpec): Promise<number> {
  if (spec.asOf) {
    const t = Date.parse(spec.asOf.length === 10 ? `${spec.asOf}T23:59:59.999Z` : spec.asOf);
    return t;
  }
  const { last } = await dataRange(features);
  if (last === null) throw new UnprocessableError('no events to train on');
  const h = horizonDays(spec.target);
  return h === null ? last : last - h * DAY_MS;
}

/** Class names: binary targets have ['negative', 'positive'] and one sigmoid output. */
export async function fitClasses(features: FeatureStore, target: TargetSpec, asOf: number): Promise<string[]> {
  if (target.kind === 'next_category') {
    const rows = await features.topCategories(asOf, target.classes - 1);
    return [...rows.map((r) => String(r.value)), '__other__'];
  }
  if (target.kind === 'attribute' && target.positive === undefined) {
    const rows = await features.attributeValues(target.key, 50);
    return rows.map((r) => String(r.value));
  }
  return ['negative', 'positive'];
}

/** One label per user (null: no label, the user is left out), from data strictly after `asOf`. */
export async function labelUsers(features: FeatureStore, target: TargetSpec, asOf: number, userIds: readonly number[], classes: readonly string[]): Promise<(number | null)[]> {
  if (target.kind === 'event_in_horizon' || target.kind === 'churn') {
    const end = asOf + target.horizonDays * DAY_MS;
    const active = await features.activeUsers(asOf, end, target.kind === 'event_in_horizon' ? target.eventTypes : undefined);
    return userIds.map((u) => (target.kind === 'churn' ? (active.has(u) ? 0 : 1) : active.has(u) ? 1 : 0));
  }
  if (target.kind === 'next_category') {
    const first = await features.firstCategories(asOf, asOf + target.horizonDays * DAY_MS);
    const other = classes.length - 1;
    return userIds.map((u) => {
      const c = first.get(u);
      if (c === undefined) return null;
      const i = classes.indexOf(String(c));
      return i >= 0 ? i : other;
    });
  }
  // Declared attribute: the label is the user's current value.
  const values = await features.attributeOf(target.key, userIds);
  return userIds.map((u) => {
    const v = values.get(u);
    if (v === null || v === undefined) return null;
    if (target.positive !== undefined) {
      const pos = typeof target.positive === 'boolean' ? (target.positive ? 1 : 0) : target.positive;
      return v === pos || String(v) === String(target.positive) ? 1 : 0;
    }
    const i = classes.indexOf(String(v));
    return i >= 0 ? i : null;
  });
}

export async function buildExamples(features: FeatureStore, spec: ModelSpec, schema: FeatureSchema, asOf: number, classes: readonly string[]): Promise<Examples> {
  const f = await computeFeatureRows(features, { asOf, schema });
  const labels = await labelUsers(features, spec.target, asOf, f.userIds, classes);
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
