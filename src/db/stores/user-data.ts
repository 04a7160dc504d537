import type { Json } from '../../core/types.ts';
import type { Dialect } from '../sql/dialect.ts';
import type { Executor, Queryable } from '../sql/executor.ts';
import type { UserDataSection } from '../user-data.ts';
import { EVENT_ROW_COLUMNS, type EventRow } from './events.ts';

const iso = (t: number | null | undefined) => (t === null || t === undefined ? null : new Date(Number(t)).toISOString());
/** JSON text back to a value; text that is not JSON is returned as it is (an export never fails on one bad row). */
const parsed = (text: string | null): Json => {
  if (text === null) return null;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
};
const del = async (q: Queryable, sql: string, userId: number) => (await q.run(sql, [userId])).changes;

/**
 * Every table that holds something about one user, as one list: erasure deletes exactly this and
 * the subject-access export returns exactly this (`src/db/privacy.ts`). The composition root adds
 * the sections for data outside the database (the vector index). A test reads the schema and
 * fails when a table with a `user_id` column is in no section's `tables`.
 *
 * Order is the erasure order: rows that point at others first, `users` last.
 */
export function userDataSections(x: Executor, d: Dialect): UserDataSection[] {
  void d;
  return [
    {
      name: 'signal_extractions',
      tables: ['signal_extractions'],
      derived: true,
      export: async (u) =>
        (
          await x.all<{ eventId: number; producer: string; version: string; extractedAt: number }>(
            `SELECT s.event_id AS "eventId", s.producer, s.version, s.extracted_at AS "extractedAt"
             FROM signal_extractions s JOIN events e ON e.id = s.event_id WHERE e.user_id = ? ORDER BY s.event_id, s.producer`,
            [u],
          )
        ).map((r) => ({ eventId: Number(r.eventId), producer: r.producer, version: r.version, extractedAt: iso(r.extractedAt) })),
      erase: (q, u) => del(q, 'DELETE FROM signal_extractions WHERE event_id IN (SELECT id FROM events WHERE user_id = ?)', u),
    },
    {
      name: 'signal_embeddings',
      tables: ['signal_embeddings'],
      derived: true,
      // Metadata, not the vectors: they are numbers derived from the events exported in full.
      export: async (u) =>
        (
          await x.all<{ embedder: string; dim: number; n: number; at: number }>(
            'SELECT embedder_id AS embedder, dim, count(*) AS n, max(created_at) AS at FROM signal_embeddings WHERE user_id = ? GROUP BY embedder_id, dim ORDER BY embedder_id',
            [u],
          )
        ).map((r) => ({ embedder: r.embedder, dim: Number(r.dim), count: Number(r.n), updatedAt: iso(r.at) })),
      erase: (q, u) => del(q, 'DELETE FROM signal_embeddings WHERE user_id = ?', u),
    },
    {
      name: 'user_embeddings',
      tables: ['user_embeddings'],
      derived: true,
      export: async (u) =>
        (
          await x.all<{ embedder: string; dim: number; signals: number; updatedAt: number }>(
            'SELECT embedder_id AS embedder, dim, signals, updated_at AS "updatedAt" FROM user_embeddings WHERE user_id = ? ORDER BY embedder_id',
            [u],
          )
        ).map((r) => ({ embedder: r.embedder, dim: Number(r.dim), signals: Number(r.signals), updatedAt: iso(r.updatedAt) })),
      erase: (q, u) => del(q, 'DELETE FROM user_embeddings WHERE user_id = ?', u),
    },
    {
      name: 'user_profiles',
      tables: ['user_profiles'],
      derived: true,
      export: async (u) =>
        (
          await x.all<{ version: string; dim: number; blocks: string; profileVersion: number; updatedAt: number }>(
            'SELECT version, dim, blocks, profile_version AS "profileVersion", updated_at AS "updatedAt" FROM user_profiles WHERE user_id = ?',
            [u],
          )
        ).map((r) => ({ version: r.version, dim: Number(r.dim), blocks: parsed(r.blocks), profileVersion: Number(r.profileVersion), updatedAt: iso(r.updatedAt) })),
      erase: (q, u) => del(q, 'DELETE FROM user_profiles WHERE user_id = ?', u),
    },
    {
      name: 'summaries',
      tables: ['summaries'],
      derived: true,
      export: async (u) =>
        (
          await x.all<{ profileVersion: number; audience: string; generator: string; text: string; createdAt: number }>(
            `SELECT profile_version AS "profileVersion", audience, generator, text, created_at AS "createdAt"
             FROM summaries WHERE user_id = ? ORDER BY created_at, audience, generator`,
            [u],
          )
        ).map((r) => ({ profileVersion: Number(r.profileVersion), audience: r.audience, generator: r.generator, text: r.text, createdAt: iso(r.createdAt) })),
      erase: (q, u) => del(q, 'DELETE FROM summaries WHERE user_id = ?', u),
    },
    {
      name: 'llm_cache',
      tables: ['llm_cache'],
      derived: true,
      // The answers themselves: model output about the person.
      export: async (u) =>
        (await x.all<{ response: string; createdAt: number }>('SELECT response, created_at AS "createdAt" FROM llm_cache WHERE user_id = ? ORDER BY created_at, key', [u])).map(
          (r) => ({ response: parsed(r.response), createdAt: iso(r.createdAt) }),
        ),
      erase: (q, u) => del(q, 'DELETE FROM llm_cache WHERE user_id = ?', u),
    },
    {
      name: 'traits',
      tables: ['traits'],
      derived: true,
      export: async (u) =>
        (
          await x.all<{
            id: number;
            key: string;
            value: string;
            kind: string;
            confidence: number;
            evidence: string;
            producer: string;
            version: string;
            validFrom: number;
            validTo: number | null;
            supersededBy: number | null;
          }>(
            `SELECT id, key, value, kind, confidence, evidence, producer, version, valid_from AS "validFrom", valid_to AS "validTo", superseded_by AS "supersededBy"
             FROM traits WHERE user_id = ? ORDER BY key, valid_from, id`,
            [u],
          )
        ).map((t) => ({
          id: Number(t.id),
          key: t.key,
          value: parsed(t.value),
          kind: t.kind,
          confidence: t.confidence,
          evidence: parsed(t.evidence),
          producer: t.producer,
          version: t.version,
          validFrom: iso(t.validFrom),
          validTo: iso(t.validTo),
          supersededBy: t.supersededBy === null ? null : Number(t.supersededBy),
        })),
      // On withdrawal the declared attributes (the client's own data, with their history) stay.
      erase: (q, u, reason) =>
        reason === 'erasure' ? del(q, 'DELETE FROM traits WHERE user_id = ?', u) : del(q, "DELETE FROM traits WHERE user_id = ? AND kind <> 'declared'", u),
    },
    {
      name: 'llm_calls',
      tables: ['llm_calls'],
      derived: false,
      export: async (u) =>
        (
          await x.all<{
            at: number;
            purpose: string;
            model: string;
            promptVersion: string;
            promptTokens: number;
            completionTokens: number;
            latencyMs: number;
            status: string;
            error: string | null;
          }>(
            `SELECT at, purpose, model, prompt_version AS "promptVersion", prompt_tokens AS "promptTokens", completion_tokens AS "completionTokens",
                    latency_ms AS "latencyMs", status, error
             FROM llm_calls WHERE user_id = ? ORDER BY at, id`,
            [u],
          )
        ).map((r) => ({ ...r, at: iso(r.at), promptTokens: Number(r.promptTokens), completionTokens: Number(r.completionTokens), latencyMs: Number(r.latencyMs) })),
      // Usage rows stay for token accounting (the daily budget), detached from the user and without
      // error text, which could quote model output about them.
      erase: (q, u) => del(q, 'UPDATE llm_calls SET user_id = NULL, error = NULL WHERE user_id = ?', u),
    },
    {
      name: 'jobs',
      tables: ['jobs'],
      derived: false,
      export: async (u) =>
        (
          await x.all<{ id: number; kind: string; status: string; attempts: number; payload: string; lastError: string | null; createdAt: number; updatedAt: number }>(
            `SELECT id, kind, status, attempts, payload, last_error AS "lastError", created_at AS "createdAt", updated_at AS "updatedAt"
             FROM jobs WHERE user_id = ? ORDER BY id`,
            [u],
          )
        ).map((j) => ({
          id: Number(j.id),
          kind: j.kind,
          status: j.status,
          attempts: Number(j.attempts),
          payload: parsed(j.payload),
          lastError: j.lastError,
          createdAt: iso(j.createdAt),
          updatedAt: iso(j.updatedAt),
        })),
      erase: (q, u) => del(q, 'DELETE FROM jobs WHERE user_id = ?', u),
    },
    {
      name: 'events',
      tables: ['events'],
      derived: false,
      export: async (u) =>
        (await x.all<EventRow>(`SELECT ${EVENT_ROW_COLUMNS} FROM events WHERE user_id = ? ORDER BY ts, id`, [u])).map((e) => ({
          id: Number(e.id),
          type: e.type,
          timestamp: iso(e.ts),
          properties: parsed(e.properties),
          text: e.text,
          source: e.source,
          eventId: e.eventId,
          receivedAt: iso(e.receivedAt),
          flags: e.flags ? parsed(e.flags) : [],
        })),
      erase: (q, u) => del(q, 'DELETE FROM events WHERE user_id = ?', u),
    },
    {
      name: 'user_event_counts',
      tables: ['user_event_counts'],
      // Not derived in the consent sense (nothing inferred): a tally of the events, kept while they are.
      derived: false,
      // The user's events counted by type (kept by ingestion; the events themselves are exported above).
      export: async (u) =>
        (await x.all<{ type: string; n: number }>('SELECT type, n FROM user_event_counts WHERE user_id = ? ORDER BY type', [u])).map((r) => ({ type: r.type, count: Number(r.n) })),
      erase: (q, u) => del(q, 'DELETE FROM user_event_counts WHERE user_id = ?', u),
    },
    {
      name: 'identities',
      tables: ['identities'],
      derived: false,
      export: async (u) =>
        (await x.all<{ kind: string; alias: string; createdAt: number }>('SELECT kind, alias, created_at AS "createdAt" FROM identities WHERE user_id = ? ORDER BY id', [u])).map(
          (i) => ({ kind: i.kind, alias: i.alias, createdAt: iso(i.createdAt) }),
        ),
      erase: (q, u) => del(q, 'DELETE FROM identities WHERE user_id = ?', u),
    },
    {
      name: 'audit_log',
      tables: ['audit_log'],
      derived: false,
      // Who read this person's data, when and how (rows naming the user; the erasure's own entry names nobody).
      export: async (u) =>
        (
          await x.all<{ at: number; keyId: string | null; action: string; method: string | null; route: string | null; status: number | null; details: string | null }>(
            'SELECT at, key_id AS "keyId", action, method, route, status, details FROM audit_log WHERE user_id = ? ORDER BY at, id',
            [u],
          )
        ).map((r) => ({ ...r, at: iso(r.at), status: r.status === null ? null : Number(r.status), details: parsed(r.details) })),
      erase: (q, u) => del(q, 'DELETE FROM audit_log WHERE user_id = ?', u),
    },
    {
      name: 'ingest_counters',
      tables: ['ingest_counters'],
      derived: false,
      // Counters are keyed by fixed vocabularies only (reasons, warning codes, catalogue names), never by
      // a client's string, so they hold nothing per user. Versions before this one counted accepted
      // events by their client-chosen type: those rows are dropped by the first erasure.
      erase: (q) => q.run("DELETE FROM ingest_counters WHERE metric = 'accepted'").then((r) => r.changes),
    },
    {
      name: 'users',
      tables: ['users'],
      derived: false,
      export: async (u) => {
        const r = await x.get<{
          externalId: string | null;
          attributes: string;
          consent: string | null;
          eventCount: number;
          firstEventAt: number | null;
          lastEventAt: number | null;
          profileVersion: number;
          createdAt: number;
          updatedAt: number;
        }>(
          `SELECT external_id AS "externalId", attributes, consent, event_count AS "eventCount", first_event_at AS "firstEventAt", last_event_at AS "lastEventAt",
                  profile_version AS "profileVersion", created_at AS "createdAt", updated_at AS "updatedAt"
           FROM users WHERE id = ?`,
          [u],
        );
        if (!r) return null;
        return {
          id: r.externalId,
          attributes: parsed(r.attributes),
          consentDeclared: parsed(r.consent),
          eventCount: Number(r.eventCount),
          firstEventAt: iso(r.firstEventAt),
          lastEventAt: iso(r.lastEventAt),
          profileVersion: Number(r.profileVersion),
          createdAt: iso(r.createdAt),
          updatedAt: iso(r.updatedAt),
        };
      },
      erase: (q, u) => del(q, 'DELETE FROM users WHERE id = ?', u),
    },
  ];
}
