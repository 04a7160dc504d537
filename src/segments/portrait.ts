/**
 * A segment's portrait: who is in it compared with everyone (docs/marketing.md). Size and share,
 * the traits and declared attributes most over-represented (lift = share in the segment / share in
 * the population), the lifecycle mix, behaviour quantiles (spend, frequency, recency), each model's
 * predicted-probability histogram, the items members interact with most, and a description
 * (template offline; the LLM when one is configured, checked for grounding like summaries).
 *
 * Privacy: a portrait holds counts only. Counts include every user (marketing consent governs
 * per-user outputs, which a portrait has none of); a group smaller than PORTRAIT_MIN_GROUP members
 * is never shown, so no row describes one identifiable person; sensitive categories and contact or
 * identity attributes are left out. The LLM, when used, gets these aggregates and nothing else.
 */
import { z } from 'zod';
import { LIFECYCLE_MEANING, LIFECYCLE_STAGES, type LifecycleStage } from '../core/lifecycle.ts';
import type { Json } from '../core/types.ts';
import { allOf, compileFilter, consentCondition, type Compiled, type Filter } from '../db/filters.ts';
import { BEHAVIOUR_METRICS, type BehaviourMetric } from '../db/stores/segments.ts';
import { echoesInstructions, type Fact, PII_KEYS, ungroundedTerms } from '../profile/summary.ts';
import type { ChatModel } from '../providers/types.ts';
import { loadPrompt } from '../traits/prompts.ts';
import { redactPii } from '../traits/redact.ts';
import { sensitiveCategoryOf } from '../traits/sensitive.ts';
import type { ProfileServices } from '../similar/services.ts';
import type { Segment } from './segments.ts';

/** The smallest group a portrait shows (a trait, attribute value or item held by fewer members is left out). */
export const PORTRAIT_MIN_GROUP = 5;
export const PORTRAIT_BINS = 10;
const TOP = 10;
export const PORTRAIT_TEMPLATE = 'template.v1';
/** Computed traits that are categories (the rest are numbers, summarised as quantiles). */
const CATEGORICAL_COMPUTED = ['top_category', 'preferred_time_of_day'];

const METRIC_LABEL: Record<BehaviourMetric, string> = {
  monetary_total: 'spend (total)',
  purchase_count: 'purchases',
  events_30d: 'events in 30 days (as of each profile update)',
  days_since_last_event: 'days since the last event',
};

export interface Quantiles {
  /** users with a value */
  n: number;
  p25: number | null;
  median: number | null;
  p75: number | null;
}

export interface OverRepresented {
  /** `trait` (with its kind) or `attribute` (declared) */
  source: 'trait' | 'attribute';
  kind?: string;
  key: string;
  value: Json;
  /** members holding it */
  members: number;
  segmentShare: number;
  populationShare: number;
  /** segmentShare / populationShare */
  lift: number;
  /** the segment’s filter tests this key and value (so the share is high by definition) */
  inFilter: boolean;
}

