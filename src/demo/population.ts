/**
 * The synthetic demo population: users with a hidden ground truth (persona + behaviour) and the
 * events such users would send over a period. Deterministic: every user draws from its own PRNG
 * streams keyed by (seed, user index), so the same options give the same bytes, and a smaller
 * population is a prefix of a larger one with the same seed.
 *
 * Events come out user by user, each user's events in time order (resends right after their
 * original). A few anomalies are planted on purpose so cleaning has work; `anomalies` lists each
 * one with the outcome cleaning must give.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventInput } from '../ingest/schema.ts';
import { Rng } from './random.ts';
import {
  CATEGORIES,
  CHANNELS,
  FIRST_NAMES,
  LAST_NAMES,
  LIFE_EVENT_CATEGORIES,
  OCCUPATIONS,
  PET_NAMES,
  PRODUCTS,
  PRODUCTS_BY_CATEGORY,
  REGIONS,
  TOPICS,
  SUPPORT_ISSUES,
  type Category,
  type Channel,
  type Diet,
  type FamilyStatus,
  type Language,
  type LifeEventKind,
  type PetSpecies,
  type PriceSensitivity,
  type Product,
  type Sentiment,
  type SkillLevel,
  type SupportIssueKind,
} from './catalog.ts';
import {
  GREETINGS,
  SIGNOFFS,
  channelSnippet,
  complaintSnippet,
  dietSnippet,
  familySnippet,
  injectionSnippet,
  interestSnippet,
  languageSnippet,
  lifeEventSnippet,
  occupationSnippet,
  petSnippets,
  priceSnippet,
  regionSnippet,
  requestSentence,
  reviewText,
  sentimentSnippet,
  skillSnippet,
  styled,
  trapSnippet,
  type FactSnippet,
  type Pii,
  type TrapSnippet,
  type Voice,
} from './text.ts';

export interface PopulationOptions {
  users?: number;
  seed?: number;
  days?: number;
  /** end of the period (exclusive); events fall in [end - days, end) */
  end?: Date | string;
}

export const POPULATION_DEFAULTS = { users: 2000, seed: 42, days: 120, end: '2026-11-01T00:00:00.000Z' } as const;

const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface Persona {
  name: { first: string; last: string };
  interests: string[];
  occupation: string;
  pets: { species: PetSpecies; name: string }[];
  diet: Diet;
  familyStatus: FamilyStatus;
  kids: number;
  region: string;
  country: string;
  city: string;
  language: Language;
  priceSensitivity: PriceSensitivity;
  preferredChannel: Channel;
  lifeEvent: { kind: LifeEventKind; at: string } | null;
  /** skill at the first interest */
  skillLevel: { topic: string; level: SkillLevel };
  brandSentiment: Sentiment;
  supportIssues: { kind: SupportIssueKind; at: string }[];
}

export interface Behaviour {
  /** mean sessions per week while active */
  sessionsPerWeek: number;
  /** chance that a session with a product view ends in a purchase, roughly */
  purchasePropensity: number;
  /** base click-through rate on recommendation slots */
  clickRate: number;
  /** category preference, strongest first; drawn from interests, pets, diet, family, life event */
  favouriteCategories: { category: Category; weight: number }[];
  /** multiplier on the price tier chosen: >1 buys premium variants */
  priceLevel: number;
  device: 'web' | 'ios' | 'android';
  firstActiveAt: string;
  /** churned users have no events in the last 30 days of the period */
  churned: boolean;
  churnedAt: string | null;
}

export interface Mention {
  key: string;
  value: string;
  quote: string;
  eventType: string;
  eventId: string | null;
  at: string;
}

export interface Distractor {
  key: string;
  trap: string;
  kind: TrapSnippet['kind'];
  quote: string;
  eventType: string;
  eventId: string | null;
  at: string;
}

export interface UserTruth {
  userId: string;
  /** set for users first seen anonymously */
  anonymousId: string | null;
  identifiedAt: string | null;
  persona: Persona;
  behaviour: Behaviour;
  /** persona facts the user actually states in text (not every fact is said) */
  mentions: Mention[];
  /** sentences that must not become the user's traits */
  distractors: Distractor[];
  pii: (Pii & { eventId: string | null })[];
  eventCount: number;
  lastEventAt: string | null;
}

export interface Identify {
  anonymousId: string;
  userId: string;
}

export interface DeclaredAttributes {
  userId: string;
  /** `email` as a client would declare it (support tools look users up by it: GET /v1/users?email=) */
  attributes: { country: string; plan: 'free' | 'pro'; signup_date: string; email: string };
}

export type AnomalyKind = 'negative_dwell' | 'huge_dwell' | 'missing_dwell' | 'string_price' | 'unparseable_price' | 'empty_search' | 'broken_unicode' | 'resend';

/** What `cleanEvent` must say about a planted anomaly. */
export type Expectation = { ok: true; warnings: { code: string; field: string }[]; missing: string[] } | { ok: false; reason: string; field: string };

export interface PlantedAnomaly {
  /** position in the event stream */
  index: number;
  kind: AnomalyKind;
  expect: Expectation;
  /** for resends: the index of the original */
  duplicateOf?: number;
}

export interface UserBlock {
  truth: UserTruth;
  events: EventInput[];
  identify: Identify | null;
  attributes: DeclaredAttributes;
  /** indices are within this block's events */
  anomalies: PlantedAnomaly[];
}

export interface Population {
  meta: { seed: number; users: number; days: number; start: string; end: string };
  events: EventInput[];
  truth: UserTruth[];
  identifies: Identify[];
  attributes: DeclaredAttributes[];
  anomalies: PlantedAnomaly[];
}

interface ResolvedOptions {
  users: number;
  seed: number;
  days: number;
  endMs: number;
  startMs: number;
}

function resolve(opts: PopulationOptions): ResolvedOptions {
  const users = opts.users ?? POPULATION_DEFAULTS.users;
  const seed = opts.seed ?? POPULATION_DEFAULTS.seed;
  const days = opts.days ?? POPULATION_DEFAULTS.days;
  const endMs = new Date(opts.end ?? POPULATION_DEFAULTS.end).getTime();
  if (!Number.isInteger(users) || users < 0) throw new RangeError('users must be a non-negative integer');
  if (!Number.isInteger(days) || days < 31) throw new RangeError('days must be an integer of at least 31 (churn needs a 30-day quiet tail)');
  if (!Number.isFinite(endMs)) throw new RangeError('end must be a valid date');
  return { users, seed, days, endMs, startMs: endMs - days * DAY };
}

