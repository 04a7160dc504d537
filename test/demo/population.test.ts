import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEvent } from '../../src/ingest/clean.ts';
import { ingestBatch } from '../../src/ingest/ingest.ts';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { identify } from '../../src/db/users.ts';
import { OCCUPATIONS, PET_SPECIES, TOPICS } from '../../src/demo/catalog.ts';
import { describePopulation, generatePopulation, population, POPULATION_DEFAULTS, writePopulationJsonl, type Population, type UserTruth } from '../../src/demo/population.ts';
import type { EventInput } from '../../src/ingest/schema.ts';

const END = Date.parse(POPULATION_DEFAULTS.end);
const RECEIVED = END + 3_600_000;
const DAY = 86_400_000;

// Generated once and shared: the tests only read it.
const small = generatePopulation({ users: 120 });
const medium = generatePopulation({ users: 400, seed: 7 });

const tsOf = (e: EventInput): number => (typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp as string));
const identityOf = (e: EventInput): string => (e.userId ?? e.anonymousId) as string;

function eventsByUser(pop: Population): Map<string, EventInput[]> {
  const alias = new Map<string, string>();
  for (const t of pop.truth) if (t.anonymousId) alias.set(t.anonymousId, t.userId);
  const out = new Map<string, EventInput[]>();
  for (const e of pop.events) {
    const id = identityOf(e);
    const u = alias.get(id) ?? id;
    let list = out.get(u);
    if (!list) out.set(u, (list = []));
    list.push(e);
  }
  return out;
}

describe('determinism', () => {
  it('gives identical output for the same seed and different output for another', () => {
    const a = generatePopulation({ users: 40, seed: 5 });
    const b = generatePopulation({ users: 40, seed: 5 });
    const c = generatePopulation({ users: 40, seed: 6 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.events)).not.toBe(JSON.stringify(c.events));
    expect(JSON.stringify(a.truth)).not.toBe(JSON.stringify(c.truth));
  });

  it('makes a smaller population a prefix of a larger one, and streams the same events', () => {
    const a = generatePopulation({ users: 20 });
    expect(JSON.stringify(a.truth)).toBe(JSON.stringify(small.truth.slice(0, 20)));
    expect(JSON.stringify(a.events)).toBe(JSON.stringify(small.events.slice(0, a.events.length)));
    expect(JSON.stringify([...population({ users: 20 })])).toBe(JSON.stringify(a.events));
  });

  it('keeps every event inside the period', () => {
    const start = END - POPULATION_DEFAULTS.days * DAY;
    for (const e of small.events) {
      const ts = tsOf(e);
      expect(ts).toBeGreaterThanOrEqual(start);
      expect(ts).toBeLessThan(END);
    }
  });
});

describe('volumes', () => {
  it('has realistic counts and shares', () => {
    const d = describePopulation(small);
    expect(d.users).toBe(120);
    expect(d.events / d.users).toBeGreaterThan(80);
    expect(d.events / d.users).toBeLessThan(300);
    for (const type of ['session_start', 'page_view', 'product_view', 'impression', 'click', 'add_to_cart', 'purchase', 'search', 'chat_message', 'support_ticket', 'review'])
      expect(d.byType[type], type).toBeGreaterThan(0);
    expect(d.byType.click!).toBeLessThan(d.byType.impression!);
    expect(d.byType.purchase!).toBeLessThan(d.byType.add_to_cart!);
    const noId = small.events.filter((e) => e.eventId === undefined).length / d.events;
    expect(noId).toBeGreaterThan(0.03);
    expect(noId).toBeLessThan(0.07);
    const epoch = small.events.filter((e) => typeof e.timestamp === 'number').length / d.events;
    expect(epoch).toBeGreaterThan(0.05);
    expect(epoch).toBeLessThan(0.6);
    const resends = d.anomalies.resend ?? 0;
    expect(resends / d.events).toBeGreaterThan(0.006);
    expect(resends / d.events).toBeLessThan(0.014);
    expect(small.attributes).toHaveLength(120);
  });

  it('default population: ~2,000 users with ~100-200 events each', { timeout: 60_000 }, () => {
    const d = describePopulation(generatePopulation());
    expect(d.users).toBe(2000);
    expect(d.events).toBeGreaterThan(200_000);
    expect(d.events).toBeLessThan(400_000);
    expect(d.identifies).toBeGreaterThan(140);
    expect(d.identifies).toBeLessThan(260);
    expect(d.textSignals).toBeGreaterThan(10_000);
    expect(d.mentions).toBeGreaterThan(5_000);
    expect(d.distractors).toBeGreaterThan(500);
  });
});

