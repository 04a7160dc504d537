import type { Context, Hono, MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { issuesToDetails, ValidationError } from '../core/errors.ts';
import type { Scope } from '../core/types.ts';
import { errorBodySchema, errorResponse } from './errors.ts';
import { requireScope } from './middleware/auth/index.ts';
import type { ApiEnv } from './types.ts';

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';
type AnyObject = z.ZodType<Record<string, unknown>>;

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  /** defaults to application/json */
  contentType?: string;
}

/**
 * One route: how it is mounted and how it is documented, from the same declaration, so the
 * OpenAPI document cannot drift from what the server validates.
 */
export interface RouteDef<B extends z.ZodType = z.ZodType, Q extends AnyObject = AnyObject, P extends AnyObject = AnyObject> {
  method: Method;
  /** hono pattern, e.g. /v1/users/:id */
  path: string;
  /** required scope; undefined = public (no auth) */
  scope?: Scope;
  /**
   * Audit action (e.g. 'profile.read'): each authorised call is written to audit_log with the key,
   * route, status, time and internal user id (from `:id`). Set it on every route that reads personal data.
   */
  audit?: string;
  /**
   * Whose per-user data the answer carries, so the audit rows name exactly those users (one row
   * each): `param` — the user named by `:id` (default: true on `/users/:id…` paths); `body` — paths
   * to the external ids the JSON answer lists, e.g. `results[].userId`, `users[]`. Needs `audit`.
   * Published as `x-returns-users`; a test derives the routes that need it from the document.
   */
  returnsUsers?: ReturnsUsers;
  /** A read a browser may revalidate: `ETag` on the answer, `304` for a matching `If-None-Match`. */
  etag?: boolean;
  /** A POST that creates: honours `Idempotency-Key` (the first answer replayed for the same key and body). */
  idempotent?: boolean;
  summary: string;
  description?: string;
  tag: string;
  body?: B;
  /**
   * The documented body when validation is split: e.g. an event batch validates the envelope
   * here and each event with `eventInputSchema` inside ingestion, so the document shows the latter.
   */
  bodyDoc?: z.ZodType;
  query?: Q;
  params?: P;
  responses: Record<number, RouteResponse>;
  handler: (c: Context<ApiEnv>, input: { body: z.output<B>; query: z.output<Q>; params: z.output<P> }) => Response | Promise<Response>;
}

export interface ReturnsUsers {
  param?: boolean;
  body?: readonly string[];
}

const USER_PATH = /\/users\/:id(?:\/|$)/;

/** The route's `returnsUsers` with its default filled in, or undefined when it returns nobody's data. */
export function returnsUsersOf(r: Pick<AnyRoute, 'path' | 'returnsUsers'>): Required<ReturnsUsers> | undefined {
  const param = r.returnsUsers?.param ?? USER_PATH.test(r.path);
  const body = r.returnsUsers?.body ?? [];
  return param || body.length ? { param, body } : undefined;
}

/**
 * The strings at `path` in a JSON value: dot-separated keys, `[]` stepping into every array element
 * (`results[].userId`, `users[]`, `recommendations[].reason.neighbours[].userId`).
 */
export function valuesAt(value: unknown, path: string): string[] {
  let level: unknown[] = [value];
  for (const part of path.split('.')) {
    const many = part.endsWith('[]');
    const key = many ? part.slice(0, -2) : part;
    const next: unknown[] = [];
    for (const v of level) {
      const x = key === '' ? v : v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
      if (many) {
        if (Array.isArray(x)) next.push(...x);
      } else if (x !== undefined) next.push(x);
    }
    level = next;
  }
  return level.filter((v): v is string => typeof v === 'string');
}

/** The external ids of the users an answer carried data of, for the audit middleware. */
async function returnedUsers(spec: Required<ReturnsUsers>, res: Response): Promise<string[]> {
  if (!spec.body.length || !res.ok || !(res.headers.get('content-type') ?? '').includes('json')) return [];
  const body: unknown = await res.clone().json();
  return spec.body.flatMap((p) => valuesAt(body, p));
}

/** Identity function that keeps the schemas' types for the handler. */
export function defineRoute<B extends z.ZodType = z.ZodNever, Q extends AnyObject = AnyObject, P extends AnyObject = AnyObject>(def: RouteDef<B, Q, P>): RouteDef<B, Q, P> {
  return def;
}

// The registry stores routes of different schema types; the handler is only ever called with
// the output of the route's own schemas, so erasing them here is safe.
export type AnyRoute = RouteDef<any, any, any>; // any: heterogeneous list, see above