const iso = (ms: number): string => new Date(ms).toISOString();
const round2 = (x: number): number => Math.round(x * 100) / 100;
const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** ISO with the region's offset, as a helpdesk export would write it. */
function isoWithOffset(ms: number, offsetHours: number): string {
  const local = new Date(ms + offsetHours * HOUR).toISOString().slice(0, 23);
  const sign = offsetHours < 0 ? '-' : '+';
  const abs = Math.abs(offsetHours);
  return `${local}${sign}${String(Math.trunc(abs)).padStart(2, '0')}:${String(Math.round((abs % 1) * 60)).padStart(2, '0')}`;
}

/** A Luhn-valid 16-digit test-style card number (4xxx), grouped in fours. */
function cardNumber(rng: Rng): string {
  const digits = [4];
  for (let i = 0; i < 14; i++) digits.push(rng.int(0, 9));
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    // From the right, the check digit's neighbour is doubled: positions 14, 12, ... of the 15.
    let d = digits[i] as number;
    if ((15 - i) % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  digits.push((10 - (sum % 10)) % 10);
  const s = digits.join('');
  return `${s.slice(0, 4)} ${s.slice(4, 8)} ${s.slice(8, 12)} ${s.slice(12)}`;
}

function phoneNumber(rng: Rng, country: string): string {
  switch (country) {
    case 'US':
    case 'CA':
      return `+1 ${rng.pick(['202', '312', '415', '617'])}-555-01${String(rng.int(0, 99)).padStart(2, '0')}`;
    case 'GB':
      return `07700 900${String(rng.int(0, 999)).padStart(3, '0')}`;
    case 'AU':
      return `0491 570 ${String(rng.int(0, 999)).padStart(3, '0')}`;
    case 'DE':
      return `+49 30 ${rng.int(1000, 9999)} ${rng.int(1000, 9999)}`;
    case 'FR':
      return `+33 6 ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)} ${rng.int(10, 99)}`;
    default:
      return `+${rng.pick(['31', '34', '353'])} ${rng.int(600, 699)} ${rng.int(100, 999)} ${rng.int(100, 999)}`;
  }
}

function emailFor(rng: Rng, first: string, last: string): string {
  const clean = (s: string) =>
    s
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^a-z]/gi, '')
      .toLowerCase();
  return `${clean(first)}${rng.pick(['.', '_', ''])}${clean(last)}${rng.chance(0.5) ? rng.int(1, 99) : ''}@${rng.pick(['example.com', 'example.org', 'example.net'])}`;
}

// ---------------------------------------------------------------------------------------------
// Persona and behaviour

interface UserState {
  truth: UserTruth;
  voice: Voice;
  offset: number;
  currency: string;
  fx: number;
  email: string;
  phone: string;
  card: string;
  chronotype: [number, number][];
  weekendFactor: number;
  startActive: number;
  endActive: number;
  identifiedAtMs: number | null;
  lifeEventMs: number | null;
  issues: { kind: SupportIssueKind; ms: number }[];
  catWeights: [Category, number][];
  signupDate: string;
  plan: 'free' | 'pro';
}

