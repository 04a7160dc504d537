/**
 * Special-category data (GDPR art. 9: health, religion, sexual orientation, ethnicity, political
 * opinion, trade-union membership) is never inferred by default. Both extractors run this post-filter:
 * an op is dropped when its key IS a sensitive category, or its value or any evidence quote clearly
 * belongs to one (keyword lists below, whole words). A category can be allowed explicitly, e.g. by a
 * health service with the user's explicit consent.
 *
 * The lists favour precision of the *drop*: when in doubt we drop (losing a harmless trait is cheap,
 * storing a diagnosis is not), but ambiguous everyday words ("black", "straight", "race", "party",
 * "union" alone) are left out because they would drop most of the catalogue.
 */
import type { FactOp, TraitOp } from '../core/traits.ts';

export const SENSITIVE_CATEGORIES = ['health', 'religion', 'sexual_orientation', 'ethnicity', 'political_opinion', 'trade_union_membership'] as const;
export type SensitiveCategory = (typeof SENSITIVE_CATEGORIES)[number];

/** Trait keys that are a sensitive category whatever their value. */
const KEY_CATEGORY: Readonly<Record<string, SensitiveCategory>> = {
  health: 'health',
  health_condition: 'health',
  medical_condition: 'health',
  condition: 'health',
  diagnosis: 'health',
  medication: 'health',
  disability: 'health',
  allergy: 'health',
  mental_health: 'health',
  pregnancy: 'health',
  religion: 'religion',
  faith: 'religion',
  religious_belief: 'religion',
  belief: 'religion',
  sexual_orientation: 'sexual_orientation',
  sexuality: 'sexual_orientation',
  orientation: 'sexual_orientation',
  gender_identity: 'sexual_orientation',
  ethnicity: 'ethnicity',
  race: 'ethnicity',
  ethnic_origin: 'ethnicity',
  racial_origin: 'ethnicity',
  political_opinion: 'political_opinion',
  political_party: 'political_opinion',
  politics: 'political_opinion',
  political_view: 'political_opinion',
  voting_intention: 'political_opinion',
  trade_union_membership: 'trade_union_membership',
  union_membership: 'trade_union_membership',
  trade_union: 'trade_union_membership',
};

