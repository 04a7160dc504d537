import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** TODO(seam): the users aggregate's async methods move here from src/db/*.ts and the stages. */
// biome-ignore lint: placeholder filled by the aggregate's conversion
export interface UserStore {}

export class SqlUserStore implements UserStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}
}
