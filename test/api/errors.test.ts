import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../src/core/errors.ts';
import { createApp } from '../../src/api/app.ts';
import { assembleRuntime } from '../../src/runtime/runtime.ts';
import { LlmBudgetExhaustedError } from '../../src/providers/budget.ts';
import { CircuitOpenError, ProviderAuthError, ProviderBadResponseError, ProviderRequestError, ProviderServerError, classifyProviderError } from '../../src/providers/errors.ts';
import { openDb } from '../../src/db/connection.ts';
import { notFound, onError } from '../../src/api/errors.ts';
import { requestId } from '../../src/api/middleware/request-id/index.ts';
import type { ApiEnv } from '../../src/api/types.ts';
import { createKeysPerScope, createTestApi, readResponse, testConfig, type TestApi } from '../support/api.ts';
import { startOpenAIServer, type OpenAITestServer } from '../support/openai-server.ts';
import { createTempDb, type TempDb } from '../support/temp-db.ts';

describe('the error mapper', () => {
  // A bare app with only the real mapper: each route throws one kind of error.
  const thrown: Record<string, () => never> = {
    validation: () => {
      throw new ValidationError('bad field', [{ field: 'x', message: 'nope' }]);
    },
    unauthorized: () => {
      throw new UnauthorizedError();
    },
    forbidden: () => {
      throw new ForbiddenError('no scope', { requiredScope: 'admin' });
    },
    notfound: () => {
      throw new NotFoundError('no such thing');
    },
    conflict: () => {
      throw new ConflictError('clash', undefined, 'identity_conflict');
    },
    toolarge: () => {
      throw new PayloadTooLargeError('too big');
    },
    mediatype: () => {
      throw new UnsupportedMediaTypeError('not json');
    },
    unprocessable: () => {
      throw new UnprocessableError('cannot');
    },
    ratelimited: () => {
      throw new RateLimitedError('slow down', 2.2);
    },
    unavailable: () => {
      throw new ServiceUnavailableError('later');
    },
    http: () => {
      throw new HTTPException(408, { message: 'too slow' });
    },
    http500: () => {
      throw new HTTPException(502, { message: 'upstream said secret things' });
    },
    config: () => {
      throw new ConfigError('TRAITLENS_DB is /secret/path');
    },
    bug: () => {
      throw new TypeError("Cannot read properties of undefined (reading 'secret')");
    },
    // Provider failures as the classifier builds them from what the SDK threw (upstream text included).
    upstream502: () => {
      throw classifyProviderError(Object.assign(new Error('502 Bad Gateway <html>nginx secret-host</html>'), { status: 502 }), 'openai');
    },
    upstream503retry: () => {
      throw classifyProviderError(Object.assign(new Error('503 overloaded'), { status: 503, headers: { 'retry-after': '17' } }), 'openai');
    },
    providerAuth: () => {
      throw new ProviderAuthError('openai: 401 Incorrect API key provided: sk-secret-abc', 401);
    },
    providerRequest: () => {
      throw new ProviderRequestError('openai: 404 model secret-model not found', 404);
    },
    providerBadAnswer: () => {
      throw new ProviderBadResponseError('openai: unreadable response: secret user text', { rawOutput: 'secret user text' });
    },
    circuitOpen: () => {
      throw new CircuitOpenError('openai', 12_300);
    },
    budget: () => {
      throw new LlmBudgetExhaustedError(100, 100, 1_000 + 3_600_000, 1_000);
    },
    providerServerNoDelay: () => {
      throw new ProviderServerError('openai: 500 secret stack', 500);
    },
  };
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
  const app = new Hono<ApiEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use('*', requestId(), async (c, next) => {
    c.set('logger', logger);
    await next();
  });
  for (const [name, fn] of Object.entries(thrown)) app.get(`/${name}`, fn);

  const cases: [string, number, string][] = [
    ['validation', 400, 'validation_error'],
    ['unauthorized', 401, 'unauthorized'],
    ['forbidden', 403, 'forbidden'],
    ['notfound', 404, 'not_found'],
    ['conflict', 409, 'identity_conflict'],
    ['toolarge', 413, 'payload_too_large'],
    ['mediatype', 415, 'unsupported_media_type'],
    ['unprocessable', 422, 'unprocessable'],
    ['ratelimited', 429, 'rate_limited'],
    ['unavailable', 503, 'unavailable'],
    ['http', 408, 'request_timeout'],
  ];
  it.each(cases)('%s → %i %s with the standard body', async (name, status, code) => {
    const r = await readResponse(await app.request(`/${name}`));
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(Object.keys(r.body)).toEqual(['error']);
    expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(r.body.error.code).toBe(code);
  });

  it('keeps details, and adds WWW-Authenticate to 401 and Retry-After to 429', async () => {
    expect((await readResponse(await app.request('/validation'))).body.error.details).toEqual([{ field: 'x', message: 'nope' }]);
    expect((await readResponse(await app.request('/forbidden'))).body.error.details).toEqual({ requiredScope: 'admin' });
    expect((await app.request('/unauthorized')).headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await app.request('/ratelimited')).headers.get('retry-after')).toBe('3');
    expect((await readResponse(await app.request('/notfound'))).body.error.details).toBeNull();
  });

  // One mapper for provider failures: a 502-class error is a 502 (not our 500), a 503 keeps the
  // provider's retry delay as Retry-After, and the upstream's text never reaches the client.
  const providerCases: [string, number, string, string | null][] = [
    ['upstream502', 503, 'provider_unavailable', null],
    ['upstream503retry', 503, 'provider_unavailable', '17'],
    ['providerServerNoDelay', 503, 'provider_unavailable', null],
    ['providerAuth', 502, 'provider_auth', null],
    ['providerRequest', 502, 'provider_request_rejected', null],
    ['providerBadAnswer', 502, 'provider_bad_response', null],
    ['circuitOpen', 503, 'provider_circuit_open', '13'],
    ['budget', 503, 'llm_budget_exhausted', '3600'],
  ];
  it.each(providerCases)('%s → %i %s, Retry-After %s, nothing upstream leaked', async (name, status, code, retryAfter) => {
    lines.length = 0;
    const r = await readResponse(await app.request(`/${name}`, { headers: { 'x-request-id': `req-${name}` } }));
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(Object.keys(r.body.error).sort()).toEqual(['code', 'details', 'message']);
    expect(r.headers.get('retry-after')).toBe(retryAfter);
    expect(r.text).not.toMatch(/secret|nginx|Incorrect API key|at \/|\.ts:/);
    expect(r.body.error.message.length).toBeGreaterThan(10);
  });

  it('a provider error keeps the upstream status for the client, and the full text for the log', async () => {
    lines.length = 0;
    const r = await readResponse(await app.request('/providerAuth', { headers: { 'x-request-id': 'req-auth' } }));
    expect(r.body.error.details).toMatchObject({ upstreamStatus: 401, requestId: 'req-auth' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ reqId: 'req-auth', err: { message: expect.stringContaining('Incorrect API key') } });
  });

  it.each(['bug', 'config', 'http500'])('%s → 500 internal_error, nothing leaked, logged with the request id', async (name) => {
    lines.length = 0;
    const res = await app.request(`/${name}`, { headers: { 'x-request-id': `req-${name}` } });
    const r = await readResponse(res);
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: { code: 'internal_error', message: 'internal error', details: { requestId: `req-${name}` } } });
    expect(r.text).not.toMatch(/secret|TypeError|at \/|\.ts:/);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 50, reqId: `req-${name}`, err: { message: expect.any(String), stack: expect.any(String) } });
  });
});