function makeUser(o: ResolvedOptions, i: number): UserState {
  const r = new Rng(o.seed, i, 0);
  const userId = `u${String(i + 1).padStart(5, '0')}`;
  const first = r.pick(FIRST_NAMES);
  const last = r.pick(LAST_NAMES);
  const region = r.weighted(REGIONS.map((x) => [x, x.weight] as const));
  const city = r.pick(region.cities);
  const language = r.weighted(region.languages);
  const occupation = r.pick(OCCUPATIONS);
  const interests = r.sample(
    TOPICS,
    r.weighted([
      [2, 0.4],
      [3, 0.4],
      [4, 0.2],
    ]),
  );
  const nPets = r.weighted([
    [0, 0.45],
    [1, 0.4],
    [2, 0.15],
  ]);
  const petNames = r.sample(PET_NAMES, nPets);
  const pets = petNames.map((name) => ({
    species: r.weighted<PetSpecies>([
      ['dog', 0.45],
      ['cat', 0.35],
      ['parrot', 0.05],
      ['rabbit', 0.06],
      ['hamster', 0.04],
      ['guinea pig', 0.05],
    ]),
    name,
  }));
  const diet = r.weighted<Diet>([
    ['omnivore', 0.6],
    ['vegetarian', 0.15],
    ['vegan', 0.1],
    ['gluten_free', 0.07],
    ['keto', 0.08],
  ]);
  const familyStatus =
    occupation.id === 'student'
      ? r.weighted<FamilyStatus>([
          ['single', 0.7],
          ['in_relationship', 0.3],
        ])
      : r.weighted<FamilyStatus>([
          ['single', 0.25],
          ['in_relationship', 0.17],
          ['married', 0.18],
          ['married_with_kids', 0.32],
          ['single_parent', 0.08],
        ]);
  const kids = familyStatus === 'married_with_kids' ? r.int(1, 3) : familyStatus === 'single_parent' ? r.int(1, 2) : 0;
  const priceSensitivity =
    occupation.id === 'student'
      ? r.weighted<PriceSensitivity>([
          ['medium', 0.3],
          ['high', 0.7],
        ])
      : r.weighted<PriceSensitivity>([
          ['low', 0.25],
          ['medium', 0.48],
          ['high', 0.27],
        ]);
  const preferredChannel = r.weighted<Channel>([
    ['email', 0.38],
    ['sms', 0.14],
    ['push', 0.2],
    ['phone', 0.1],
    ['chat', 0.18],
  ]);
  const mainTopic = interests[0]!;
  const skill = r.weighted<SkillLevel>([
    ['beginner', 0.35],
    ['intermediate', 0.45],
    ['expert', 0.2],
  ]);

  // Activity window: most users are around from the start, some arrive later, some churn.
  const sessionsPerWeek = Math.min(12, Math.max(0.3, r.logNormal(1.25, 0.6)));
  const lateStart = r.chance(0.25);
  const startActive = o.startMs + (lateStart ? r.int(1, Math.floor(o.days * 0.6)) * DAY : 0);
  const issueCount = r.weighted([
    [0, 0.62],
    [1, 0.28],
    [2, 0.08],
    [3, 0.02],
  ]);
  const brandSentiment: Sentiment =
    issueCount >= 2
      ? r.weighted<Sentiment>([
          ['negative', 0.7],
          ['neutral', 0.25],
          ['positive', 0.05],
        ])
      : issueCount === 1
        ? r.weighted<Sentiment>([
            ['negative', 0.35],
            ['neutral', 0.45],
            ['positive', 0.2],
          ])
        : r.weighted<Sentiment>([
            ['negative', 0.07],
            ['neutral', 0.5],
            ['positive', 0.43],
          ]);
  const churnP = 0.14 + (brandSentiment === 'negative' ? 0.25 : 0) + (sessionsPerWeek < 1 ? 0.1 : 0) - (sessionsPerWeek > 4 ? 0.07 : 0);
  // Churn is only meaningful for users with some history before it.
  const latestChurn = o.endMs - 31 * DAY;
  const churned = startActive + 21 * DAY < latestChurn && r.chance(churnP);
  const endActive = churned ? r.int(Math.ceil((startActive + 21 * DAY) / DAY), Math.floor(latestChurn / DAY)) * DAY : o.endMs;

  const lifeEventKind = r.chance(0.25) ? r.pick<LifeEventKind>(['moving_house', 'new_baby', 'wedding', 'new_job']) : null;
  const lifeEventMs = lifeEventKind ? r.int(Math.ceil((startActive + 7 * DAY) / DAY), Math.floor((endActive + 20 * DAY) / DAY)) * DAY : null;

  const issues = Array.from({ length: issueCount }, () => ({
    kind: r.pick(SUPPORT_ISSUES),
    ms: r.int(startActive + 3 * DAY, Math.max(startActive + 3 * DAY, endActive - HOUR)),
  })).filter((x) => x.ms < endActive);
  issues.sort((a, b) => a.ms - b.ms);

  // Category preferences follow the persona; the rest of the catalogue gets a little weight.
  const w = new Map<Category, number>(CATEGORIES.map((c) => [c, 0.15]));
  const add = (c: Category, x: number) => w.set(c, (w.get(c) ?? 0) + x);
  interests.forEach((t, k) => t.categories.forEach((c, j) => add(c, (k === 0 ? 3 : 1.8) / (j + 1))));
  if (pets.length) add('pet_supplies', 1.5 * pets.length);
  if (diet !== 'omnivore') add('grocery', 1.5);
  if (kids > 0) add('baby', 0.4);
  for (const c of r.sample(CATEGORIES, 2)) add(c, 0.4);
  const total = [...w.values()].reduce((a, b) => a + b, 0);
  const catWeights = CATEGORIES.map((c) => [c, (w.get(c) ?? 0) / total] as [Category, number]);
  const favouriteCategories = [...catWeights]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([category, weight]) => ({ category, weight: round2(weight) }));

  const priceLevel = round2({ low: 1.35, medium: 1, high: 0.72 }[priceSensitivity] * r.logNormal(1, 0.08));
  const purchasePropensity = round2(
    r.chance(0.2) ? r.range(0.005, 0.02) : Math.min(0.45, r.logNormal(0.1, 0.55) * (priceSensitivity === 'low' ? 1.3 : 1) * (brandSentiment === 'negative' ? 0.7 : 1)),
  );
  const device = r.weighted<Behaviour['device']>([
    ['web', 0.55],
    ['ios', 0.28],
    ['android', 0.17],
  ]);
  const chronotype = r.pick<[number, number][]>([
    [
      [7, 3],
      [8, 3],
      [12, 2],
      [13, 1],
      [19, 1],
      [20, 1],
    ],
    [
      [12, 3],
      [13, 3],
      [18, 1],
      [20, 2],
      [21, 1],
    ],
    [
      [19, 2],
      [20, 3],
      [21, 3],
      [22, 2],
      [23, 1],
    ],
    [
      [22, 2],
      [23, 3],
      [0, 2],
      [1, 1],
      [20, 1],
    ],
    [
      [9, 1],
      [10, 1],
      [11, 1],
      [14, 1],
      [15, 1],
      [16, 1],
      [17, 1],
      [20, 1],
    ],
  ]);

  const anonymous = r.chance(0.1);
  const anonymousId = anonymous ? `anon-${r.hex(16)}` : null;
  const identifiedAtMs = anonymous ? Math.round(startActive + r.range(0.1, 0.5) * (endActive - startActive)) : null;
  const signupMs = identifiedAtMs ?? (lateStart ? startActive : o.startMs - r.int(1, 900) * DAY);
  const plan: 'free' | 'pro' = r.chance({ low: 0.35, medium: 0.2, high: 0.07 }[priceSensitivity]) ? 'pro' : 'free';

  const voice: Voice = {
    careful: r.chance(0.55),
    parentWord: r.pick(['mum', 'dad'] as const),
    spouseWord: r.weighted<Voice['spouseWord']>([
      ['husband', 0.4],
      ['wife', 0.4],
      ['partner', 0.2],
    ]),
    kidAges: Array.from({ length: kids }, () => r.int(1, 16)).sort((a, b) => a - b),
  };

  const persona: Persona = {
    name: { first, last },
    interests: interests.map((t) => t.id),
    occupation: occupation.id,
    pets,
    diet,
    familyStatus,
    kids,
    region: region.id,
    country: region.country,
    city,
    language,
    priceSensitivity,
    preferredChannel,
    lifeEvent: lifeEventKind && lifeEventMs !== null ? { kind: lifeEventKind, at: iso(lifeEventMs) } : null,
    skillLevel: { topic: mainTopic.id, level: skill },
    brandSentiment,
    supportIssues: issues.map((x) => ({ kind: x.kind, at: iso(x.ms) })),
  };
  const behaviour: Behaviour = {
    sessionsPerWeek: round2(sessionsPerWeek),
    purchasePropensity,
    clickRate: round2(r.range(0.03, 0.2)),
    favouriteCategories,
    priceLevel,
    device,
    firstActiveAt: iso(startActive),
    churned,
    churnedAt: churned ? iso(endActive) : null,
  };
  return {
    truth: {
      userId,
      anonymousId,
      identifiedAt: identifiedAtMs !== null ? iso(identifiedAtMs) : null,
      persona,
      behaviour,
      mentions: [],
      distractors: [],
      pii: [],
      eventCount: 0,
      lastEventAt: null,
    },
    voice,
    offset: region.utcOffset,
    currency: region.currency,
    fx: region.fx,
    email: emailFor(r, first, last),
    phone: phoneNumber(r, region.country),
    card: cardNumber(r),
    chronotype,
    weekendFactor: r.range(0.6, 1.8),
    startActive,
    endActive,
    identifiedAtMs,
    lifeEventMs,
    issues,
    catWeights,
    signupDate: iso(signupMs).slice(0, 10),
    plan,
  };
}

