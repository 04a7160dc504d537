import type { TraitOp, TraitValue } from '../core/traits.ts';
import type { Evidence, Trait } from '../core/types.ts';
import type { NewTrait, TraitChange, TraitPlan, TraitStore } from '../db/stores/traits.ts';
import type { Catalogue, TraitDef } from './catalogue.ts';

/**
 * The merge step: the only code that turns trait operations into rows. It checks each op against
 * the catalogue, verifies every quote against the redacted text of the signal it cites, dedupes
 * by normalised value, and writes history (valid_to, superseded_by) instead of overwriting.
 * An op whose evidence cannot be verified is rejected: that is the defence against a model that
 * hallucinates, and against text that tries to talk the model into a trait.
 */

export interface MergeInput {
  userId: number;
  ops: readonly TraitOp[];
  /** eventId → the redacted text the extractor was shown */
  signals: ReadonlyMap<number, string>;
  catalogue: Catalogue;
  producer: string;
  version: string;
  now: number;
}

export interface MergeReport {
  added: number;
  reinforced: number;
  superseded: number;
  weakened: number;
  retracted: number;
  rejected: Record<string, number>;
  changed: boolean;
  profileVersion: number | null;
}

const MAX_EVIDENCE = 10;

/** Lower case, single spaces; closed vocabularies also map spaces and hyphens to underscores. */
export function normaliseValue(def: TraitDef, value: TraitValue): TraitValue | null {
  if (def.valueType === 'number') {
    const n = typeof value === 'number' ? value : Number(value);
    return Number.isFinite(n) ? n : null;
  }
  if (def.valueType === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'yes') return true;
    if (value === 'false' || value === 'no') return false;
    return null;
  }
  let s = String(value).normalize('NFC').toLowerCase().replace(/\s+/g, ' ').trim();
  if (def.allowed) {
    s = s.replace(/[\s-]+/g, '_');
    return def.allowed.includes(s) ? s : null;
  }
  return s.length > 0 && s.length <= 100 ? s : null;
}

/**
 * Finds the quote in the signal's text: verbatim, or ignoring case and runs of whitespace (models
 * re-case quotes). Returns the span as it stands in the text, or null.
 */
export function locateQuote(text: string, quote: string): string | null {
  const q = quote.trim();
  if (q.length < 2) return null;
  if (text.includes(q)) return q;
  const folded = q.replace(/\s+/g, ' ').toLowerCase();
  const lower = text.toLowerCase();
  if (lower.length !== text.length) return null; // case folding changed lengths: only exact matches are safe
  const i = lower.indexOf(folded);
  return i >= 0 ? text.slice(i, i + folded.length) : null;
}

const noisyOr = (a: number, b: number) => 1 - (1 - a) * (1 - b);
const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Plans the changes for one batch of operations against the user's current semantic traits. Pure:
 * the trait store runs it inside the transaction that writes its changes (TraitStore.merge), so
 * the rows it decides on are the rows it changes. Later operations see earlier ones' effects.
 */
