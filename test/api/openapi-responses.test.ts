/**
 * Every route in /openapi.json, called on the real server (loopback) with a valid request from the
 * table below: the status must be documented and the body must validate against the documented
 * schema (ajv, draft 2020-12). The table is checked against the document, so a new route without
 * an example fails here. Error answers (400, 401, 404) are checked against their schemas too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainStoreItemEmbeddings } from '../../src/pipeline/item-embeddings.ts';
import { initBackend } from '../../src/predict/backend.ts';
import { openApiValidator, type OpenApiDoc } from '../support/openapi.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const DAY = 86_400_000;
const T = Date.now() - 20 * DAY;

interface Example {
  /** the key's scope; null: no key */
  key?: 'admin' | null;
  /** the concrete path (OpenAPI `{x}` filled in) with its query */
  url: string;
  json?: unknown;
  /** the status this example must get */
  status: number;
  headers?: Record<string, string>;
}

// State the examples need (ids created along the way).
const state: { segmentId?: number; keyId?: number; etag?: string } = {};

/** One or more valid requests per documented operation, run in this order. */
const EXAMPLES: Record<string, () => Example[]> = {
  'post /v1/events': () => [{ url: '/v1/events', json: { events: [{ userId: 'ann', type: 'page_view', timestamp: T + 5 * DAY, properties: { path: '/x' } }] }, status: 200 }],
  'post /v1/identify': () => [{ url: '/v1/identify', json: { anonymousId: 'anon-1', userId: 'ann' }, status: 200 }],
  'put /v1/users/{id}/attributes': () => [
    { url: '/v1/users/ann/attributes', json: { attributes: { country: 'DE', email: 'Ann@Example.com' }, consent: { marketing: true } }, status: 200 },
  ],
  'get /v1/users': () => [{ url: '/v1/users?email=ann@example.com', status: 200 }],
  'get /v1/users/{id}': () => [
    { url: '/v1/users/ann', status: 200 },
    { url: '/v1/users/nobody-here', status: 404 },
  ],
  'get /v1/users/{id}/events': () => [{ url: '/v1/users/ann/events?limit=5', status: 200 }],
  'get /v1/users/{id}/traits': () => [{ url: '/v1/users/ann/traits', status: 200 }],
  'get /v1/users/{id}/traits/{key}/history': () => [{ url: '/v1/users/ann/traits/interest/history', status: 200 }],
  'post /v1/users/{id}/refresh': () => [{ url: '/v1/users/ann/refresh', status: 202 }],
  'get /v1/models': () => [{ url: '/v1/models', status: 200 }],
  'get /v1/models/{name}': () => [
    { url: '/v1/models/purchase_30d', status: 200 },
    { url: '/v1/models/no_such_model', status: 404 },
  ],
  'get /v1/stats': () => [{ url: '/v1/stats', status: 200 }],
  'get /healthz': () => [{ key: null, url: '/healthz', status: 200 }],
  'get /readyz': () => [{ key: null, url: '/readyz', status: 200 }],
  'get /v1/users/{id}/export': () => [{ url: '/v1/users/bob/export', status: 200 }],
  'get /v1/audit': () => [{ url: '/v1/audit?limit=5', status: 200 }],
  'get /metrics': () => [{ key: null, url: '/metrics', status: 200 }],
  'get /v1/users/{id}/similar': () => [
    { url: '/v1/users/ann/similar?k=3', status: 200 },
    { url: '/v1/users/ann/similar?k=100000', status: 400 },
  ],
  'post /v1/search/users': () => [
    { url: '/v1/search/users', json: { query: 'hiking in the mountains', k: 3 }, status: 200 },
    { url: '/v1/search/users', json: { query: 'hiking', k: 100000 }, status: 400 },
  ],
  'get /v1/users/{id}/summary': () => [{ url: '/v1/users/ann/summary?audience=support', status: 200 }],
  'put /v1/items/{id}': () => [{ url: '/v1/items/boots', json: { title: 'Hiking boots', category: 'outdoor', price: 120 }, status: 200 }],
  'get /v1/items/{id}': () => [{ url: '/v1/items/boots', status: 200 }],
  'get /v1/items': () => [{ url: '/v1/items?limit=5', status: 200 }],
  'get /v1/items/{id}/similar': () => [{ url: '/v1/items/boots/similar?k=3', status: 200 }],
  'get /v1/users/{id}/items': () => [{ url: '/v1/users/ann/items?k=3', status: 200 }],
  'get /v1/users/{id}/recommendations': () => [{ url: '/v1/users/ann/recommendations?k=3', status: 200 }],
  'post /v1/segments': () => [
    { url: '/v1/segments', json: { description: 'people who love hiking' }, status: 200 },
    { url: '/v1/segments', json: { name: 'Germans', filter: { attribute: { key: 'country', eq: 'DE' } } }, status: 201 },
  ],
  'get /v1/segments': () => [{ url: '/v1/segments', status: 200 }],
  'get /v1/segments/{id}/users': () => [{ url: `/v1/segments/${state.segmentId}/users`, status: 200 }],
  'post /v1/segments/{id}/lookalikes': () => [{ url: `/v1/segments/${state.segmentId}/lookalikes?k=3`, status: 200 }],
  'post /v1/segments/preview': () => [{ url: '/v1/segments/preview', json: { filter: { attribute: { key: 'country', eq: 'DE' } } }, status: 200 }],
  'get /v1/segments/{id}': () => [{ url: `/v1/segments/${state.segmentId}`, status: 200 }],
  'patch /v1/segments/{id}': () => [{ url: `/v1/segments/${state.segmentId}`, json: { name: 'Germany' }, status: 200 }],
  'get /v1/segments/{id}/portrait': () => [{ url: `/v1/segments/${state.segmentId}/portrait`, status: 200 }],
  'delete /v1/segments/{id}': () => [{ url: `/v1/segments/${state.segmentId}`, status: 200 }],
  'post /v1/jobs/retry': () => [{ url: '/v1/jobs/retry', json: {}, status: 200 }],
  'post /v1/keys': () => [{ url: '/v1/keys', json: { name: 'reader', scopes: ['profiles:read'] }, status: 201 }],
  'get /v1/keys': () => [{ url: '/v1/keys', status: 200 }],
  'delete /v1/keys/{id}': () => [{ url: `/v1/keys/${state.keyId}`, status: 200 }],
  'delete /v1/users/{id}': () => [{ url: '/v1/users/bob', status: 200 }],
  'get /openapi.json': () => [{ key: null, url: '/openapi.json', status: 200 }],
  'get /docs': () => [{ key: null, url: '/docs', status: 200 }],
};

