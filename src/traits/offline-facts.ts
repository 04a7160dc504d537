/**
 * Self-disclosures → free-form facts, for the offline extractor. A clause becomes a fact when the
 * speaker says something about themselves that a typed trait does not cover: first person, a
 * statement (questions and hypotheticals are filtered before this runs), not about someone else,
 * and not conversational chit-chat ("i am fine", "i know right", "i just got home").
 *
 * The statement is normalised to a short subjectless third-person form:
 *   "i read about 20 books a year ."        → "reads about 20 books a year"
 *   "my grandfather raised me"              → (about someone else: not a fact)
 *   "i was raised by my grandfather"        → "was raised by their grandfather"
 *   "i've never broken a bone"              → "has never broken a bone"
 *   "my favorite color is blue"             → "favorite color is blue"
 * Plain patterns, no model: the offline path has to stay fast (bench/traits.ts).
 */

export interface FactFinding {
  /** normalised statement ("reads about 20 books a year") */
  statement: string;
  confidence: number;
}

/** Why a clause was not a fact (counted in the extractor's stats). */
export type FactSkip = 'not_first_person' | 'chit_chat' | 'about_someone_else' | 'too_short' | 'too_long' | 'transient' | 'context_bound';

// Words before the subject that carry nothing: "well , i ...", "and also i ...".
const LEAD_RE =
  /^(?:(?:and|but|so|well|oh|also|actually|yeah|yes|yep|yup|no|nope|lol|haha+|hehe|honestly|plus|though|because|cause|cuz|then|ok|okay|hi|hey|hello|wow|cool|nice|great|sure|ah|ahh|hmm|um|uh|true|same|right|really|anyway|anyways|besides|personally|me too|luckily|sadly|unfortunately|fortunately|now|currently|usually|sometimes|definitely)\s*[,!.]*\s+)+/;
const TRAIL_RE =
  /(?:\s*[,!.?;:]*\s*\b(?:lol|haha+|hehe|lmao|ha|too|as well|though|anyway|anyways|either|you|u|right|huh|ok|okay|hah|actually|now|also|for sure|tho|yay|haha)\b)+\s*[,!.?;:]*\s*$|\s*[,!.?;:)(]+\s*$/;

const ADVERBS = new Set([
  'really',
  'also',
  'just',
  'actually',
  'still',
  'currently',
  'now',
  'totally',
  'absolutely',
  'definitely',
  'truly',
  'so',
  'mostly',
  'only',
  'always',
  'usually',
  'basically',
  'recently',
  'honestly',
  'literally',
  'very',
  'both',
  'already',
  'even',
  'simply',
  'genuinely',
  'super',
  'especially',
  'often',
  'sometimes',
  'never',
  'rarely',
  'seldom',
  'once',
  'normally',
  'generally',
  'typically',
  'mainly',
  'probably',
  'kinda',
  'pretty',
  'originally',
  'finally',
  'personally',
  'definately',
  'frequently',
  'occasionally',
  'regularly',
  'constantly',
  'certainly',
  'secretly',
  'officially',
  'hardly',
  'barely',
  'ever',
  'sure',
  'not',
]);

const IRREGULAR_PAST = new Set([
  'was',
  'were',
  'had',
  'did',
  'grew',
  'went',
  'got',
  'made',
  'took',
  'saw',
  'ran',
  'ate',
  'drove',
  'broke',
  'lost',
  'won',
  'bought',
  'met',
  'left',
  'came',
  'became',
  'taught',
  'spent',
  'sold',
  'built',
  'found',
  'gave',
  'wrote',
  'said',
  'told',
  'thought',
  'felt',
  'kept',
  'knew',
  'fell',
  'began',
  'swam',
  'sang',
  'rode',
  'flew',
  'froze',
  'wore',
  'hid',
  'heard',
  'held',
  'paid',
  'sent',
  'sat',
  'stood',
  'slept',
  'caught',
  'fought',
  'brought',
  'drank',
  'forgot',
  'understood',
  'threw',
  'shot',
  'led',
  'fed',
  'dug',
  'won',
  'spoke',
  'stole',
  'woke',
  'bit',
  'chose',
  'drew',
  'meant',
  'dealt',
  'beat',
  'born',
  'been',
  'done',
  'gone',
  'seen',
  'grown',
  'known',
  'taken',
  'given',
  'eaten',
  'written',
  'driven',
  'broken',
  'used',
]);

