import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag } from '../core/types.ts';
import type { CurrentTrait, Signal, TraitValue } from '../core/traits.ts';
import type { Db } from '../db/connection.ts';
import { bumpCounter, currentTraitRows, markSignalsRead, unreadSignals } from '../db/traits.ts';
import { users } from '../db/schema.ts';
import { eq } from 'drizzle-orm';
import type { Catalogue } from './catalogue.ts';
import type { Extractor } from './extractor.ts';
import { mergeTraitOps } from './merge.ts';
import { redactPii, type RedactOptions } from './redact.ts';
import { dropSensitive, type SensitiveCategory } from './sensitive.ts';

export interface TraitStageDeps {
  db: Db;
  catalogue: Catalogue;
  /** the embedded default; always present */
  offline: Extractor;
  /** present when an LLM is configured */
  llm: Extractor | null;
  defaultConsent: readonly ConsentFlag[];
  batchTokens: number;
  redact?: RedactOptions;
  sensitiveAllow?: readonly SensitiveCategory[];
}

export interface TraitStageReport {
  userId: number;
  skipped?: 'no_profiling_consent' | 'unknown_user';
  extractor: string;
  signals: number;
  batches: number;
  calls: number;
  promptTokens: number;
  completionTokens: number;
  ops: number;
  added: number;
  reinforced: number;
  superseded: number;
  retracted: number;
  rejected: Record<string, number>;
  droppedSensitive: number;
  redacted: number;
  profileVersion: number | null;
}

/** ≈ tokens for budgeting batches; 4 characters a token is close enough for English. */
const tokensOf = (s: string) => Math.ceil(s.length / 4) + 8;

/** Splits signals into batches under the token budget (a single over-long signal is its own batch). */
export function batchSignals(signals: Signal[], budget: number, maxPerBatch = 50): Signal[][] {
  const out: Signal[][] = [];
  let cur: Signal[] = [];
  let used = 0;
  for (const s of signals) {
    const t = tokensOf(s.text);
    if (cur.length && (used + t > budget || cur.length >= maxPerBatch)) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(s);
    used += t;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * The traits stage for one user: read the text signals the chosen extractor has not seen, redact
 * PII, extract in token-bounded batches with the current traits as context, drop sensitive
 * categories, then merge (which verifies every quote). The LLM is used only with the user's
 * `llm_processing` consent; without `profiling` consent nothing is inferred at all.
 */
export async function extractTraitsForUser(deps: TraitStageDeps, userId: number): Promise<TraitStageReport> {
  const user = deps.db.orm.select({ consent: users.consent }).from(users).where(eq(users.id, userId)).get();
  const consent = effectiveConsent(user?.consent ?? null, deps.defaultConsent);
  const extractor = deps.llm && consent.llm_processing ? deps.llm : deps.offline;
  const report: TraitStageReport = {
    userId,
    extractor: `${extractor.producer}@${extractor.version}`,
    signals: 0,
    batches: 0,
    calls: 0,
    promptTokens: 0,
    completionTokens: 0,
    ops: 0,
    added: 0,
    reinforced: 0,
    superseded: 0,
    retracted: 0,
    rejected: {},
    droppedSensitive: 0,
    redacted: 0,
    profileVersion: null,
  };
  if (!user) return { ...report, skipped: 'unknown_user' };
  if (!consent.profiling) return { ...report, skipped: 'no_profiling_consent' };

  const raw = unreadSignals(deps.db, userId, extractor.producer, extractor.version);
  report.signals = raw.length;
  const signals: Signal[] = raw.map((r) => {
    const red = redactPii(r.text, deps.redact);
    report.redacted += red.total;
    return { eventId: r.id, type: r.type, text: red.text, ts: r.ts };
  });
  for (const batch of batchSignals(signals, deps.batchTokens)) {
    const current: CurrentTrait[] = currentTraitRows(deps.db, userId, 'semantic').map((r) => ({
      key: r.key,
      value: JSON.parse(r.value) as TraitValue,
      confidence: r.confidence,
    }));
    const result = await extractor.extract(batch, current, { userId });
    report.batches++;
    report.calls += result.calls;
    report.promptTokens += result.promptTokens;
    report.completionTokens += result.completionTokens;
    report.ops += result.ops.length;
    if (result.invalidOps) {
      report.rejected.invalid_op = (report.rejected.invalid_op ?? 0) + result.invalidOps;
      bumpCounter(deps.db, 'traits_rejected', 'invalid_op', result.invalidOps);
    }
    const sensitive = dropSensitive(result.ops, { allow: deps.sensitiveAllow ?? [] });
    report.droppedSensitive += sensitive.droppedTotal;
    const now = Date.now();
    deps.db.sqlite.transaction(() => {
      const merged = mergeTraitOps(deps.db, {
        userId,
        ops: sensitive.kept,
        signals: new Map(batch.map((s) => [s.eventId, s.text])),
        catalogue: deps.catalogue,
        producer: extractor.producer,
        version: extractor.version,
        now,
      });
      report.added += merged.added;
      report.reinforced += merged.reinforced;
      report.superseded += merged.superseded;
      report.retracted += merged.retracted;
      if (merged.profileVersion !== null) report.profileVersion = merged.profileVersion;
      for (const [reason, n] of Object.entries(merged.rejected)) {
        report.rejected[reason] = (report.rejected[reason] ?? 0) + n;
        bumpCounter(deps.db, 'traits_rejected', reason, n);
      }
      for (const [cat, n] of Object.entries(sensitive.dropped)) bumpCounter(deps.db, 'traits_dropped_sensitive', cat, n);
      markSignalsRead(deps.db, batch.map((s) => s.eventId), extractor.producer, extractor.version, now);
    }).immediate();
  }
  return report;
}
