import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { effectiveConsent } from '../../core/consent.ts';
import type { ConsentFlag, Json, JsonObject, Trait } from '../../core/types.ts';
import { TRAIT_KINDS } from '../../core/types.ts';
import { eraseDerived } from '../../db/privacy.ts';
import type { Store } from '../../db/store.ts';
import type { UserRow } from '../../db/stores/users.ts';
import type { UserDataSection } from '../../db/user-data.ts';
import { normaliseName } from '../../ingest/clean.ts';
import { attributesSchema, escapeHidden, HIDDEN_CHARACTERS, identifierString, identifySchema } from '../../ingest/schema.ts';
import { requireProfile, requireUser } from '../middleware/audit/index.ts';
import { preparedJsonAnswer } from '../middleware/etag/index.ts';
import type { ProfileCache } from '../profile-cache.ts';
import { defineRoute } from '../registry.ts';

const MAX_ATTRIBUTE_KEY_CHARS = 100;
const MAX_ATTRIBUTES = 100;

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** A user reference in a path: an external user id or an anonymous id, normalised like ingestion stores it. */
export const userRefParams = z.object({
  // Same rule as ingestion: an id with a hidden character is refused (400 naming `id`), not looked up.
  id: identifierString(256).describe('Your user id, or an anonymous id linked to the user.'),
});

const consentSchema = z.object({ profiling: z.boolean(), llm_processing: z.boolean(), marketing: z.boolean() });

export const traitSchema = z
  .object({
    id: z.number().int(),
    key: z.string(),
    value: z
      .unknown()
      .describe(
        'The trait’s value. For a `predicted` trait: the outcome the model finds likelier (for a yes/no model, `true` means more likely than not), with `confidence` the probability of that value — so a yes/no prediction’s confidence is at least 0.5 and the probability of "yes" is `confidence` when the value is true, else 1 − `confidence`.',
      ),
    kind: z.enum(TRAIT_KINDS).describe('fact: a free-form statement the user made about themselves (key fact:..., value the statement), with its evidence like any trait.'),
    confidence: z.number(),
    evidence: z
      .array(
        z.object({
          event: z.number().int().describe('The event the quote comes from: its `id` in GET /v1/users/:id/events (the server’s number, not your `eventId`).'),
          quote: z.string(),
          eventId: z
            .number()
            .int()
            .meta({ deprecated: true })
            .describe('Deprecated (removed after 0.x): the same number as `event`. On events, `eventId` is your own string id; here it was not.'),
        }),
      )
      .describe('The quoted spans a trait rests on, each with the event it was read from.'),
    producer: z.string(),
    version: z.string(),
    validFrom: z.string().describe('ISO 8601'),
    validTo: z.string().nullable(),
  })
  .meta({ id: 'Trait' });