// ---------------------------------------------------------------------------------------------
// Events

interface Draft {
  ms: number;
  type: string;
  source: string;
  properties: Record<string, unknown>;
  text?: string;
  anomaly?: { kind: AnomalyKind; expect: Expectation };
  mentions?: FactSnippet[];
  traps?: TrapSnippet[];
  pii?: Pii[];
}

const SUBSTANCE_QUERIES: Partial<Record<Diet, string[]>> = {
  vegan: ['vegan protein powder', 'vegan leather boots', 'plant based cookbook', 'oat milk'],
  vegetarian: ['vegetarian cookbook', 'meat free recipes', 'veggie burger mix'],
  gluten_free: ['gluten free pasta', 'gluten free bread flour', 'coeliac safe snacks'],
  keto: ['keto snacks', 'low carb bread', 'keto cookbook'],
};
const PET_QUERIES: Record<PetSpecies, string[]> = {
  dog: ['dog bed large', 'durable dog chew toys', 'dog lead reflective', 'grain free dog food'],
  cat: ['cat scratching post', 'cat litter unscented', 'cat toys'],
  parrot: ['parrot cage', 'parrot toys', 'bird seed mix'],
  rabbit: ['rabbit hutch', 'hay for rabbits'],
  hamster: ['hamster wheel silent', 'hamster cage'],
  'guinea pig': ['guinea pig hutch', 'guinea pig food'],
};
const LIFE_QUERIES: Record<LifeEventKind, string[]> = {
  moving_house: ['moving boxes', 'storage boxes', 'cordless drill', 'curtains'],
  new_baby: ['baby monitor', 'lightweight pram', 'nappy bag', 'baby carrier'],
  wedding: ['wedding guest dress', 'suit slim fit', 'wedding gift ideas'],
  new_job: ['work shoes', 'laptop bag', 'linen shirt'],
};
const REFERRERS = ['direct', 'google', 'instagram', 'newsletter', 'push', 'sms'] as const;

function variantOf(rng: Rng, priceLevel: number): ['' | '-basic' | '-pro', number] {
  const pro = priceLevel > 1.1 ? 0.45 : priceLevel < 0.85 ? 0.04 : 0.15;
  const basic = priceLevel < 0.85 ? 0.55 : priceLevel > 1.1 ? 0.04 : 0.2;
  const v = rng.weighted<'' | '-basic' | '-pro'>([
    ['-pro', pro],
    ['-basic', basic],
    ['', 1 - pro - basic],
  ]);
  return [v, v === '-pro' ? 1.5 : v === '-basic' ? 0.7 : 1];
}

