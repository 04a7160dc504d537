import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag, Json, JsonObject } from '../core/types.ts';
import type { Db } from './connection.ts';
import { listIdentities, rowToTrait, type UserRow } from './users.ts';
import { traits } from './schema.ts';
import { asc, eq } from 'drizzle-orm';

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** Extra sections other modules add to an export (e.g. summaries, segment memberships). */
export type ExportSection = (db: Db, userId: number) => Json;
const sections = new Map<string, ExportSection>();
export function registerExportSection(name: string, fn: ExportSection): void {
  sections.set(name, fn);
}

/**
 * Everything held about one user, for a subject access request: declared data, consent,
 * identities, every event, every trait version with evidence, embeddings metadata (not the
 * vectors: they are numbers derived from the events above), LLM usage, jobs, plus registered sections.
 */
export function exportUser(db: Db, u: UserRow, defaultConsent: readonly ConsentFlag[]): JsonObject {
  const s = db.sqlite;
  const events = (
    s.prepare('SELECT id, type, ts, properties, text, source, client_event_id, received_at, flags FROM events WHERE user_id = ? ORDER BY ts, id').all(u.id) as {
      id: number;
      type: string;
      ts: number;
      properties: string;
      text: string | null;
      source: string | null;
      client_event_id: string | null;
      received_at: number;
      flags: string | null;
    }[]
  ).map((e) => ({
    id: e.id,
    type: e.type,
    timestamp: new Date(e.ts).toISOString(),
    properties: JSON.parse(e.properties) as Json,
    text: e.text,
    source: e.source,
    eventId: e.client_event_id,
    receivedAt: new Date(e.received_at).toISOString(),
    flags: e.flags ? (JSON.parse(e.flags) as Json) : [],
  }));
  const traitRows = db.orm.select().from(traits).where(eq(traits.userId, u.id)).orderBy(asc(traits.key), asc(traits.validFrom), asc(traits.id)).all();
  const embeddings = [
    ...(s.prepare('SELECT embedder_id, dim, count(*) AS n, max(created_at) AS at FROM signal_embeddings WHERE user_id = ? GROUP BY embedder_id, dim').all(u.id) as {
      embedder_id: string;
      dim: number;
      n: number;
      at: number;
    }[]).map((r) => ({ kind: 'signal', embedder: r.embedder_id, dim: r.dim, count: r.n, updatedAt: iso(r.at) })),
    ...(s.prepare('SELECT embedder_id, dim, signals, updated_at FROM user_embeddings WHERE user_id = ?').all(u.id) as {
      embedder_id: string;
      dim: number;
      signals: number;
      updated_at: number;
    }[]).map((r) => ({ kind: 'user', embedder: r.embedder_id, dim: r.dim, count: 1, signals: r.signals, updatedAt: iso(r.updated_at) })),
  ];
  const llm = s
    .prepare(
      `SELECT count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS p, coalesce(sum(completion_tokens), 0) AS c,
              (SELECT count(*) FROM llm_cache WHERE user_id = ?) AS cached
       FROM llm_calls WHERE user_id = ?`,
    )
    .get(u.id, u.id) as { calls: number; p: number; c: number; cached: number };
  const jobs = (s.prepare('SELECT id, kind, status, attempts, created_at, updated_at FROM jobs WHERE user_id = ? ORDER BY id').all(u.id) as {
    id: number;
    kind: string;
    status: string;
    attempts: number;
    created_at: number;
    updated_at: number;
  }[]).map((j) => ({ id: j.id, kind: j.kind, status: j.status, attempts: j.attempts, createdAt: iso(j.created_at), updatedAt: iso(j.updated_at) }));
  const extra: JsonObject = {};
  for (const [name, fn] of sections) extra[name] = fn(db, u.id);
  return {
    exportedAt: new Date().toISOString(),
    user: {
      id: u.externalId,
      attributes: JSON.parse(u.attributes) as Json,
      consent: effectiveConsent(u.consent, defaultConsent),
      consentDeclared: u.consent ? (JSON.parse(u.consent) as Json) : null,
      eventCount: u.eventCount,
      firstEventAt: iso(u.firstEventAt),
      lastEventAt: iso(u.lastEventAt),
      profileVersion: u.profileVersion,
      createdAt: iso(u.createdAt),
      updatedAt: iso(u.updatedAt),
    },
    identities: listIdentities(db, u.id).map((i) => ({ kind: i.kind, alias: i.alias, createdAt: new Date(i.createdAt).toISOString() })),
    events,
    traits: traitRows.map(rowToTrait).map((t) => ({
      id: t.id,
      key: t.key,
      value: t.value,
      kind: t.kind,
      confidence: t.confidence,
      evidence: t.evidence as unknown as Json,
      producer: t.producer,
      version: t.version,
      validFrom: new Date(t.validFrom).toISOString(),
      validTo: iso(t.validTo),
      supersededBy: t.supersededBy,
    })),
    embeddings,
    llm: { calls: llm.calls, promptTokens: llm.p, completionTokens: llm.c, cachedAnswers: llm.cached },
    jobs,
    ...extra,
  };
}
