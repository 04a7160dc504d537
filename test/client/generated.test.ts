/** The committed client/openapi.json and client/openapi.ts are what `npm run client:generate` makes from the live document. */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { typesFromDocument } from '../../client/generate.ts';
import { createTestApi } from '../support/api.ts';

const api = createTestApi();
afterAll(() => api.cleanup());

describe('the generated client', () => {
  it('is up to date with /openapi.json (else run npm run client:generate)', async () => {
    const live = (await api.request('GET', '/openapi.json', { key: null })).body;
    expect(JSON.parse(readFileSync('client/openapi.json', 'utf8')), 'client/openapi.json is stale: npm run client:generate').toEqual(live);
    expect(readFileSync('client/openapi.ts', 'utf8') === (await typesFromDocument(live as object)), 'client/openapi.ts is stale: npm run client:generate').toBe(true);
  });
});

describe('the client folder', () => {
  it('imports nothing from the server: only openapi-fetch, openapi-typescript and its own files', () => {
    for (const f of ['index.ts', 'generate.ts']) {
      const specifiers = [...readFileSync(`client/${f}`, 'utf8').matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => m[1]);
      expect(specifiers.length, f).toBeGreaterThan(0);
      for (const s of specifiers) expect(s, `client/${f}`).toMatch(/^(openapi-fetch|openapi-typescript|\.\/[\w.-]+)$/);
    }
  });
});