function generateUserEvents(o: ResolvedOptions, i: number, u: UserState): UserBlock {
  const r = new Rng(o.seed, i, 1);
  const t = u.truth;
  const p = t.persona;
  const b = t.behaviour;
  const topics = p.interests.map((id) => TOPICS.find((x) => x.id === id)!);
  const occupation = OCCUPATIONS.find((x) => x.id === p.occupation)!;
  const drafts: Draft[] = [];
  const order = () => `#${r.pick(['A', 'B', 'C'])}${r.int(10000, 99999)}`;
  const lifeCats = p.lifeEvent ? LIFE_EVENT_CATEGORIES[p.lifeEvent.kind] : [];

  const pickCategory = (ms: number): Category => {
    if (u.lifeEventMs !== null && ms > u.lifeEventMs - 14 * DAY && r.chance(0.25)) return r.pick(lifeCats);
    return r.weighted(u.catWeights);
  };
  const priceOf = (prod: Product, factor: number) => round2(prod.basePrice * factor * u.fx);
  const productIn = (c: Category) => r.pick(PRODUCTS_BY_CATEGORY[c]);
  const otherIn = (x: Product) => r.pick(PRODUCTS_BY_CATEGORY[x.category].filter((y) => y !== x));

  // --- sessions ---
  const sessionStarts: number[] = [];
  const firstDay = Math.floor((u.startActive - o.startMs) / DAY);
  for (let d = firstDay; d < o.days; d++) {
    const day0 = o.startMs + d * DAY;
    const weekday = new Date(day0).getUTCDay();
    let rate = (b.sessionsPerWeek / 7) * (weekday === 0 || weekday === 6 ? u.weekendFactor : 1) * (7 / (5 + 2 * u.weekendFactor));
    // Activity fades over the three weeks before churn: the signal a churn model can learn.
    if (b.churned) rate *= Math.min(1, Math.max(0.15, (u.endActive - day0) / (21 * DAY)));
    const n = r.poisson(rate);
    for (let k = 0; k < n; k++) {
      const hour = r.chance(0.8) ? r.weighted(u.chronotype) : r.int(8, 23);
      const ms = day0 + (hour - u.offset) * HOUR + r.int(0, HOUR - 1);
      if (ms >= u.startActive && ms < u.endActive - 2 * HOUR) sessionStarts.push(ms);
    }
  }
  if (sessionStarts.length === 0) sessionStarts.push(u.startActive + r.int(1, 20) * HOUR);
  sessionStarts.sort((a, b2) => a - b2);

  const source = b.device;
  const purchases: { ms: number; product: Product; price: number; orderId: string }[] = [];
  const sessionEnds: number[] = [];

  for (const start of sessionStarts) {
    let ms = start;
    const step = (lo: number, hi: number) => (ms += r.int(lo, hi));
    const sessionCat = pickCategory(ms);
    const referrer =
      r.chance(0.3) && (p.preferredChannel === 'email' || p.preferredChannel === 'sms' || p.preferredChannel === 'push')
        ? ({ email: 'newsletter', sms: 'sms', push: 'push' } as const)[p.preferredChannel]
        : r.weighted<(typeof REFERRERS)[number]>([
            ['direct', 0.45],
            ['google', 0.35],
            ['instagram', 0.1],
            ['newsletter', 0.1],
          ]);
    drafts.push({ ms, type: 'session_start', source, properties: { device: source === 'web' ? r.pick(['desktop', 'mobile_web']) : source, referrer } });
    step(200, 3000);
    const viewed: { product: Product; price: number; variant: string }[] = [];

    if (r.chance(0.3)) {
      drafts.push(searchDraft(r, u, ms, source, topics, sessionCat));
      step(2000, 15000);
    }
    const pages = Math.min(15, r.geometric(2.6));
    for (let k = 0; k < pages; k++) {
      const cat = r.chance(0.7) ? sessionCat : pickCategory(ms);
      const onProduct = r.chance(0.45);
      const prod = productIn(cat);
      const dwell = Math.round(Math.min(20 * 60_000, r.logNormal(cat === sessionCat ? 25_000 : 12_000, 0.9)));
      const pv: Draft = { ms, type: 'page_view', source, properties: { url: onProduct ? `/p/${prod.id}` : `/c/${cat}`, category: cat, dwell_ms: dwell } };
      const x = r.next();
      if (x < 0.002) {
        pv.properties.dwell_ms = -r.int(100, 5000);
        pv.anomaly = { kind: 'negative_dwell', expect: { ok: true, warnings: [{ code: 'value_clamped', field: 'properties.dwell_ms' }], missing: [] } };
      } else if (x < 0.003) {
        pv.properties.dwell_ms = r.int(2, 3) * DAY + r.int(0, DAY);
        pv.anomaly = { kind: 'huge_dwell', expect: { ok: true, warnings: [{ code: 'value_clamped', field: 'properties.dwell_ms' }], missing: [] } };
      } else if (x < 0.006) {
        delete pv.properties.dwell_ms;
        pv.anomaly = { kind: 'missing_dwell', expect: { ok: true, warnings: [], missing: ['page_view.dwell_ms'] } };
      }
      drafts.push(pv);
      step(300, 1500);
      if (onProduct) {
        const [variant, factor] = variantOf(r, b.priceLevel);
        const price = priceOf(prod, factor);
        drafts.push(productViewDraft(r, ms, source, prod, variant, price));
        viewed.push({ product: prod, price, variant });
      }
      if (r.chance(0.2)) {
        // A recommendation carousel: impressions for each slot, clicks falling with position.
        const slots = r.int(3, 5);
        const list = r.chance(0.7) ? 'recommended' : 'similar_items';
        for (let pos = 0; pos < slots; pos++) {
          const item = productIn(r.chance(0.5) ? cat : r.pick(CATEGORIES));
          drafts.push({ ms: ms + pos, type: 'impression', source, properties: { item_id: item.id, position: pos, list, category: item.category } });
          const fav = (u.catWeights.find(([c]) => c === item.category)?.[1] ?? 0) > 0.06;
          if (r.chance(Math.min(0.9, (b.clickRate * (fav ? 2.2 : 0.6)) / (1 + 0.5 * pos)))) {
            drafts.push({ ms: ms + r.int(800, 9000), type: 'click', source, properties: { item_id: item.id, position: pos, list } });
            const [variant, factor] = variantOf(r, b.priceLevel);
            const price = priceOf(item, factor);
            drafts.push(productViewDraft(r, ms + r.int(9001, 12000), source, item, variant, price));
            viewed.push({ product: item, price, variant });
            break;
          }
        }
        step(12_001, 20_000);
      }
      step(dwell > 0 ? dwell : 1000, (dwell > 0 ? dwell : 1000) + 2000);
    }

    const lastView = viewed[viewed.length - 1];
    if (lastView && r.chance(Math.min(0.9, b.purchasePropensity * 2.2 + 0.04))) {
      const qty = lastView.product.category === 'grocery' || lastView.product.category === 'pet_supplies' ? r.int(1, 3) : r.chance(0.92) ? 1 : 2;
      drafts.push({ ms, type: 'add_to_cart', source, properties: { product_id: lastView.product.id + lastView.variant, quantity: qty, price: lastView.price } });
      step(5000, 90_000);
      if (r.chance(Math.min(0.92, 0.35 + b.purchasePropensity * 2))) {
        const orderId = order();
        const props: Record<string, unknown> = {
          order_id: orderId,
          product_id: lastView.product.id + lastView.variant,
          category: lastView.product.category,
          price: lastView.price,
          quantity: qty,
          currency: u.currency,
        };
        if (p.priceSensitivity === 'high' && r.chance(0.4)) {
          props.coupon = r.pick(['SAVE10', 'WELCOME15', 'SPRING20']);
          props.discount = round2(lastView.price * 0.1);
        }
        const d: Draft = { ms, type: 'purchase', source, properties: props };
        if (r.chance(0.01)) {
          props.price = lastView.price.toFixed(2);
          d.anomaly = { kind: 'string_price', expect: { ok: true, warnings: [{ code: 'number_coerced', field: 'properties.price' }], missing: [] } };
        }
        drafts.push(d);
        purchases.push({ ms, product: lastView.product, price: lastView.price, orderId });
        step(1000, 5000);
      }
    }
    sessionEnds.push(ms);
  }

  // --- text: what this user will say, and when ---
  const facts: FactSnippet[] = [];
  const maybe = (prob: number, f: () => FactSnippet | FactSnippet[] | null) => {
    if (!r.chance(prob)) return;
    const s = f();
    if (s) facts.push(...(Array.isArray(s) ? s : [s]));
  };
  maybe(0.45, () => occupationSnippet(r, occupation));
  for (const topic of topics) maybe(0.5, () => interestSnippet(r, topic));
  maybe(0.6, () => petSnippets(r, p.pets));
  maybe(p.diet === 'omnivore' ? 0.1 : 0.55, () => dietSnippet(r, p.diet));
  maybe(0.4, () => familySnippet(r, p.familyStatus, p.kids, u.voice));
  maybe(0.3, () => regionSnippet(r, p.region, p.city));
  maybe(0.35, () => priceSnippet(r, p.priceSensitivity));
  maybe(0.3, () => channelSnippet(r, p.preferredChannel));
  maybe(0.35, () => skillSnippet(r, p.skillLevel.level, topics[0]!));
  maybe(0.3, () => sentimentSnippet(r, p.brandSentiment));
  const traps: TrapSnippet[] = [];
  const nTraps = r.weighted([
    [0, 0.55],
    [1, 0.33],
    [2, 0.12],
  ]);
  for (let k = 0; k < nTraps; k++)
    traps.push(trapSnippet(r, { occupation: p.occupation, pets: p.pets.map((x) => x.species), diet: p.diet, interests: p.interests, kids: p.kids, channel: p.preferredChannel }));
  if (r.chance(0.025)) traps.push(injectionSnippet(r));

  const lastMs = u.endActive - HOUR;
  const inSession = () => {
    const s = r.int(0, sessionStarts.length - 1);
    return Math.min(lastMs, (sessionEnds[s] as number) + r.int(1000, 60_000));
  };
  const say = (s: string) => styled(s, u.voice.careful);

  // Chat messages carry most facts: one to two facts, or a trap, next to an ordinary request.
  const chatItems: (FactSnippet | TrapSnippet)[] = r.sample([...facts, ...traps], facts.length + traps.length);
  const chats: Draft[] = [];
  const extraChats = r.poisson(0.8);
  while (chatItems.length > 0 || chats.length < extraChats) {
    const carried = chatItems.splice(0, chatItems.length > 0 ? r.int(1, 2) : 0);
    const prod = productIn(r.weighted(u.catWeights));
    const parts: string[] = [];
    if (r.chance(0.5)) parts.push(say(r.pick(GREETINGS)));
    const mentions: FactSnippet[] = [];
    const trapsHere: TrapSnippet[] = [];
    for (const c of carried) {
      const text = say(c.text);
      if ('value' in c) mentions.push({ ...c, text });
      else trapsHere.push({ ...c, text });
      parts.push(text);
    }
    // A chat with no fact in it is still about something: it always asks.
    if (carried.length === 0 || r.chance(0.7)) parts.push(say(requestSentence(r, prod, otherIn(prod), order())));
    const pii: Pii[] = [];
    if (r.chance(0.05)) {
      parts.push(say(`my number is ${u.phone}`));
      pii.push({ kind: 'phone', value: u.phone });
    }
    chats.push({
      ms: inSession(),
      type: 'chat_message',
      source: 'chat_widget',
      properties: { conversation_id: `conv-${r.hex(10)}` },
      text: joinSentences(r, parts, u.voice.careful),
      mentions,
      traps: trapsHere,
      pii,
    });
  }
  drafts.push(...chats);

  // Language: a few messages in the user's own language.
  if (p.language !== 'en' && r.chance(0.55)) {
    const s = languageSnippet(r, p.language, order());
    drafts.push({ ms: inSession(), type: 'chat_message', source: 'chat_widget', properties: { conversation_id: `conv-${r.hex(10)}` }, text: s.text, mentions: [s] });
  }

  // Life event: said around the date, in the tense that fits.
  if (p.lifeEvent && u.lifeEventMs !== null && r.chance(0.7)) {
    const near = sessionEnds.filter((ms) => Math.abs(ms - u.lifeEventMs!) < 30 * DAY);
    if (near.length) {
      const ms = Math.min(lastMs, r.pick(near) + r.int(1000, 60_000));
      const s = lifeEventSnippet(r, p.lifeEvent.kind, ms < (u.lifeEventMs as number), new Date(u.lifeEventMs).getUTCMonth(), occupation);
      const text = say(s.text);
      const lifeProd = productIn(r.pick(lifeCats));
      const parts = r.chance(0.6) ? [text, say(requestSentence(r, lifeProd, otherIn(lifeProd), order()))] : [text];
      drafts.push({
        ms,
        type: 'chat_message',
        source: 'chat_widget',
        properties: { conversation_id: `conv-${r.hex(10)}` },
        text: joinSentences(r, parts, u.voice.careful),
        mentions: [{ ...s, text }],
      });
    }
  }

  // Support tickets for the user's issues; complaints tend to come from the issue's channel.
  for (const issue of u.issues) {
    const purchase = purchases.filter((x) => x.ms < issue.ms).at(-1);
    const prod = purchase?.product ?? productIn(r.weighted(u.catWeights));
    const orderId = purchase?.orderId ?? order();
    const { snippet, pii } = complaintSnippet(r, issue.kind, { order: orderId, product: prod, email: u.email, card: u.card });
    const text = say(snippet.text);
    const parts = r.chance(0.6) ? [say(r.pick(GREETINGS)), text] : [text];
    const piis: Pii[] = pii ? [pii] : [];
    if (r.chance(0.2)) {
      parts.push(say(`you can reach me on ${u.phone}`));
      piis.push({ kind: 'phone', value: u.phone });
    }
    if (r.chance(0.5)) parts.push(say(`${r.pick(SIGNOFFS)}, ${p.name.first}`));
    const channel = r.chance(0.7) ? p.preferredChannel : r.pick(CHANNELS);
    drafts.push({
      ms: issue.ms,
      type: 'support_ticket',
      source: 'zendesk',
      properties: { ticket_id: `T-${r.int(100000, 999999)}`, channel, order_id: orderId, issue: issue.kind },
      text: joinSentences(r, parts, u.voice.careful),
      mentions: [{ ...snippet, text }],
      pii: piis,
    });
  }

  // Reviews follow some purchases; ratings follow the user's sentiment and their issues.
  for (const pur of purchases) {
    if (!r.chance(0.22)) continue;
    const ms = pur.ms + r.int(2, 12) * DAY;
    if (ms >= lastMs) continue;
    const broke = u.issues.some((x) => x.kind === 'broken_item' && x.ms > pur.ms);
    const mean = broke ? 1.3 : { positive: 4.6, neutral: 3.7, negative: 2.3 }[p.brandSentiment];
    const rating = Math.max(1, Math.min(5, Math.round(mean + r.normal() * 0.7)));
    let text = say(reviewText(r, rating, pur.product));
    const mentions: FactSnippet[] = [];
    if (pur.product.category === 'pet_supplies' && p.pets.length && r.chance(0.5)) {
      const pet = r.pick(p.pets);
      const s = say(`my ${pet.species} ${pet.name} loves it`);
      text = joinSentences(r, [text, s], u.voice.careful);
      mentions.push({ key: 'pet', value: pet.species, text: s });
    }
    const d: Draft = { ms, type: 'review', source: 'web', properties: { product_id: pur.product.id, rating, order_id: pur.orderId }, text, mentions };
    if (r.chance(0.03)) {
      d.text = text + ' \ud83d'; // a truncated emoji: half a surrogate pair
      d.anomaly = { kind: 'broken_unicode', expect: { ok: true, warnings: [{ code: 'invalid_unicode_replaced', field: 'text' }], missing: [] } };
    }
    drafts.push(d);
  }

  return finishUser(o, r, u, drafts);
}

