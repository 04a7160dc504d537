/**
 * The matcher for the trait evaluation: does an extracted trait (key=value) state one of a speaker's
 * ground-truth persona facts (free text, e.g. "i have two dogs.")? Documented, and checked by hand,
 * in docs/eval-traits.md.
 *
 * A trait matches a fact when the fact is about the speaker themselves (not "my mom is a nurse"),
 * is not negated, hypothetical or an aversion in the clause that names the value, and either
 *   (a) lexical: one phrasing of the value (its own words, or a synonym from a small matcher-owned
 *       table) has all its content-word stems in that clause, and the clause has the key's cue
 *       (a pet needs possession: "i have / my / own / pet"); or
 *   (b) semantic: the offline SIF cosine between the trait rendered as a sentence ("i have a dog")
 *       and the fact is at least MATCH_COSINE_THRESHOLD (frozen; see docs/eval-traits.md).
 * The synonym table is deliberately small and independent of the extractor's lexicon for interests,
 * so the matcher does not simply agree with whatever word list produced the trait.
 */
import type { TraitValue } from '../core/traits.ts';
import { OCCUPATIONS, PETS } from '../traits/lexicon.ts';
import { FACT_COMMON_WORDS } from './fact-common-words.ts';

/**
 * Frozen. Chosen on calibration speakers 0-99 before any extractor tuning: the smallest cosine at
 * which at most 2.5 % of extracted traits match some fact of a *different* speaker through the
 * embedding route alone (a permutation null). See docs/eval-traits.md.
 */
export const MATCH_COSINE_THRESHOLD = 0.64;

const STOPWORDS = new Set(
  (
    'i me my myself mine we us our ours you your he him his she her they them their it its a an the and or but if so as of at by for with from to in on into onto ' +
    'about over under up down out off than then too very just also really only still even ever am is are was were be been being do does did doing have has had having ' +
    "i'm im i've ive i'd i'll it's that's this that these those there here what which who whom whose when where why how all any both each some such no nor not " +
    "can could would should will shall may might must own get got go goes going went gone make made lot lots alot every much many more most one s t 's n't " +
    'like likes love loves enjoy enjoys favorite favourite fav really always usually currently now day days week weeks year years time times thing things'
  ).split(/\s+/),
);

const IRREGULAR: Readonly<Record<string, string>> = {
  children: 'child',
  kids: 'kid',
  men: 'man',
  women: 'woman',
  mice: 'mouse',
  geese: 'goose',
  feet: 'foot',
  teeth: 'tooth',
  people: 'person',
  ran: 'run',
  swam: 'swim',
  wrote: 'write',
  written: 'write',
  read: 'read',
  drove: 'drive',
  driven: 'drive',
  sang: 'sing',
  sung: 'sing',
  grew: 'grow',
  grown: 'grow',
  born: 'born',
  taught: 'teach',
  bought: 'buy',
  ate: 'eat',
  eaten: 'eat',
  fish: 'fish',
  fishing: 'fish',
  married: 'marry',
  marriage: 'marry',
  wedding: 'wed',
  retirement: 'retire',
  photography: 'photo',
  photographer: 'photo',
  photographs: 'photo',
  photograph: 'photo',
  photos: 'photo',
  pictures: 'picture',
  movies: 'movie',
  films: 'film',
  puppies: 'puppy',
  dogs: 'dog',
  cats: 'cat',
  outdoors: 'outdoor',
  news: 'news',
  series: 'series',
  species: 'species',
  glasses: 'glasses',
  clothes: 'clothes',
  sports: 'sport',
  gymnastics: 'gymnast',
  languages: 'language',
  music: 'music',
  musician: 'music',
  traveling: 'travel',
  travelling: 'travel',
  traveled: 'travel',
  travelled: 'travel',
  cooking: 'cook',
  cooked: 'cook',
  cook: 'cook',
  cooks: 'cook',
  vegetarian: 'vegetarian',
  veterinarian: 'veterinarian',
  volunteer: 'volunt',
  volunteering: 'volunt',
  volunteers: 'volunt',
  volunteered: 'volunt',
};

/**
 * A light suffix-stripping stemmer (not Porter): both sides of every comparison go through it, so
 * it only has to map inflections to a common form (dog/dogs, hike/hiking/hikes, married/marry).
 */
export function stem(word: string): string {
  let w = word.toLowerCase().replace(/[’`]/g, "'").replace(/'s$/, '');
  const irr = IRREGULAR[w];
  if (irr === w) return w; // listed as its own stem: leave alone (series, news, music)
  if (irr) w = irr;
  if (w.length <= 3) return w;
  if (irr) return rules(w);
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (/(?:ches|shes|sses|xes|zes)$/.test(w)) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  return rules(w);
}

/** Suffix rules after plural removal: one of -ing/-ed/-er, then a final e, y → i. */
function rules(word: string): string {
  let w = word;
  for (const suf of ['ing', 'ed', 'er']) {
    if (w.endsWith(suf) && w.length - suf.length >= 3) {
      let base = w.slice(0, -suf.length);
      // hopping → hop, hiking → hik(e), tried → tri(y)
      if (/([bdgklmnprt])\1$/.test(base)) base = base.slice(0, -1);
      w = base;
      break;
    }
  }
  if (w.endsWith('e') && w.length > 3) w = w.slice(0, -1);
  if (w.endsWith('y') && w.length > 3) w = `${w.slice(0, -1)}i`;
  return w;
}

export function tokens(text: string): string[] {
  return (
    text
      .toLowerCase()
      .replace(/[’`]/g, "'")
      .match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? []
  );
}

