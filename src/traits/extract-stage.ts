import { effectiveConsent } from '../core/consent.ts';
import type { ConsentFlag } from '../core/types.ts';
import type { CurrentTrait, Signal, TraitValue } from '../core/traits.ts';
import type { TraitMergeInput, TraitMergeResult, TraitStore } from '../db/stores/traits.ts';
import type { UserStore } from '../db/stores/users.ts';
import type { Catalogue } from './catalogue.ts';
import type { Extractor } from './extractor.ts';
import { nextFreeRef, planFactOps, planTraitOps, typeFacts } from './merge.ts';
import { redactPii, type RedactOptions } from './redact.ts';
import { dropSensitive, dropSensitiveFacts, type SensitiveCategory } from './sensitive.ts';

export interface TraitStageDeps {
  traits: TraitStore;
  users: Pick<UserStore, 'byId'>;
  catalogue: Catalogue;
  /** the embedded default; always present */
  offline: Extractor;
  /** present when an LLM is configured */
  llm: Extractor | null;
  defaultConsent: readonly ConsentFlag[];
  batchTokens: number;
  redact?: RedactOptions;
  sensitiveAllow?: readonly SensitiveCategory[];
  /** statement similarity for fact dedupe (factSimilarity when absent) */
  factSimilarity?: (a: string, b: string) => number;
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
  /** fact operations the extractor returned (before the sensitive filter and typing) */
  facts: number;
  /** facts the catalogue could type: merged as trait operations */
  factsTyped: number;
  factsAdded: number;
  /** rephrasings merged into a current fact (one row, both quotes) */
  factsReinforced: number;
  factsSuperseded: number;
  factsRetracted: number;
  /** trait and fact rejections; fact reasons are prefixed `fact_` */
  rejected: Record<string, number>;
  /** trait and fact operations dropped by the sensitive-category filter */
  droppedSensitive: number;
  redacted: number;
  profileVersion: number | null;
}

/** The kinds the stage reads and writes in one transaction: extracted traits and facts. */
const MERGED_KINDS = ['semantic', 'fact'] as const;

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

/** What one batch's merge plan returns (MergeReport plus the fact merge's report). */
type BatchPlanResult = ReturnType<typeof planTraitOps>['result'] & { facts: ReturnType<typeof planFactOps>['result'] };

export interface TraitStageGroupOptions {
  /**
   * Users whose merges share one transaction (default 1: one transaction per batch). A user's
   * next batch is extracted only after its previous one is committed (it reads the merged rows as
   * context), so grouping never changes what is extracted or stored, only how many commits it takes.
   */
  groupUsers?: number;
}

/**
 * The traits stage for one user: read the text signals the chosen extractor has not seen, redact
 * PII (before any extractor sees the text), extract traits and facts in token-bounded batches with
 * the current traits and facts as context, drop sensitive categories (facts exactly like traits),
 * type the facts the catalogue fits, then merge both in one transaction (which verifies every
 * quote, dedupes facts semantically and supersedes contradicted ones). The LLM is used only with the user's
 * `llm_processing` consent; without `profiling` consent nothing is inferred at all.
 */
export async function extractTraitsForUser(deps: TraitStageDeps, userId: number): Promise<TraitStageReport> {
  return (await extractTraitsForUsers(deps, [userId]))[0] as TraitStageReport;
}

/** One user's outcome in `extractTraitsForUsersSettled`. */
export type TraitStageOutcome = { ok: true; report: TraitStageReport } | { ok: false; error: unknown };

/**
 * The traits stage for several users, in order, with up to `groupUsers` users' merges in one
 * transaction (one commit, one fsync under synchronous FULL, instead of one per user). Each merge
 * is the one extractTraitsForUser would run, with its read marks in the same transaction: a
 * failed transaction marks nothing read, so its signals are read again next time. When a group's
 * transaction fails, its merges are retried one per transaction, so one user's failure does not
 * hold back the others; every user is staged, then the first error (in the order of `userIds`) is thrown.
 */
