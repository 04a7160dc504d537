import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/**
 * One event as the behavioural features see it: the few JSON fields pulled out by the database
 * (json_extract in C on SQLite is far cheaper than JSON.parse per row). Values keep their JSON type
 * (number, string; booleans as 1/0 and objects as JSON text on every backend).
 */
export interface FeatureEvent {
  userId: number;
  id: number;
  ts: number;
  type: string;
  price: unknown;
  quantity: unknown;
  /** the money fallbacks, in the order features try them */
  amount: unknown;
  revenue: unknown;
  total: unknown;
  value: unknown;
  dwellMs: unknown;
  category: unknown;
  /** the requested property keys' values, `p0` … in request order */
  [prop: `p${number}`]: unknown;
}

export interface FeatureScan {
  /** only events at or before this time (enforced in SQL; callers check again per row) */
  asOf: number;
  /** property keys (snake_case) to extract as `p0`, `p1`, … */
  props?: readonly string[];
  /** only these users (any order); all users when omitted */
  userIds?: readonly number[];
  /** rows per page (default 5,000) */
  pageSize?: number;
}

/** A value and how many rows hold it. */
export interface ValueCount<T = unknown> {
  value: T;
  n: number;
}

export interface LlmCallTotals {
  calls: number;
  ok: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * The reads behind behavioural features, model datasets, evaluations and the demo. Event scans are
 * paged by keyset on (user_id, ts, id), so no backend holds a whole table in memory.
 */
export interface FeatureStore {
  /** Events at or before `asOf` in (user_id, ts, id) order, as pages (each page non-empty). */
  scanEvents(scan: FeatureScan): AsyncIterable<FeatureEvent[]>;
  /** The most frequent event types at or before `asOf` (ties by name). */
  topEventTypes(asOf: number, limit: number): Promise<ValueCount<string>[]>;
  /** The most frequent non-empty `category` property values at or before `asOf` (ties by value). */
  topCategories(asOf: number, limit: number): Promise<ValueCount[]>;
  /** The most frequent values of one property as text (optionally of one event type only). */
  topPropertyValues(key: string, opts: { asOf: number; limit: number; eventType?: string }): Promise<string[]>;
  /** First and last event time and the event count. */
  dataSpan(): Promise<{ first: number | null; last: number | null; events: number }>;
  /** The most frequent values of a declared attribute over all users (ties by value). */
  attributeValues(key: string, limit: number): Promise<ValueCount[]>;
  /** A declared attribute's value per user (users without it are absent). */
  attributeOf(key: string, userIds: readonly number[]): Promise<Map<number, unknown>>;
  /** Users with an event in (from, to], of one of `types` when given. */
  activeUsers(from: number, to: number, types?: readonly string[]): Promise<Set<number>>;
  /** Each user's first non-empty `category` property value in (from, to]. */
  firstCategories(from: number, to: number): Promise<Map<number, unknown>>;
  /** Every user's id and stored consent JSON, by id. */
  userConsents(): Promise<{ id: number; consent: string | null }[]>;
  /** Every user's id and external id (null for anonymous ones). */
  externalIds(): Promise<{ id: number; externalId: string | null }[]>;
  /** The latest event time, null without events. */
  maxEventTs(): Promise<number | null>;
  /** Totals over every recorded LLM call. */
  llmCallTotals(): Promise<LlmCallTotals>;
  /** Evidence JSON of every current semantic trait. */
  semanticEvidence(): Promise<string[]>;
  /** Event texts by id (events without text are absent). */
  eventTexts(ids: readonly number[]): Promise<Map<number, string>>;
  /** The known user with the most distinct current semantic trait keys (ties: lowest id). */
  richestKnownUser(): Promise<string | null>;
}

const DEFAULT_PAGE = 5000;
/** users per `IN (…)` list: well under both backends' parameter limits */
const IN_CHUNK = 500;

const n = (v: unknown): number => Number(v);

function padded(ids: readonly number[]): readonly number[] {
  let size = 2;
  while (size < ids.length) size *= 2;
  const out = ids.slice();
  while (out.length < size) out.push(ids[ids.length - 1] as number);
  return out;
}
const nOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** A JSON value as json_extract gives it on SQLite: null for JSON null or missing, booleans as 1/0, objects and arrays as JSON text. */
function normValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** A top-level key of parsed properties (null when not an object), as json_extract reads it. */
function propertyOf(p: Record<string, unknown> | null, k: string): unknown {
  return p !== null && Object.hasOwn(p, k) ? normValue(p[k]) : null;
}

export class SqlFeatureStore implements FeatureStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  /** PostgreSQL's parsed jsonb gives booleans and objects; SQLite gives 1/0 and JSON text. */
  private readonly norm = normValue;