describe('the real app', () => {
  let t: TempDb;
  const lines: Record<string, unknown>[] = [];
  let app: ReturnType<typeof createApp>;
  let keys: Awaited<ReturnType<typeof createKeysPerScope>>;
  beforeAll(async () => {
    t = createTempDb();
    keys = await createKeysPerScope(t.store);
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    app = createApp(assembleRuntime(t.store, testConfig(t.path)), { logger });
  });
  afterAll(() => t.cleanup());

  it('logs one line per request: id, method, route, status, ms, key id (never the secret)', async () => {
    lines.length = 0;
    await app.request('/v1/users/someone/events?limit=5', { headers: { authorization: `Bearer ${keys['profiles:read']}`, 'x-request-id': 'log-1' } });
    await app.request('/nowhere', { headers: { 'x-request-id': 'log-2' } });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ reqId: 'log-1', method: 'GET', route: '/v1/users/:id/events', status: 404, msg: 'request' });
    expect(lines[0]!.keyId).toMatch(/^key_/);
    expect(typeof lines[0]!.ms).toBe('number');
    expect(lines[1]).toMatchObject({ reqId: 'log-2', route: null, status: 404, keyId: null });
    expect(JSON.stringify(lines)).not.toContain(keys['profiles:read']);
  });

  it('a database failure is a 500 without the driver message', async () => {
    const own = createTempDb();
    const a = createApp(assembleRuntime(own.store, testConfig(own.path)), { logger: pino({ level: 'silent' }) });
    const k = await createKeysPerScope(own.store);
    own.db.close();
    const r = await readResponse(await a.request('/v1/users/x', { headers: { authorization: `Bearer ${k.admin}` } }));
    // the key lookup itself fails: still our fault, still a clean 500
    expect(r.status).toBe(500);
    expect(r.body.error.code).toBe('internal_error');
    expect(r.text).not.toMatch(/database|sqlite|connection/i);
    own.cleanup();
  });
});