export async function extractTraitsForUsers(deps: TraitStageDeps, userIds: readonly number[], opts: TraitStageGroupOptions = {}): Promise<TraitStageReport[]> {
  const outcomes = await extractTraitsForUsersSettled(deps, userIds, opts);
  const failed = outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw failed.error;
  return outcomes.map((o) => (o as { report: TraitStageReport }).report);
}

/**
 * `extractTraitsForUsers` with one outcome per id, in order (the pipeline's slice: users fail
 * alone). A user fails when its extraction throws or one of its merges fails on its own (after its
 * group's transaction failed): it stops at that batch, as it would alone, and what its earlier
 * batches merged stays stored. The others' merges are unaffected.
 */
export async function extractTraitsForUsersSettled(deps: TraitStageDeps, userIds: readonly number[], opts: TraitStageGroupOptions = {}): Promise<TraitStageOutcome[]> {
  const groupUsers = Math.max(1, Math.floor(opts.groupUsers ?? 1));
  type Pending = { slot: number; input: TraitMergeInput<BatchPlanResult>; done: (r: TraitMergeResult<BatchPlanResult>) => void };
  let pending: Pending[] = [];
  const pendingUsers = new Set<number>();
  // the first error of each position in userIds
  const failed = new Map<number, unknown>();
  const fail = (slot: number, err: unknown) => {
    if (!failed.has(slot)) failed.set(slot, err);
  };
  const flush = async () => {
    if (!pending.length) return;
    const group = pending;
    pending = [];
    pendingUsers.clear();
    if (group.length > 1) {
      try {
        const results = await deps.traits.mergeMany(group.map((p) => p.input));
        group.forEach((p, i) => p.done(results[i] as TraitMergeResult<BatchPlanResult>));
        return;
      } catch {
        // Nothing of the group landed: each merge on its own, below.
      }
    }
    for (const p of group) {
      try {
        p.done(await deps.traits.merge(p.input));
      } catch (err) {
        fail(p.slot, err);
      }
    }
  };
  const reports: (TraitStageReport | undefined)[] = [];
  for (const [slot, userId] of userIds.entries()) {
    try {
      reports[slot] = await stageUser(deps, userId, {
        // the user's previous batch must be stored before its next one reads the current rows;
        // a user whose merge failed stops there
        beforeBatch: async () => {
          if (pendingUsers.has(userId)) await flush();
          if (failed.has(slot)) throw failed.get(slot);
        },
        merge: async (p) => {
          pending.push({ slot, ...p });
          pendingUsers.add(userId);
          if (pending.length >= groupUsers) await flush();
        },
      });
    } catch (err) {
      fail(slot, err);
    }
  }
  await flush();
  return userIds.map((_, slot) => (failed.has(slot) ? { ok: false, error: failed.get(slot) } : { ok: true, report: reports[slot] as TraitStageReport }));
}