describe('cleaning', () => {
  it('accepts every event cleanly except the planted anomalies, which give exactly the planted outcome', () => {
    const planted = new Map(medium.anomalies.map((a) => [a.index, a]));
    const kinds = new Set(medium.anomalies.map((a) => a.kind));
    for (const k of ['negative_dwell', 'huge_dwell', 'missing_dwell', 'string_price', 'unparseable_price', 'empty_search', 'resend']) expect(kinds, k).toContain(k);
    // Collect mismatches and compare once: an expect per event is the slow part of this test.
    const keys: string[] = [];
    const wrong: string[] = [];
    medium.events.forEach((e, i) => {
      const r = cleanEvent(e, RECEIVED);
      const expectation = planted.get(i)?.expect ?? { ok: true, warnings: [], missing: [] };
      const got = r.ok
        ? { ok: true, warnings: r.event.warnings.map((w) => ({ code: w.code, field: w.field })), missing: r.missing }
        : { ok: false, reason: r.rejection.reason, field: r.rejection.field };
      if (JSON.stringify(got) !== JSON.stringify(expectation)) wrong.push(`event ${i}: ${JSON.stringify(got)} expected ${JSON.stringify(expectation)}`);
      keys.push(r.ok ? r.event.dedupeKey : '');
    });
    expect(wrong).toEqual([]);
    // Resends share their original's dedupe key; no other two events do.
    const resendOf = new Map(medium.anomalies.filter((a) => a.kind === 'resend').map((a) => [a.index, a.duplicateOf!]));
    const seen = new Map<string, number>();
    keys.forEach((k, i) => {
      if (k === '') return;
      if (resendOf.has(i)) expect(k).toBe(keys[resendOf.get(i)!]);
      else {
        expect(seen.has(k), `event ${i} collides with ${seen.get(k)}`).toBe(false);
        seen.set(k, i);
      }
    });
  });
});

