/**
 * npm run client:generate — saves the server's OpenAPI document (as a default-configured server
 * serves it) to client/openapi.json and generates client/openapi.ts from it.
 */
import { writeFileSync } from 'node:fs';
import { typesFromDocument } from '../client/generate.ts';
import { createTestApi } from '../test/support/api.ts';

const api = createTestApi();
try {
  const r = await api.request('GET', '/openapi.json', { key: null });
  if (r.status !== 200) throw new Error(`GET /openapi.json: ${r.status}`);
  writeFileSync('client/openapi.json', `${JSON.stringify(r.body, null, 2)}\n`);
  writeFileSync('client/openapi.ts', await typesFromDocument(r.body as object));
  console.log('wrote client/openapi.json and client/openapi.ts');
} finally {
  api.cleanup();
}
