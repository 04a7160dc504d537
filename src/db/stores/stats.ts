import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** TODO(seam): the stats aggregate's async methods move here from src/db/*.ts and the stages. */
// biome-ignore lint: placeholder filled by the aggregate's conversion
export interface StatsStore {}

export class SqlStatsStore implements StatsStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}
}
