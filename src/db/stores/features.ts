import type { Dialect } from '../sql/dialect.ts';
import type { Executor } from '../sql/executor.ts';

/** TODO(seam): the features aggregate's async methods move here from src/db/*.ts and the stages. */
// biome-ignore lint: placeholder filled by the aggregate's conversion
export interface FeatureStore {}

export class SqlFeatureStore implements FeatureStore {
  constructor(
    protected readonly x: Executor,
    protected readonly d: Dialect,
  ) {}
}
