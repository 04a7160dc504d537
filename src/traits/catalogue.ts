/**
 * The trait catalogue: which keys exist, their value type, cardinality, merge rule and (for closed
 * keys) allowed values. The description of each key goes into the LLM prompt; the offline extractor
 * validates its own output against the same catalogue. A company extends or overrides it with a JSON
 * file (`TraitCatalogueExtension`), no code change.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, issuesToDetails } from '../core/errors.ts';
import type { TraitValue } from '../core/traits.ts';

export type ValueType = 'string' | 'number' | 'boolean';
export type Cardinality = 'single' | 'multi';
/**
 * union: multi-valued, deduped by normalised value (confidences combined by noisy-OR);
 * latest: single-valued, the most recent evidence wins;
 * highest_confidence: single-valued, the most confident value wins (ties: latest).
 */
export type MergeRule = 'union' | 'latest' | 'highest_confidence';

export interface TraitDef {
  key: string;
  valueType: ValueType;
  cardinality: Cardinality;
  merge: MergeRule;
  /** closed vocabulary; absent means open (free text, normalised) */
  allowed?: readonly string[];
  description: string;
}

export type Catalogue = ReadonlyMap<string, TraitDef>;

const BUILT_IN: readonly TraitDef[] = [
  {
    key: 'interest',
    valueType: 'string',
    cardinality: 'multi',
    merge: 'union',
    description: 'A hobby, topic or activity the user enjoys or shops for (e.g. hiking, photography, cooking). Lower case, singular, short.',
  },
  {
    key: 'occupation',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    description: "The user's own current job or role (e.g. nurse, software engineer, student, retired). Never a relative's job.",
  },
  {
    key: 'pet',
    valueType: 'string',
    cardinality: 'multi',
    merge: 'union',
    description: 'A kind of animal the user owns (dog, cat, bird, fish, rabbit, horse...). Species, singular.',
  },
  {
    key: 'family_status',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    allowed: ['single', 'in_relationship', 'engaged', 'married', 'divorced', 'widowed'],
    description: "The user's relationship status.",
  },
  { key: 'has_children', valueType: 'boolean', cardinality: 'single', merge: 'latest', description: 'Whether the user has children.' },
  { key: 'children_count', valueType: 'number', cardinality: 'single', merge: 'latest', description: 'How many children the user says they have.' },
  {
    key: 'diet',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    allowed: ['vegan', 'vegetarian', 'pescatarian', 'omnivore', 'gluten_free', 'dairy_free', 'keto', 'paleo', 'low_carb', 'raw', 'halal', 'kosher'],
    description: "The user's own diet. halal and kosher are religious signals and are dropped unless the religion category is allowed.",
  },
  {
    key: 'location_region',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    description: 'Where the user lives: city, region or country, lower case (or rural / urban / suburban / small_town).',
  },
  { key: 'language', valueType: 'string', cardinality: 'multi', merge: 'union', description: 'A language the user speaks (english, spanish...).' },
  {
    key: 'price_sensitivity',
    valueType: 'string',
    cardinality: 'single',
    merge: 'highest_confidence',
    allowed: ['low', 'medium', 'high'],
    description: 'How price-driven the user is: high means looks for cheap/discounts, low means prefers premium regardless of price.',
  },
  {
    key: 'preferred_channel',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    allowed: ['email', 'chat', 'phone', 'sms', 'whatsapp', 'post', 'in_app'],
    description: 'How the user prefers to be contacted.',
  },
  {
    key: 'life_event',
    valueType: 'string',
    cardinality: 'multi',
    merge: 'union',
    allowed: ['moving', 'new_baby', 'engaged', 'wedding', 'new_job', 'job_loss', 'graduation', 'retired', 'new_home', 'divorce', 'bereavement', 'new_pet', 'started_school'],
    description: 'A recent or imminent life event of the user.',
  },
  {
    key: 'brand_sentiment',
    valueType: 'string',
    cardinality: 'single',
    merge: 'latest',
    allowed: ['positive', 'neutral', 'negative'],
    description: "The user's sentiment towards our brand, products or service.",
  },
  {
    key: 'support_issue',
    valueType: 'string',
    cardinality: 'multi',
    merge: 'union',
    allowed: [
      'late_delivery',
      'missing_item',
      'damaged_item',
      'wrong_item',
      'defective_product',
      'double_charge',
      'billing',
      'refund',
      'return',
      'cancellation',
      'login',
      'account',
      'password_reset',
      'shipping_cost',
    ],
    description: 'A kind of problem the user raised with support.',
  },
  {
    key: 'skill_level',
    valueType: 'string',
    cardinality: 'single',
    merge: 'highest_confidence',
    allowed: ['beginner', 'intermediate', 'expert'],
    description: "The user's self-described skill level in their main activity.",
  },
];