describe('text and truth', () => {
  const truthValue: Record<string, (t: UserTruth, v: string) => boolean> = {
    occupation: (t, v) => t.persona.occupation === v,
    interest: (t, v) => t.persona.interests.includes(v),
    pet: (t, v) => t.persona.pets.some((p) => p.species === v),
    diet: (t, v) => t.persona.diet === v,
    family_status: (t, v) => t.persona.familyStatus === v,
    region: (t, v) => t.persona.region === v,
    language: (t, v) => t.persona.language === v,
    price_sensitivity: (t, v) => t.persona.priceSensitivity === v,
    preferred_channel: (t, v) => t.persona.preferredChannel === v,
    skill_level: (t, v) => t.persona.skillLevel.level === v,
    brand_sentiment: (t, v) => t.persona.brandSentiment === v,
    life_event: (t, v) => t.persona.lifeEvent?.kind === v,
    support_issue: (t, v) => t.persona.supportIssues.some((s) => s.kind === v),
  };

  it('states each recorded fact in one of the user own events, true to the persona', () => {
    const byUser = eventsByUser(medium);
    const keysSeen = new Set<string>();
    for (const t of medium.truth) {
      const texts = (byUser.get(t.userId) ?? []).filter((e) => e.text !== undefined);
      for (const m of t.mentions) {
        keysSeen.add(m.key);
        expect(truthValue[m.key]?.(t, m.value), `${t.userId} ${m.key}=${m.value} "${m.quote}"`).toBe(true);
        const carrier = texts.find((e) => e.type === m.eventType && e.text!.includes(m.quote) && (m.eventId === null || e.eventId === m.eventId));
        expect(carrier, `${t.userId}: "${m.quote}"`).toBeDefined();
      }
      for (const x of t.pii)
        expect(
          texts.some((e) => e.text!.includes(x.value)),
          `${t.userId} ${x.kind}`,
        ).toBe(true);
    }
    expect([...keysSeen].sort()).toEqual(Object.keys(truthValue).sort());
  });

  it('mentions only some facts: not every user states every fact', () => {
    const share = (key: string) => medium.truth.filter((t) => t.mentions.some((m) => m.key === key)).length / medium.truth.length;
    expect(share('occupation')).toBeGreaterThan(0.25);
    expect(share('occupation')).toBeLessThan(0.7);
    expect(share('region')).toBeLessThan(0.5);
  });

  it('plants distractors whose trap value is never the user true value', () => {
    const byUser = eventsByUser(medium);
    const kinds = new Set<string>();
    for (const t of medium.truth) {
      for (const d of t.distractors) {
        kinds.add(d.kind);
        expect(
          (byUser.get(t.userId) ?? []).some((e) => e.text?.includes(d.quote)),
          d.quote,
        ).toBe(true);
        if (d.kind !== 'injection') expect(truthValue[d.key]?.(t, d.trap), `${t.userId} ${d.key} trap ${d.trap}: "${d.quote}"`).toBe(false);
      }
    }
    expect([...kinds].sort()).toEqual(['hypothetical', 'injection', 'negation', 'question', 'third_person']);
  });

  it('never contradicts the truth in plain first-person statements (independent of the mention records)', () => {
    const occ = new RegExp(`\\bi(?: work as|'m| am) an? (${OCCUPATIONS.map((o) => o.title).join('|')})\\b`, 'i');
    const diet = /\bi(?:'m| am|'ve been) (vegan|vegetarian)\b/i;
    const pet = new RegExp(`\\bmy (${PET_SPECIES.join('|')})\\b`, 'i');
    const byUser = eventsByUser(medium);
    let checked = 0;
    for (const t of medium.truth) {
      for (const e of byUser.get(t.userId) ?? []) {
        if (e.text === undefined || e.type === 'search') continue;
        const o = occ.exec(e.text);
        if (o) {
          checked++;
          expect(OCCUPATIONS.find((x) => x.title === o[1]!.toLowerCase())?.id, e.text).toBe(t.persona.occupation);
        }
        const d = diet.exec(e.text);
        if (d) expect(d[1]!.toLowerCase(), e.text).toBe(t.persona.diet);
        const p = pet.exec(e.text);
        if (p)
          expect(
            t.persona.pets.map((x) => x.species),
            e.text,
          ).toContain(p[1]!.toLowerCase());
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('words facts in varied ways', () => {
    const quotes = (key: string) => new Set(medium.truth.flatMap((t) => t.mentions.filter((m) => m.key === key).map((m) => m.quote.toLowerCase().replace(/\d+/g, 'N'))));
    expect(quotes('occupation').size).toBeGreaterThan(40);
    // The same occupation is said in several shapes, not one memorisable sentence.
    const nurse = medium.truth.flatMap((t) => t.mentions.filter((m) => m.key === 'occupation' && m.value === 'nurse').map((m) => m.quote.toLowerCase().split('nurse')[0]));
    expect(new Set(nurse).size).toBeGreaterThan(2);
  });

  it('ties searches and favourite categories to interests', () => {
    const hikers = medium.truth.filter((t) => t.persona.interests.includes('hiking'));
    expect(hikers.length).toBeGreaterThan(10);
    expect(hikers.filter((t) => t.behaviour.favouriteCategories.some((c) => c.category === 'outdoor_gear')).length / hikers.length).toBeGreaterThan(0.9);
    const topicQueries = new Set(TOPICS.flatMap((x) => x.queries.map((q) => q.split('{')[0]!.trim())));
    const searches = medium.events.filter((e) => e.type === 'search' && e.text && e.text.trim() !== '');
    const fromTopics = searches.filter((e) => [...topicQueries].some((q) => q.length > 4 && e.text!.includes(q))).length;
    expect(fromTopics / searches.length).toBeGreaterThan(0.3);
  });
});

describe('behaviour', () => {
  it('churned users are quiet for the last 30 days and most others are not', () => {
    const byUser = eventsByUser(medium);
    const cutoff = END - 30 * DAY;
    const churned = medium.truth.filter((t) => t.behaviour.churned);
    expect(churned.length / medium.truth.length).toBeGreaterThan(0.1);
    expect(churned.length / medium.truth.length).toBeLessThan(0.4);
    for (const t of churned) for (const e of byUser.get(t.userId) ?? []) expect(tsOf(e)).toBeLessThan(cutoff);
    const active = medium.truth.filter((t) => !t.behaviour.churned);
    const recent = active.filter((t) => (byUser.get(t.userId) ?? []).some((e) => tsOf(e) >= cutoff)).length;
    expect(recent / active.length).toBeGreaterThan(0.8);
  });

  it('price-sensitive users pay less, favourite categories dominate views, clicks fall with position', () => {
    const byUser = eventsByUser(medium);
    const avgPrice = (level: string) => {
      const prices = medium.truth
        .filter((t) => t.persona.priceSensitivity === level && t.persona.region === 'uk')
        .flatMap((t) => (byUser.get(t.userId) ?? []).filter((e) => e.type === 'product_view').map((e) => Number(e.properties!.price)))
        .filter(Number.isFinite);
      return prices.reduce((a, b) => a + b, 0) / prices.length;
    };
    expect(avgPrice('high')).toBeLessThan(avgPrice('low'));

    let inFav = 0;
    let views = 0;
    for (const t of medium.truth) {
      const fav = new Set(t.behaviour.favouriteCategories.slice(0, 3).map((c) => c.category));
      for (const e of byUser.get(t.userId) ?? [])
        if (e.type === 'page_view') {
          views++;
          if (fav.has(e.properties!.category as never)) inFav++;
        }
    }
    expect(inFav / views).toBeGreaterThan(0.5);

    const ctr = (pos: number) => {
      const pick = (type: string) => medium.events.filter((e) => e.type === type && (e.properties!.position ?? -1) === pos).length;
      return pick('click') / pick('impression');
    };
    expect(ctr(0)).toBeGreaterThan(ctr(3));
  });
});

describe('identities', () => {
  it('emits anonymous events first, then the same person under their user id', () => {
    expect(small.identifies.length).toBeGreaterThan(3);
    expect(small.identifies.length).toBeLessThan(25);
    for (const { anonymousId, userId } of small.identifies) {
      const anon = small.events.filter((e) => e.anonymousId === anonymousId);
      const known = small.events.filter((e) => e.userId === userId);
      expect(anon.length).toBeGreaterThan(0);
      expect(anon.every((e) => e.userId === undefined)).toBe(true);
      const t = small.truth.find((x) => x.userId === userId)!;
      const at = Date.parse(t.identifiedAt!);
      expect(Math.max(...anon.map(tsOf))).toBeLessThan(at);
      expect(known.every((e) => tsOf(e) >= at)).toBe(true);
    }
    for (const a of small.attributes) {
      expect(a.attributes.country).toMatch(/^[A-Z]{2}$/);
      expect(['free', 'pro']).toContain(a.attributes.plan);
      expect(a.attributes.signup_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

describe('files and ingestion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-demo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSONL and the truth and declared files beside it', () => {
    const path = join(dir, 'pop.jsonl');
    const w = writePopulationJsonl(path, { users: 30 });
    const pop = generatePopulation({ users: 30 });
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(w.events).toBe(pop.events.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(pop.events)));
    const truth = JSON.parse(readFileSync(w.truthPath, 'utf8'));
    expect(truth.truth).toEqual(JSON.parse(JSON.stringify(pop.truth)));
    expect(truth.anomalies).toEqual(pop.anomalies);
    const declared = JSON.parse(readFileSync(w.declaredPath, 'utf8'));
    expect(declared.identifies).toEqual(pop.identifies);
    expect(declared.attributes).toEqual(pop.attributes);
  });

  it('imports through the normal ingestion path with the planted duplicates and rejections', async () => {
    const pop = generatePopulation({ users: 60, seed: 3 });
    const db = openDb(join(dir, 'demo.db'), { synchronous: 'OFF' });
    try {
      const store = sqliteStore(db);
      let accepted = 0;
      let duplicates = 0;
      let rejected = 0;
      for (let i = 0; i < pop.events.length; i += 1000) {
        const s = await ingestBatch(store.events, pop.events.slice(i, i + 1000), { now: RECEIVED });
        accepted += s.accepted;
        duplicates += s.duplicates;
        rejected += s.rejected;
      }
      const planned = (k: string) => pop.anomalies.filter((a) => a.kind === k).length;
      const rejections = pop.anomalies.filter((a) => !a.expect.ok).length;
      expect(duplicates).toBe(planned('resend'));
      expect(rejected).toBe(rejections);
      expect(accepted).toBe(pop.events.length - duplicates - rejected);
      // merged when the user also has events under their user id; linked when all they did was anonymous.
      for (const p of pop.identifies) expect(['merged', 'linked']).toContain(identify(db, p.anonymousId, p.userId, RECEIVED).status);
      const stats = await store.stats.getStats();
      expect(stats.users.total).toBe(60);
      expect(stats.users.anonymous).toBe(0);
    } finally {
      db.close();
    }
  });
});