function parse<S extends z.ZodType>(schema: S | undefined, value: unknown, where: string): z.output<S> | undefined {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (!r.success) {
    const details = issuesToDetails(r.error.issues);
    const first = details[0];
    throw new ValidationError(`invalid ${where}${first ? `: ${first.field ? `${first.field}: ` : ''}${first.message}` : ''}`, details);
  }
  return r.data;
}

export interface MountDeps {
  /** runs before scope checks on routes that have a scope */
  auth: MiddlewareHandler<ApiEnv>;
  /** runs on routes with a body, after auth (unauthenticated bodies are never read) */
  body: MiddlewareHandler<ApiEnv>[];
  /** per-key rate limit for a scoped route, after auth and before the scope check */
  rateLimit?: (scope: Scope) => MiddlewareHandler<ApiEnv>;
  /** audit logger for routes that declare `audit` */
  audit?: (action: string) => MiddlewareHandler<ApiEnv>;
  /** `ETag` / `If-None-Match` for routes that declare `etag` */
  etag?: MiddlewareHandler<ApiEnv>;
  /** `Idempotency-Key` for routes that declare `idempotent` (after auth and the body parser) */
  idempotency?: MiddlewareHandler<ApiEnv>;
}

/** Mounts every route, plus a 405 (with Allow) for a known path with another method. */
export function mountRoutes(app: Hono<ApiEnv>, routes: readonly AnyRoute[], deps: MountDeps): void {
  const methodsByPath = new Map<string, string[]>();
  for (const r of routes) {
    const chain: MiddlewareHandler<ApiEnv>[] = [
      async (c, next) => {
        c.set('route', r.path);
        await next();
      },
    ];
    const users = returnsUsersOf(r);
    // A route that returns someone's data but is not audited is a programming error: refuse to start.
    if (r.returnsUsers && !r.audit) throw new Error(`${r.method.toUpperCase()} ${r.path} declares returnsUsers without audit`);
    if (r.scope) chain.push(deps.auth, ...(deps.rateLimit ? [deps.rateLimit(r.scope)] : []), requireScope(r.scope));
    if (r.audit && deps.audit) chain.push(deps.audit(r.audit));
    if (r.body) chain.push(...deps.body);
    if (r.idempotent && deps.idempotency) chain.push(deps.idempotency);
    if (r.etag && deps.etag) chain.push(deps.etag);
    const handler: MiddlewareHandler<ApiEnv> = async (c) => {
      const body = parse(r.body, c.get('body'), 'request body');
      const query = parse(r.query, c.req.query(), 'query');
      const params = parse(r.params, c.req.param(), 'path');
      if (!r.audit || !users) return r.handler(c, { body, query, params });
      // The validated, normalised `:id` (set first, so a refused read, e.g. a 403, still names its user).
      const subject = users.param ? (params as { id?: unknown } | undefined)?.id : undefined;
      if (typeof subject === 'string') c.set('auditUsers', [subject]);
      const res = await r.handler(c, { body, query, params });
      const listed = c.get('returnedUsers') ?? (await returnedUsers(users, res));
      if (listed.length) c.set('auditUsers', [...(c.get('auditUsers') ?? []), ...listed]);
      return res;
    };
    // hono's typed overloads only cover fixed arities; the list form takes any number of handlers.
    const handlers: MiddlewareHandler<ApiEnv>[] = [...chain, handler];
    app.on(r.method.toUpperCase(), [r.path], ...(handlers as [MiddlewareHandler<ApiEnv>]));
    const list = methodsByPath.get(r.path) ?? [];
    list.push(r.method.toUpperCase(), ...(r.method === 'get' ? ['HEAD'] : []));
    methodsByPath.set(r.path, list);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = methods.join(', ');
    app.all(path, (c) => {
      c.set('route', path);
      c.header('Allow', allow);
      return errorResponse(c, 405, 'method_not_allowed', `${c.req.method} is not allowed here; use ${allow}`, { allow: methods });
    });
  }
}

// ---- OpenAPI 3.1 -------------------------------------------------------------------------------

type JsonSchema = Record<string, unknown>;

/** Where a schema named with `.meta({ id })` is published, referenced from every place that uses it. */
const COMPONENT_REF = '#/components/schemas/';

/** `#/$defs/X` → `#/components/schemas/X`, everywhere in a converted schema. */
function pointRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pointRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/') ? COMPONENT_REF + v.slice(8) : pointRefs(v);
  return out;
}

/**
 * A zod schema as JSON Schema. Sub-schemas named with `.meta({ id: 'Name' })` become `$ref`s to
 * `components.schemas.Name` and are added to `components` (the same name must mean the same shape).
 */