const KEY_RE = /^[a-z][a-z0-9_]*$/;

const traitDefSchema = z.strictObject({
  key: z.string().regex(KEY_RE, 'keys are snake_case: lower case letters, digits, underscores'),
  valueType: z.enum(['string', 'number', 'boolean']),
  cardinality: z.enum(['single', 'multi']),
  merge: z.enum(['union', 'latest', 'highest_confidence']),
  allowed: z.array(z.string().min(1)).min(1).optional(),
  description: z.string().min(1),
});

/** The JSON a company writes: traits to add or replace (by key), and built-in keys to remove. */
export const catalogueExtensionSchema = z.strictObject({
  traits: z.array(traitDefSchema).default([]),
  remove: z.array(z.string()).default([]),
});
export type TraitCatalogueExtension = z.input<typeof catalogueExtensionSchema>;

function checkConsistency(def: TraitDef, where: string): string | null {
  if (def.cardinality === 'multi' && def.merge !== 'union') return `${where}: multi-valued trait "${def.key}" must use merge "union"`;
  if (def.cardinality === 'single' && def.merge === 'union') return `${where}: single-valued trait "${def.key}" cannot use merge "union"`;
  if (def.allowed && def.valueType !== 'string') return `${where}: "allowed" is only valid for string traits ("${def.key}")`;
  return null;
}

export const BUILT_IN_CATALOGUE: Catalogue = new Map(BUILT_IN.map((d) => [d.key, d]));

/**
 * The built-in catalogue, with an optional extension merged over it: a path to a JSON file or the
 * parsed object. Errors are ConfigErrors naming the file and each bad field.
 */
export function loadCatalogue(extra?: string | TraitCatalogueExtension): Catalogue {
  const out = new Map(BUILT_IN_CATALOGUE);
  if (extra === undefined) return out;
  const source = typeof extra === 'string' ? extra : 'catalogue extension';
  let raw: unknown = extra;
  if (typeof extra === 'string') {
    let text: string;
    try {
      text = readFileSync(extra, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read trait catalogue file ${extra}: ${(err as Error).message}`, { file: extra });
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`trait catalogue file ${extra} is not valid JSON: ${(err as Error).message}`, { file: extra });
    }
  }
  const parsed = catalogueExtensionSchema.safeParse(raw);
  if (!parsed.success) {
    const details = issuesToDetails(parsed.error.issues);
    const summary = details.map((d) => `${d.field || '(root)'}: ${d.message}`).join('; ');
    throw new ConfigError(`invalid trait catalogue in ${source}: ${summary}`, { file: source, problems: details });
  }
  for (const key of parsed.data.remove) out.delete(key);
  const seen = new Set<string>();
  for (const [i, d] of parsed.data.traits.entries()) {
    const def: TraitDef = { ...d, ...(d.allowed ? { allowed: [...d.allowed] } : {}) };
    const problem = checkConsistency(def, `${source} traits[${i}]`);
    if (problem) throw new ConfigError(`invalid trait catalogue: ${problem}`, { file: source });
    if (seen.has(def.key)) throw new ConfigError(`invalid trait catalogue: ${source} defines "${def.key}" twice`, { file: source });
    seen.add(def.key);
    out.set(def.key, def);
  }
  return out;
}

/** True when `value` fits the key's type and (for closed keys) vocabulary. */
export function isValidValue(catalogue: Catalogue, key: string, value: TraitValue): boolean {
  const def = catalogue.get(key);
  if (!def) return false;
  if (typeof value !== def.valueType) return false;
  if (def.allowed && !def.allowed.includes(value as string)) return false;
  return true;
}

/** Lines for the LLM prompt: one per key, with type and vocabulary. */
export function describeCatalogue(catalogue: Catalogue): string {
  return [...catalogue.values()].map((d) => `- ${d.key} (${d.valueType}, ${d.cardinality}${d.allowed ? `, one of: ${d.allowed.join('|')}` : ''}): ${d.description}`).join('\n');
}