export function planTraitOps(current: readonly Trait[], input: MergeInput): TraitPlan<MergeReport> {
  const report: MergeReport = { added: 0, reinforced: 0, superseded: 0, weakened: 0, retracted: 0, rejected: {}, changed: false, profileVersion: null };
  const reject = (reason: string) => {
    report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
  };
  const changes: TraitChange[] = [];
  // The working set: current rows, with this plan's inserts (negative refs) and closes applied.
  let rows: Trait[] = current.filter((t) => t.kind === 'semantic');
  let nextRef = -1;
  const insert = (t: Omit<NewTrait, 'kind' | 'producer' | 'version'> & Partial<Pick<NewTrait, 'producer' | 'version'>>): number => {
    const ref = nextRef--;
    const trait: NewTrait = { kind: 'semantic', producer: input.producer, version: input.version, ...t };
    changes.push({ op: 'insert', ref, trait });
    rows.push({ id: ref, ...trait, validFrom: input.now, validTo: null, supersededBy: null });
    return ref;
  };
  const close = (id: number, supersededBy: number | null) => {
    changes.push({ op: 'close', id, supersededBy });
    rows = rows.filter((r) => r.id !== id);
  };
  for (const op of input.ops) {
    const def = input.catalogue.get(op.key);
    if (!def) {
      reject('unknown_key');
      continue;
    }
    const value = normaliseValue(def, op.value);
    if (value === null) {
      reject('invalid_value');
      continue;
    }
    const evidence: Evidence[] = [];
    for (const ev of op.evidence) {
      const text = input.signals.get(ev.eventId);
      const span = text === undefined ? null : locateQuote(text, ev.quote);
      if (span !== null) evidence.push({ eventId: ev.eventId, quote: span });
    }
    if (evidence.length === 0) {
      reject('unverified_evidence');
      continue;
    }
    const confidence = Math.min(1, Math.max(0, op.confidence));
    // Oldest first, as rows were written: "the" current value of a single-valued key is the first.
    const currentOfKey = rows.filter((r) => r.key === def.key).sort(byAge);
    const same = currentOfKey.find((r) => r.value === value);

    if (op.op === 'retract') {
      if (!same) {
        reject('retract_unknown_value');
        continue;
      }
      close(same.id, null);
      report.retracted++;
      report.changed = true;
      continue;
    }
    if (same) {
      // Repeated evidence raises confidence; the old row stays in history.
      const merged = mergeEvidence(same, evidence);
      if (merged.added === 0) continue; // the same quotes again: nothing new learned
      const id = insert({ key: def.key, value, confidence: round(noisyOr(same.confidence, confidence)), evidence: merged.list });
      close(same.id, id);
      report.reinforced++;
      report.changed = true;
      continue;
    }
    if (def.cardinality === 'multi' || currentOfKey.length === 0) {
      insert({ key: def.key, value, confidence: round(confidence), evidence });
      report.added++;
      report.changed = true;
      continue;
    }
    // A single-valued key with a different current value: a contradiction.
    const old = currentOfKey[0] as Trait;
    if (def.merge === 'latest' || confidence >= old.confidence) {
      const id = insert({ key: def.key, value, confidence: round(confidence), evidence });
      for (const r of currentOfKey) close(r.id, id);
      report.superseded++;
    } else {
      // Weaker contrary evidence lowers the old value's confidence instead of replacing it.
      const id = insert({
        key: def.key,
        value: old.value,
        confidence: round(old.confidence * (1 - confidence / 2)),
        evidence: old.evidence,
        producer: old.producer,
        version: old.version,
      });
      close(old.id, id);
      report.weakened++;
    }
    report.changed = true;
  }
  return { changes, result: report };
}

/** Merges one batch of operations in one transaction; see planTraitOps. */
export async function mergeTraitOps(traits: TraitStore, input: MergeInput): Promise<MergeReport> {
  const r = await traits.merge({ userId: input.userId, kind: 'semantic', now: input.now, plan: (current) => planTraitOps(current, input) });
  return { ...r.result, profileVersion: r.profileVersion };
}

/** Stored rows by id; rows inserted by this plan (negative refs) after them, in insertion order. */
const byAge = (a: Trait, b: Trait) => (a.id > 0 && b.id > 0 ? a.id - b.id : a.id > 0 ? -1 : b.id > 0 ? 1 : b.id - a.id);

function mergeEvidence(row: Trait, fresh: Evidence[]): { list: Evidence[]; added: number } {
  const list = [...row.evidence];
  const seen = new Set(list.map((e) => `${e.eventId}\u0000${e.quote}`));
  let added = 0;
  for (const e of fresh) {
    const k = `${e.eventId}\u0000${e.quote}`;
    if (seen.has(k)) continue;
    seen.add(k);
    list.push(e);
    added++;
  }
  return { list: list.slice(-MAX_EVIDENCE), added };
}