export interface Portrait {
  segmentId: number;
  name: string;
  asOf: string;
  size: number;
  population: number;
  share: number;
  /** members with marketing consent: the ones member lists and lookalikes show */
  marketingConsent: { members: number; share: number };
  minGroupSize: number;
  overRepresented: OverRepresented[];
  lifecycle: { stage: LifecycleStage; meaning: string; members: number; segmentShare: number; populationShare: number }[];
  behaviour: { metric: BehaviourMetric; label: string; segment: Quantiles; population: Quantiles }[];
  predictions: {
    key: string;
    /** the value whose probability is binned (`true` for yes/no models) */
    of: string;
    histogram: { from: number; to: number; segment: number; population: number }[];
    /** members / everyone with the prediction at probability ≥ 0.5 of `of` */
    segmentAtLeastHalf: number;
    populationAtLeastHalf: number;
  }[];
  items: { item: string; title: string | null; members: number; segmentShare: number; lift: number }[];
  description: string;
  generator: string;
  fallbackReason?: string;
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
const round = (x: number, d = 3) => Number(x.toFixed(d));

export function quantiles(sorted: readonly number[]): Quantiles {
  const q = (p: number) => {
    if (!sorted.length) return null;
    const i = (sorted.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return round((sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (i - lo), 2);
  };
  return { n: sorted.length, p25: q(0.25), median: q(0.5), p75: q(0.75) };
}

/** The conditions a filter tests: key → the values it compares with (empty: any value, or a number range). */
function filterTests(f: Filter, out = new Map<string, Set<string>>()): Map<string, Set<string>> {
  const add = (key: string, values: readonly unknown[]) => {
    const set = out.get(key) ?? new Set<string>();
    for (const v of values) set.add(String(v).toLowerCase());
    if (!values.length) set.add('*');
    out.set(key, set);
  };
  if ('and' in f) for (const x of f.and) filterTests(x, out);
  else if ('or' in f) for (const x of f.or) filterTests(x, out);
  else if ('not' in f) filterTests(f.not, out);
  else if ('trait' in f) add(f.trait.key, f.trait.value === undefined ? [] : [f.trait.value]);
  else if ('predicted' in f) add(f.predicted.key, f.predicted.value === undefined ? [] : [f.predicted.value]);
  else if ('feature' in f) add(f.feature.key, []);
  else if ('fact' in f) add(f.fact.topic ? `fact:${f.fact.topic}` : 'fact', []);
  else add(f.attribute.key, f.attribute.in ?? (f.attribute.eq === undefined ? [] : [f.attribute.eq]));
  return out;
}

/** Does the filter test this key with this value (or with any value)? */
const inFilterOf = (tests: Map<string, Set<string>>, key: string, value: Json) => {
  const set = tests.get(key);
  return !!set && (set.has('*') || set.has(String(value).toLowerCase()));
};

const shown = (key: string, value: Json) =>
  !PII_KEYS.test(key) && !sensitiveCategoryOf(`${key.replace(/_/g, ' ')} ${String(value)}`) && redactPii(String(value)).text === String(value);

/** The aggregates (no description yet). */
export async function portraitFigures(s: ProfileServices, seg: Segment, now: number): Promise<Omit<Portrait, 'description' | 'generator' | 'fallbackReason'>> {
  const st = s.store.segments;
  const where: Compiled = compileFilter(seg.filter, s.store.dialect);
  const consented = allOf([where, consentCondition('marketing', s.config.TRAITLENS_DEFAULT_CONSENT, s.store.dialect)]);
  const [size, population, withConsent] = [await st.count(where), await st.count(null), await st.count(consented)];
  const min = PORTRAIT_MIN_GROUP;
  const tests = filterTests(seg.filter);

  const candidates: OverRepresented[] = [];
  // declared traits mirror the attributes, which are counted below
  const traitRows = await st.traitCounts(where, { kinds: ['semantic', 'computed'], minSegment: min });
  for (const r of traitRows) {
    if (r.kind === 'computed' && !CATEGORICAL_COMPUTED.includes(r.key)) continue;
    if (!shown(r.key, r.value)) continue;
    candidates.push({
      source: 'trait',
      kind: r.kind,
      key: r.key,
      value: r.value,
      ...shares(r.segment, r.population, size, population),
      inFilter: inFilterOf(tests, r.key, r.value),
    });
  }
  for (const r of await st.attributeCounts(where, { minSegment: min })) {
    if (!shown(r.key, r.value)) continue;
    candidates.push({ source: 'attribute', key: r.key, value: r.value, ...shares(r.segment, r.population, size, population), inFilter: inFilterOf(tests, r.key, r.value) });
  }
  const overRepresented = candidates
    .filter((c) => c.lift > 1)
    .sort((a, b) => b.lift - a.lift || b.members - a.members || a.key.localeCompare(b.key))
    .slice(0, TOP);

  const life = new Map((await st.lifecycleCounts(where, now)).map((r) => [r.stage, r]));
  const lifecycle = LIFECYCLE_STAGES.filter((stage) => life.has(stage)).map((stage) => {
    const r = life.get(stage) as { segment: number; population: number };
    return { stage, meaning: LIFECYCLE_MEANING[stage], members: r.segment, segmentShare: round(ratio(r.segment, size)), populationShare: round(ratio(r.population, population)) };
  });

  const behaviour = [];
  for (const metric of BEHAVIOUR_METRICS)
    behaviour.push({
      metric,
      label: METRIC_LABEL[metric],
      segment: quantiles(await st.numericValues(where, metric, now)),
      population: quantiles(await st.numericValues(null, metric, now)),
    });

  const byModel = new Map<string, Portrait['predictions'][number]>();
  for (const r of await st.predictedHistograms(where, PORTRAIT_BINS)) {
    const id = `${r.key}\u0000${r.of}`;
    let p = byModel.get(id);
    if (!p) {
      p = {
        key: r.key,
        of: r.of,
        histogram: Array.from({ length: PORTRAIT_BINS }, (_, i) => ({ from: i / PORTRAIT_BINS, to: (i + 1) / PORTRAIT_BINS, segment: 0, population: 0 })),
        segmentAtLeastHalf: 0,
        populationAtLeastHalf: 0,
      };
      byModel.set(id, p);
    }
    const bin = p.histogram[r.bin];
    if (bin) Object.assign(bin, { segment: r.segment, population: r.population });
  }
  const predictions = [...byModel.values()].map((p) => {
    const half = (k: 'segment' | 'population') => p.histogram.filter((b) => b.from >= 0.5).reduce((a, b) => a + b[k], 0);
    const total = (k: 'segment' | 'population') => p.histogram.reduce((a, b) => a + b[k], 0);
    return { ...p, segmentAtLeastHalf: round(ratio(half('segment'), total('segment'))), populationAtLeastHalf: round(ratio(half('population'), total('population'))) };
  });

  const items = (await st.topItems(where, { limit: TOP, minSegment: min })).map((r) => ({
    item: r.item,
    title: r.title,
    members: r.segment,
    segmentShare: round(ratio(r.segment, size)),
    lift: round(ratio(ratio(r.segment, size), ratio(r.population, population)), 2),
  }));

  return {
    segmentId: seg.id,
    name: seg.name,
    asOf: new Date(now).toISOString(),
    size,
    population,
    share: round(ratio(size, population)),
    marketingConsent: { members: withConsent, share: round(ratio(withConsent, size)) },
    minGroupSize: min,
    overRepresented,
    lifecycle,
    behaviour,
    predictions,
    items,
  };
}

function shares(seg: number, pop: number, size: number, population: number) {
  const segmentShare = ratio(seg, size);
  const populationShare = ratio(pop, population);
  return { members: seg, segmentShare: round(segmentShare), populationShare: round(populationShare), lift: round(ratio(segmentShare, populationShare), 2) };
}

// ---- the description ----------------------------------------------------------------------------

const pctOf = (x: number) => `${Math.round(x * 100)}%`;
const words = (v: unknown) => String(v).replace(/_/g, ' ');
const list = (xs: string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);
const fmt = (x: number | null) => (x === null ? 'n/a' : Number.isInteger(x) ? String(x) : x.toFixed(1));

/** The portrait as numbered statements: what the template renders and the LLM may use, nothing else. */
export function portraitFacts(p: Omit<Portrait, 'description' | 'generator'>): Fact[] {
  const facts: Fact[] = [];
  const push = (source: string, key: string, text: string) => facts.push({ n: facts.length + 1, source, key, text, confidence: 1 });
  push('size', 'size', `segment "${p.name}": ${p.size} of ${p.population} users (${pctOf(p.share)}); ${p.marketingConsent.members} of them consented to marketing`);
  for (const o of p.overRepresented.filter((x) => !x.inFilter))
    push(
      o.source,
      o.key,
      `${words(o.key)} ${words(o.value)}: ${pctOf(o.segmentShare)} of the segment vs ${pctOf(o.populationShare)} of everyone (${o.lift.toFixed(1)} times as common)`,
    );
  const life = p.lifecycle.filter((l) => l.stage !== 'unknown' && l.members > 0);
  if (life.length) push('lifecycle', 'lifecycle', `lifecycle: ${life.map((l) => `${pctOf(l.segmentShare)} ${l.stage} (${pctOf(l.populationShare)} overall)`).join(', ')}`);
  for (const b of p.behaviour)
    if (b.segment.median !== null) push('behaviour', b.metric, `median ${b.label}: ${fmt(b.segment.median)} in the segment vs ${fmt(b.population.median)} overall`);
  for (const m of p.predictions)
    push(
      'prediction',
      m.key,
      `model ${words(m.key)}: ${pctOf(m.segmentAtLeastHalf)} of members with a prediction have at least 50% probability of ${words(m.of)} (${pctOf(m.populationAtLeastHalf)} overall)`,
    );
  if (p.items.length)
    push(
      'items',
      'items',
      `top items: ${p.items
        .slice(0, 5)
        .map((i) => `${i.title ?? i.item} (${i.members} members, ${i.lift.toFixed(1)} times as common)`)
        .join(', ')}`,
    );
  return facts;
}

/** The portrait in plain words, in paragraphs, from its facts alone. */
export function templateDescription(p: Omit<Portrait, 'description' | 'generator'>): string {
  if (p.size === 0) return `No user matches "${p.name}" yet (${p.population} users in all).`;
  const paras: string[] = [];
  paras.push(
    `"${p.name}" holds ${p.size} of ${p.population} users (${pctOf(p.share)}); ${p.marketingConsent.members} of them (${pctOf(p.marketingConsent.share)}) consented to marketing.`,
  );
  const stand = p.overRepresented.filter((o) => !o.inFilter).slice(0, 5);
  if (stand.length)
    paras.push(
      `Compared with everyone, they stand out for ${list(stand.map((o) => `${words(o.key)} ${words(o.value)} (${pctOf(o.segmentShare)} vs ${pctOf(o.populationShare)}, ${o.lift.toFixed(1)} times as common)`))}.`,
    );
  const sent: string[] = [];
  const life = p.lifecycle.filter((l) => l.stage !== 'unknown' && l.members > 0).sort((a, b) => b.members - a.members);
  if (life.length) sent.push(`By lifecycle stage they are ${list(life.map((l) => `${pctOf(l.segmentShare)} ${l.stage} (${pctOf(l.populationShare)} overall)`))}.`);
  const beh = p.behaviour.filter((b) => b.segment.median !== null);
  if (beh.length) sent.push(`Medians: ${list(beh.map((b) => `${b.label} ${fmt(b.segment.median)} (overall ${fmt(b.population.median)})`))}.`);
  if (sent.length) paras.push(sent.join(' '));
  const more: string[] = [];
  if (p.predictions.length)
    more.push(
      `Models: ${list(p.predictions.map((m) => `${pctOf(m.segmentAtLeastHalf)} have at least 50% probability of ${words(m.key)} being ${words(m.of)} (overall ${pctOf(m.populationAtLeastHalf)})`))}.`,
    );
  if (p.items.length) more.push(`Top items: ${list(p.items.slice(0, 5).map((i) => `${i.title ?? i.item} (${i.members} members)`))}.`);
  if (more.length) paras.push(more.join(' '));
  return paras.join('\n\n');
}

export const portraitAnswerSchema = z.strictObject({
  description: z.string().min(1).max(3000),
  facts: z.array(z.number().int().min(1)).max(200),
});

/** A portrait with its description: the LLM's when configured and grounded, else the template's. */
export async function segmentPortrait(s: ProfileServices, deps: { chat: ChatModel | null }, seg: Segment, now = Date.now()): Promise<Portrait> {
  const figures = await portraitFigures(s, seg, now);
  if (!deps.chat || figures.size === 0) return { ...figures, description: templateDescription(figures), generator: PORTRAIT_TEMPLATE };
  const r = await llmDescription(deps.chat, figures);
  if ('description' in r) return { ...figures, description: r.description, generator: r.generator };
  return { ...figures, description: templateDescription(figures), generator: PORTRAIT_TEMPLATE, fallbackReason: r.rejected };
}

async function llmDescription(chat: ChatModel, figures: Omit<Portrait, 'description' | 'generator'>): Promise<{ description: string; generator: string } | { rejected: string }> {
  const prompt = loadPrompt('segment-portrait', 'v1');
  const facts = portraitFacts(figures);
  const system = await prompt.system.format({});
  const user = await prompt.user.format({ facts: facts.map((f) => `${f.n}. ${f.text}`).join('\n') });
  try {
    const r = await chat.extractStructured({
      system,
      user,
      schema: portraitAnswerSchema,
      schemaName: 'segment_portrait',
      usage: { operation: 'segment_portrait', promptVersion: prompt.id },
    });
    const d = r.data.description.trim();
    if (r.data.facts.some((n) => n > facts.length)) return { rejected: 'cited a fact that does not exist' };
    if (echoesInstructions(d, system)) return { rejected: 'repeated its instructions' };
    if (sensitiveCategoryOf(d)) return { rejected: 'mentioned a sensitive category' };
    if (redactPii(d).text !== d) return { rejected: 'contained contact details' };
    const invented = ungroundedTerms(d, facts);
    if (invented.length) return { rejected: `stated numbers not in the portrait: ${invented.join(', ')}` };
    return { description: d, generator: `llm:${chat.id}:${prompt.id}` };
  } catch (err) {
    return { rejected: `the model call failed (${err instanceof Error ? err.name : 'error'})` };
  }
}
