import type { Config } from '../../src/core/config.ts';
import type { Db } from '../../src/db/connection.ts';
import { sqliteStore, type Store } from '../../src/db/store.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { assembleRuntime, type RuntimeOptions } from '../../src/runtime/runtime.ts';

/** The pipeline as the composition root builds it, over a test database (or store). */
export function pipelineFor(from: Db | Store, config: Config, opts: RuntimeOptions = {}): Pipeline {
  const store = 'sqlite' in from ? sqliteStore(from) : from;
  return assembleRuntime(store, config, opts).pipeline;
}
