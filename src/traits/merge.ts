import type { TraitOp, TraitValue } from '../core/traits.ts';
import type { Db } from '../db/connection.ts';
import { bumpProfileVersion, closeTrait, currentTraitRows, insertTrait, type TraitRow } from '../db/traits.ts';
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

export function mergeTraitOps(db: Db, input: MergeInput): MergeReport {
  const report: MergeReport = { added: 0, reinforced: 0, superseded: 0, weakened: 0, retracted: 0, rejected: {}, changed: false, profileVersion: null };
  const reject = (reason: string) => {
    report.rejected[reason] = (report.rejected[reason] ?? 0) + 1;
  };
  db.sqlite.transaction(() => {
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
      const evidence: { eventId: number; quote: string }[] = [];
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
      const current = currentTraitRows(db, input.userId, 'semantic', def.key);
      const same = current.find((r) => JSON.parse(r.value) === value);
      const base = { userId: input.userId, key: def.key, kind: 'semantic' as const, producer: input.producer, version: input.version, validFrom: input.now };

      if (op.op === 'retract') {
        if (!same) {
          reject('retract_unknown_value');
          continue;
        }
        closeTrait(db, same.id, input.now, null);
        report.retracted++;
        report.changed = true;
        continue;
      }
      if (same) {
        // Repeated evidence raises confidence; the old row stays in history.
        const merged = mergeEvidence(same, evidence);
        if (merged.added === 0) continue; // the same quotes again: nothing new learned
        const id = insertTrait(db, { ...base, value, confidence: round(noisyOr(same.confidence, confidence)), evidence: merged.list });
        closeTrait(db, same.id, input.now, id);
        report.reinforced++;
        report.changed = true;
        continue;
      }
      if (def.cardinality === 'multi' || current.length === 0) {
        insertTrait(db, { ...base, value, confidence: round(confidence), evidence });
        report.added++;
        report.changed = true;
        continue;
      }
      // A single-valued key with a different current value: a contradiction.
      const old = current[0] as TraitRow;
      if (def.merge === 'latest' || confidence >= old.confidence) {
        const id = insertTrait(db, { ...base, value, confidence: round(confidence), evidence });
        for (const r of current) closeTrait(db, r.id, input.now, id);
        report.superseded++;
      } else {
        // Weaker contrary evidence lowers the old value's confidence instead of replacing it.
        const id = insertTrait(db, {
          ...base,
          value: JSON.parse(old.value) as TraitValue,
          confidence: round(old.confidence * (1 - confidence / 2)),
          evidence: JSON.parse(old.evidence) as { eventId: number; quote: string }[],
          producer: old.producer,
          version: old.version,
        });
        closeTrait(db, old.id, input.now, id);
        report.weakened++;
      }
      report.changed = true;
    }
    if (report.changed) report.profileVersion = bumpProfileVersion(db, input.userId, input.now);
  }).immediate();
  return report;
}

function mergeEvidence(row: TraitRow, fresh: { eventId: number; quote: string }[]): { list: { eventId: number; quote: string }[]; added: number } {
  const list = JSON.parse(row.evidence) as { eventId: number; quote: string }[];
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