describe('a locked database', () => {
  it('is a 503 database_busy with Retry-After, and the request can be retried', async () => {
    const t = createTempDb({ busyTimeoutMs: 50 });
    try {
      const keys = await createKeysPerScope(t.store);
      const app = createApp(assembleRuntime(t.store, testConfig(t.path)), { logger: pino({ level: 'silent' }) });
      const other = openDb(t.path, { busyTimeoutMs: 50 });
      other.sqlite.exec('BEGIN IMMEDIATE'); // another process holding the write lock
      const send = () =>
        app.request('/v1/events', {
          method: 'POST',
          headers: { authorization: `Bearer ${keys['events:write']}`, 'content-type': 'application/json' },
          body: JSON.stringify([{ userId: 'busy', type: 'click', eventId: 'busy-1' }]),
        });
      const r = await readResponse(await send());
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.error.code).toBe('database_busy');
      other.sqlite.exec('ROLLBACK');
      other.close();
      const again = await readResponse(await send());
      expect(again.status).toBe(200);
      expect(again.body.accepted).toBe(1);
    } finally {
      t.cleanup();
    }
  });
});

describe('provider failures through the real app and a loopback model server (issue 10.4)', () => {
  let llm: OpenAITestServer;
  let api: TestApi;
  beforeAll(async () => {
    llm = await startOpenAIServer();
    // No transport retries and a breaker that stays closed: each request meets exactly one upstream answer.
    api = createTestApi({ OPENAI_BASE_URL: llm.baseURL, OPENAI_CHAT_MODEL: 'test-model', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '2000', OPENAI_BREAKER_THRESHOLD: '100' });
  });
  afterAll(async () => {
    api?.cleanup();
    await llm?.close();
  });
  const propose = () => api.request('POST', '/v1/segments', { json: { description: 'people who love hiking' } });

  it.each([
    ['502 Bad Gateway', 503, 'provider_unavailable', null, { status: 502, message: 'upstream nginx secret-host' }],
    ['503 with retry-after', 503, 'provider_unavailable', '30', { status: 503, headers: { 'retry-after': '30' }, message: 'overloaded secret' }],
    ['401 bad key', 502, 'provider_auth', null, { status: 401, message: 'Incorrect API key provided: sk-secret-123' }],
    ['400 rejected request', 502, 'provider_request_rejected', null, { status: 400, message: 'model secret-model does not exist' }],
  ] as const)('upstream %s → %i %s (Retry-After %s), never a 500, nothing upstream leaked', async (_name, status, code, retryAfter, fixture) => {
    llm.enqueueChat({ type: 'status', ...fixture });
    const r = await propose();
    expect(r.status, r.text).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.headers.get('retry-after')).toBe(retryAfter);
    expect(r.text).not.toMatch(/secret|nginx|sk-/);
  });
});
