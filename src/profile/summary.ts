/**
 * Profile summaries for an audience (support | marketing). The same facts feed both generators:
 * the LLM (prompts/summary.v1.md, structured output, checked for grounding) when one is configured
 * and the user consented to LLM processing, else a template that reads naturally. Cached per
 * (user, profile version, audience, generator); a new profile version misses the cache.
 */
import { z } from 'zod';
import { effectiveConsent } from '../core/consent.ts';
import { ForbiddenError } from '../core/errors.ts';
import type { ConsentFlag, Trait } from '../core/types.ts';
import type { Store } from '../db/store.ts';
import type { UserRow } from '../db/stores/users.ts';
import type { ChatModel } from '../providers/types.ts';
import { loadPrompt } from '../traits/prompts.ts';
import { redactPii } from '../traits/redact.ts';
import { sensitiveCategoryOf } from '../traits/sensitive.ts';

export const AUDIENCES = ['support', 'marketing'] as const;
export type Audience = (typeof AUDIENCES)[number];
export const TEMPLATE_GENERATOR = 'template.v2';

/** Attribute names that hold contact details or identity: never put in a summary. */
const PII_KEYS = /(^|_)(name|first_name|last_name|email|e_mail|phone|mobile|address|street|zip|postcode|postal_code|birth|dob|ip|ssn|passport|iban|card)($|_)/i;

export interface Fact {
  n: number;
  /** where it comes from: trait kind, or `activity` */
  source: string;
  key: string;
  text: string;
  confidence: number;
}

export interface ProfileFacts {
  profileVersion: number;
  facts: Fact[];
}

const human = (k: string) => k.replace(/_/g, ' ');
const fmtValue = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : String(v));

function isSafe(t: Trait): boolean {
  if (PII_KEYS.test(t.key)) return false;
  const s = `${t.key} ${String(t.value)}`;
  if (sensitiveCategoryOf(s)) return false;
  return redactPii(String(t.value)).text === String(t.value);
}

/** The profile as numbered statements: traits with confidence, predictions, key activity stats. No evidence quotes, no PII. */
export async function profileFacts(store: Pick<Store, 'traits' | 'events'>, user: UserRow): Promise<ProfileFacts> {
  const traits = (await store.traits.current(user.id)).filter(isSafe);
  const facts: Fact[] = [];
  const push = (source: string, key: string, text: string, confidence: number) => facts.push({ n: facts.length + 1, source, key, text, confidence });
  const order = { declared: 0, semantic: 1, predicted: 2, computed: 3 } as const;
  for (const t of [...traits].sort((a, b) => order[a.kind] - order[b.kind] || b.confidence - a.confidence)) {
    if (t.kind === 'predicted') push('predicted', t.key, `model prediction: ${human(t.key)} = ${fmtValue(t.value)}`, t.confidence);
    else if (t.kind === 'computed') push('computed', t.key, `${human(t.key)}: ${fmtValue(t.value)}`, 1);
    else if (t.kind === 'declared') push('declared', t.key, `${human(t.key)}: ${fmtValue(t.value)} (declared)`, 1);
    else push('semantic', t.key, `${human(t.key)}: ${fmtValue(t.value)}`, t.confidence);
  }
  const counts = await store.events.countsByType(user.id);
  const top = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4);
  if (user.eventCount > 0) push('activity', 'events', `${user.eventCount} events${top.length ? ` (${top.map(([t, n]) => `${n} ${human(t)}`).join(', ')})` : ''}`, 1);
  if (user.firstEventAt !== null && user.lastEventAt !== null)
    push('activity', 'active_period', `active from ${new Date(user.firstEventAt).toISOString().slice(0, 10)} to ${new Date(user.lastEventAt).toISOString().slice(0, 10)}`, 1);
  return { profileVersion: user.profileVersion, facts };
}