let srv: TestServer;
let doc: OpenApiDoc;
let validator: ReturnType<typeof openApiValidator>;

async function call(method: string, ex: Example): Promise<{ status: number; body: unknown; contentType: string; headers: Headers }> {
  const headers: Record<string, string> = { ...ex.headers };
  if (ex.key !== null) headers.authorization = `Bearer ${srv.keys.admin}`;
  if (ex.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${srv.url}${ex.url}`, { method: method.toUpperCase(), headers, ...(ex.json !== undefined ? { body: JSON.stringify(ex.json) } : {}) });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return { status: res.status, body: contentType.includes('json') && text ? JSON.parse(text) : text, contentType: contentType || 'application/json', headers: res.headers };
}

beforeAll(async () => {
  await initBackend({ log: () => {} });
  srv = await startTestServer({ TRAITLENS_MODELS_DIR: 'test/fixtures/models', TRAITLENS_ITEM_DIM: '8' });
  const events: unknown[] = [];
  const people = { ann: 'I love hiking in the mountains with my dog', bob: 'I love hiking and camping in the alps', cat: 'I enjoy baking bread and cooking' };
  for (const [i, [userId, text]] of Object.entries(people).entries()) {
    events.push({ userId, type: 'chat_message', text, timestamp: T + i });
    for (let k = 0; k < 4; k++) events.push({ userId, type: 'purchase', timestamp: T + DAY * (1 + k) + i, properties: { item: k % 2 ? 'boots' : `tent${i}` } });
  }
  const r = await call('post', { url: '/v1/events', json: { events }, status: 200 });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  await srv.runtime.pipeline.createWorker().drain();
  await trainStoreItemEmbeddings(srv.store, srv.runtime.config, { epochs: 5, learningRate: 0.05, batchSize: 16, seed: 7 });
  await srv.runtime.profiles.index.open();
  doc = (await call('get', { key: null, url: '/openapi.json', status: 200 })).body;
  validator = openApiValidator(doc);
}, 120_000);
afterAll(async () => {
  await srv?.server.close();
  srv?.cleanup();
});

const operations = () => Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m} ${p}`));