async function stageUser(
  deps: TraitStageDeps,
  userId: number,
  io: {
    beforeBatch: () => Promise<void>;
    merge: (p: { input: TraitMergeInput<BatchPlanResult>; done: (r: TraitMergeResult<BatchPlanResult>) => void }) => Promise<void>;
  },
): Promise<TraitStageReport> {
  const user = await deps.users.byId(userId);
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
    facts: 0,
    factsTyped: 0,
    factsAdded: 0,
    factsReinforced: 0,
    factsSuperseded: 0,
    factsRetracted: 0,
    rejected: {},
    droppedSensitive: 0,
    redacted: 0,
    profileVersion: null,
  };
  if (!user) return { ...report, skipped: 'unknown_user' };
  if (!consent.profiling) return { ...report, skipped: 'no_profiling_consent' };

  const raw = await deps.traits.unreadSignals(userId, extractor.producer, extractor.version);
  report.signals = raw.length;
  const signals: Signal[] = raw.map((r) => {
    const red = redactPii(r.text, deps.redact);
    report.redacted += red.total;
    return { eventId: r.id, type: r.type, text: red.text, ts: r.ts };
  });
  for (const batch of batchSignals(signals, deps.batchTokens)) {
    await io.beforeBatch();
    const current: CurrentTrait[] = (await deps.traits.current(userId, { kind: MERGED_KINDS })).map((t) => ({
      key: t.key,
      value: t.value as TraitValue,
      confidence: t.confidence,
      validFrom: t.validFrom,
    }));
    const result = await extractor.extract(batch, current, { userId });
    report.batches++;
    report.calls += result.calls;
    report.promptTokens += result.promptTokens;
    report.completionTokens += result.completionTokens;
    report.ops += result.ops.length;
    const sensitive = dropSensitive(result.ops, { allow: deps.sensitiveAllow ?? [] });
    const sensitiveFacts = dropSensitiveFacts(result.facts ?? [], { allow: deps.sensitiveAllow ?? [] });
    report.droppedSensitive += sensitive.droppedTotal + sensitiveFacts.droppedTotal;
    report.facts += result.facts?.length ?? 0;
    // A fact the catalogue can type is merged as that trait (verified the same way); the rest stay facts.
    const typed = typeFacts(sensitiveFacts.kept, deps.catalogue);
    report.factsTyped += typed.traitOps.length;
    const signalTexts = new Map(batch.map((s) => [s.eventId, s.text]));
    const now = Date.now();
    const input = {
      userId,
      ops: [...sensitive.kept, ...typed.traitOps],
      signals: signalTexts,
      catalogue: deps.catalogue,
      producer: extractor.producer,
      version: extractor.version,
      now,
    };
    const factInput = {
      userId,
      facts: typed.facts,
      signals: signalTexts,
      producer: extractor.producer,
      version: extractor.version,
      now,
      similarity: deps.factSimilarity,
    };
    // One transaction per batch (or per group of users' batches): the merged rows (traits and facts), the counters and the read marks land together.
    const mergeInput: TraitMergeInput<BatchPlanResult> = {
      userId,
      kind: MERGED_KINDS,
      now: input.now,
      markRead: { eventIds: batch.map((s) => s.eventId), producer: extractor.producer, version: extractor.version },
      plan: (cur) => {
        const plan = planTraitOps(cur, input);
        const facts = planFactOps(cur, factInput, nextFreeRef(plan.changes));
        const rejected: Record<string, number> = { ...plan.result.rejected };
        if (result.invalidOps) rejected.invalid_op = (rejected.invalid_op ?? 0) + result.invalidOps;
        if (result.invalidFacts) rejected.invalid_fact = (rejected.invalid_fact ?? 0) + result.invalidFacts;
        for (const [reason, n] of Object.entries(facts.result.rejected)) rejected[`fact_${reason}`] = (rejected[`fact_${reason}`] ?? 0) + n;
        const droppedByCategory = Object.entries(sensitive.dropped).map(([key, n]) => ({
          metric: 'traits_dropped_sensitive',
          key,
          n: n + sensitiveFacts.dropped[key as SensitiveCategory],
        }));
        return {
          changes: [...plan.changes, ...facts.changes],
          counters: [...Object.entries(rejected).map(([key, n]) => ({ metric: 'traits_rejected', key, n })), ...droppedByCategory],
          result: { ...plan.result, rejected, facts: facts.result },
        };
      },
    };
    await io.merge({
      input: mergeInput,
      done: ({ result: merged, profileVersion }) => {
        report.added += merged.added;
        report.reinforced += merged.reinforced;
        report.superseded += merged.superseded;
        report.retracted += merged.retracted;
        report.factsAdded += merged.facts.added;
        report.factsReinforced += merged.facts.reinforced;
        report.factsSuperseded += merged.facts.superseded;
        report.factsRetracted += merged.facts.retracted;
        if (profileVersion !== null) report.profileVersion = profileVersion;
        for (const [reason, n] of Object.entries(merged.rejected)) report.rejected[reason] = (report.rejected[reason] ?? 0) + n;
      },
    });
  }
  return report;
}