const WORDS: Readonly<Record<SensitiveCategory, readonly string[]>> = {
  health: [
    'diabetes',
    'diabetic',
    'cancer',
    'tumou?r',
    'chemo(?:therapy)?',
    'leukemia',
    'depression',
    'depressed',
    'anxiety',
    'panic attacks?',
    'bipolar',
    'schizophreni[ac]',
    'ptsd',
    'ocd',
    'adhd',
    'autism',
    'autistic',
    "asperger'?s?",
    'asthma',
    'asthmatic',
    'epilepsy',
    'epileptic',
    'seizures?',
    'migraines?',
    'arthritis',
    'hiv',
    'aids',
    'hepatitis',
    'dementia',
    "alzheimer'?s?",
    "parkinson'?s?",
    'multiple sclerosis',
    'celiac',
    'coeliac',
    "crohn'?s?",
    'ibs',
    'eating disorder',
    'anorexia',
    'bulimia',
    'insulin',
    'metformin',
    'ozempic',
    'wegovy',
    'antidepressants?',
    'prozac',
    'zoloft',
    'xanax',
    'adderall',
    'ritalin',
    'chemotherapy',
    'radiotherapy',
    'medications?',
    'prescriptions?',
    'diagnos(?:ed|is|es)',
    'my therapist',
    'my psychiatrist',
    'disorder',
    'chronic illness',
    'chronic pain',
    'illness',
    'disabled',
    'disability',
    'wheelchair',
    'deaf',
    'hearing impaired',
    'blind',
    'pregnant',
    'pregnancy',
    'miscarriage',
    'ivf',
    'infertility',
    'infertile',
    'surgery',
    'allergic',
    'allergy',
    'allergies',
    'addiction',
    'addicted',
    'alcoholic',
    'rehab',
    'overdose',
    'std',
    'stds',
    'herpes',
    'covid',
    'long covid',
    'heart (?:condition|disease|attacks?|failure|surgery|problems?)',
    '(?:had|have|suffered) a stroke',
    'blood pressure',
    'hypertension',
    'cholesterol',
    'blood sugar',
    'dialysis',
    'remission',
    '(?:see|sees|seeing) a (?:therapist|psychiatrist|psychologist|counsell?or)',
    'in therapy',
    '(?:kidney|liver|lung) (?:disease|failure|transplant)',
    'transplant',
    'amputee',
    'amputated',
    'chronic fatigue',
    'fibromyalgia',
    'lupus',
    'copd',
    'sober',
    'sobriety',
    'diseases?',
    'syndrome',
    'paraly[sz]ed',
    'paraplegic',
    'quadriplegic',
    'dyslexi[ac]',
    'obes(?:e|ity)',
    'gastric bypass',
    'terminally ill',
    'hospice',
    'mental illness',
    'suicidal',
    'suicide',
    'self-harm',
    'thyroid',
    'osteoporosis',
  ],
  religion: [
    'religion',
    'religious',
    'christian',
    'christianity',
    'catholic',
    'catholicism',
    'protestant',
    'baptist',
    'evangelical',
    'mormon',
    'lds',
    "jehovah'?s?( witness(es)?)?",
    'muslim',
    'islam',
    'islamic',
    'jewish',
    'judaism',
    'jew',
    'hindu',
    'hinduism',
    'buddhist',
    'buddhism',
    'sikh',
    'sikhism',
    'atheist',
    'atheism',
    'agnostic',
    'church',
    'mosque',
    'synagogue',
    'bible',
    'quran',
    'koran',
    'torah',
    'ramadan',
    'halal',
    'kosher',
    'pray',
    'prays',
    'praying',
    'prayer',
    'sabbath',
    'allah',
    'scientology',
    'pagan',
    'wicca',
    'sunday school',
    'bar mitzvah',
    'bat mitzvah',
    '(?:go|goes|going|went|attend|attends) to (?:mass|temple)',
    'catholic mass',
    'believes? in god',
    'god is',
    'jesus',
    'christ',
    'savio(?:u)?r',
    'pastor',
    'priest',
    'rabbi',
    'imam',
    'nun',
    '(?:during|for) lent',
    'born again',
    '(?:my|their|our) faith',
    'deacon',
    'missionary',
    'bible study',
    'worship',
    'hijab',
    'eid',
    'spiritual',
  ],
  sexual_orientation: [
    'gay',
    'lesbian',
    'bisexual',
    'bi-?curious',
    'homosexual',
    'heterosexual',
    'queer',
    'pansexual',
    'asexual',
    'lgbt',
    'lgbtq\\+?',
    'lgbtqia\\+?',
    'transgender',
    'trans (?:man|woman)',
    'non-?binary',
    'sexual orientation',
    'came out',
    'coming out',
    "(?:i'?m|i am|im|^(?:is|am)) bi",
    "(?:i'?m|i am|im|^(?:is|am)) trans",
    'attracted to (?:men|women|guys|girls|both)',
    'same[- ]sex',
  ],
  ethnicity: [
    'ethnicity',
    'ethnic',
    'racial',
    'african[- ]american',
    'hispanic',
    'latino',
    'latina',
    'latinx',
    'caucasian',
    'asian[- ]american',
    'native american',
    'indigenous',
    'aboriginal',
    'first nations',
    'biracial',
    'mixed race',
    'arab',
    'romani',
    "(?:i'?m|i am|im|^(?:is|am)) (?:a |an )?(?:black|white|asian|brown)(?: (?:man|woman|person|guy|girl|lady|male|female|american|british))?(?=\\s*(?:$|[.,!?;]|and |but ))",
    'descent',
    'heritage',
    'ancestry',
    '(?:person|people|woman|man|women|men) of colou?r',
  ],
  political_opinion: [
    'democrats?',
    'democratic party',
    'republicans?',
    'gop',
    'tory',
    'tories',
    'labour party',
    'labor party',
    'socialist',
    'socialism',
    'communist',
    'communism',
    'libertarian',
    'maga',
    'trump',
    'biden',
    'left-wing',
    'right-wing',
    'far-right',
    'far-left',
    'voted for',
    'vote for',
    'voting for',
    'antifa',
    'green party',
    'political',
    'politics',
    'conservative party',
    'brexit',
    "(?:i'?m|i am|im|^(?:is|am)) (?:a |an )?(?:liberal|conservative|leftist|progressive|centrist)",
    'pro-?life',
    'pro-?choice',
    'campaign(?:ed|ing|s)? for',
    'feminists?',
    'feminism',
    'voted',
    'voters?',
    'elections?',
    'the nra',
  ],
  trade_union_membership: [
    'trade union',
    'labou?r union',
    'union member',
    'union membership',
    'union dues',
    'union rep',
    'shop steward',
    'teamsters',
    'unionize',
    'unionise',
    'unionized',
    'unionised',
    'afl-cio',
    'my union',
    'in the union',
    '(?:joined|join|joining) (?:the|a) union',
    'teamster',
  ],
};

const PATTERNS: ReadonlyArray<[SensitiveCategory, RegExp]> = SENSITIVE_CATEGORIES.map((c) => [
  c,
  // Whole words only (letters/digits boundaries), so "ibs" does not fire inside "ribs".
  new RegExp(`(?<![\\p{L}\\p{N}])(?:${WORDS[c].join('|')})(?![\\p{L}\\p{N}])`, 'iu'),
]);