describe('every documented response, on the real server', () => {
  it('has an example request for every operation in the document (and none for routes that are gone)', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(operations().sort());
  });

  it('answers each example with a documented status and a body that validates against its schema', async () => {
    const failures: string[] = [];
    const seen = new Map<string, Set<number>>();
    for (const [op, examples] of Object.entries(EXAMPLES)) {
      const [method, path] = op.split(' ') as [string, string];
      for (const ex of examples()) {
        const r = await call(method, ex);
        (seen.get(op) ?? seen.set(op, new Set()).get(op))?.add(r.status);
        if (r.status !== ex.status) failures.push(`${op} ${ex.url}: ${r.status}, expected ${ex.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        const check = validator.check(method, path, r.status, r.body, r.contentType);
        if (!check.documented) failures.push(`${op}: status ${r.status} is not documented`);
        for (const e of check.errors) failures.push(`${op} ${r.status}: ${e}`);
        if (op === 'post /v1/segments' && r.status === 201) state.segmentId = (r.body as { id: number }).id;
        if (op === 'post /v1/keys' && r.status === 201) state.keyId = (r.body as { id: number }).id;
      }
    }
    expect(failures).toEqual([]);
    // Every documented success status was produced by some example.
    const missing: string[] = [];
    for (const op of operations()) {
      const [method, path] = op.split(' ') as [string, string];
      for (const s of Object.keys(doc.paths[path][method].responses).map(Number)) if (s >= 200 && s < 300 && !seen.get(op)?.has(s)) missing.push(`${op} ${s}`);
    }
    expect(missing).toEqual([]);
  }, 120_000);

  it('an unauthenticated call to a scoped route answers the documented 401 error', async () => {
    const r = await call('get', { key: null, url: '/v1/users/ann', status: 401 });
    expect(r.status).toBe(401);
    expect(validator.check('get', '/v1/users/{id}', 401, r.body)).toEqual({ documented: true, errors: [] });
  });

  it('the document publishes its shared shapes once, as named components, and says where and under what licence', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    expect(doc.info.license).toMatchObject({ name: 'MIT', identifier: 'MIT' });
    for (const name of ['Error', 'Profile', 'Trait', 'ModelCard', 'Item', 'Segment', 'SegmentProposal', 'Lookalikes']) expect(doc.components.schemas[name], name).toBeDefined();
    const text = JSON.stringify(doc.paths);
    expect(text).toContain('"$ref":"#/components/schemas/Trait"');
    expect(Object.keys(doc.components.schemas.ModelCard.properties)).toEqual(expect.arrayContaining(['blend', 'curves', 'metrics']));
    expect(Object.keys(doc.components.schemas.ModelCard.properties.metrics.properties)).toContain('networkTest');
  });

  it('the k caps of /similar and /search/users agree', () => {
    const similarK = doc.paths['/v1/users/{id}/similar'].get.parameters.find((p: { name: string }) => p.name === 'k').schema.maximum;
    const searchK = doc.paths['/v1/search/users'].post.requestBody.content['application/json'].schema.properties.k.maximum;
    expect(searchK).toBe(similarK);
  });
});