/** Sentences end in punctuation for careful writers; casual ones sometimes just run on or use a comma. */
function joinSentences(r: Rng, parts: string[], careful: boolean): string {
  return parts.map((x, k) => (k === parts.length - 1 || /[.!?,:]$/.test(x) ? x : careful ? `${x}${r.chance(0.15) ? '!' : '.'}` : `${x}${r.pick(['.', '.', ',', ''])}`)).join(' ');
}

function searchDraft(r: Rng, u: UserState, ms: number, source: string, topics: (typeof TOPICS)[number][], cat: Category): Draft {
  const p = u.truth.persona;
  const choices: [() => string, number][] = [
    [() => r.pick(r.pick(topics).queries), 0.5],
    [() => r.pick(PRODUCTS_BY_CATEGORY[cat]).name, 0.25],
  ];
  const diet = SUBSTANCE_QUERIES[p.diet];
  if (diet) choices.push([() => r.pick(diet), 0.1]);
  if (p.pets.length) choices.push([() => r.pick(PET_QUERIES[r.pick(p.pets).species]), 0.12]);
  if (p.lifeEvent && u.lifeEventMs !== null && Math.abs(ms - u.lifeEventMs) < 45 * DAY) choices.push([() => r.pick(LIFE_QUERIES[p.lifeEvent!.kind]), 0.3]);
  let q = r
    .weighted(choices)()
    .replace('{size}', String(r.int(36, 46)))
    .replace('{city}', p.city)
    .replace('{n}', String(r.pick([8, 10, 12, 25, 28, 32, 49, 58])));
  if (p.priceSensitivity === 'high' && r.chance(0.3)) q = r.pick([`cheap ${q}`, `${q} under ${r.pick([20, 30, 50, 100])}`, `${q} sale`, `${q} discount`]);
  else if (p.priceSensitivity === 'low' && r.chance(0.2)) q = r.pick([`premium ${q}`, `best ${q}`, `${q} pro`]);
  if (p.skillLevel.level === 'beginner' && r.chance(0.15)) q = `beginner ${q}`;
  if (r.chance(0.05) && q.length > 4) {
    const k = r.int(1, q.length - 3); // a typo: two letters swapped
    q = q.slice(0, k) + q.charAt(k + 1) + q.charAt(k) + q.slice(k + 2);
  }
  const d: Draft = { ms, type: 'search', source, properties: { results_count: r.int(0, 120) }, text: q };
  if (r.chance(0.003)) {
    d.text = '   ';
    d.anomaly = { kind: 'empty_search', expect: { ok: false, reason: 'missing_text', field: 'text' } };
  }
  return d;
}