/** Verbs that are also common non-verbs right after "i": not conjugated by rule. */
const AUX_3SG: Readonly<Record<string, string>> = {
  am: 'is',
  "'m": 'is',
  m: 'is',
  have: 'has',
  "'ve": 'has',
  ve: 'has',
  do: 'does',
  "don't": 'does not',
  dont: 'does not',
  "haven't": 'has not',
  havent: 'has not',
  "didn't": 'did not',
  didnt: 'did not',
  "can't": 'cannot',
  cant: 'cannot',
  cannot: 'cannot',
  can: 'can',
  "wasn't": 'was not',
  "ain't": 'is not',
  must: 'must',
  'used to': 'used to',
};

/** Verbs that follow an emphatic "do" ("i do love …"). */
const EMPHASISED_VERBS = new Set(
  'like love enjoy have own ride race sing play work wear eat drink read watch run swim teach cook bake make collect know speak write paint draw dance travel hike fish hunt volunteer'.split(
    ' ',
  ),
);

/** Third-person singular of a base-form verb: go → goes, try → tries, have → has. */
export function thirdPerson(verb: string): string {
  if (verb === 'have') return 'has';
  if (verb === 'be') return 'is';
  if (verb === 'do') return 'does';
  if (verb === 'go') return 'goes';
  if (/(?:s|sh|ch|x|z|o)$/.test(verb)) return `${verb}es`;
  if (/[^aeiou]y$/.test(verb)) return `${verb.slice(0, -1)}ies`;
  return `${verb}s`;
}

/** True when the word reads as a past form (kept as is): "grew", "moved", "broken". */
function isPast(w: string): boolean {
  return IRREGULAR_PAST.has(w) || (/ed$/.test(w) && w.length > 3 && !/^(?:need|feed|bleed|breed|speed|seed|weed|shed|wed)$/.test(w));
}

const PEOPLE =
  'mom|mother|mum|mommy|dad|father|daddy|parents?|brothers?|sisters?|siblings?|wife|husband|spouse|partner|sons?|daughters?|kids?|children|child|baby|friends?|best friend|boyfriend|girlfriend|fiance|fiancee|grandma|grandpa|grandmother|grandfather|grandparents|uncle|aunt|cousins?|family|boss|neighbou?rs?|roommates?|coworkers?|twins?|nephews?|nieces?|in-laws|ex|teacher|students?|husbands|wives';