const list = (xs: string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`);
const words = (v: string) => v.replace(/_/g, ' ');
const article = (w: string) => (/^[aeiou]/i.test(w) ? 'an' : 'a');

/** "key: value" as the fact states it → [key, value] (the value as text). */
function splitFact(f: Fact): [string, string] {
  const i = f.text.indexOf(': ');
  return [f.key, i >= 0 ? f.text.slice(i + 2) : f.text];
}

/**
 * What a customer said about themselves as a base-form verb phrase ("be into hiking", "have a
 * cat"), so it reads after both "they" (conjugated by `present`) and "they may".
 */
function semanticPhrase(key: string, values: string[]): string {
  const v = values[0] ?? '';
  switch (key) {
    case 'occupation':
      return `work as ${article(v)} ${v}`;
    case 'pet':
      return `have ${list(values.map((x) => `${article(x)} ${x}`))}`;
    case 'interest':
      return `be into ${list(values)}`;
    case 'diet':
      return `be ${words(v)}`;
    case 'family_status':
      return v === 'in_relationship' ? 'be in a relationship' : `be ${words(v)}`;
    case 'has_children':
      return v === 'true' ? 'have children' : 'have no children';
    case 'children_count':
      return `have ${v} ${v === '1' ? 'child' : 'children'}`;
    case 'location_region':
      return `live in ${v}`;
    case 'language':
      return `speak ${list(values)}`;
    case 'life_event':
      return `have a recent life event (${list(values.map(words))})`;
    case 'price_sensitivity':
      return v === 'high' ? 'look for deals (high price sensitivity)' : v === 'low' ? 'not be driven by price (low price sensitivity)' : 'be moderately price-conscious';
    case 'preferred_channel':
      return `prefer to be contacted by ${words(v)}`;
    case 'skill_level':
      return `describe themselves as ${v === 'intermediate' ? 'intermediate' : `${article(v)} ${v}`}`;
    default:
      return `have ${words(key)}: ${list(values)}`;
  }
}

/** Base form after "they" in the present tense. */
const present = (phrase: string) => phrase.replace(/^be /, 'are ').replace(/^not be /, 'are not ');

/** Facts of one confidence band grouped by key (multi-valued keys read as one phrase). */
function phrases(facts: Fact[]): string[] {
  const byKey = new Map<string, string[]>();
  for (const x of facts) byKey.set(x.key, [...(byKey.get(x.key) ?? []), splitFact(x)[1]]);
  return [...byKey].map(([k, vs]) => semanticPhrase(k, vs));
}

/** Behaviour figures in plain words (unknown keys: "key: value"). */
function computedPhrase(key: string, v: string): string {
  const n = Number(v);
  switch (key) {
    case 'purchase_count':
      return `${v} ${n === 1 ? 'purchase' : 'purchases'}`;
    case 'monetary_total':
      return `${v} spent in total`;
    case 'monetary_mean':
      return `${v} per purchase on average`;
    case 'sessions':
      return `${v} ${n === 1 ? 'session' : 'sessions'}`;
    case 'events_30d':
      return `${v} events in the last 30 days`;
    case 'preferred_time_of_day':
      return `mostly active in the ${words(v)}`;
    case 'top_category':
      return `top category ${words(v)}`;
    case 'weekend_share':
      return `${Math.round(n * 100)}% of activity at weekends`;
    case 'ctr':
      return `click-through rate ${Math.round(n * 100)}%`;
    case 'dwell_mean_ms':
      return `${Math.round(n / 1000)} s average dwell time`;
    case 'session_length_mean_ms':
      return `sessions of ${Math.round(n / 60000)} min on average`;
    case 'last_purchase_at':
      return `last purchase on ${v.slice(0, 10)}`;
    default:
      return `${words(key)}: ${v}`;
  }
}

/**
 * A readable summary from the facts alone: every clause renders one fact (with its confidence as
 * a hedge), nothing else is added — no quote, no raw text, no value the profile does not hold.
 */
export function templateSummary(pf: ProfileFacts, audience: Audience): string {
  const f = pf.facts;
  if (!f.length) return 'There is not enough data about this customer yet to summarise.';
  const by = (src: string) => f.filter((x) => x.source === src);
  const sentences: string[] = [];
  const declared = by('declared').map((x) => x.text.replace(' (declared)', ''));
  if (declared.length) sentences.push(`Declared: ${list(declared)}.`);

  const sem = by('semantic');
  const special = new Set(['brand_sentiment', 'support_issue']);
  const hasCount = sem.some((x) => x.key === 'children_count');
  const about = sem.filter((x) => !special.has(x.key) && !(hasCount && x.key === 'has_children'));
  const sure = phrases(about.filter((x) => x.confidence >= 0.7)).map(present);
  const probable = phrases(about.filter((x) => x.confidence >= 0.5 && x.confidence < 0.7)).map(present);
  const hints = phrases(about.filter((x) => x.confidence < 0.5));
  if (sure.length) sentences.push(`From what they wrote, they ${list(sure)}.`);
  if (probable.length) sentences.push(`Probably, they ${list(probable)}.`);
  if (hints.length) sentences.push(`Less certain (from searches and hints), they may ${list(hints)}.`);
  const issues = sem.filter((x) => x.key === 'support_issue').map((x) => words(splitFact(x)[1]));
  if (issues.length) sentences.push(`Support topics raised: ${list(issues)}.`);
  const tone = sem.find((x) => x.key === 'brand_sentiment');
  if (tone) sentences.push(`Their tone towards us is ${splitFact(tone)[1]}${tone.confidence < 0.7 ? ' (uncertain)' : ''}.`);

  const comp = by('computed').map((x) => computedPhrase(...splitFact(x)));
  if (comp.length) sentences.push(`Behaviour: ${list(comp.slice(0, audience === 'marketing' ? 8 : 6))}.`);
  const pred = by('predicted').map((x) => `${x.text.replace('model prediction: ', '')} (confidence ${x.confidence.toFixed(2)})`);
  if (pred.length) sentences.push(`Models predict ${list(pred)}.`);
  const act = by('activity').map((x) => x.text);
  if (act.length) sentences.push(`Activity: ${list(act)}.`);
  return sentences.join(' ');
}

export const summaryAnswerSchema = z.strictObject({
  summary: z.string().min(1).max(2000),
  facts: z.array(z.number().int().min(1)).max(200),
});

export interface SummaryDeps {
  store: Pick<Store, 'traits' | 'events' | 'summaries'>;
  /** metered once where providers are built (budget + usage recording, src/providers/usage.ts) */
  chat: ChatModel | null;
  defaultConsent: readonly ConsentFlag[];
}

export interface SummaryResult {
  summary: string;
  audience: Audience;
  generator: string;
  profileVersion: number;
  cached: boolean;
  facts: Fact[];
  /** set when the LLM answer was rejected and the template used instead */
  fallbackReason?: string;
}

/**
 * True when the summary repeats a run of 6 words from the system prompt: a model talked into
 * revealing its instructions (by text that reached it) must not get them into a summary.
 */
export function echoesInstructions(summary: string, system: string, run = 6): boolean {
  const norm = (t: string) => t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const have = ` ${norm(summary).join(' ')} `;
  const w = norm(system);
  for (let i = 0; i + run <= w.length; i++) if (have.includes(` ${w.slice(i, i + run).join(' ')} `)) return true;
  return false;
}

/** Numbers in the summary that appear in no fact (text or confidence): a crude grounding check. */
export function ungroundedTerms(summary: string, facts: readonly Fact[]): string[] {
  const known = new Set(facts.flatMap((f) => [...(f.text.toLowerCase().match(/[\p{L}\p{N}.]+/gu) ?? []), f.confidence.toFixed(2)]));
  const nums = summary.match(/\b\d+(?:\.\d+)?\b/g) ?? [];
  return nums.filter((n) => !known.has(n) && ![...known].some((k) => k.includes(n)));
}

export async function summarise(deps: SummaryDeps, user: UserRow, audience: Audience): Promise<SummaryResult> {
  const consent = effectiveConsent(user.consent, deps.defaultConsent);
  if (audience === 'marketing' && !consent.marketing)
    throw new ForbiddenError('this user has not consented to marketing: no marketing summary is available', { consent: 'marketing', audience });
  const pf = await profileFacts(deps.store, user);
  const prompt = loadPrompt('summary', 'v1');
  const useLlm = deps.chat !== null && consent.llm_processing && pf.facts.length > 0;
  const generator = useLlm ? `llm:${(deps.chat as ChatModel).id}:${prompt.id}` : TEMPLATE_GENERATOR;
  const hit = await deps.store.summaries.get({ userId: user.id, profileVersion: pf.profileVersion, audience, generator });
  if (hit) return { summary: hit.text, audience, generator, profileVersion: pf.profileVersion, cached: true, facts: pf.facts };
  let text: string | null = null;
  let usedGenerator = generator;
  let fallbackReason: string | undefined;
  if (useLlm) {
    const r = await llmSummary(deps, user.id, pf, audience);
    if ('summary' in r) text = r.summary;
    else {
      fallbackReason = r.rejected;
      usedGenerator = TEMPLATE_GENERATOR;
    }
  }
  text ??= templateSummary(pf, audience);
  await deps.store.summaries.put({ userId: user.id, profileVersion: pf.profileVersion, audience, generator: usedGenerator }, text, Date.now());
  return { summary: text, audience, generator: usedGenerator, profileVersion: pf.profileVersion, cached: false, facts: pf.facts, ...(fallbackReason ? { fallbackReason } : {}) };
}

const AUDIENCE_TEXT: Record<Audience, string> = {
  support: 'customer support agents, who need context to help the customer quickly',
  marketing: 'marketing team, who want to understand interests and behaviour to tailor offers',
};

async function llmSummary(deps: SummaryDeps, userId: number, pf: ProfileFacts, audience: Audience): Promise<{ summary: string } | { rejected: string }> {
  const chat = deps.chat as ChatModel;
  const prompt = loadPrompt('summary', 'v1');
  const system = await prompt.system.format({ audience_description: AUDIENCE_TEXT[audience] });
  const user = await prompt.user.format({ audience, facts: pf.facts.map((f) => `${f.n}. ${f.text} [${f.confidence.toFixed(2)}]`).join('\n') });
  try {
    // Usage (success or failure) and the daily budget: the metered chat model (src/providers/usage.ts).
    const r = await chat.extractStructured({
      system,
      user,
      schema: summaryAnswerSchema,
      schemaName: 'profile_summary',
      usage: { operation: 'summary', promptVersion: prompt.id, userId },
    });
    const s = r.data.summary.trim();
    // Grounding checks: the model must cite only facts that exist, never a sensitive category, no PII, no invented numbers.
    if (r.data.facts.some((n) => n > pf.facts.length)) return { rejected: 'cited a fact that does not exist' };
    if (echoesInstructions(s, system)) return { rejected: 'repeated its instructions' };
    if (sensitiveCategoryOf(s)) return { rejected: 'mentioned a sensitive category' };
    if (redactPii(s).text !== s) return { rejected: 'contained contact details' };
    if (ungroundedTerms(s, pf.facts).length) return { rejected: `stated numbers not in the profile: ${ungroundedTerms(s, pf.facts).join(', ')}` };
    return { summary: s };
  } catch (err) {
    return { rejected: `the model call failed (${err instanceof Error ? err.name : 'error'})` };
  }
}