function productViewDraft(r: Rng, ms: number, source: string, prod: Product, variant: string, price: number): Draft {
  const d: Draft = { ms, type: 'product_view', source, properties: { product_id: prod.id + variant, category: prod.category, price } };
  const x = r.next();
  if (x < 0.003) {
    d.properties.price = price.toFixed(2);
    d.anomaly = { kind: 'string_price', expect: { ok: true, warnings: [{ code: 'number_coerced', field: 'properties.price' }], missing: [] } };
  } else if (x < 0.0037) {
    d.properties.price = 'call for price';
    d.anomaly = { kind: 'unparseable_price', expect: { ok: false, reason: 'invalid_number', field: 'properties.price' } };
  }
  return d;
}

/** Orders drafts, applies identity and wire formats, plants resends, and fills the truth's evidence. */
function finishUser(o: ResolvedOptions, r: Rng, u: UserState, drafts: Draft[]): UserBlock {
  const t = u.truth;
  const kept = drafts.filter((d) => d.ms >= o.startMs && d.ms < u.endActive && d.ms < o.endMs);
  kept.sort((a, b) => a.ms - b.ms);
  const events: EventInput[] = [];
  const anomalies: PlantedAnomaly[] = [];
  for (const d of kept) {
    const e: EventInput = { type: d.type };
    const withId = r.chance(0.95);
    if (withId) e.eventId = `evt_${r.hex(20)}`;
    if (u.identifiedAtMs !== null && d.ms < u.identifiedAtMs) e.anonymousId = t.anonymousId!;
    else e.userId = t.userId;
    // Each client writes time its own way: the iOS SDK epoch ms, the helpdesk local time with offset.
    e.timestamp = d.source === 'ios' ? d.ms : d.source === 'zendesk' ? isoWithOffset(d.ms, u.offset) : iso(d.ms);
    e.source = d.source;
    // The iOS SDK sends camelCase property keys; cleaning normalises them.
    e.properties = d.source === 'ios' ? Object.fromEntries(Object.entries(d.properties).map(([k, v]) => [camel(k), v])) : d.properties;
    if (d.text !== undefined) e.text = d.text;
    const index = events.length;
    events.push(e);
    if (d.anomaly) anomalies.push({ index, ...d.anomaly });
    const at = iso(d.ms);
    const eventId = e.eventId ?? null;
    for (const m of d.mentions ?? []) t.mentions.push({ key: m.key, value: m.value, quote: m.text, eventType: d.type, eventId, at });
    for (const x of d.traps ?? []) t.distractors.push({ key: x.key, trap: x.trap, kind: x.kind, quote: x.text, eventType: d.type, eventId, at });
    for (const x of d.pii ?? []) t.pii.push({ ...x, eventId });
    // About 1% of events are resent verbatim (a client retry after a lost response).
    if (!d.anomaly && r.chance(0.01)) {
      events.push(structuredClone(e));
      anomalies.push({ index: index + 1, kind: 'resend', expect: { ok: true, warnings: [], missing: [] }, duplicateOf: index });
    }
  }
  t.eventCount = events.length;
  t.lastEventAt = kept.length ? iso(kept[kept.length - 1]!.ms) : null;
  const p = t.persona;
  return {
    truth: t,
    events,
    identify: t.anonymousId !== null ? { anonymousId: t.anonymousId, userId: t.userId } : null,
    attributes: { userId: t.userId, attributes: { country: p.country, plan: u.plan, signup_date: u.signupDate, email: u.email } },
    anomalies,
  };
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Users one at a time, with their events, truth and declared data: memory stays flat. */
export function* populationUsers(opts: PopulationOptions = {}): Generator<UserBlock> {
  const o = resolve(opts);
  for (let i = 0; i < o.users; i++) yield generateUserEvents(o, i, makeUser(o, i));
}

/** The event stream alone, in the same order as `generatePopulation(opts).events`. */
export function* population(opts: PopulationOptions = {}): Generator<EventInput> {
  for (const block of populationUsers(opts)) yield* block.events;
}

function metaOf(o: ResolvedOptions): Population['meta'] {
  return { seed: o.seed, users: o.users, days: o.days, start: iso(o.startMs), end: iso(o.endMs) };
}

export function generatePopulation(opts: PopulationOptions = {}): Population {
  const out: Population = { meta: metaOf(resolve(opts)), events: [], truth: [], identifies: [], attributes: [], anomalies: [] };
  for (const block of populationUsers(opts)) {
    const offset = out.events.length;
    for (const e of block.events) out.events.push(e);
    for (const a of block.anomalies) out.anomalies.push({ ...a, index: a.index + offset, ...(a.duplicateOf !== undefined ? { duplicateOf: a.duplicateOf + offset } : {}) });
    out.truth.push(block.truth);
    if (block.identify) out.identifies.push(block.identify);
    out.attributes.push(block.attributes);
  }
  return out;
}

export interface WrittenPopulation {
  eventsPath: string;
  /** ground truth, for evaluation only: never import it */
  truthPath: string;
  /** what a client would declare: identify pairs and attributes */
  declaredPath: string;
  users: number;
  events: number;
}

/** `x.jsonl` → `x.truth.json` and `x.declared.json` next to it. */
export function sidecarPaths(eventsPath: string): { truthPath: string; declaredPath: string } {
  const base = eventsPath.replace(/\.jsonl?$/i, '');
  return { truthPath: `${base}.truth.json`, declaredPath: `${base}.declared.json` };
}

/**
 * Writes the events as JSONL (one event per line, for `traitlens import`), and beside it the
 * ground truth (with planted anomalies) and the declared data (identify pairs, attributes).
 * Streams user by user, so only the truth is held in memory.
 */
export function writePopulationJsonl(path: string, opts: PopulationOptions = {}): WrittenPopulation {
  const o = resolve(opts);
  const { truthPath, declaredPath } = sidecarPaths(path);
  const truth: UserTruth[] = [];
  const identifies: Identify[] = [];
  const attributes: DeclaredAttributes[] = [];
  const anomalies: PlantedAnomaly[] = [];
  let count = 0;
  const fd = openSync(path, 'w');
  try {
    for (const block of populationUsers(opts)) {
      if (block.events.length) writeSync(fd, block.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      for (const a of block.anomalies) anomalies.push({ ...a, index: a.index + count, ...(a.duplicateOf !== undefined ? { duplicateOf: a.duplicateOf + count } : {}) });
      count += block.events.length;
      truth.push(block.truth);
      if (block.identify) identifies.push(block.identify);
      attributes.push(block.attributes);
    }
  } finally {
    closeSync(fd);
  }
  writeJson(truthPath, { meta: metaOf(o), truth, anomalies });
  writeJson(declaredPath, { identifies, attributes });
  return { eventsPath: path, truthPath, declaredPath, users: o.users, events: count };
}

function writeJson(path: string, value: unknown): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, JSON.stringify(value, null, 1) + '\n');
  } finally {
    closeSync(fd);
  }
}