const profileSchema = z
  .object({
    id: z.string().describe('The external user id, or the first anonymous id of a user not yet identified.'),
    known: z.boolean().describe('Whether the user has an external id.'),
    attributes: z.record(z.string(), z.unknown()),
    consent: consentSchema.describe('Effective consent: declared flags over the defaults.'),
    identities: z
      .array(z.object({ kind: z.enum(['user', 'anonymous', 'email']), alias: z.string(), createdAt: z.string() }))
      .describe('The external id, anonymous ids and the email (the declared `email` attribute, trimmed and lower-cased).'),
    eventCount: z.number().int(),
    firstEventAt: z.string().nullable(),
    lastEventAt: z.string().nullable(),
    eventCounts: z.record(z.string(), z.number().int()).describe('Events by type.'),
    traits: z.array(traitSchema).describe('Current traits (valid now).'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Profile' });

const LOOKUP_FIELDS = new Set(['email', 'alias', 'limit']);
const ATTRIBUTE_PARAM = /^attribute\.(.{1,100})$/s;

const lookupQuery = z
  .object({
    email: z.string().min(3).max(320).optional().describe('An email address (trimmed and lower-cased before the lookup, as stored).'),
    alias: identifierString(256).optional().describe('Any identity: your user id, an anonymous id, or an email.'),
    limit: z.coerce.number().int().min(1).max(100).default(20).describe('At most this many users, 1 to 100.'),
  })
  .catchall(z.string().max(1000))
  .superRefine((q, ctx) => {
    let criteria = q.email !== undefined || q.alias !== undefined;
    for (const k of Object.keys(q)) {
      if (LOOKUP_FIELDS.has(k)) continue;
      if (ATTRIBUTE_PARAM.test(k) && !HIDDEN_CHARACTERS.test(k)) criteria = true;
      else ctx.addIssue({ code: 'custom', path: [k], message: 'unknown parameter: use email, alias, attribute.KEY or limit' });
    }
    if (!criteria) ctx.addIssue({ code: 'custom', path: ['email'], message: 'give email, alias or attribute.KEY=VALUE' });
  });

const lookupResponseSchema = z.object({
  users: z.array(
    z.object({
      userId: z.string().describe('The external user id, or the first anonymous id of a user not yet identified (the `:id` of GET /v1/users/:id).'),
      known: z.boolean(),
      attributes: z.record(z.string(), z.unknown()),
      identities: z.array(z.object({ kind: z.enum(['user', 'anonymous', 'email']), alias: z.string() })),
      eventCount: z.number().int(),
      lastEventAt: z.string().nullable(),
      createdAt: z.string(),
    }),
  ),
});

const attributesResponseSchema = z.object({
  id: z.string(),
  attributes: z.record(z.string(), z.unknown()),
  consent: consentSchema,
});

const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Page size, 1 to 1000.'),
  cursor: z.string().max(200).optional().describe('`nextCursor` from the previous page.'),
  type: z.string().min(1).max(100).optional().describe('Only events of this type (normalised like ingestion, e.g. "Page View" → page_view).'),
});

const eventPageSchema = z.object({
  events: z.array(
    z.object({
      id: z.number().int(),
      type: z.string(),
      timestamp: z.string().describe('ISO 8601'),
      properties: z.record(z.string(), z.unknown()),
      text: z.string().nullable(),
      source: z.string().nullable(),
      eventId: z.string().nullable(),
      receivedAt: z.string().describe('ISO 8601'),
      flags: z.array(z.string()).describe('Cleaning warnings, e.g. timestamp_missing.'),
    }),
  ),
  nextCursor: z.string().nullable(),
});

const identifyResponseSchema = z.object({
  status: z.enum(['linked', 'merged', 'unchanged']),
  userId: z.string(),
  movedEvents: z.number().int(),
});

export function traitOut(t: Trait) {
  return {
    id: t.id,
    key: t.key,
    value: t.value,
    kind: t.kind,
    confidence: t.confidence,
    // `event` names the event row; `eventId` (the same number) stays for older clients through 0.x.
    evidence: t.evidence.map((e) => ({ event: e.eventId, quote: e.quote, eventId: e.eventId })),
    producer: t.producer,
    version: t.version,
    validFrom: new Date(t.validFrom).toISOString(),
    validTo: iso(t.validTo),
  };
}

/**
 * Attribute keys are checked on the raw body: zod's record parse assigns keys onto a plain
 * object, where `__proto__` would silently become a prototype instead of an error.
 */
function checkAttributeKeys(raw: unknown): void {
  const attrs = (raw as { attributes?: unknown } | null)?.attributes;
  if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) return; // the schema reports it
  const keys = Object.keys(attrs);
  const issues: { field: string; message: string }[] = [];
  if (keys.length > MAX_ATTRIBUTES) issues.push({ field: 'attributes', message: `at most ${MAX_ATTRIBUTES} attributes per request` });
  for (const k of keys) {
    const field = `attributes.${k.slice(0, 120)}`;
    if (k.trim() === '') issues.push({ field, message: 'attribute names must not be empty' });
    else if (k.length > MAX_ATTRIBUTE_KEY_CHARS) issues.push({ field, message: `attribute names are at most ${MAX_ATTRIBUTE_KEY_CHARS} characters` });
    else if (k === '__proto__') issues.push({ field, message: 'reserved attribute name' });
    // Same rule as ids: a name with a hidden character would look like another attribute.
    else if (HIDDEN_CHARACTERS.test(k))
      issues.push({
        field: `attributes.${escapeHidden(k.slice(0, 120))}`,
        message: 'attribute names must not contain control, bidirectional or other invisible formatting characters',
      });
    if (issues.length >= 20) break;
  }
  if (issues.length) throw new ValidationError(`invalid attributes: ${issues[0]!.message}`, issues);
}

