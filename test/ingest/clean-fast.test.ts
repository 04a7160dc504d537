/**
 * cleanEvent checks the common event shape without zod and reads canonical timestamps and plain
 * ASCII text without the general code. Those shortcuts must never change a result: every event
 * here is cleaned both ways (`cleanEventWith(…, quick)`: shortcuts on; off: always through zod and
 * the general path, as before them) and the results, rejections and warnings included, must be
 * deeply equal. The events are the benchmark's generated ones plus random mutations of them
 * toward everything unusual: hidden characters in ids, edge spaces, numeric ids, NFD text, year
 * 0000 and rolled-over dates, epoch numbers, huge and non-object properties, prototype keys.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { event } from '../../bench/gen-events.ts';
import { mulberry32 } from '../../src/core/random.ts';
import { cleanEventWith, DEFAULT_CLEAN_LIMITS, type CleanLimits } from '../../src/ingest/clean.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const rnd = mulberry32(1414);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

const IDS: unknown[] = [
  'user-1',
  ' user-1',
  'user-1 ',
  'user 1',
  'u\u202e1',
  'u\u200b1',
  'u\u00001',
  'cafe\u0301',
  'café',
  '',
  '   ',
  'x'.repeat(200),
  'x'.repeat(201),
  'x'.repeat(256),
  'x'.repeat(257),
  '\ud800',
  'u\t1',
  'ü',
  42,
  0,
  -1,
  1.5,
  2 ** 60,
  Number.NaN,
  null,
  true,
  {},
  [],
  undefined,
];
const TIMESTAMPS: unknown[] = [
  '2026-01-31T12:00:00.000Z',
  '2026-02-28T23:59:59.999Z',
  '2026-02-29T00:00:00.000Z',
  '2024-02-29T00:00:00.000Z',
  '2026-02-30T00:00:00.000Z',
  '2026-04-31T00:00:00.000Z',
  '2026-13-01T00:00:00.000Z',
  '2026-00-10T00:00:00.000Z',
  '2026-01-00T00:00:00.000Z',
  '2026-01-10T24:00:00.000Z',
  '2026-01-10T23:60:00.000Z',
  '2026-01-10T23:59:60.000Z',
  '0000-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00.000Z',
  '9999-12-31T23:59:59.999Z',
  '2026-06-01T12:04:00.000Z',
  '2026-06-01T12:10:00.000Z',
  '2026-06-03T12:00:00.000Z',
  '2026-01-31T12:00:00.000z',
  '2026-01-31 12:00:00.000Z',
  ' 2026-01-31T12:00:00.000Z',
  '2026-01-31T12:00:00Z',
  '2026-01-31T12:00:00.000+02:00',
  '2026-01-31',
  '2026-02-31',
  '1780000000000',
  'yesterday',
  'x'.repeat(65),
  1780000000000,
  1780000000,
  -5,
  Number.POSITIVE_INFINITY,
  Number.NaN,
  1e300,
  null,
  undefined,
];
const STRINGS = [
  'web',
  ' web',
  'web ',
  'we  b',
  'we\tb',
  'a\nb',
  'a\r\n\r\n\r\nb',
  'cafe\u0301',
  'x\u0000y',
  'zero\u200bwidth',
  '\ud800',
  '',
  ' ',
  'x'.repeat(101),
  'Where is my order?',
];
const VALUES: unknown[] = [
  'plain',
  'cafe\u0301',
  'bad \udc00',
  '',
  0,
  -1,
  1e308,
  '12.50',
  ' 7 ',
  'abc',
  true,
  null,
  [1, 'cafe\u0301', ['\ud800']],
  { Nested: { deeperKey: 1 } },
  { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } },
  undefined,
];
const PROPERTY_KEYS = ['price', 'dwellMs', 'dwell_ms', 'quantity', 'rating', 'Page View', '!!!', 'constructor', 'toString', 'query', 'message', 'category', 'productId'];

function nullProto(o: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null) as Record<string, unknown>, o);
}

/** One random change (or several) to an event: each is something cleaning treats specially. */
function mutate(e: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...e };
  const n = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < n; k++) {
    const r = rnd();
    if (r < 0.12) out[pick(['userId', 'anonymousId', 'eventId'])] = pick(IDS);
    else if (r < 0.24) out.timestamp = pick(TIMESTAMPS);
    else if (r < 0.3) out.type = pick(['Page View', 'pageView', '!!!', '', 'x'.repeat(101), 'search', 'chat_message', 'review', 42]);
    else if (r < 0.36) out.text = pick([...STRINGS, 42, null, 'x'.repeat(20_001)]);
    else if (r < 0.42) out.source = pick([...STRINGS, 7]);
    else if (r < 0.52) {
      const props = { ...(out.properties as Record<string, unknown> | undefined) };
      props[pick(PROPERTY_KEYS)] = pick(VALUES);
      out.properties = props;
    } else if (r < 0.58)
      out.properties = pick<unknown>([
        [],
        'props',
        null,
        7,
        { big: 'x'.repeat(40_000) },
        nullProto({ a: 1, Price: '3' }),
        JSON.parse('{"__proto__": {"x": 1}, "a": 1}'),
        { constructor: 'c' },
        { [Symbol('s')]: 1, a: 1 },
        new Date(0),
        new Map([['a', 1]]),
      ]);
    else if (r < 0.64) {
      delete out.userId;
      delete out.anonymousId;
      if (rnd() < 0.5) out[pick(['user_id', 'anonymous_id'])] = pick(IDS);
    } else if (r < 0.7) out[pick(['timestmap', 'user_id', 'event_id', 'ts', 'time', 'event', 'messageId', '__proto__', 'extra'])] = pick([...IDS, ...TIMESTAMPS]);
    else if (r < 0.76) return pick<unknown>([null, 'event', 42, [out], nullProto(out), JSON.parse(`{"__proto__": 1, "type": "x", "userId": "u"}`)]);
    else if (r < 0.82) delete out[pick(['type', 'timestamp', 'properties', 'source', 'text', 'eventId'])];
    else if (r < 0.88) out.properties = { ...(out.properties as object), [pick(PROPERTY_KEYS)]: pick(VALUES), [pick(PROPERTY_KEYS)]: pick(VALUES) };
    else if (r < 0.94) out.eventId = pick(['evt-1', 'evt 1', ' evt-1', 'évt', 'x'.repeat(201), 17]);
    else out.userId = undefined;
  }
  return out;
}

