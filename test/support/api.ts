import { dirname } from 'node:path';
import type { Hono } from 'hono';
import { loadConfig, type Config } from '../../src/core/config.ts';
import { SCOPES, type Scope } from '../../src/core/types.ts';
import type { Store } from '../../src/db/store.ts';
import { newKeySecret } from '../../src/db/stores/keys.ts';
import { createApp } from '../../src/api/app.ts';
import { assembleRuntime, type Runtime } from '../../src/runtime/runtime.ts';
import { createLifecycle, type ApiEnv, type Lifecycle } from '../../src/api/types.ts';
import { createTempDb, type TempDb } from './temp-db.ts';

// any (default): tests read arbitrary response shapes; their assertions are the type check.
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  /** parsed JSON, or the text when the body is not JSON */
  body: T;
  text: string;
}

export interface TestApi extends TempDb {
  app: Hono<ApiEnv>;
  /** the composition root the app runs on (over the temp store) */
  runtime: Runtime;
  config: Config;
  lifecycle: Lifecycle;
  /** one key secret per scope (`admin` implies all); written by the time `ready` resolves */
  keys: Record<Scope, string>;
  /** resolves once the keys are stored (`request` waits for it; so does anything reading the key rows) */
  ready: Promise<void>;
  request(method: string, path: string, opts?: { key?: string | null; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> }): Promise<ApiResponse>;
}

/** Test settings: silent logs, the temp DB; `env` overrides any variable. */
export function testConfig(dbPath: string, env: Record<string, string> = {}): Config {
  // The data directory is the test's own folder (models, index), so a developer's ./data/models never
  // leaks into a test; the word-vector cache stays the shared ./data/cache (built once per machine).
  return loadConfig({
    LOG_LEVEL: 'silent',
    TRAITLENS_DB: dbPath,
    TRAITLENS_DATA_DIR: dirname(dbPath),
    TRAITLENS_CACHE_DIR: './data/cache',
    TRAITLENS_DB_SYNCHRONOUS: 'OFF',
    HOST: '127.0.0.1',
    PORT: '0',
    TRAITLENS_WORKER: 'false',
    ...env,
  });
}

/** one key per scope, every scope there is */
const TEST_SCOPES: readonly Scope[] = SCOPES;

/** Creates one API key per scope in `store`. */
export async function createKeysPerScope(store: Store): Promise<Record<Scope, string>> {
  const keys = {} as Record<Scope, string>;
  for (const s of TEST_SCOPES) keys[s] = (await store.keys.create(`test ${s}`, [s])).secret;
  return keys;
}

/** The real app over a temp SQLite file, driven through `app.request()`. */
export function createTestApi(env: Record<string, string> = {}): TestApi {
  const temp = createTempDb();
  const config = testConfig(temp.path, env);
  const lifecycle = createLifecycle();
  const runtime = assembleRuntime(temp.store, config);
  const app = createApp(runtime, { lifecycle });
  // createTestApi stays synchronous (most suites call it in a sync beforeEach, one expects it to
  // throw): the secrets are chosen here and the rows written through the async store; `request`
  // waits for them.
  const keys = Object.fromEntries(TEST_SCOPES.map((s) => [s, newKeySecret()])) as Record<Scope, string>;
  const ready = (async () => {
    for (const s of TEST_SCOPES) await temp.store.keys.create(`test ${s}`, [s], { secret: keys[s] });
  })();
  ready.catch(() => {}); // surfaced by the first request, not as an unhandled rejection
  const request: TestApi['request'] = async (method, path, opts = {}) => {
    await ready;
    const headers: Record<string, string> = {};
    const key = opts.key === undefined ? keys.admin : opts.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    Object.assign(headers, opts.headers);
    const res = await app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    return readResponse(res);
  };
  const cleanup = () => {
    runtime.profiles.close();
    temp.cleanup();
  };
  return { ...temp, cleanup, app, runtime, config, lifecycle, keys, ready, request };
}

export async function readResponse(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body, text };
}