  async *scanEvents(scan: FeatureScan): AsyncIterable<FeatureEvent[]> {
    const { d } = this;
    const props = scan.props ?? [];
    const j = (k: string) => d.jsonValue('properties', k);
    // SQLite: the properties text is parsed once per event here (JSON.parse), not once per field by
    // ~10 json_extract calls; values are normalised as json_extract gives them (booleans 1/0, objects
    // and arrays as JSON text), as PostgreSQL's are below.
    const parseHere = this.x.dialect === 'sqlite';
    const cols = parseHere
      ? 'user_id AS "userId", id, ts, type, properties'
      : [
          'user_id AS "userId"',
          'id',
          'ts',
          'type',
          `${j('price')} AS price`,
          `${j('quantity')} AS quantity`,
          `${j('amount')} AS amount`,
          `${j('revenue')} AS revenue`,
          `${j('total')} AS total`,
          `${j('value')} AS value`,
          `${j('dwell_ms')} AS "dwellMs"`,
          `${j('category')} AS category`,
          ...props.map((k, i) => `${j(k)} AS p${i}`),
        ].join(', ');
    const limit = Math.max(1, Math.floor(scan.pageSize ?? DEFAULT_PAGE));
    const fix = this.x.dialect === 'sqlite' ? null : ['price', 'quantity', 'amount', 'revenue', 'total', 'value', 'dwellMs', 'category', ...props.map((_, i) => `p${i}`)];
    const chunks: (readonly number[] | null)[] = [];
    if (scan.userIds) {
      const ids = [...new Set(scan.userIds)].sort((a, b) => a - b);
      for (let i = 0; i < ids.length; i += IN_CHUNK) chunks.push(ids.slice(i, i + IN_CHUNK));
    } else chunks.push(null);
    for (const ids of chunks) {
      let after: [number, number, number] | null = null;
      for (;;) {
        // The keyset as the indexes can use it: all users, a range on (user_id, ts); one user, a
        // range on ts; a list, only the users not finished yet (the cursor's own user is filtered).
        let sql: string;
        let params: unknown[];
        const order = `ORDER BY user_id, ts, id LIMIT ${limit}`;
        if (!ids) {
          sql = `SELECT ${cols} FROM events WHERE ts <= ?${after ? ' AND (user_id, ts, id) > (?, ?, ?)' : ''} ${order}`;
          params = [scan.asOf, ...(after ?? [])];
        } else {
          const rest = after ? ids.filter((id) => id >= (after as [number, number, number])[0]) : ids;
          if (!rest.length) break;
          if (rest.length === 1) {
            sql = `SELECT ${cols} FROM events WHERE user_id = ? AND ts <= ?${after ? ' AND ts >= ? AND (ts > ? OR id > ?)' : ''} ${order}`;
            params = [rest[0], scan.asOf, ...(after ? [after[1], after[1], after[2]] : [])];
          } else {
            // Lists padded to a power of two (repeating an id changes nothing): a few statement texts, not one per length.
            const list = padded(rest);
            sql = `SELECT ${cols} FROM events WHERE user_id IN (${list.map(() => '?').join(', ')}) AND ts <= ?${after ? ' AND (user_id, ts, id) > (?, ?, ?)' : ''} ${order}`;
            params = [...list, scan.asOf, ...(after ?? [])];
          }
        }
        let rows = await this.x.all<FeatureEvent>(sql, params);
        if (!rows.length) break;
        if (parseHere) {
          // A new object of one shape per event (deleting `properties` from the driver's row would
          // turn every row into a slow dictionary-mode object for the features' fold).
          const raw = rows as unknown as { userId: number; id: number; ts: number; type: string; properties: string | null }[];
          const propCols = props.map((_, i) => `p${i}`);
          rows = raw.map((r) => {
            const parsed: unknown = r.properties ? JSON.parse(r.properties) : null;
            const p = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
            // no closure per row (a function made per row costs more than the lookups it does)
            const o: FeatureEvent = {
              userId: r.userId,
              id: r.id,
              ts: r.ts,
              type: r.type,
              price: propertyOf(p, 'price'),
              quantity: propertyOf(p, 'quantity'),
              amount: propertyOf(p, 'amount'),
              revenue: propertyOf(p, 'revenue'),
              total: propertyOf(p, 'total'),
              value: propertyOf(p, 'value'),
              dwellMs: propertyOf(p, 'dwell_ms'),
              category: propertyOf(p, 'category'),
            };
            for (let i = 0; i < props.length; i++) o[propCols[i] as `p${number}`] = propertyOf(p, props[i] as string);
            return o;
          });
        } else if (fix) {
          for (const r of rows) {
            const o = r as unknown as Record<string, unknown>;
            o.userId = n(r.userId);
            o.id = n(r.id);
            o.ts = n(r.ts);
            for (const k of fix) o[k] = this.norm(o[k]);
          }
        }
        yield rows;
        if (rows.length < limit) break;
        const last = rows[rows.length - 1] as FeatureEvent;
        after = [last.userId, last.ts, last.id];
      }
    }
  }

