import { z } from 'zod';
import { SCOPES } from '../../core/types.ts';
import { parseScopes, type KeyStore } from '../../db/stores/keys.ts';
import { defineRoute } from '../registry.ts';

const createBody = z
  .object({
    name: z.string().trim().min(1).max(200).describe('A label: who or what uses the key.'),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .describe(`Scopes among ${SCOPES.join(', ')}; admin implies all.`),
  })
  .strict();

const keyInfo = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  prefix: z.string().describe('The first characters of the secret, to recognise it.'),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});

const createdKey = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)),
  secret: z.string().describe('Shown once: only its hash is stored.'),
  createdAt: z.string(),
});

/** API keys over HTTP (admin), the same as `traitlens keys create | list | revoke`. */
export function keyRoutes(keys: KeyStore) {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/keys',
      scope: 'admin',
      idempotent: true,
      tag: 'system',
      summary: 'Create an API key',
      description:
        'The secret is in this answer only (the server keeps its hash). Send an `Idempotency-Key` so a retried request returns the same key instead of making a second one.',
      body: createBody,
      responses: { 201: { description: 'The new key, with its secret', schema: createdKey } },
      handler: async (c, { body }) => c.json(await keys.create(body.name, parseScopes(body.scopes)), 201),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/keys',
      scope: 'admin',
      tag: 'system',
      summary: 'API keys (never their secrets)',
      query: z.object({ all: z.enum(['true', 'false']).default('false').describe('Include revoked keys.') }),
      responses: { 200: { description: 'Keys, oldest first', schema: z.object({ keys: z.array(keyInfo) }) } },
      handler: async (c, { query }) => c.json({ keys: await keys.list({ includeRevoked: query.all === 'true' }) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/keys/:id',
      scope: 'admin',
      tag: 'system',
      summary: 'Revoke an API key',
      params: z.object({ id: z.string().min(1).max(100) }),
      responses: {
        200: { description: 'Revoked (again: nothing changes)', schema: z.object({ id: z.string(), revoked: z.literal(true) }) },
        404: { description: 'No such key' },
      },
      handler: async (c, { params }) => {
        await keys.revoke(params.id);
        return c.json({ id: params.id, revoked: true as const });
      },
    }),
  ];
}