/** Stems of the content words (stopwords and generic verbs removed). */
export function contentStems(text: string): string[] {
  return tokens(text)
    .filter((t) => !STOPWORDS.has(t))
    .map(stem);
}

const NUMBER_WORDS: Readonly<Record<number, string[]>> = {
  1: ['one', '1', 'a', 'an'],
  2: ['two', '2', 'twin'],
  3: ['three', '3'],
  4: ['four', '4'],
  5: ['five', '5'],
  6: ['six', '6'],
  7: ['seven', '7'],
  8: ['eight', '8'],
  9: ['nine', '9'],
  10: ['ten', '10'],
};

/** Interest values → other phrasings (each alternative: words that must all appear). Values not here use their own words. */
const INTEREST_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  reading: ['read', 'book', 'novel', 'reader', 'library'],
  writing: ['write', 'writer', 'poetry', 'poem'],
  cooking: ['cook', 'chef', 'recipe'],
  baking: ['bake', 'baker'],
  movies: ['movie', 'film', 'cinema'],
  tv: ['tv', 'television'],
  gaming: ['video game', 'computer game', 'online game', 'xbox', 'playstation', 'nintendo'],
  fitness: ['gym', 'workout', 'work out', 'exercise', 'lift weights', 'weightlifting', 'crossfit'],
  music: ['music', 'song', 'concert', 'band'],
  travel: ['travel', 'trip', 'vacation', 'see the world'],
  family_time: ['family'],
  animals: ['animal', 'wildlife', 'bird watching'],
  volunteering: ['volunteer', 'charity'],
  cars: ['car', 'automobile'],
  nature: ['nature', 'outdoors'],
  hiking: ['hike', 'hiking'],
  running: ['run', 'running', 'marathon', 'jog'],
  swimming: ['swim'],
  cycling: ['bike', 'cycling', 'bicycle', 'biking'],
  fishing: ['fish', 'fishing'],
  camping: ['camp'],
  gardening: ['garden'],
  knitting: ['knit', 'crochet', 'sew'],
  board_games: ['board game', 'chess', 'puzzle', 'card game'],
  photography: ['photo', 'camera', 'picture'],
  painting: ['paint'],
  drawing: ['draw', 'sketch'],
  art: ['art', 'museum', 'craft'],
  dancing: ['dance', 'ballet'],
  singing: ['sing', 'singer', 'choir', 'karaoke'],
  horse_riding: ['ride horse', 'horseback', 'equestrian'],
  martial_arts: ['karate', 'martial art', 'boxing', 'judo'],
  technology: ['technology', 'tech', 'computer', 'programming', 'coding'],
  science: ['science', 'astronomy', 'physics', 'chemistry', 'biology'],
  languages: ['language'],
  vegan_food: ['vegan'],
  comics: ['comic', 'manga'],
  collecting: ['collect', 'collection'],
  home_improvement: ['woodworking', 'diy'],
  skiing: ['ski', 'snowboard'],
  kayaking: ['kayak', 'canoe'],
  climbing: ['climb'],
  surfing: ['surf'],
  sailing: ['sail', 'boat'],
  hunting: ['hunt'],
  food: ['food'],
  beauty: ['makeup', 'skincare'],
  fashion: ['fashion', 'clothes', 'shopping'],
  shopping: ['shop'],
  football: ['football'],
  soccer: ['soccer'],
  basketball: ['basketball'],
  baseball: ['baseball'],
  golf: ['golf'],
  tennis: ['tennis'],
  guitar: ['guitar'],
  piano: ['piano'],
  drums: ['drum'],
  yoga: ['yoga'],
  coffee: ['coffee'],
  tea: ['tea'],
  wine: ['wine'],
  history: ['history'],
};

const FAMILY_STATUS: Readonly<Record<string, readonly string[]>> = {
  married: ['married', 'wife', 'husband'],
  single: ['single'],
  in_relationship: ['boyfriend', 'girlfriend', 'relationship'],
  engaged: ['engaged', 'fiance', 'fiancee'],
  divorced: ['divorced'],
  widowed: ['widow', 'widowed', 'widower'],
};

const LIFE_EVENTS: Readonly<Record<string, readonly string[]>> = {
  moving: ['move', 'moving', 'relocate'],
  new_baby: ['baby', 'pregnant'],
  engaged: ['engaged'],
  wedding: ['wedding', 'married'],
  new_job: ['new job', 'started working', 'hired', 'promoted'],
  job_loss: ['lost job', 'fired', 'laid off', 'unemployed'],
  graduation: ['graduated', 'graduate'],
  retired: ['retired'],
  new_home: ['bought house', 'new house', 'new home', 'bought home'],
  divorce: ['divorced', 'divorce'],
  bereavement: ['died', 'passed away', 'death', 'lost'],
  new_pet: ['adopted', 'new puppy', 'new dog', 'new cat'],
  started_school: ['started college', 'started school'],
};