const TIGHT: CleanLimits = { ...DEFAULT_CLEAN_LIMITS, maxTextChars: 12, maxPropertiesBytes: 60 };

function expectSame(raw: unknown, limits: CleanLimits = DEFAULT_CLEAN_LIMITS): boolean {
  const quick = cleanEventWith(raw, NOW, limits, true);
  const general = cleanEventWith(raw, NOW, limits, false);
  // node's strict deep equality (prototypes, undefined members); vitest's toStrictEqual compares
  // `x.constructor`, which a cleaned object with its own "constructor" property defeats.
  if (!isDeepStrictEqual(quick, general)) expect(quick, JSON.stringify(raw)?.slice(0, 300)).toEqual(general);
  expect(isDeepStrictEqual(quick, general), JSON.stringify(raw)?.slice(0, 300)).toBe(true);
  return quick.ok;
}

describe('cleanEvent: the shortcuts give exactly what zod and the general path give', () => {
  it('on the benchmark generator events (and with tight limits)', () => {
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const e = event(i);
      if (expectSame(e)) accepted++;
      expectSame(e, TIGHT);
    }
    // Nearly all are well formed (the generator writes valid events): the shortcuts were exercised.
    expect(accepted).toBe(3000);
  });

  it('on 10,000 random mutations toward unusual and hostile input', () => {
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < 10_000; i++) {
      const raw = mutate(event(i));
      if (expectSame(raw, i % 7 === 0 ? TIGHT : DEFAULT_CLEAN_LIMITS)) outcomes.ok++;
      else outcomes.rejected++;
    }
    // Both sides of the fence were covered many times.
    expect(outcomes.ok).toBeGreaterThan(1000);
    expect(outcomes.rejected).toBeGreaterThan(1000);
  });

  it('on every listed timestamp, id, text and property value alone', () => {
    const base = { eventId: 'evt-1', userId: 'user-1', type: 'page_view', timestamp: '2026-01-31T12:00:00.000Z', source: 'web', properties: { dwellMs: 5 } };
    for (const timestamp of TIMESTAMPS) expectSame({ ...base, timestamp });
    for (const id of IDS) for (const field of ['eventId', 'userId', 'anonymousId']) expectSame({ ...base, [field]: id });
    for (const s of STRINGS) {
      expectSame({ ...base, type: 'search', text: s });
      expectSame({ ...base, source: s });
    }
    for (const v of VALUES) for (const key of PROPERTY_KEYS) expectSame({ ...base, properties: { [key]: v, url: v } });
  });

  it('reads canonical timestamps to the same instant as Date.parse over the whole calendar', () => {
    for (let i = 0; i < 5000; i++) {
      const ms = Math.floor(rnd() * Date.parse('2026-06-01T12:00:00Z'));
      const iso = new Date(ms).toISOString();
      const r = cleanEventWith({ userId: 'u', type: 'x', timestamp: iso }, NOW, DEFAULT_CLEAN_LIMITS, true);
      expect(r.ok && r.event.ts, iso).toBe(ms);
    }
  });
});
