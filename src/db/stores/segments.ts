import { ACTIVE_DAYS, DAY_MS, LAPSING_DAYS, NEW_DAYS, type LifecycleStage } from '../../core/lifecycle.ts';
import { ConflictError } from '../../core/errors.ts';
import type { Json } from '../../core/types.ts';
import { classifyDriverError } from '../errors.ts';
import type { Compiled } from '../filters.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

export interface SegmentRow {
  id: number;
  name: string;
  description: string | null;
  /** the filter DSL as JSON text (src/db/filters.ts) */
  filter: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * Saved segments, and user selection by a compiled filter (src/db/filters.ts). The conditions are
 * built from client input, so their SQL text varies with the filter's shape: the statement cache
 * (connection.ts `stmt`) is bounded by bytes for that reason.
 */
export interface SegmentStore {
  insert(s: { name: string; description: string | null; filter: string }, now: number): Promise<SegmentRow>;
  get(id: number): Promise<SegmentRow | null>;
  list(): Promise<SegmentRow[]>;
  /** user ids passing `where` (conditions over `users u`; null = every user), ascending */
  selectUserIds(where: Compiled | null): Promise<number[]>;
  count(where: Compiled | null): Promise<number>;
  /** up to `n` user ids passing `where`, ascending from `after` (exclusive): a page or a sample */
  sample(where: Compiled | null, n: number, after?: number): Promise<number[]>;
  /** Renames / redescribes a segment (null: no such segment). A taken name is a ConflictError (`segment_name_taken`). */
  update(id: number, patch: { name?: string; description?: string | null }, now: number): Promise<SegmentRow | null>;
  /** true when a segment was deleted */
  delete(id: number): Promise<boolean>;

  // ---- portrait aggregates: each counts users in the segment (`where`) and in the whole population ----
  /** Current traits of these kinds as (kind, key, value) with users holding them; only values at least `minSegment` members hold. */
  traitCounts(where: Compiled | null, opts: { kinds: readonly string[]; minSegment: number }): Promise<GroupCount<{ kind: string; key: string; value: Json }>[]>;
  /** Declared attributes (top-level scalar keys) as (key, value) with users holding them; only values at least `minSegment` members hold. */
  attributeCounts(where: Compiled | null, opts: { minSegment: number }): Promise<GroupCount<{ key: string; value: Json }>[]>;
  /** Users by lifecycle stage as of `now` (core/lifecycle.ts). */
  lifecycleCounts(where: Compiled | null, now: number): Promise<GroupCount<{ stage: LifecycleStage }>[]>;
  /** One number per user passing `where` (users without it are left out), ascending. */
  numericValues(where: Compiled | null, metric: BehaviourMetric, now: number): Promise<number[]>;
  /**
   * Predicted traits as histograms: per model key, users by bin of the probability of `of` (`true`
   * for yes/no predictions, else the predicted value itself); bin i covers [i/bins, (i+1)/bins).
   */
  predictedHistograms(where: Compiled | null, bins: number): Promise<GroupCount<{ key: string; of: string; bin: number }>[]>;
  /** Items (event property item, product_id or sku) by how many members interacted with them; most first, at least `minSegment`. */
  topItems(where: Compiled | null, opts: { limit: number; minSegment: number }): Promise<GroupCount<{ item: string; title: string | null }>[]>;
}

/** A group's users inside the segment and in the whole population. */
export type GroupCount<G> = G & { segment: number; population: number };

/** Behaviour figures a portrait takes quantiles of: computed traits (spend, frequency) and days since the last event. */
export const BEHAVIOUR_METRICS = ['monetary_total', 'purchase_count', 'events_30d', 'days_since_last_event'] as const;
export type BehaviourMetric = (typeof BEHAVIOUR_METRICS)[number];

/** Event properties naming an item, in order of preference (issue #13's items use the same names). */
const ITEM_PROPERTIES = ['item', 'product_id', 'sku'] as const;

const SEGMENT_COLUMNS = 'id, name, description, filter, created_at AS "createdAt", updated_at AS "updatedAt"';

const toRow = (r: SegmentRow): SegmentRow => ({ ...r, id: Number(r.id), createdAt: Number(r.createdAt), updatedAt: Number(r.updatedAt) });

export class SqlSegmentStore implements SegmentStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async insert(s: { name: string; description: string | null; filter: string }, now: number): Promise<SegmentRow> {
    const r = await nameTaken(s.name, () =>
      this.x.tx((q) =>
        q.get<SegmentRow>(`INSERT INTO segments (name, description, filter, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING ${SEGMENT_COLUMNS}`, [
          s.name,
          s.description,
          s.filter,
          now,
          now,
        ]),
      ),
    );
    if (!r) throw new Error('segment insert returned no row');
    return toRow(r);
  }