/** The extractor's setting values ("rural") against how facts say them ("live in the country"). */
const SETTINGS: Readonly<Record<string, readonly string[]>> = {
  rural: ['country', 'countryside', 'farm'],
  urban: ['city'],
  suburban: ['suburb', 'suburbs'],
  small_town: ['small town'],
};

const CHILD_WORDS = ['kid', 'child', 'son', 'daughter', 'baby', 'toddler', 'boy', 'girl'];

/** The phrasings of a trait value, each a list of words that must all be present (before stemming). */
export function valuePhrasings(key: string, value: TraitValue): string[] {
  const v = String(value).toLowerCase();
  const own = v.replace(/_/g, ' ');
  switch (key) {
    case 'interest':
      // Values with a table entry use the table only: the stemmer folds gaming/games/gamer together.
      return [...(INTEREST_SYNONYMS[v] ?? [own])];
    case 'occupation':
      return [own, ...(OCCUPATIONS[v] ?? [])];
    case 'pet':
      return [own, ...(PETS[v] ?? [])];
    case 'family_status':
      return [...(FAMILY_STATUS[v] ?? [own])];
    case 'life_event':
      return [...(LIFE_EVENTS[v] ?? [own])];
    case 'has_children':
      return value === true ? CHILD_WORDS : CHILD_WORDS.map((w) => `no ${w}`);
    case 'children_count': {
      const n = typeof value === 'number' ? value : Number(value);
      return (NUMBER_WORDS[n] ?? [String(n)]).flatMap((num) => CHILD_WORDS.map((c) => `${num} ${c}`));
    }
    case 'location_region':
      return [own, ...(SETTINGS[v] ?? [])];
    case 'diet':
      return v === 'vegetarian' || v === 'vegan' ? [own, 'no meat', 'not eat meat'] : [own];
    default:
      return [own];
  }
}

/** The trait as a first-person sentence, for the embedding route. */
export function traitPhrase(key: string, value: TraitValue): string {
  const v = String(value).replace(/_/g, ' ');
  switch (key) {
    case 'interest':
      return value === 'family_time' ? 'i love to spend time with my family' : `i like ${v}`;
    case 'occupation':
      if (value === 'retired') return 'i am retired';
      if (value === 'student') return 'i am a student';
      if (value === 'homemaker') return 'i stay at home with my kids';
      return `i work as ${/^[aeiou]/.test(v) ? 'an' : 'a'} ${v}`;
    case 'pet':
      return `i have ${/^[aeiou]/.test(v) ? 'an' : 'a'} ${v}`;
    case 'family_status':
      return value === 'in_relationship' ? 'i have a boyfriend' : `i am ${v}`;
    case 'has_children':
      return value === true ? 'i have children' : 'i do not have children';
    case 'children_count':
      return `i have ${v} ${value === 1 ? 'child' : 'children'}`;
    case 'diet':
      return `i am ${v} and eat ${v} food`;
    case 'location_region':
      return `i live in ${v}`;
    case 'language':
      return `i speak ${v}`;
    case 'life_event':
      return `recently ${v}`;
    default:
      return `my ${key.replace(/_/g, ' ')} is ${v}`;
  }
}

const OTHERS =
  'mom|mother|mum|dad|father|parents?|brother|sister|wife|husband|son|daughter|kids|children|friend|best friend|boyfriend|girlfriend|grandma|grandpa|grandmother|grandfather|uncle|aunt|cousin|family|boss|neighbor';
