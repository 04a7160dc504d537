import type { Logger } from 'pino';
import type { Scope } from '../../src/core/types.ts';
import { startServer, type RunningServer } from '../../src/api/server.ts';
import { assembleRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { createKeysPerScope, testConfig } from './api.ts';
import { createTempDb, type TempDb } from './temp-db.ts';

export interface TestServer extends TempDb {
  server: RunningServer;
  url: string;
  keys: Record<Scope, string>;
  /** the server's runtime (e.g. `runtime.pipeline.createWorker().drain()` with TRAITLENS_WORKER=false) */
  runtime: Runtime;
}

/** The real HTTP server from `startServer` on 127.0.0.1, a random port, over a temp database; `logger` to read its log lines. */
export async function startTestServer(env: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<TestServer> {
  const temp = createTempDb();
  const keys = await createKeysPerScope(temp.store);
  let server: RunningServer;
  let runtime: Runtime;
  try {
    const config = testConfig(temp.path, env);
    runtime = assembleRuntime(temp.store, config);
    server = await startServer({ config, runtime, handleSignals: false, ...(opts.logger ? { logger: opts.logger } : {}) });
  } catch (err) {
    temp.cleanup();
    throw err;
  }
  return {
    ...temp,
    server,
    url: server.url,
    keys,
    runtime,
    cleanup: temp.cleanup,
  };
}