  async topEventTypes(asOf: number, limit: number): Promise<ValueCount<string>[]> {
    const rows = await this.x.all<{ type: string; n: unknown }>('SELECT type, count(*) AS n FROM events WHERE ts <= ? GROUP BY type ORDER BY n DESC, type LIMIT ?', [asOf, limit]);
    return rows.map((r) => ({ value: r.type, n: n(r.n) }));
  }

  async topCategories(asOf: number, limit: number): Promise<ValueCount[]> {
    const c = this.d.jsonText('properties', 'category');
    const rows = await this.x.all<{ c: unknown; n: unknown }>(
      `SELECT ${c} AS c, count(*) AS n FROM events WHERE ts <= ? AND ${c} IS NOT NULL AND ${c} != '' GROUP BY ${c} ORDER BY n DESC, c LIMIT ?`,
      [asOf, limit],
    );
    return rows.map((r) => ({ value: r.c, n: n(r.n) }));
  }

  async topPropertyValues(key: string, opts: { asOf: number; limit: number; eventType?: string }): Promise<string[]> {
    // As text, so one-hot columns compare with String(value) of the scanned rows. Grouped by the
    // output name: PostgreSQL cannot match two bound copies of the key as one expression.
    const v = `CAST(${this.d.jsonTextParam('properties')} AS TEXT)`;
    const rows = await this.x.all<{ v: unknown }>(
      `SELECT ${v} AS v, count(*) AS n FROM events WHERE ts <= ?${opts.eventType !== undefined ? ' AND type = ?' : ''} AND ${v} IS NOT NULL
       GROUP BY v ORDER BY n DESC, v LIMIT ?`,
      [key, opts.asOf, ...(opts.eventType !== undefined ? [opts.eventType] : []), key, opts.limit],
    );
    return rows.map((r) => String(r.v));
  }

  async dataSpan(): Promise<{ first: number | null; last: number | null; events: number }> {
    const r = await this.x.get<{ first: unknown; last: unknown; events: unknown }>('SELECT min(ts) AS first, max(ts) AS last, count(*) AS events FROM events');
    return { first: nOrNull(r?.first), last: nOrNull(r?.last), events: n(r?.events ?? 0) };
  }

  async attributeValues(key: string, limit: number): Promise<ValueCount[]> {
    const v = this.d.jsonValueParam('attributes');
    // One more than asked: PostgreSQL keeps a JSON null as a value (SQLite as NULL); it is dropped here.
    const rows = await this.x.all<{ v: unknown; n: unknown }>(`SELECT ${v} AS v, count(*) AS n FROM users WHERE ${v} IS NOT NULL GROUP BY v ORDER BY n DESC, v LIMIT ?`, [
      key,
      key,
      limit + 1,
    ]);
    return rows
      .map((r) => ({ value: this.norm(r.v), n: n(r.n) }))
      .filter((r) => r.value !== null)
      .slice(0, limit);
  }

  async attributeOf(key: string, userIds: readonly number[]): Promise<Map<number, unknown>> {
    const out = new Map<number, unknown>();
    const ids = [...new Set(userIds)];
    for (let i = 0; i < ids.length; i += IN_CHUNK) {
      const part = ids.slice(i, i + IN_CHUNK);
      const rows = await this.x.all<{ id: unknown; v: unknown }>(
        `SELECT id, ${this.d.jsonValueParam('attributes')} AS v FROM users WHERE id IN (${part.map(() => '?').join(', ')})`,
        [key, ...part],
      );
      for (const r of rows) {
        const v = this.norm(r.v);
        if (v !== null) out.set(n(r.id), v);
      }
    }
    return out;
  }