/** The clause's subject is someone else: "my father used to work for home depot". */
const THIRD_PERSON_RE = new RegExp(`^(?:\\W*)(?:my|our)\\s+(?:[a-z]+\\s+)?(?:${OTHERS})\\b(?!\\s+and\\s+i\\b)`);
const NEGATED_RE =
  /\b(?:not|never|no longer|don't|dont|do not|doesn't|didn't|can't|cannot|won't|isn't|aren't|wasn't|hate|hates|hated|dislike|dislikes|afraid|scared|fear|allergic|terrified|can't stand|cannot stand)\b/;
const HYPOTHETICAL_RE =
  /\b(?:want to|wants to|wanna|would like to|hope to|hoping to|dream|dreams|wish|someday|one day|plan to|planning to|going to be|studying to be|to become|to be an?|trying to become)\b/;
const POSSESSION_RE = /\b(?:have|has|had|own|owns|my|our|pet|pets|adopted|rescued|named|raise|raising|take care of)\b|\bi've\b/;
const CHILD_POSSESSION_RE =
  /\b(?:have|has|had|my|our|mother of|mom of|father of|dad of|parent of|raising)\b|\bwith (?:one|two|three|four|five|six|\d+|my|a)\b|\bi've\b|\bi'm (?:a )?(?:mom|mother|dad|father)\b/;
const JOB_CUE_RE = /\b(?:retired|i'm|i am|im|work|works|worked|working|job|career|profession|employed|for a living|as an?|i've been an?)\b/;
const PLACE_CUE_RE = /\b(?:live|lives|living|from|grew up|born|raised|moved|reside|resides|home|house)\b/;

/** Splits a fact into clauses so negation in one clause does not void another. */
function factClauses(fact: string): string[] {
  return fact
    .toLowerCase()
    .split(/\s*(?:,|;|\.|\bbut\b|\bwhile\b|\bwhereas\b)\s*|\s+and\s+(?=(?:i|i'm|my)\b)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function hasAll(stems: ReadonlySet<string>, phrase: string): boolean {
  const want = contentStemsKeepNumbers(phrase);
  return want.length > 0 && want.every((w) => stems.has(w));
}

/** Like contentStems but numbers and "no" survive (children_count, has_children=false). */
function contentStemsKeepNumbers(text: string): string[] {
  return tokens(text)
    .filter((t) => !STOPWORDS.has(t) || /^(?:one|a|an|no|\d+)$/.test(t))
    .map(stem);
}

export interface LexicalResult {
  match: boolean;
  /** why it did not match, or which phrasing did */
  reason: string;
}

/** The lexical route: value words in a key-compatible, affirmative clause about the speaker. */
export function lexicalMatch(key: string, value: TraitValue, fact: string): LexicalResult {
  const phrasings = valuePhrasings(key, value);
  let lastReason = 'value words absent';
  for (const clause of factClauses(fact)) {
    const stems = new Set(contentStemsKeepNumbers(clause));
    const hit = phrasings.find((p) => hasAll(stems, p));
    if (!hit) continue;
    const gate = clauseGate(key, value, clause);
    if (gate) {
      lastReason = gate;
      continue;
    }
    return { match: true, reason: `lexical:${hit}` };
  }
  // Negative statements: the phrasing itself carries the negation ("i don't eat meat", "no kids").
  if ((key === 'diet' && (value === 'vegetarian' || value === 'vegan')) || (key === 'has_children' && value === false)) {
    const f = fact.toLowerCase();
    if (key === 'diet' && /\b(?:don't|do not|never|no longer|not) eat (?:any )?meat\b/.test(f)) return { match: true, reason: 'lexical:no meat' };
    if (key === 'has_children' && /\b(?:no|don't have any|do not have any|don't have|do not have) (?:kids|children)\b/.test(f))
      return { match: true, reason: 'lexical:no children' };
  }
  return { match: false, reason: lastReason };
}

/** Null when the clause may state the trait; otherwise the reason it cannot. */
function clauseGate(key: string, value: TraitValue, clause: string): string | null {
  // "my daughter is a prodigy" is someone else's clause but says the speaker has a child.
  const childSubject =
    (key === 'has_children' || key === 'children_count') && /^\W*(?:my|our)\s+(?:\w+\s+)?(?:son|sons|daughter|daughters|kids|children|child|baby|twins)\b/.test(clause);
  if (THIRD_PERSON_RE.test(clause) && key !== 'family_status' && !childSubject) return 'about someone else';
  const negationExpected = key === 'has_children' && value === false;
  if (!negationExpected && NEGATED_RE.test(clause)) return 'negated or aversion';
  if (HYPOTHETICAL_RE.test(clause)) return 'hypothetical';
  switch (key) {
    case 'pet':
      return POSSESSION_RE.test(clause) ? null : 'pet without possession';
    case 'has_children':
    case 'children_count':
      return CHILD_POSSESSION_RE.test(clause) ? null : 'children without possession';
    case 'occupation':
      return JOB_CUE_RE.test(clause) ? null : 'occupation without a job cue';
    case 'location_region':
      return PLACE_CUE_RE.test(clause) ? null : 'place without a living cue';
    case 'family_status':
      if (value === 'single' && /\bsingle (?:parent|mom|mother|dad|father)\b/.test(clause)) return 'single parent is not relationship status';
      return null;
    default:
      return null;
  }
}

/** A fact-level gate for the embedding route: the same polarity/subject checks, over the whole fact. */
export function semanticGate(key: string, value: TraitValue, fact: string): string | null {
  const f = fact.toLowerCase();
  const negationExpected = (key === 'has_children' && value === false) || key === 'diet';
  if (THIRD_PERSON_RE.test(f) && !/\bi\b|\bi'm\b/.test(f.replace(THIRD_PERSON_RE, ''))) return 'about someone else';
  if (!negationExpected && NEGATED_RE.test(f)) return 'negated or aversion';
  if (HYPOTHETICAL_RE.test(f)) return 'hypothetical';
  return null;
}

export type SentenceEmbed = (text: string) => Float32Array;

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

export interface MatchDecision {
  match: boolean;
  route: 'lexical' | 'semantic' | null;
  cosine: number | null;
  reason: string;
}

/**
 * The full matcher. `embed` is the offline sentence embedder (sync once loaded); without it only the
 * lexical route runs (the fast unit test). Embeddings are memoised: facts and phrases repeat a lot.
 */
export class TraitFactMatcher {
  private readonly memo = new Map<string, Float32Array>();
  constructor(
    private readonly embed: SentenceEmbed | null,
    readonly threshold = MATCH_COSINE_THRESHOLD,
  ) {}

  vector(text: string): Float32Array | null {
    if (!this.embed) return null;
    let v = this.memo.get(text);
    if (!v) {
      v = this.embed(text);
      this.memo.set(text, v);
    }
    return v;
  }

  similarity(key: string, value: TraitValue, fact: string): number | null {
    const a = this.vector(traitPhrase(key, value));
    const b = this.vector(fact);
    return a && b ? cosine(a, b) : null;
  }

  match(key: string, value: TraitValue, fact: string): MatchDecision {
    const lex = lexicalMatch(key, value, fact);
    const cos = this.similarity(key, value, fact);
    if (lex.match) return { match: true, route: 'lexical', cosine: cos, reason: lex.reason };
    if (cos !== null && cos >= this.threshold) {
      const gate = semanticGate(key, value, fact);
      if (!gate) return { match: true, route: 'semantic', cosine: cos, reason: `cosine ${cos.toFixed(3)}` };
      return { match: false, route: null, cosine: cos, reason: `${lex.reason}; cosine passed but ${gate}` };
    }
    return { match: false, route: null, cosine: cos, reason: lex.reason };
  }
}

/** Generic words that do not make a fact "mentioned" on their own. */
const WEAK_FACT_WORDS = new Set([
  'work',
  'job',
  'live',
  'play',
  'watch',
  'old',
  'drive',
  'eat',
  'drink',
  'want',
  'feel',
  'see',
  'take',
  'spend',
  'new',
  'big',
  'good',
  'best',
  'name',
  'use',
  'call',
]);

/**
 * "Mentioned": the fact's content stems (minus generic verbs) found in the speaker's utterances —
 * at least half of them, and at least one. An approximation of what any extractor could recover
 * from the text; paraphrase defeats it both ways.
 */
export function factMentioned(fact: string, utteranceStems: ReadonlySet<string>): boolean {
  const want = [...new Set(contentStems(fact).filter((w) => !WEAK_FACT_WORDS.has(w)))];
  if (want.length === 0) return false;
  const found = want.filter((w) => utteranceStems.has(w)).length;
  return found >= Math.max(1, Math.ceil(want.length / 2));
}

// ---------------------------------------------------------------------------------------------
// Facts: a free-form statement ("reads about 20 books a year") against a persona line ("i read
// twenty books a year."). Lexical only, documented in docs/eval-traits.md ("The rule for facts").

const TENS: Readonly<Record<string, number>> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const UNITS: Readonly<Record<string, number>> = { one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9 };
/** Cardinal number words as digits ("one" stays a stopword: "one of my favorites"). */
const NUMBER_STEMS: Readonly<Record<string, string>> = {
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
  twenty: '20',
  thirty: '30',
  forty: '40',
  fifty: '50',
  sixty: '60',
  seventy: '70',
  eighty: '80',
  ninety: '90',
  hundred: '100',
  thousand: '1000',
};
const NUMBER_WORD_RE = new RegExp(`\\b(?:${Object.keys(NUMBER_STEMS).join('|')})\\b`, 'g');
const ORDINAL_WORDS = [
  'first',
  'second',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
  'eleventh',
  'twelfth',
  'thirteenth',
  'fourteenth',
  'fifteenth',
  'sixteenth',
  'seventeenth',
  'eighteenth',
  'nineteenth',
  'twentieth',
];
const TENS_ORDINAL: Readonly<Record<string, number>> = { twentieth: 20, thirtieth: 30, fortieth: 40, fiftieth: 50, sixtieth: 60, seventieth: 70, eightieth: 80, ninetieth: 90 };
/** The token for a written ordinal ("third" → "nth3", as factStems writes "3rd"); never the cardinal's digits ("three kids" ≠ "third grade"). */
function ordinalToken(t: string): string | undefined {
  const i = ORDINAL_WORDS.indexOf(t);
  if (i >= 0) return `nth${i + 1}`;
  const n = TENS_ORDINAL[t];
  return n === undefined ? undefined : `nth${n}`;
}
/** Words that say nothing on their own about which persona fact is meant. */
const GENERIC_FACT_WORDS = new Set(
  (
    'good great nice fun cool awesome big little old new best better bad pretty kind sort bit well much lot people person someone something ' +
    'everything anything nothing way part place thing stuff home work job live play watch want feel see take spend use call say tell ' +
    'know think try need put keep give let come look make start find hang sure right left real true still ' +
    'never ever once twice again met meet saw seen done'
  )
    .split(' ')
    .map(stem),
);
const FACT_NEGATION_RE =
  /\b(?:not|never|no|nor|none|nothing|except|don't|dont|doesn't|didn't|can't|cannot|won't|isn't|aren't|wasn't|haven't|hasn't|no longer|non|(?:dropped|drop|dropping|failed|flunked) out)\b|n't\b/;
const FACT_AVERSION_RE =
  /\b(?:hate|hates|hated|dislike|dislikes|disdain|loathe|loathes|despise|despises|afraid|scared|fear|fears|allergic|terrified|petrified|can't stand|cannot stand|phobia)\b|\b(?:drug|drugs|alcohol|booze|sugar|gluten|dairy|meat|smoke|caffeine|debt|cruelty)[- ]free\b/;
/** A persona line about someone else ("my father used to work for home depot"): the statement must name that person too. */
const OTHER_PERSON_RE = new RegExp(`^(?:\\W*)(?:my|our)\\s+(?:[a-z]+\\s+)?(${OTHERS})\\b(?!\\s+and\\s+i\\b)`);

/** The informative stems of a statement: content stems, number words as digits, generic words removed. */
export function factStems(text: string): string[] {
  // "twenty four" → 24, "60years" → 60 years, "3rd" → an ordinal token
  const t0 = text
    .toLowerCase()
    .replace(/\b(\d+)(?:st|nd|rd|th)\b/g, (_m, n: string) => `nth${Number(n)}`)
    .replace(/\b(\d+)([a-z]+)\b/g, '$1 $2')
    .replace(/\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[\s-](one|two|three|four|five|six|seven|eight|nine)\b/g, (_m, t: string, u: string) =>
      String(TENS[t]! + UNITS[u]!),
    )
    .replace(FACT_PHRASES_RE, (m) => FACT_PHRASES[m.replace(/[\s-]+/g, ' ')] ?? m)
    .replace(NUMBER_WORD_RE, (w) => NUMBER_STEMS[w] ?? w)
    // an age said either way ("46 years old", "a 46 year old", "age 46", "aged 46") is its number
    .replace(/\baged?[\s-]+(\d+)\b/g, '$1');
  const out = tokens(t0)
    .map((t) => NUMBER_STEMS[t] ?? ordinalToken(t) ?? FACT_ALIASES[t] ?? t)
    .filter((t) => !STOPWORDS.has(t) && !FACT_STOPWORDS.has(t))
    .map((t) => factStem(t))
    .filter((w) => !GENERIC_FACT_WORDS.has(w));
  return [...new Set(out)];
}

/** The matcher's stemmer, one more -er step when -ing/-ed uncovered it (engineering → engineer → engin, as engineer), one derivational step, -ion nouns to their verb, then the paraphrase classes. */
function factStem(t: string): string {
  let w = stem(t);
  if (w.length >= 6 && w.endsWith('er') && !t.endsWith('er') && !t.endsWith('ers')) w = stem(w);
  w = derivation(w);
  // revision 7: a word of the paraphrase table first ("detention" is in the jail class; the -ion step below
  // had turned it into "detent" before the table was read)
  const listed = FACT_SYNONYMS.get(w);
  if (listed) return listed;
  // a noun in -ion beside its verb: collection / collect, graduation / graduate
  const ion = /^([a-z]{5,})ion$/.exec(w);
  if (ion) w = stem(ion[1] as string);
  return FACT_SYNONYMS.get(w) ?? w;
}

/** Short forms people type for the words persona lines spell out. */
const FACT_ALIASES: Readonly<Record<string, string>> = {
  vet: 'veterinarian',
  doc: 'doctor',
  tv: 'television',
  bf: 'boyfriend',
  gf: 'girlfriend',
  spent: 'spend',
};

/** Function words the fact rule drops on top of the matcher's stopwords ("used to" is tense, not a topic). */
const FACT_STOPWORDS = new Set([
  ...['non', 'used', 'actually', 'usually', 'currently', 'recently', 'huge', 'big', 'avid'],
  // aversion words: the aversion gate compares them, so they are not topics of their own; dropped as
  // words, not stems ("hate" and "hats" share the stem "hat")
  ...'hate hates hated hating dislike dislikes disliked afraid scared fear fears allergic terrified phobia deathly'.split(' '),
]);

/**
 * Multi-word paraphrases rewritten before tokenising (a model of truck is a truck; being out of
 * school is the polarity class, handled in FACT_NEGATION_RE).
 */
const FACT_PHRASES: Readonly<Record<string, string>> = {
  'f 150': 'truck',
  'f 250': 'truck',
  'f 350': 'truck',
  'pickup truck': 'truck',
  'grade school': 'elementary school',
  'grammar school': 'elementary school',
  'stay at home': 'homemaker',
  'stay home': 'homemaker',
  'stays home': 'homemaker',
  'stays at home': 'homemaker',
  'social media': 'internet',
  online: 'internet',
};
const FACT_PHRASES_RE = new RegExp(
  `\\b(?:${Object.keys(FACT_PHRASES)
    .map((k) => k.replace(/ /g, '[\\s-]+'))
    .join('|')})\\b`,
  'g',
);

/**
 * A small paraphrase table: words that name the same thing in persona lines and chat, each class
 * mapped to one stem (written as words; stemmed like everything else). Documented in
 * docs/eval-traits.md; kept small on purpose and independent of the extractor's lexicons.
 */
const FACT_SYNONYM_CLASSES: readonly (readonly string[])[] = [
  ['world', 'globe', 'abroad', 'overseas'],
  ['travel', 'traveling', 'travelling'],
  ['jail', 'prison', 'detention', 'incarcerated'],
  ['truck', 'pickup'],
  ['car', 'vehicle', 'automobile'],
  ['kid', 'child', 'children', 'kids'],
  ['mom', 'mother', 'mum', 'mommy'],
  ['dad', 'father', 'daddy'],
  ['doctor', 'physician'],
  ['lawyer', 'attorney'],
  ['marry', 'married', 'marriage', 'wed', 'wedding', 'spouse'],
  ['husband', 'hubby'],
  ['college', 'university', 'uni'],
  ['movie', 'film', 'cinema'],
  ['sing', 'singer', 'vocalist'],
  ['run', 'running', 'jog', 'jogging', 'runner'],
  ['bike', 'bicycle', 'cycling', 'biking'],
  ['motorcycle', 'motorbike'],
  ['puppy', 'dog', 'pup'],
  ['kitten', 'cat', 'kitty'],
  ['gym', 'workout', 'exercise'],
  ['book', 'novel'],
  ['homemaker', 'housewife', 'househusband'],
  ['gamble', 'gambling', 'casino', 'poker'],
  ['retire', 'retired', 'retirement'],
  ['teenager', 'teen'],
  ['internet', 'web'],
];
const FACT_SYNONYMS: ReadonlyMap<string, string> = new Map(
  FACT_SYNONYM_CLASSES.flatMap((cls) => {
    const head = derivation(stem(cls[0] as string));
    return cls.map((w) => [derivation(stem(w)), head] as const);
  }),
);

/** One derivational step after the stemmer: medalist/medal, olympian/olympics, librarian/library. */
function derivation(w: string): string {
  const m = /^([a-z]{4,}?)(?:ist|ian|ic|i)$/.exec(w);
  return m ? (m[1] as string) : w;
}

/** Clauses of a statement or line for the polarity gate: also split before because/so/since/when. */
function factRuleClauses(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s*(?:,|;|\.|\bbut\b|\bwhile\b|\bwhereas\b|\bbecause\b|\bcause\b|\bsince\b|\bso\b|\bwhen\b)\s*|\s+and\s+(?=(?:i|i'm|my|they|their)\b)/)
    .map((c) => c.trim())
    .filter(Boolean);
}

/**
 * Whether the clauses of `text` that hold any of `stems` say the thing does not hold: negated
 * ("does not like school") or an aversion ("hates school", "drug free") — one class, since both
 * deny the plain statement ("i own a yacht and i rent it out when i am not using it" is affirmative).
 */
function clauseNegative(text: string, stems: readonly string[]): boolean {
  const want = new Set(stems);
  const parts = factRuleClauses(text).filter((c) => factStems(c).some((w) => want.has(w)));
  const scope = parts.length ? parts : [text.toLowerCase()];
  return scope.some((c) => {
    let d = c.replace(NOT_NEGATION_RE, ' ');
    const rel = RELATIVE_RE.exec(d);
    if (rel && !factStems(rel[0]).some((w) => want.has(w))) d = d.slice(0, rel.index);
    return FACT_NEGATION_RE.test(d) || FACT_AVERSION_RE.test(d);
  });
}

/**
 * Negators that do not deny: "i cannot wait to move out" is eager, not negative; revision 6: a
 * condition ("if i'm not cooking in the kitchen then i'm on the water": the part from "if"/"unless"
 * to "then" or the clause's end).
 */
const NOT_NEGATION_RE = /\b(?:can't|cannot|cant|can not) wait\b|\b(?:if|unless)\b[^,;]*?(?=\bthen\b|$)/g;
/** A relative clause ("two grown children who never visit"): its negation does not deny the clause unless it holds the shared words (revision 6). */
const RELATIVE_RE = /\b(?:who|which)\b.*$/;

export interface FactMatchDecision {
  match: boolean;
  /** stems of the statement found in the persona line */
  shared: string[];
  reason: string;
}

/**
 * The rule for facts. A fact statement matches a persona line when
 *  (1) polarity agrees: both negative or neither, where negated ("does not like") and aversion
 *      ("hates", "afraid of", "drug free") are one class, judged on the clauses that hold the
 *      shared words;
 *  (2) a line about someone else ("my mom is a nurse") only matches a statement naming that person;
 *  (3) at least half of the statement's informative stems (and at least one) occur in the line, or
 *      at least half of the line's occur in the statement, at least two unless the line has only
 *      one (a longer statement that says the line among other things: "listens to garth brooks when
 *      rock climbing", "worked as a doctor in the er for 15 years" for "i'm a doctor").
 * It asks whether the statement says the line, or the part of it the statement covers, the same
 * question the typed matcher asks of a trait.
 */
export function factMatch(statement: string, line: string): FactMatchDecision {
  const f = statement.toLowerCase();
  const p = line.toLowerCase();
  const a = factStems(f);
  if (a.length === 0) return { match: false, shared: [], reason: 'no informative words' };
  const bl = factStems(p);
  const b = new Set(bl);
  const shared = a.filter((w) => b.has(w));
  // the statement says (part of) the line, or the line is said within a longer statement
  const statementCovered = shared.length >= Math.max(1, Math.ceil(a.length / 2));
  // a one-word line is covered by its word ("i'm a doctor"); longer lines need two shared words
  const lineCovered = shared.length >= Math.ceil(bl.length / 2) && (shared.length >= 2 || bl.length === 1);
  // one specific shared word carries the match ("toured around following aerosmith" / "my favorite band is aerosmith")
  const specific = shared.find((w) => isSpecificStem(w));
  // one clause of a two-fact line said whole ("i'm 23 and i love food" for "loves food")
  const clauseCovered = factRuleClauses(p).some((c) => {
    const cs = factStems(c);
    return cs.some((w) => !/^\d+$/.test(w)) && cs.every((w) => b.has(w) && shared.includes(w));
  });
  if (!statementCovered && !lineCovered && !specific && !clauseCovered) {
    // revision 7: a clause of the statement and a clause of the line that say the same thing ("is 19 and
    // all their friends went away" / "i am 19 and i cannot wait to move out"), each clause pair gated
    const same = sameClause(f, p);
    if (same) return { match: true, shared, reason: `says the same clause (${same})` };
    return { match: false, shared, reason: `shares ${shared.length}/${a.length} stems (line ${bl.length})` };
  }
  const gate = factGate(f, p, shared);
  if (gate) return { match: false, shared, reason: gate };
  const how = statementCovered || lineCovered ? `shares ${shared.length}/${a.length} stems` : specific ? `shares specific word ${specific}` : 'says a clause of the line';
  return { match: true, shared, reason: how };
}

/**
 * Clauses of a compound statement or persona line for the same-clause route (revision 7): split at
 * punctuation and at every coordinating or subordinating conjunction, "and" included ("i am 19 and i
 * cannot wait to move out", "is 19 and all their friends went away to school").
 */
export function factClauseParts(text: string): string[] {
  return text
    .toLowerCase()
    .split(/\s*(?:[,;.:!?]|\band\b|\bbut\b|\bwhile\b|\bwhereas\b|\bbecause\b|\bcause\b|\bsince\b|\bso\b|\bwhen\b|\bthen\b|\balthough\b|\bthough\b)\s*/)
    .map((c) => c.trim())
    .filter(Boolean);
}

/**
 * The same-clause route (revision 7): a clause of the statement and a clause of the line (at least one
 * of them a proper part of its text) whose informative stems are the same set, not empty, and which
 * neither gate rejects, on the clause pair or on the whole pair (a line about someone else stays so:
 * "my mom passed away when i was young"). Returns "clause ~ clause" or null.
 */
function sameClause(statement: string, line: string): string | null {
  const sc = [statement, ...factClauseParts(statement)];
  const lc = [line, ...factClauseParts(line)];
  for (const x of sc) {
    const xs = factStems(x);
    if (!xs.length) continue;
    for (const y of lc) {
      if (x === statement && y === line) continue;
      const ys = new Set(factStems(y));
      if (ys.size !== xs.length || !xs.every((w) => ys.has(w))) continue;
      if (factGate(x, y, xs) || factGate(statement, line, xs)) continue;
      return `${x} ~ ${y}`;
    }
  }
  return null;
}

/**
 * The rule's two gates, shared by the lexical routes and the paraphrase route (src/eval/fact-paraphrase.ts):
 * polarity of the clauses holding the shared words (the whole texts when none are shared), and a line
 * about someone else that the statement does not name. Returns the reason for a reject, or null.
 */
export function factGate(statement: string, line: string, shared: readonly string[]): 'polarity differs' | 'line is about someone else' | null {
  const f = statement.toLowerCase();
  const p = line.toLowerCase();
  if (clauseNegative(f, shared) !== clauseNegative(p, shared)) return 'polarity differs';
  const other = OTHER_PERSON_RE.exec(p);
  // the statement names that person, in the line's word or another of its class ("dad" for "father", revision 6)
  if (other && !new RegExp(`\\b${other[1] as string}\\b`).test(f) && !factStems(f).includes(factStem(other[1] as string))) return 'line is about someone else';
  return null;
}

/** Stems of the most frequent words (src/eval/fact-common-words.ts): not specific enough to carry a match alone. */
const COMMON_FACT_STEMS: ReadonlySet<string> = new Set(
  [
    ...FACT_COMMON_WORDS,
    // colours describe anything ("their grey car" is not "my favorite color is grey"): never enough alone
    ...'red orange yellow green blue purple pink brown black white grey gray silver gold color colour'.split(' '),
  ].map((w) => factStem(w)),
);

/** A shared stem that can carry a match alone: a word outside the common list, not a number or an ordinal. */
export function isSpecificStem(w: string): boolean {
  return !COMMON_FACT_STEMS.has(w) && !/^\d+$|^nth\d+$/.test(w) && w.length >= 3;
}