/** "my mom is a nurse", "my son plays football": a clause about another person. */
const OTHER_SUBJECT_RE = new RegExp(`^(?:my|our)\\s+(?:[a-z'-]+\\s+){0,2}?(?:${PEOPLE})\\b(?!\\s+and\\s+i\\b)`);
/** "my favorite color is blue", "my hobby is ...", "my car is ...": about the speaker. */
const MY_SUBJECT_RE =
  /^my\s+((?:favorite|favourite|fav|fave|biggest|greatest|worst|first|dream|only|main|secret|guilty|least favorite|least favourite)\s+[a-z' ]{2,30}?|hobby|hobbies|passion|goal|job|career|work|house|home|car|truck|hair|eyes|birthday|degree|major|dream|life|weakness|strength|day job|second job|side job|name)\s+(is|are|was|were|includes?)\s+(.+)$/;

/** "my hair is purple", "my cats are very special to me": a thing of the speaker's (people are excluded above). */
const MY_THING_RE = /^my\s+([a-z'-]+(?:\s+[a-z'-]+)?)\s+(is|are|was|were)\s+(.+)$/;

// Chit-chat: conversational states and reactions that say nothing lasting about the speaker.
const CHIT_CHAT_RE = new RegExp(
  [
    // "i am good / fine / tired / sorry / glad ..." (a state), not "i am good at math"
    String.raw`^i(?:'m| am|m)\s+(?:(?:so|very|really|just|doing|pretty|quite|a bit|a little|too|also|not|still|all|feeling|ok|kind of|kinda|sort of|super|always|great|good)\s+)*(?:good|fine|well|ok|okay|great|alright|all right|tired|exhausted|sorry|glad|happy|sure|excited|bored|hungry|thirsty|sleepy|busy|here|there|back|home|listening|jealous|curious|awesome|cool|bad|blessed|thinking|kidding|joking|trying|going|about|afraid that|afraid so|afraid i|impressed|interested|lucky|thankful|grateful|envious|surprised|confused|ready|done|fantastic|wonderful|excellent|doing|relaxing|sitting|getting|in the same boat|the same|with you|down|up|new here|hanging|waiting|watching|eating|drinking|working on|reading|listening|chilling|on my way|off|out|in(?=\s*$)|at work|at home|almost|nervous|stressed|sad|upset|not bad|not too bad|terrible|awful|jelly|sure|positive|certain|serious|honest|telling|saying|talking|asking|wondering|guessing|feeling|home now|well thanks|great thanks|thanks|thank you)\b(?!\s+(?:at|with|in|of|about|to|for)\b)`,
    // dialogue verbs and reactions
    String.raw`^i\s+(?:(?:really|totally|just|do|also|so|too|completely|definitely)\s+)*(?:think|thought|know|knew|see|saw that|agree|bet|guess|hope|mean|understand|believe|suppose|imagine|wonder|wondered|feel you|feel the same|feel that|hear you|hear that|heard that|heard of|get it|get that|totally|do too|too|appreciate|thank|thanks|figured|figure|doubt|remember|recall|forgot|said|told|asked|must say|have to say|would say|can tell|can see|can imagine|cannot imagine|can't imagine|can't believe|cannot believe|can't wait|cannot wait|could not|couldn't|wish|apologize|promise|admit|assume|noticed|notice|respect|admire|envy|love that|like that|love it|like it|love this|like this|love those|love them|like them|love you|like you|miss you|am too|do as well|was just|was joking|was kidding|have to go|gotta|need to go|got to go|must go|should go|'ll|will|am going to|'m going to|am gonna|'m gonna|just got|just finished|just came|just woke|just ate|just had|just did|just made|just watched|just went|just read|just saw|just left|just returned|just moved on|am on my way|'m on my way|do not know|don't know|dont know|didn't know|did not know|don't think|do not think|dont think|don't blame|don't mind|do not mind|dont mind|don't care|not sure|am not sure|'m not sure|can relate|relate|got you|gotcha|hear ya|see what you mean|see why|love how|like how|love the way|like the way|like your|love your|like ur|love ur)\b`,
    // "i have to / i need to / i want to" (obligation or wish, not a fact) and "i have a question"
    String.raw`^i\s+(?:(?:really|just|also|still)\s+)*(?:have to|need to|needed to|had to|want to|wanted to|wanna|gotta|got to|am supposed to|'m supposed to|would|could|should|might|may|'d|d)\b`,
    String.raw`^i\s+(?:have|got|had)\s+(?:a|one|another|some)\s+(?:question|idea|feeling|good feeling|bad feeling|guess|clue|minute|second|problem with that)\b`,
    String.raw`^i\s+(?:do|did|am|was|have|can|will|would|could|should|don't|didn't|can't|won't)\s*$`,
  ].join('|'),
);
// The predicate names only pronouns/stopwords: "i love it", "i like that one", "i do too".
const EMPTY_OBJECT_RE =
  /^(?:i|is|has|does|was|were|had|likes?|loves?|enjoys?|knows?|sees?|gets?|means?|[a-z]+s)\s+(?:(?:it|that|this|them|those|these|so|too|one|ones|to|as|well|very|much|a lot|alot|lots|more|all|you|u|one too|too much|a bit|way)\s*)+$/;
// Transient: about today, not about the speaker.
const TRANSIENT_RE =
  /\b(?:today|tonight|right now|this morning|this afternoon|this evening|yesterday|at the moment|just got (?:home|back|off|done|in|up)|getting ready|about to|on my way|for dinner tonight|later today|tomorrow|this weekend|last night)\b/;

const DEICTIC_RE =
  /\b(?:it|there|them|that|those|you|your|u|ur|he|she|him|her|his|hers|yours|ya)\b|\b(?:this|these)\b(?!\s+(?:years?|months?|weeks?|summers?|winters?|springs?|semesters?|seasons?)\b)/;
/** Where a statement's own part ends and a clause about something else begins. */
const TAIL_CUT_RE = /\s*,\s*|\s+(?:so|because|cause|cuz|since|which|who|that|when|where|but|and now|and then)\s+/;
/** A head that cannot stand alone: it ends waiting for its object ("spends most of", "is sorry to hear"). */
const DANGLING_END_RE = /\b(?:of|at|about|to|with|for|in|on|from|by|into|a|an|the|their|hear|told|tell|say|said|think|know|so|too|like|as|is|are|was|were)$/;
/** Leads that in chat are reactions or passing states, rarely lasting facts. */
const WEAK_LEAD_RE =
  /^(?:cannot|can not|needs|tends|did|got|gets|feels|guesses|hopes|wishes|wants|wonders|does(?! not| (?!(?:too|so|well|the same|a lot|alot|lots|nothing|anything|something|everything|what|whatever|all|some|both|as well)\b)[a-z])|sures|means|thinks|knows|says|said|is sure|is not sure|has no idea|has to|had to|gonna|prefers|would rather|goes|is more|likes [a-z ]+ more$|is up to)\b/;
/** Negated statements are mostly replies ("has never seen that"); kept only for habits and records. */
const NEGATED_RE = /\b(?:not|never|no|none|nothing|cannot|n't)\b/;
const LASTING_NEGATION_RE =
  /^(?:(?:usually |really |also )?(?:does not|never|no longer)\s+(?:eats?|drinks?|smokes?|drives?|owns?|watch(?:es)?|uses?|wears?|swims?|dances?|reads?)\b|has never\s+(?:broken|had|been (?:married|outside|out of)|spoken|smoked|driven|owned|left)\b|never\s+(?:broke|learned|learnt|graduated|finished|married|left|went to (?:college|school))\b|did not (?:graduate|finish|go to (?:college|school))\b|has no (?:kids|children|siblings|family|car|pets|friends)\b|is not (?:married|a morning person)\b)/;
/** "X is my favorite [thing]": the favourite named first. */
const FAV_LAST_RE = /^(?!i\b|my\b)([a-z][a-z' -]{1,40}?) (is|are) my (?:absolute |all time |very |most )?(favou?rite|fave|fav)(?: ([a-z]+(?: [a-z]+)?))?$/;
/** A clause that ends on "too" / "also" / "myself" mirrors the partner's turn. */
const MIRROR_END_RE = /\b(?:too|also|myself)(?:\s*[,.!]+)?(?:\s+(?:lol|haha+|lmao))?\s*[.!]*$/;
const VAGUE_COUNT_RE =
  /^(?:has|had|owns|plays|got|speaks|knows|married|loves|likes|watches|reads|is up to)\s+(?:(?:over|about|like|only|just|around|almost|up to|a|the)\s+)*(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|a few|few|a couple|couple|some|dozens?|hundreds?|thousands?|a thousand|a hundred|a lot|lots)$/;
const STOP = new Set(
  (
    'i me my myself mine we us our you your he him his she her they them their it its a an the and or but if so as of at by for with from to in on into about ' +
    'than then too very just also really only still even ever am is are was were be been being do does did have has had get got go goes going went ' +
    "i'm i've it's that's this that these those there here what which who when where why how all any both each some no not can could would will " +
    'lot lots alot much many more most one thing things stuff lol haha yes yeah ok okay well like likes love loves enjoy enjoys good great nice fun cool ' +
    'pretty kind sort bit little way time times day days now always usually sometimes sure'
  ).split(' '),
);

function contentCount(s: string): number {
  return contentWords(s).length;
}

/** The words of a statement that carry content (not function words, fillers or generic verbs). */
export function contentWords(s: string): string[] {
  return (s.match(/[a-z0-9]+(?:'[a-z]+)?/g) ?? []).filter((w) => !STOP.has(w));
}

/** Rewrites the remaining first-person words of a statement: my → their, me → them, i → they. */
function depersonalise(rest: string): string {
  return rest
    .replace(/\b(?:i'm|im|i am)\b/g, 'they are')
    .replace(/\bi was\b/g, 'they were')
    .replace(/\b(?:i've|ive)\b/g, 'they have')
    .replace(/\bi'd\b/g, 'they would')
    .replace(/\bi'll\b/g, 'they will')
    .replace(/\bi\b/g, 'they')
    .replace(/\bmyself\b/g, 'themselves')
    .replace(/\bmine\b/g, 'theirs')
    .replace(/\bmy\b/g, 'their')
    .replace(/\bme\b/g, 'them');
}

const ASPIRATION_RE =
  /^i (?:(?:really|still|just|also|do|kind of|kinda|always|eventually|someday|one day) )*(want to|wanna|hope to|plan to|am planning to|'m planning to|plan on|am planning on|'m planning on|dream of|dream about|would like to|'d like to)\s+((?:be|become|being|becoming|move|moving|live|living|work|working|go into|go back to|retire|retiring|study|studying|travel|traveling|own|owning|run|running|open|opening|start|starting|get married|learn|learning|visit|visiting|buy|buying)\b.+)$/;
const ASPIRATION_VERB: Readonly<Record<string, string>> = {
  'want to': 'wants to',
  wanna: 'wants to',
  'would like to': 'would like to',
  "'d like to": 'would like to',
  'hope to': 'hopes to',
  'plan to': 'plans to',
  'am planning to': 'plans to',
  "'m planning to": 'plans to',
  'plan on': 'plans on',
  'am planning on': 'plans on',
  "'m planning on": 'plans on',
  'dream of': 'dreams of',
  'dream about': 'dreams of',
};

/**
 * A stated aspiration, kept as a fact of its own kind ("i want to be a physical therapist when i
 * grow up" → "wants to be a physical therapist"): goals say something lasting about the speaker,
 * while other hypotheticals ("i would love that", "if i could") do not. Null when the clause is not one.
 */
export function aspirationFromClause(s0: string): FactFinding | null {
  let s = s0.trim().replace(/\s+/g, ' ').replace(LEAD_RE, '');
  for (let i = 0; i < 3; i++) s = s.replace(TRAIL_RE, '').trim();
  s = s.replace(/\s+([,.!?;:])/g, '$1').replace(/\s*[.!?]+$/, '');
  const m = ASPIRATION_RE.exec(s);
  if (!m) return null;
  let rest = m[2] as string;
  const cut = rest.search(TAIL_CUT_RE);
  if (cut > 0) rest = rest.slice(0, cut);
  const statement = `${ASPIRATION_VERB[m[1] as string] ?? 'wants to'} ${depersonalise(rest.trim())}`;
  const n = statement.split(' ').length;
  if (n < 3 || n > 14 || contentCount(rest) === 0 || DEICTIC_RE.test(statement) || DANGLING_END_RE.test(statement) || NEGATED_RE.test(statement)) return null;
  return { statement, confidence: 0.6 };
}

/**
 * The first-person clause `s` (lower case, one elided-subject part, not a question or hypothetical)
 * as a fact, or why it is not one.
 */
export function factFromClause(s0: string): FactFinding | { skip: FactSkip } {
  let s = s0.trim().replace(/\s+/g, ' ');
  // "i like hats too", "i like working with electronics myself": agreeing with what the partner said.
  if (MIRROR_END_RE.test(s)) return { skip: 'chit_chat' };
  s = s.replace(LEAD_RE, '');
  for (let i = 0; i < 3; i++) s = s.replace(TRAIL_RE, '').trim();
  s = s.replace(/\s+([,.!?;:])/g, '$1').replace(/\s*[.!?]+$/, '');
  s = s.replace(/^i m\b/, "i'm");
  if (OTHER_SUBJECT_RE.test(s)) return { skip: 'about_someone_else' };
  let statement: string | null = null;
  // "tacos are my favorite", "gymnastics is my favorite sport" → "favorite sport is gymnastics"
  const fav = FAV_LAST_RE.exec(s);
  if (fav && !DEICTIC_RE.test(fav[1] as string) && contentCount(fav[1] as string) > 0)
    s = `my ${fav[3] as string}${fav[4] ? ` ${fav[4]} ${fav[2] as string}` : ' is'} ${fav[1] as string}`;
  const my = MY_SUBJECT_RE.exec(s) ?? MY_THING_RE.exec(s);
  if (my) {
    const what = my[1] as string;
    if (/^(?:name|names)$/.test(what)) return { skip: 'chit_chat' }; // a name is identity, not a fact worth keeping
    if (CHIT_CHAT_RE.test(`i am ${my[3] as string}`) || TRANSIENT_RE.test(s)) return { skip: 'chit_chat' };
    statement = `their ${what} ${my[2] as string} ${depersonalise(my[3] as string)}`;
  } else {
    if (!/^(?:i|i'm|im|i've|ive)\b/.test(s)) return { skip: 'not_first_person' };
    if (CHIT_CHAT_RE.test(s)) return { skip: 'chit_chat' };
    if (TRANSIENT_RE.test(s)) return { skip: 'transient' };
    statement = conjugate(s);
  }
  if (!statement) return { skip: 'not_first_person' };
  statement = statement
    .replace(/\s+/g, ' ')
    .replace(/\s*,\s*$/, '')
    .trim();
  // A context-bound tail after a statement that stands alone: "builds houses, sometimes they fix
  // them" → "builds houses", "owns a mini van that they drive around" → "owns a mini van".
  if (DEICTIC_RE.test(statement)) {
    const cut = statement.search(TAIL_CUT_RE);
    const head = cut > 0 ? statement.slice(0, cut).trim() : '';
    if (head && !DEICTIC_RE.test(head) && !DANGLING_END_RE.test(head)) statement = head;
  }
  const n = statement.split(' ').length;
  if (EMPTY_OBJECT_RE.test(statement) || contentCount(statement) === 0 || n < 2) return { skip: 'too_short' };
  // "i'm billy", "i'm angry": one word after "i am" is mostly a name or a mood; ages stay ("is 34")
  if (/^is (?:(?:very|so|really|just|pretty|kind of|still|only|already|a bit) )*[a-z]+$/.test(statement)) return { skip: 'chit_chat' };
  // Context-bound: "has never been there", "loves it", "met her once" say little without the turn before.
  if (DEICTIC_RE.test(statement)) return { skip: 'context_bound' };
  if (WEAK_LEAD_RE.test(statement)) return { skip: 'chit_chat' };
  if (NEGATED_RE.test(statement) && !LASTING_NEGATION_RE.test(statement)) return { skip: 'chit_chat' };
  if (n > 16) return { skip: 'too_long' };
  // Vague fragments: a count with nothing counted ("has three", "plays several", "owns over a thousand")
  if (VAGUE_COUNT_RE.test(statement)) return { skip: 'too_short' };
  // Too thin to keep: a bare one-word like or dislike ("loves purple", "hates blue": in chat mostly a
  // reaction to the partner's turn) and a bare "is a <noun>" the catalogue did not type ("is a girl").
  if (/^(?:(?:really |also |just )?(?:loves|likes|hates|enjoys)|is (?:a|an))\s+[a-z]+$/.test(statement)) return { skip: 'too_short' };
  // No longer or not yet true: past habits ("used to run") and attempts ("is trying to eat healthy").
  if (/^(?:used to|uses to|is trying to|tries to|tried to|was trying to)\b/.test(statement)) return { skip: 'transient' };
  // A question run into the statement ("i'm sara who are you", "i teach , and you")
  if (/\b(?:who are|what about|how about|and you|what do|do you|are you)\b/.test(statement)) return { skip: 'chit_chat' };
  const hedged = /\b(?:i think|i guess|maybe|probably|kind of|kinda|sort of|i suppose|perhaps|i believe|pretty sure)\b/.test(s0);
  return { statement, confidence: hedged ? 0.5 : 0.7 };
}

/** "i've never broken a bone" → "has never broken a bone"; "i love to read" → "loves to read". */
function conjugate(s: string): string | null {
  const ws = s
    .replace(/^(?:i'm|im)\b/, 'i am')
    .replace(/^(?:i've|ive)\b/, 'i have')
    .split(' ');
  if (ws[0] !== 'i') return null;
  const out: string[] = [];
  let i = 1;
  // "i also really", "i never", "i do not" ...
  while (i < ws.length && ws[i] !== 'not' && (ADVERBS.has(ws[i] as string) || /^[a-z]{3,}ly$/.test(ws[i] as string))) out.push(ws[i++] as string);
  // "i do love paella", "i do ride horses": the emphatic "do" goes, the verb stays
  if (ws[i] === 'do' && (EMPHASISED_VERBS.has(ws[i + 1] ?? '') || (ws[i + 1] === 'live' && /^(?:in|on|near|with|at|by|out)$/.test(ws[i + 2] ?? '')))) i++;
  const v = ws[i];
  if (!v) return null;
  const two = `${v} ${ws[i + 1] ?? ''}`;
  // "i football is the best": a noun after "i", not a verb (a typo or a lost word); nothing to conjugate
  if (/^(?:is|are|was|were)$/.test(ws[i + 1] ?? '')) return null;
  if (v === 'rather' || v === 'd') {
    out.push('would rather');
    i += v === 'd' ? 2 : 1;
  } else if (two === 'used to') {
    out.push('used to');
    i += 2;
  } else if (v === 'am' && ws[i + 1] === 'not') {
    out.push('is not');
    i += 2;
  } else if ((v === 'do' || v === 'have') && ws[i + 1] === 'not') {
    out.push(v === 'do' ? 'does not' : 'has not');
    i += 2;
  } else if (AUX_3SG[v] !== undefined) {
    out.push(AUX_3SG[v] as string);
    i += 1;
  } else if (isPast(v) || /^[a-z]{3,}ing$/.test(v) || /^[a-z]+[^s]s$/.test(v)) {
    // past forms, and "i lives" / "i watching" as typed: kept as said
    out.push(v);
    i += 1;
  } else if (/^[a-z]+$/.test(v)) {
    out.push(thirdPerson(v));
    i += 1;
  } else return null;
  const rest = depersonalise(ws.slice(i).join(' '));
  return `${out.join(' ')} ${rest}`.trim();
}
