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
}

const SEGMENT_COLUMNS = 'id, name, description, filter, created_at AS "createdAt", updated_at AS "updatedAt"';

const toRow = (r: SegmentRow): SegmentRow => ({ ...r, id: Number(r.id), createdAt: Number(r.createdAt), updatedAt: Number(r.updatedAt) });

export class SqlSegmentStore implements SegmentStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}

  async insert(s: { name: string; description: string | null; filter: string }, now: number): Promise<SegmentRow> {
    const r = await this.x.tx((q) =>
      q.get<SegmentRow>(`INSERT INTO segments (name, description, filter, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING ${SEGMENT_COLUMNS}`, [
        s.name,
        s.description,
        s.filter,
        now,
        now,
      ]),
    );
    if (!r) throw new Error('segment insert returned no row');
    return toRow(r);
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
}