  async activeUsers(from: number, to: number, types?: readonly string[]): Promise<Set<number>> {
    const rows = await this.x.all<{ u: unknown }>(
      `SELECT DISTINCT user_id AS u FROM events WHERE ts > ? AND ts <= ?${types ? ` AND type IN (${types.map(() => '?').join(', ')})` : ''}`,
      [from, to, ...(types ?? [])],
    );
    return new Set(rows.map((r) => n(r.u)));
  }

  async firstCategories(from: number, to: number): Promise<Map<number, unknown>> {
    const c = this.d.jsonText('properties', 'category');
    const out = new Map<number, unknown>();
    // Keyset pages in (user_id, ts, id) order: the first row seen per user is its first category.
    let after: [number, number, number] | null = null;
    for (;;) {
      const rows: { u: unknown; ts: unknown; id: unknown; c: unknown }[] = await this.x.all(
        `SELECT user_id AS u, ts, id, ${c} AS c FROM events WHERE ts > ? AND ts <= ? AND ${c} IS NOT NULL AND ${c} != ''${after ? ' AND (user_id, ts, id) > (?, ?, ?)' : ''}
         ORDER BY user_id, ts, id LIMIT ${DEFAULT_PAGE}`,
        [from, to, ...(after ?? [])],
      );
      for (const r of rows) if (!out.has(n(r.u))) out.set(n(r.u), r.c);
      if (rows.length < DEFAULT_PAGE) return out;
      const last = rows[rows.length - 1] as { u: unknown; ts: unknown; id: unknown };
      after = [n(last.u), n(last.ts), n(last.id)];
    }
  }

  async userConsents(): Promise<{ id: number; consent: string | null }[]> {
    const rows = await this.x.all<{ id: unknown; consent: string | null }>('SELECT id, consent FROM users ORDER BY id');
    return rows.map((r) => ({ id: n(r.id), consent: r.consent }));
  }

  async externalIds(): Promise<{ id: number; externalId: string | null }[]> {
    const rows = await this.x.all<{ id: unknown; externalId: string | null }>('SELECT id, external_id AS "externalId" FROM users ORDER BY id');
    return rows.map((r) => ({ id: n(r.id), externalId: r.externalId }));
  }

  async maxEventTs(): Promise<number | null> {
    const r = await this.x.get<{ t: unknown }>('SELECT max(ts) AS t FROM events');
    return nOrNull(r?.t);
  }

  async llmCallTotals(): Promise<LlmCallTotals> {
    const r = await this.x.get<{ n: unknown; ok: unknown; p: unknown; c: unknown }>(
      `SELECT count(*) AS n, coalesce(sum(${this.d.flag("status = 'ok'")}), 0) AS ok, coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c FROM llm_calls`,
    );
    return { calls: n(r?.n ?? 0), ok: n(r?.ok ?? 0), promptTokens: n(r?.p ?? 0), completionTokens: n(r?.c ?? 0) };
  }

  async semanticEvidence(): Promise<string[]> {
    const rows = await this.x.all<{ evidence: string }>("SELECT evidence FROM traits WHERE kind = 'semantic' AND valid_to IS NULL ORDER BY id");
    return rows.map((r) => r.evidence);
  }

  async eventTexts(ids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += IN_CHUNK) {
      const part = uniq.slice(i, i + IN_CHUNK);
      const rows = await this.x.all<{ id: unknown; text: string | null }>(`SELECT id, text FROM events WHERE id IN (${part.map(() => '?').join(', ')})`, part);
      for (const r of rows) if (r.text !== null) out.set(n(r.id), r.text);
    }
    return out;
  }

  async richestKnownUser(): Promise<string | null> {
    const r = await this.x.get<{ id: string }>(
      `SELECT u.external_id AS id FROM users u JOIN traits t ON t.user_id = u.id
       WHERE t.valid_to IS NULL AND t.kind = 'semantic' AND u.external_id IS NOT NULL
       GROUP BY u.id, u.external_id ORDER BY count(DISTINCT t.key) DESC, u.id LIMIT 1`,
    );
    return r?.id ?? null;
  }
}