/**
 * Every category whose words a text holds, in PATTERNS order. Remembered per text: the same quotes
 * are judged again and again (each op and fact that cites a quote, and the extractor's filter then
 * the trait stage's), and each judgement runs every category's large pattern.
 */
const seenTexts = new Map<string, readonly SensitiveCategory[]>();
const SEEN_TEXTS_MAX = 20_000;
function textCategories(text: string): readonly SensitiveCategory[] {
  let cats = seenTexts.get(text);
  if (!cats) {
    cats = PATTERNS.filter(([, re]) => re.test(text)).map(([c]) => c);
    if (seenTexts.size >= SEEN_TEXTS_MAX) seenTexts.clear();
    seenTexts.set(text, cats);
  }
  return cats;
}

/** The sensitive category a text clearly belongs to, or null. */
export function sensitiveCategoryOf(text: string): SensitiveCategory | null {
  return textCategories(text)[0] ?? null;
}

/** The category of an op, judged by key, then value, then each quote. */
export function opSensitiveCategory(op: TraitOp): SensitiveCategory | null {
  const byKey = KEY_CATEGORY[op.key];
  if (byKey) return byKey;
  if (typeof op.value === 'string') {
    const byValue = sensitiveCategoryOf(op.value.replace(/_/g, ' '));
    if (byValue) return byValue;
  }
  for (const e of op.evidence) {
    const byQuote = sensitiveCategoryOf(e.quote);
    if (byQuote) return byQuote;
  }
  return null;
}

export interface SensitiveOptions {
  /** categories the operator explicitly allows (e.g. with consent); none by default */
  allow?: readonly SensitiveCategory[];
}

export interface SensitiveResult {
  kept: TraitOp[];
  dropped: Record<SensitiveCategory, number>;
  droppedTotal: number;
}

export function emptySensitiveCounts(): Record<SensitiveCategory, number> {
  return { health: 0, religion: 0, sexual_orientation: 0, ethnicity: 0, political_opinion: 0, trade_union_membership: 0 };
}

/**
 * Drops ops touching a sensitive category that is not allowed. With a category allowed, an op is
 * still dropped if it also touches another, disallowed category.
 */
export function dropSensitive(ops: readonly TraitOp[], opts: SensitiveOptions = {}): SensitiveResult {
  return dropBy(ops, categoriesOf, opts);
}

export interface SensitiveFactResult {
  kept: FactOp[];
  dropped: Record<SensitiveCategory, number>;
  droppedTotal: number;
}

/**
 * The same filter for facts, judged on everything a fact carries: its topic (as a key), its
 * statement, every quote, and its typed key and value. A fact is dropped whatever the wording as
 * soon as any of them belongs to a category that is not allowed.
 */
export function dropSensitiveFacts(facts: readonly FactOp[], opts: SensitiveOptions = {}): SensitiveFactResult {
  return dropBy(facts, factCategories, opts);
}

/** The sensitive categories a fact touches. */
export function factCategories(f: FactOp): SensitiveCategory[] {
  const out = new Set<SensitiveCategory>();
  for (const k of [f.topic, f.typed?.key]) {
    const c = k ? KEY_CATEGORY[k] : undefined;
    if (c) out.add(c);
  }
  const texts = [
    f.statement,
    ...(f.topic ? [f.topic.replace(/_/g, ' ')] : []),
    ...(typeof f.typed?.value === 'string' ? [f.typed.value.replace(/_/g, ' ')] : []),
    ...f.evidence.map((e) => e.quote),
  ];
  for (const t of texts) for (const c of textCategories(t)) out.add(c);
  return [...out];
}

function dropBy<T>(
  items: readonly T[],
  categories: (x: T) => SensitiveCategory[],
  opts: SensitiveOptions,
): { kept: T[]; dropped: Record<SensitiveCategory, number>; droppedTotal: number } {
  const allow = new Set(opts.allow ?? []);
  const dropped = emptySensitiveCounts();
  const kept: T[] = [];
  let droppedTotal = 0;
  for (const item of items) {
    const blocked = categories(item).find((c) => !allow.has(c));
    if (blocked) {
      dropped[blocked]++;
      droppedTotal++;
    } else kept.push(item);
  }
  return { kept, dropped, droppedTotal };
}

function categoriesOf(op: TraitOp): SensitiveCategory[] {
  const out = new Set<SensitiveCategory>();
  const byKey = KEY_CATEGORY[op.key];
  if (byKey) out.add(byKey);
  const texts = [...(typeof op.value === 'string' ? [op.value.replace(/_/g, ' ')] : []), ...op.evidence.map((e) => e.quote)];
  for (const t of texts) for (const c of textCategories(t)) out.add(c);
  return [...out];
}