export function userRoutes(deps: {
  store: Store;
  defaultConsent: readonly ConsentFlag[];
  /** what consent withdrawal erases (derived sections); defaults to the database's own sections */
  userData?: readonly UserDataSection[];
  /** recent profile answers, served again while the user's row is unchanged (off: it still computes the ETag) */
  profileCache: ProfileCache;
}) {
  const { store } = deps;
  const userData = () => deps.userData ?? store.userData;
  const consentOf = (row: UserRow) => effectiveConsent(row.consent, deps.defaultConsent);
  return [
    defineRoute({
      method: 'post',
      path: '/v1/identify',
      scope: 'events:write',
      tag: 'users',
      summary: 'Link an anonymous id to a known user',
      description:
        'When the anonymous id already has events, they (and its traits and aliases) move to the known user. Idempotent. ' +
        '409 `identity_conflict` when the anonymous id already belongs to another known user.',
      body: identifySchema,
      responses: {
        200: { description: 'Linked, merged or already linked', schema: identifyResponseSchema },
        409: { description: 'The anonymous id belongs to another known user' },
      },
      handler: async (c, { body }) => c.json(await store.users.identify(body.anonymousId, body.userId)),
    }),
    defineRoute({
      method: 'put',
      path: '/v1/users/:id/attributes',
      scope: 'events:write',
      tag: 'users',
      summary: 'Set declared attributes and consent',
      description:
        `Merges \`attributes\` into the user's declared attributes (values: any JSON; null removes). Names: 1 to ${MAX_ATTRIBUTE_KEY_CHARS} characters, ` +
        `at most ${MAX_ATTRIBUTES} per request. Each change is kept as a \`declared\` trait with history. Creates the user if unknown.`,
      params: userRefParams,
      body: attributesSchema,
      responses: { 200: { description: 'The user after the change', schema: attributesResponseSchema } },
      handler: async (c, { body, params }) => {
        checkAttributeKeys(c.get('body'));
        const row = await store.users.setAttributes(params.id, body.attributes as Record<string, Json>, body.consent);
        // Withdrawing profiling removes what was inferred (traits, vectors, summaries...) at once; events and declared attributes stay.
        if (body.consent?.profiling === false) await eraseDerived(store.exec, userData(), row.id);
        return c.json({ id: row.externalId ?? params.id, attributes: JSON.parse(row.attributes) as JsonObject, consent: consentOf(row) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users',
      scope: 'profiles:read',
      audit: 'profile.lookup',
      returnsUsers: { body: ['users[].userId'] },
      tag: 'users',
      summary: 'Look users up by email, identity alias or declared attribute',
      description:
        'As support tools do: `?email=ann@example.com` (trimmed and lower-cased, as the `email` attribute is kept), `?alias=` any identity ' +
        '(user id, anonymous id or email), `?attribute.plan=pro` a declared attribute (the value as text: `5`, `true` and `"x"` match their text; ' +
        'several `attribute.KEY` allowed). Every criterion given must match. Each user returned is audited as read.',
      query: lookupQuery,
      responses: { 200: { description: 'Matching users, by creation (empty when none)', schema: lookupResponseSchema } },
      handler: async (c, { query }) => {
        const attributes: Record<string, string> = {};
        for (const [k, v] of Object.entries(query)) {
          const m = ATTRIBUTE_PARAM.exec(k);
          if (m && typeof v === 'string') attributes[m[1]!] = v;
        }
        const rows = await store.users.lookup({
          ...(query.email !== undefined ? { email: query.email } : {}),
          ...(query.alias !== undefined ? { alias: query.alias } : {}),
          attributes,
          limit: query.limit,
        });
        const users = await Promise.all(
          rows.map(async (u) => {
            const ids = await store.users.identities(u.id);
            return {
              userId: u.externalId ?? ids.find((i) => i.kind === 'anonymous')?.alias ?? String(u.id),
              known: u.externalId !== null,
              attributes: JSON.parse(u.attributes) as JsonObject,
              identities: ids.map((i) => ({ kind: i.kind, alias: i.alias })),
              eventCount: u.eventCount,
              lastEventAt: iso(u.lastEventAt),
              createdAt: new Date(u.createdAt).toISOString(),
            };
          }),
        );
        return c.json({ users });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id',
      scope: 'profiles:read',
      audit: 'profile.read',
      etag: true,
      tag: 'users',
      summary: 'A user profile',
      description: 'Attributes, effective consent, identities, event counts and current traits. The id may be an anonymous id.',
      params: userRefParams,
      responses: {
        200: { description: 'The profile', schema: profileSchema },
        404: { description: 'No such user' },
      },
      handler: async (c, { params }) => {
        const cache = deps.profileCache;
        if (cache.enabled) {
          // The users row alone (one indexed statement): when it equals the row a cached answer was
          // built from, nothing the answer shows has changed (src/api/profile-cache.ts).
          let row: UserRow;
          try {
            row = await requireUser(c, store.users, params.id);
          } catch (err) {
            if (err instanceof NotFoundError) cache.forget(params.id);
            throw err;
          }
          const hit = cache.get(params.id, row);
          if (hit) return preparedJsonAnswer(c, hit.body, hit.etag);
        }
        // One snapshot: the user, aliases, counts by type and current traits (one read transaction on SQLite).
        const { user: u, identities: ids, eventCounts, traits } = await requireProfile(c, store.users, params.id);
        const text = JSON.stringify({
          id: u.externalId ?? ids.find((i) => i.kind === 'anonymous')?.alias ?? params.id,
          known: u.externalId !== null,
          attributes: JSON.parse(u.attributes) as JsonObject,
          consent: consentOf(u),
          identities: ids.map((i) => ({ kind: i.kind, alias: i.alias, createdAt: new Date(i.createdAt).toISOString() })),
          eventCount: u.eventCount,
          firstEventAt: iso(u.firstEventAt),
          lastEventAt: iso(u.lastEventAt),
          eventCounts,
          traits: traits.map(traitOut),
          createdAt: new Date(u.createdAt).toISOString(),
          updatedAt: new Date(u.updatedAt).toISOString(),
        });
        const answer = cache.set(params.id, u, text);
        return preparedJsonAnswer(c, answer.body, answer.etag);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/users/:id/events',
      scope: 'profiles:read',
      audit: 'events.read',
      tag: 'users',
      summary: "A user's events, newest first",
      description: 'Keyset-paged: pass `nextCursor` as `cursor` for the next page; pages stay stable while events arrive.',
      params: userRefParams,
      query: eventsQuery,
      responses: {
        200: { description: 'One page', schema: eventPageSchema },
        404: { description: 'No such user' },
      },
      handler: async (c, { params, query }) => {
        const u = await requireUser(c, store.users, params.id);
        const type = query.type === undefined ? undefined : normaliseName(query.type);
        const page = await store.events.page(u.id, { limit: query.limit, cursor: query.cursor, type: type || query.type });
        return c.json({
          events: page.events.map((e) => ({
            id: e.id,
            type: e.type,
            timestamp: new Date(e.ts).toISOString(),
            properties: e.properties,
            text: e.text,
            source: e.source,
            eventId: e.eventId,
            receivedAt: new Date(e.receivedAt).toISOString(),
            flags: e.flags,
          })),
          nextCursor: page.nextCursor,
        });
      },
    }),
  ];
}