  async update(id: number, patch: { name?: string; description?: string | null }, now: number): Promise<SegmentRow | null> {
    const sets = ['updated_at = ?'];
    const args: unknown[] = [now];
    if (patch.name !== undefined) sets.push('name = ?'), args.push(patch.name);
    if (patch.description !== undefined) sets.push('description = ?'), args.push(patch.description);
    const r = await nameTaken(patch.name ?? '', () =>
      this.x.tx((q) => q.get<SegmentRow>(`UPDATE segments SET ${sets.join(', ')} WHERE id = ? RETURNING ${SEGMENT_COLUMNS}`, [...args, id])),
    );
    return r ? toRow(r) : null;
  }

  async delete(id: number): Promise<boolean> {
    return (await this.x.run('DELETE FROM segments WHERE id = ?', [id])).changes > 0;
  }

  async get(id: number): Promise<SegmentRow | null> {
    const r = await this.x.get<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE id = ?`, [id]);
    return r ? toRow(r) : null;
  }

  async list(): Promise<SegmentRow[]> {
    return (await this.x.all<SegmentRow>(`SELECT ${SEGMENT_COLUMNS} FROM segments ORDER BY id`)).map(toRow);
  }

  async selectUserIds(where: Compiled | null): Promise<number[]> {
    const rows = await this.x.all<{ id: number }>(`SELECT u.id AS id FROM users u${where ? ` WHERE ${where.where}` : ''} ORDER BY u.id`, where?.params ?? []);
    return rows.map((r) => Number(r.id));
  }

  async count(where: Compiled | null): Promise<number> {
    const r = await this.x.get<{ n: number }>(`SELECT count(*) AS n FROM users u${where ? ` WHERE ${where.where}` : ''}`, where?.params ?? []);
    return Number(r?.n ?? 0);
  }

  async sample(where: Compiled | null, n: number, after = 0): Promise<number[]> {
    const cond = where ? `(${where.where}) AND u.id > ?` : 'u.id > ?';
    const rows = await this.x.all<{ id: number }>(`SELECT u.id AS id FROM users u WHERE ${cond} ORDER BY u.id LIMIT ?`, [...(where?.params ?? []), after, n]);
    return rows.map((r) => Number(r.id));
  }

  // ---- portrait aggregates ------------------------------------------------------------------

  /** `WITH seg AS (members)`: one CTE the aggregates left-join, so the filter's parameters bind once. */
  private seg(where: Compiled | null): { sql: string; params: unknown[] } {
    return { sql: `WITH seg AS (SELECT u.id AS id FROM users u${where ? ` WHERE ${where.where}` : ''})`, params: where?.params ?? [] };
  }

  async traitCounts(where: Compiled | null, opts: { kinds: readonly string[]; minSegment: number }): Promise<GroupCount<{ kind: string; key: string; value: Json }>[]> {
    if (!opts.kinds.length) return [];
    const seg = this.seg(where);
    const rows = await this.x.all<{ kind: string; key: string; value: string; seg: number; pop: number }>(
      `${seg.sql}
       SELECT t.kind AS kind, t.key AS key, t.value AS value, count(DISTINCT s.id) AS seg, count(DISTINCT t.user_id) AS pop
       FROM traits t LEFT JOIN seg s ON s.id = t.user_id
       WHERE t.valid_to IS NULL AND t.kind IN (${opts.kinds.map(() => '?').join(', ')})
       GROUP BY t.kind, t.key, t.value HAVING count(DISTINCT s.id) >= ?
       ORDER BY seg DESC, t.kind, t.key, t.value`,
      [...seg.params, ...opts.kinds, opts.minSegment],
    );
    return rows.map((r) => ({ kind: r.kind, key: r.key, value: JSON.parse(r.value) as Json, segment: Number(r.seg), population: Number(r.pop) }));
  }

  async attributeCounts(where: Compiled | null, opts: { minSegment: number }): Promise<GroupCount<{ key: string; value: Json }>[]> {
    const seg = this.seg(where);
    // The JSON text of each top-level scalar value ("DE", 5, true), the same on both engines.
    const each =
      this.d.name === 'sqlite'
        ? `FROM users u, json_each(u.attributes) j LEFT JOIN seg s ON s.id = u.id WHERE j.type IN ('text', 'integer', 'real', 'true', 'false')`
        : `FROM users u CROSS JOIN LATERAL jsonb_each(u.attributes::jsonb) j LEFT JOIN seg s ON s.id = u.id WHERE jsonb_typeof(j.value) IN ('string', 'number', 'boolean')`;
    const literal =
      this.d.name === 'sqlite'
        ? `(CASE j.type WHEN 'text' THEN json_quote(j.value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(j.value AS TEXT) END)`
        : 'j.value::text';
    const rows = await this.x.all<{ key: string; value: string; seg: number; pop: number }>(
      `${seg.sql}
       SELECT j.key AS key, ${literal} AS value, count(DISTINCT s.id) AS seg, count(DISTINCT u.id) AS pop
       ${each}
       GROUP BY j.key, ${literal} HAVING count(DISTINCT s.id) >= ?
       ORDER BY seg DESC, key, value`,
      [...seg.params, opts.minSegment],
    );
    return rows.map((r) => ({ key: r.key, value: JSON.parse(r.value) as Json, segment: Number(r.seg), population: Number(r.pop) }));
  }

  async lifecycleCounts(where: Compiled | null, now: number): Promise<GroupCount<{ stage: LifecycleStage }>[]> {
    const seg = this.seg(where);
    const stage = `(CASE WHEN u.first_event_at IS NULL OR u.last_event_at IS NULL THEN 'unknown' WHEN ? - u.first_event_at <= ${NEW_DAYS * DAY_MS} THEN 'new'
      WHEN ? - u.last_event_at <= ${ACTIVE_DAYS * DAY_MS} THEN 'active' WHEN ? - u.last_event_at <= ${LAPSING_DAYS * DAY_MS} THEN 'lapsing' ELSE 'churned' END)`;
    const rows = await this.x.all<{ stage: LifecycleStage; seg: number; pop: number }>(
      `${seg.sql}
       SELECT x.stage AS stage, count(x.sid) AS seg, count(*) AS pop
       FROM (SELECT ${stage} AS stage, s.id AS sid FROM users u LEFT JOIN seg s ON s.id = u.id) x
       GROUP BY x.stage ORDER BY x.stage`,
      [...seg.params, now, now, now],
    );
    return rows.map((r) => ({ stage: r.stage, segment: Number(r.seg), population: Number(r.pop) }));
  }

  async numericValues(where: Compiled | null, metric: BehaviourMetric, now: number): Promise<number[]> {
    const seg = this.seg(where);
    let rows: { v: number | null }[];
    if (metric === 'days_since_last_event')
      rows = await this.x.all(`${seg.sql} SELECT (? - u.last_event_at) / ${DAY_MS}.0 AS v FROM users u JOIN seg s ON s.id = u.id WHERE u.last_event_at IS NOT NULL`, [
        ...seg.params,
        now,
      ]);
    else {
      // JSON numbers only: text that is no number is left out on both engines (not read as 0).
      const isNumber = this.d.name === 'sqlite' ? `json_type(t.value) IN ('integer', 'real')` : `jsonb_typeof(t.value::jsonb) = 'number'`;
      rows = await this.x.all(
        `${seg.sql} SELECT ${this.d.numberOrNull('t.value')} AS v FROM traits t JOIN seg s ON s.id = t.user_id WHERE t.kind = 'computed' AND t.key = ? AND t.valid_to IS NULL AND ${isNumber}`,
        [...seg.params, metric],
      );
    }
    return rows
      .map((r) => (r.v === null ? Number.NaN : Number(r.v)))
      .filter((v) => Number.isFinite(v))
      .sort((a, b) => a - b);
  }

  async predictedHistograms(where: Compiled | null, bins: number): Promise<GroupCount<{ key: string; of: string; bin: number }>[]> {
    const seg = this.seg(where);
    // the probability of `true` for yes/no predictions, else of the predicted value (its confidence)
    const prob = `(CASE t.value WHEN 'true' THEN t.confidence WHEN 'false' THEN 1 - t.confidence ELSE t.confidence END)`;
    const of = `(CASE WHEN t.value IN ('true', 'false') THEN 'true' ELSE t.value END)`;
    // A CASE ladder, not floor()/CAST: PostgreSQL's integer cast rounds where SQLite's truncates.
    // (+1e-9: 1 - 0.9 is 0.0999…, which belongs in the 0.1 bin.)
    const bin = `(CASE ${Array.from({ length: bins - 1 }, (_, i) => `WHEN ${prob} + 1e-9 < ${(i + 1) / bins} THEN ${i}`).join(' ')} ELSE ${bins - 1} END)`;
    const rows = await this.x.all<{ key: string; target: string; bin: number; seg: number; pop: number }>(
      `${seg.sql}
       SELECT x.key AS key, x.target AS target, x.bin AS bin, count(x.sid) AS seg, count(*) AS pop
       FROM (SELECT t.key AS key, ${of} AS target, ${bin} AS bin, s.id AS sid FROM traits t LEFT JOIN seg s ON s.id = t.user_id WHERE t.kind = 'predicted' AND t.valid_to IS NULL) x
       GROUP BY x.key, x.target, x.bin ORDER BY x.key, x.target, x.bin`,
      seg.params,
    );
    return rows.map((r) => ({
      key: r.key,
      of: r.target === 'true' ? 'true' : String(JSON.parse(r.target)),
      bin: Number(r.bin),
      segment: Number(r.seg),
      population: Number(r.pop),
    }));
  }

  async topItems(where: Compiled | null, opts: { limit: number; minSegment: number }): Promise<GroupCount<{ item: string; title: string | null }>[]> {
    const seg = this.seg(where);
    const item = `COALESCE(${ITEM_PROPERTIES.map((p) => `CAST(${this.d.jsonText('e.properties', p)} AS TEXT)`).join(', ')})`;
    const rows = await this.x.all<{ item: string; title: string | null; seg: number; pop: number }>(
      `${seg.sql}
       SELECT x.item AS item, i.title AS title, x.seg AS seg, x.pop AS pop
       FROM (SELECT ${item} AS item, count(DISTINCT s.id) AS seg, count(DISTINCT e.user_id) AS pop
             FROM events e LEFT JOIN seg s ON s.id = e.user_id WHERE e.user_id IS NOT NULL AND ${item} IS NOT NULL
             GROUP BY ${item} HAVING count(DISTINCT s.id) >= ?) x
       LEFT JOIN items i ON i.id = x.item
       ORDER BY x.seg DESC, x.item LIMIT ?`,
      [...seg.params, opts.minSegment, opts.limit],
    );
    return rows.map((r) => ({ item: r.item, title: r.title, segment: Number(r.seg), population: Number(r.pop) }));
  }
}

/** Runs a write that sets a segment name; the unique index tripping becomes a 409 naming the name. */
async function nameTaken<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (classifyDriverError(err) === 'unique') throw new ConflictError(`a segment named "${name}" already exists`, { field: 'name', name }, 'segment_name_taken');
    throw err;
  }
}
