import { z } from 'zod';
import { defineRoute } from '../registry.ts';
import { DOCS_HTML } from '../docs-page.ts';

/** /openapi.json and /docs: served from a document built once from the route registry. */
export function docsRoutes(getDocument: () => Record<string, unknown>) {
  return [
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      tag: 'system',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'OpenAPI 3.1', schema: z.record(z.string(), z.unknown()) } },
      handler: (c) => c.json(getDocument()),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      tag: 'system',
      summary: 'Human-readable API reference (renders /openapi.json)',
      responses: { 200: { description: 'HTML page', contentType: 'text/html', schema: z.string() } },
      handler: (c) => {
        // Everything is inline; nothing else may load.
        c.header('Content-Security-Policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'");
        return c.html(DOCS_HTML);
      },
    }),
  ];
}