/** Counts for the demo's summary line and the README. */
export function describePopulation(pop: Pick<Population, 'events' | 'truth' | 'identifies' | 'anomalies'>): {
  users: number;
  events: number;
  byType: Record<string, number>;
  textSignals: number;
  mentions: number;
  distractors: number;
  identifies: number;
  anomalies: Record<string, number>;
} {
  const byType: Record<string, number> = {};
  let textSignals = 0;
  for (const e of pop.events) {
    byType[e.type] = (byType[e.type] ?? 0) + 1;
    if (e.text !== undefined) textSignals++;
  }
  const anomalies: Record<string, number> = {};
  for (const a of pop.anomalies) anomalies[a.kind] = (anomalies[a.kind] ?? 0) + 1;
  return {
    users: pop.truth.length,
    events: pop.events.length,
    byType,
    textSignals,
    mentions: pop.truth.reduce((n, t) => n + t.mentions.length, 0),
    distractors: pop.truth.reduce((n, t) => n + t.distractors.length, 0),
    identifies: pop.identifies.length,
    anomalies,
  };
}

/** For tests and tools: every product id the generator can emit (variants included). */
export const PRODUCT_IDS: ReadonlySet<string> = new Set(PRODUCTS.flatMap((x) => [x.id, `${x.id}-basic`, `${x.id}-pro`]));