function jsonSchema(schema: z.ZodType, components?: Record<string, JsonSchema>): JsonSchema {
  const { $schema: _drop, $defs, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  for (const [name, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
    if (!components) throw new Error(`schema ${name} is named where components cannot be published`);
    const pointed = pointRefs(def) as JsonSchema;
    const known = components[name];
    if (known && JSON.stringify(known) !== JSON.stringify(pointed)) throw new Error(`two different schemas are named ${name}`);
    components[name] = pointed;
  }
  return pointRefs(rest) as JsonSchema;
}

const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

function parameters(schema: AnyObject | undefined, where: 'query' | 'path', components: Record<string, JsonSchema>): JsonSchema[] {
  if (!schema) return [];
  const s = jsonSchema(schema, components);
  const props = (s.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((s.required ?? []) as string[]);
  return Object.entries(props).map(([name, ps]) => {
    const { description, ...rest } = ps;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
  license?: { name: string; identifier?: string; url?: string };
}

/** The OpenAPI 3.1 document for the registered routes (JSON Schema draft 2020-12, as 3.1 uses). */
export function buildOpenApi(routes: readonly AnyRoute[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, JsonSchema> = { Error: jsonSchema(errorBodySchema) };
  const errorRef = { $ref: `${COMPONENT_REF}Error` };
  const errorResponses = (r: AnyRoute): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const add = (status: number, description: string) => {
      if (!(status in r.responses)) out[status] = { description, content: { 'application/json': { schema: errorRef } } };
    };
    if (r.body || r.query || r.params) add(400, 'Invalid request (`details` lists each field issue)');
    if (r.scope) {
      add(401, 'Missing, unknown or revoked API key');
      add(403, `The key lacks the \`${r.scope}\` scope`);
      add(429, 'Rate limit for this API key exceeded (see Retry-After)');
    }
    if (r.body) {
      add(413, 'Body too large');
      add(415, 'Body is not application/json');
    }
    if (r.idempotent) {
      add(409, 'The first request with this `Idempotency-Key` is still running (`idempotency_in_progress`)');
      add(422, 'This `Idempotency-Key` was used with another body or path (`idempotency_key_reused`)');
    }
    if (r.scope) add(503, 'Temporarily unavailable: the database is busy, the access could not be audited, or the model provider is down (`Retry-After` when known)');
    add(500, 'Internal error (no details; see the server log by request id)');
    return out;
  };
  for (const r of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      const isError = Number(status) >= 400;
      const schema = resp.schema ? jsonSchema(resp.schema, schemas) : isError ? errorRef : undefined;
      responses[status] = {
        description: resp.description,
        ...(schema ? { content: { [resp.contentType ?? 'application/json']: { schema } } } : {}),
      };
    }
    Object.assign(responses, errorResponses(r));
    if (r.etag && !('304' in responses)) responses['304'] = { description: 'Not modified: `If-None-Match` named the current `ETag` (no body)' };
    const headers: JsonSchema[] = [
      ...(r.etag
        ? [{ name: 'If-None-Match', in: 'header', required: false, description: 'An `ETag` from an earlier answer: 304 when the answer is unchanged.', schema: { type: 'string' } }]
        : []),
      ...(r.idempotent
        ? [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description:
                'Any unique string (1–255 visible ASCII characters), e.g. a UUID. A retry with the same key and body gets the first answer again (header `Idempotent-Replayed: true`) and creates nothing; keys are per API key and kept for TRAITLENS_IDEMPOTENCY_TTL_MS (default 24 h).',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
          ]
        : []),
    ];
    const bodySchema = r.bodyDoc ?? r.body;
    const op: Record<string, unknown> = {
      operationId: `${r.method}${toOpenApiPath(r.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(r.audit ? { 'x-audit-action': r.audit } : {}),
      ...(r.audit && returnsUsersOf(r) ? { 'x-returns-users': returnsUsersOf(r) } : {}),
      ...(r.scope ? { security: [{ bearerAuth: [] }], 'x-required-scope': r.scope } : { security: [] }),
      parameters: [...parameters(r.params, 'path', schemas), ...parameters(r.query, 'query', schemas), ...headers],
      ...(bodySchema ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(bodySchema, schemas) } } } } : {}),
      responses,
    };
    (paths[toOpenApiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    // Relative: the server that answered is the one to call (behind a proxy too).
    servers: [{ url: '/', description: 'This Traitlens server' }],
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key from `traitlens keys create`. Scopes: events:write, profiles:read, summaries:read, segments:read, segments:write (implies segments:read), admin (implies all).',
        },
      },
    },
    security: [{ bearerAuth: [] }],
  };
}
