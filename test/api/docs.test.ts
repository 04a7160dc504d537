import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventInputSchema, identifySchema } from '../../src/ingest/schema.ts';
import { z } from 'zod';
import { createTestApi, type TestApi } from '../support/api.ts';

let api: TestApi;
// any: an OpenAPI document is walked generically below.
let doc: any;
beforeAll(async () => {
  api = createTestApi();
  const r = await api.request('GET', '/openapi.json', { key: null });
  expect(r.status).toBe(200);
  doc = r.body;
});
afterAll(() => api.cleanup());

const ROUTES = [
  'post /v1/events',
  'post /v1/identify',
  'put /v1/users/{id}/attributes',
  'get /v1/users/{id}',
  'get /v1/users/{id}/events',
  'get /v1/stats',
  'get /v1/users/{id}/traits',
  'get /v1/users/{id}/traits/{key}/history',
  'post /v1/users/{id}/refresh',
  'get /v1/models',
  'delete /v1/users/{id}',
  'get /v1/users/{id}/export',
  'get /v1/audit',
  'get /metrics',
  'get /v1/models/{name}',
  'get /v1/users/{id}/similar',
  'post /v1/search/users',
  'get /v1/users/{id}/summary',
  'get /v1/users/{id}/recommendations',
  'get /v1/users/{id}/items',
  'put /v1/items/{id}',
  'get /v1/items',
  'get /v1/items/{id}',
  'get /v1/items/{id}/similar',
  'post /v1/segments',
  'get /v1/segments',
  'get /v1/segments/{id}/users',
  'post /v1/segments/{id}/lookalikes',
  'post /v1/segments/preview',
  'get /v1/segments/{id}',
  'patch /v1/segments/{id}',
  'delete /v1/segments/{id}',
  'get /v1/segments/{id}/portrait',
  'post /v1/jobs/retry',
  'get /v1/users',
  'post /v1/keys',
  'get /v1/keys',
  'delete /v1/keys/{id}',
  'get /healthz',
  'get /readyz',
  'get /openapi.json',
  'get /docs',
];

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document listing every route', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    const listed = Object.entries(doc.paths).flatMap(([p, item]) => Object.keys(item as object).map((m) => `${m} ${p}`));
    expect(listed.sort()).toEqual([...ROUTES].sort());
  });

  it('every listed route is really mounted: 401 without a key when scoped, else 200', async () => {
    for (const r of ROUTES) {
      const [method, path] = r.split(' ') as [string, string];
      const scoped = Boolean(doc.paths[path][method]['x-required-scope']);
      const res = await api.request(method.toUpperCase(), path.replace('{id}', 'someone').replace('{key}', 'interest').replace('{name}', 'purchase_30d'), { key: null });
      expect(res.status, r).toBe(scoped ? 401 : 200);
    }
  });

  it('has well-formed operations: unique ids, responses, path params, security by scope', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        expect(['get', 'post', 'put', 'delete', 'patch']).toContain(method);
        expect(op.operationId).toMatch(/^[A-Za-z0-9]+$/);
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        expect(typeof op.summary).toBe('string');
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const [status, resp] of Object.entries<any>(op.responses)) {
          expect(status).toMatch(/^[1-5]\d\d$/);
          expect(typeof resp.description).toBe('string');
        }
        const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(op.parameters.filter((p: any) => p.in === 'path').map((p: any) => p.name)).toEqual(pathParams);
        for (const p of op.parameters) expect(p.schema).toBeTypeOf('object');
        if (op['x-required-scope']) {
          expect(op.security).toEqual([{ bearerAuth: [] }]);
          expect(op.responses['401'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
          expect(op.responses['403']).toBeDefined();
        } else expect(op.security).toEqual([]);
        const json = JSON.stringify(op);
        expect(json).not.toContain('"$schema"');
      }
    }
  });

  it('declares the bearer scheme and the error body', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    const err = doc.components.schemas.Error;
    expect(err.properties.error.required.sort()).toEqual(['code', 'details', 'message']);
  });

  it('schemas come from the zod schemas that validate requests', () => {
    const events = doc.paths['/v1/events'].post.requestBody.content['application/json'].schema;
    const eventSchema = z.toJSONSchema(eventInputSchema, { io: 'input' }) as Record<string, unknown>;
    delete eventSchema.$schema;
    expect(JSON.stringify(events)).toContain(JSON.stringify(eventSchema));
    const ident = doc.paths['/v1/identify'].post.requestBody.content['application/json'].schema;
    const identSchema = z.toJSONSchema(identifySchema, { io: 'input' }) as Record<string, unknown>;
    delete identSchema.$schema;
    expect(ident).toEqual(identSchema);
    const limit = doc.paths['/v1/users/{id}/events'].get.parameters.find((p: any) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } });
    expect(doc.paths['/v1/users/{id}/events'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty('nextCursor');
  });
});

describe('GET /docs', () => {
  it('is a self-contained HTML page that renders /openapi.json', async () => {
    const r = await api.request('GET', '/docs', { key: null });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/html');
    expect(r.text).toMatch(/^<!doctype html>/i);
    expect(r.text).toContain('openapi.json');
    // no external assets: no src/href to another origin, no @import
    expect(r.text).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(r.text).not.toMatch(/@import|<link[^>]+stylesheet/i);
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('its script renders every route from the real document (run against a minimal DOM stand-in)', async () => {
    const page = (await api.request('GET', '/docs', { key: null })).text;
    const script = /<script>([\s\S]*)<\/script>/.exec(page)?.[1];
    expect(script).toBeDefined();
    class El {
      kids: (El | string)[] = [];
      textContent = '';
      setAttribute() {}
      append(...k: (El | string)[]) {
        this.kids.push(...k);
      }
      get children() {
        return this.kids;
      }
      text(): string {
        return [this.textContent, ...this.kids.map((k) => (typeof k === 'string' ? k : k.text()))].join(' ');
      }
    }
    const byId: Record<string, El> = {};
    const document = { createElement: () => new El(), getElementById: (id: string) => (byId[id] ??= new El()) };
    const fetch = async () => ({ ok: true, json: async () => doc });
    new Function('document', 'fetch', 'Node', script!)(document, fetch, El);
    await new Promise((r) => setTimeout(r, 20));
    expect(byId.err?.textContent ?? '').toBe('');
    const text = byId.ops!.text();
    for (const r of ROUTES) expect(text, r).toContain(r.split(' ')[1]);
    expect(text).toContain('events[].type');
    expect(text).toContain('scope: events:write');
  });
});
