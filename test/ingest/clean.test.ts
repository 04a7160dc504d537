import { describe, expect, it } from 'vitest';
import { cleanEvent, normaliseName, normaliseText } from '../../src/ingest/clean.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ok = (raw: unknown) => {
  const r = cleanEvent(raw, NOW);
  if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.rejection)}`);
  return r;
};
const rejected = (raw: unknown) => {
  const r = cleanEvent(raw, NOW);
  if (r.ok) throw new Error('accepted');
  return r.rejection;
};

describe('normaliseName', () => {
  it.each([
    ['Page View', 'page_view'],
    ['pageView', 'page_view'],
    ['page-view', 'page_view'],
    ['  PURCHASE ', 'purchase'],
    ['__proto__', 'proto'],
    ['Dwell_MS', 'dwell_ms'],
    ['!!!', ''],
  ])('%s → %s', (raw, want) => expect(normaliseName(raw)).toBe(want));
});

describe('normaliseText', () => {
  it('NFC, whitespace, control characters', () => {
    expect(normaliseText('  cafe\u0301 \t\t au  lait\u0000 ').text).toBe('café au lait');
    expect(normaliseText('a\r\n\r\n\r\n\r\nb').text).toBe('a\n\nb');
    expect(normaliseText('zero\u200bwidth').text).toBe('zerowidth');
  });
  it('repairs lone surrogates and says so', () => {
    const r = normaliseText('bad \ud800 text');
    expect(r.repaired).toBe(true);
    expect(r.text).toBe('bad \ufffd text');
  });
});

describe('cleanEvent', () => {
  it('normalises type, property keys and coerces numeric strings', () => {
    const r = ok({ userId: 'u1', type: 'Purchase', timestamp: '2026-05-01T10:00:00Z', properties: { Price: '19.99', 'Product ID': 'p1', Category: 'books' } });
    expect(r.event.type).toBe('purchase');
    expect(r.event.properties).toEqual({ category: 'books', price: 19.99, product_id: 'p1' });
    expect(r.event.warnings.map((w) => w.code)).toEqual(['number_coerced']);
    expect(r.event.ts).toBe(Date.parse('2026-05-01T10:00:00Z'));
  });
  it('accepts snake_case aliases and numeric user ids', () => {
    const r = ok({ user_id: 42, event_type: 'click', ts: 1_780_000_000_000 });
    expect(r.event.identity).toBe('42');
    expect(r.event.identityKind).toBe('user');
    expect(r.event.type).toBe('click');
  });
  it('clamps negative dwell time with a warning', () => {
    const r = ok({ userId: 'u', type: 'page_view', timestamp: NOW - 1000, properties: { dwell_ms: -50 } });
    expect(r.event.properties.dwell_ms).toBe(0);
    expect(r.event.warnings[0]).toMatchObject({ code: 'value_clamped', field: 'properties.dwell_ms' });
  });
  it('missing timestamp → received time, flagged and counted missing', () => {
    const r = ok({ anonymousId: 'a', type: 'page_view' });
    expect(r.event.ts).toBe(NOW);
    expect(r.event.identityKind).toBe('anonymous');
    expect(r.event.warnings[0]?.code).toBe('timestamp_missing');
    expect(r.missing).toContain('timestamp');
    expect(r.missing).toContain('page_view.dwell_ms');
  });
  it('epoch seconds are recognised, small future skew clamped, far future rejected', () => {
    expect(ok({ userId: 'u', type: 'x', timestamp: 1_700_000_000 }).event.ts).toBe(1_700_000_000_000);
    const clamped = ok({ userId: 'u', type: 'x', timestamp: NOW + 3_600_000 });
    expect(clamped.event.ts).toBe(NOW);
    expect(clamped.event.warnings[0]?.code).toBe('timestamp_clamped');
    expect(rejected({ userId: 'u', type: 'x', timestamp: NOW + 3 * 86_400_000 })).toMatchObject({ reason: 'timestamp_in_future', field: 'timestamp' });
  });
  it('ISO without zone is UTC; impossible dates are rejected', () => {
    expect(ok({ userId: 'u', type: 'x', timestamp: '2026-01-02 03:04:05' }).event.ts).toBe(Date.parse('2026-01-02T03:04:05Z'));
    expect(ok({ userId: 'u', type: 'x', timestamp: '2026-01-02' }).event.ts).toBe(Date.parse('2026-01-02T00:00:00Z'));
    expect(rejected({ userId: 'u', type: 'x', timestamp: '2026-02-31' }).reason).toBe('invalid_timestamp');
    expect(rejected({ userId: 'u', type: 'x', timestamp: 'yesterday' }).reason).toBe('invalid_timestamp');
    expect(rejected({ userId: 'u', type: 'x', timestamp: -5 })).toMatchObject({ reason: 'timestamp_too_old', field: 'timestamp' });
  });
  it('text signals: normalised text, required for text types, query fallback for search', () => {
    expect(ok({ userId: 'u', type: 'chat_message', text: '  I  love\u00a0hiking ' }).event.text).toBe('I love hiking');
    expect(rejected({ userId: 'u', type: 'chat_message', text: '   ' })).toMatchObject({ reason: 'missing_text', field: 'text' });
    expect(ok({ userId: 'u', type: 'search', properties: { query: 'trail shoes' } }).event.text).toBe('trail shoes');
    expect(rejected({ userId: 'u', type: 'review', text: 'x'.repeat(20_001) })).toMatchObject({ reason: 'too_long', field: 'text' });
  });
  it('rejects with a reason and field per problem', () => {
    expect(rejected({ type: 'x' })).toMatchObject({ reason: 'missing_identity', field: 'userId' });
    expect(rejected({ userId: 'u' })).toMatchObject({ reason: 'missing_field', field: 'type' });
    expect(rejected({ userId: 'u', type: 'x', timestmap: 1 })).toMatchObject({ reason: 'unknown_field', field: 'timestmap' });
    expect(rejected({ userId: 'u', type: 'purchase', properties: { price: 'cheap' } })).toMatchObject({ reason: 'invalid_number', field: 'properties.price' });
    expect(rejected({ userId: 'u', type: 'purchase', properties: { quantity: -1 } })).toMatchObject({ reason: 'impossible_value', field: 'properties.quantity' });
    expect(rejected({ userId: 'u', type: '!!!' })).toMatchObject({ reason: 'invalid_type_name', field: 'type' });
    expect(rejected({ userId: '', type: 'x' })).toMatchObject({ field: 'userId' });
    expect(rejected('not an object')).toMatchObject({ reason: 'not_an_object' });
    expect(rejected({ userId: 'u', type: 'x', properties: [1, 2] })).toMatchObject({ reason: 'invalid_type', field: 'properties' });
  });
  it('rejects nesting deeper than the limit instead of recursing forever', () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    expect(rejected({ userId: 'u', type: 'x', properties: deep }).reason).toBe('too_deep');
  });
  it('__proto__ and constructor keys become plain data, never prototypes', () => {
    const raw = JSON.parse('{"userId":"u","type":"x","properties":{"__proto__":{"admin":true},"constructor":"c"}}') as unknown;
    const r = ok(raw);
    expect(Object.getPrototypeOf(r.event.properties)).toBe(Object.prototype);
    expect(r.event.properties).toEqual({ constructor: 'c', proto: { admin: true } });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
  it('content hash and dedupe key: same content same key, eventId keys ignore content', () => {
    const a = ok({ userId: 'u', type: 'x', timestamp: 5e11, properties: { b: 1, a: 2 } });
    const b = ok({ userId: 'u', type: 'x', timestamp: 5e11, properties: { a: 2, b: 1 } });
    const c = ok({ userId: 'v', type: 'x', timestamp: 5e11, properties: { a: 2, b: 1 } });
    expect(a.event.dedupeKey).toBe(b.event.dedupeKey);
    expect(a.event.dedupeKey).not.toBe(c.event.dedupeKey);
    const d = ok({ eventId: 'e1', userId: 'u', type: 'x', properties: { a: 1 } });
    const e = ok({ eventId: 'e1', userId: 'u', type: 'x', properties: { a: 2 } });
    expect(d.event.dedupeKey).toBe(e.event.dedupeKey);
    expect(d.event.contentHash).not.toBe(e.event.contentHash);
  });
});

describe('prototype-named fields', () => {
  it('an event type or top-level field named like an Object.prototype member is handled as data', () => {
    expect(ok({ userId: 'u', type: 'constructor' }).event.type).toBe('constructor');
    expect(ok({ userId: 'u', type: 'to_string', properties: { toString: 'x', hasOwnProperty: 1 } }).event.properties).toEqual({ has_own_property: 1, to_string: 'x' });
    expect(rejected({ userId: 'u', type: 'x', constructor: 1 }).reason).toBe('unknown_field');
  });
});

describe('identifiers that look alike are the same or refused (issue 12.9)', () => {
  // Each would display like a plain id while being a different string: refused, naming the field.
  const hidden: [string, string][] = [
    ['NUL', '\u0000'],
    ['C0 control', '\u0007'],
    ['DEL', '\u007f'],
    ['C1 control', '\u0085'],
    ['right-to-left override', '\u202e'],
    ['left-to-right embedding', '\u202a'],
    ['pop directional formatting', '\u202c'],
    ['left-to-right isolate', '\u2066'],
    ['pop directional isolate', '\u2069'],
    ['right-to-left mark', '\u200f'],
    ['arabic letter mark', '\u061c'],
    ['zero-width space', '\u200b'],
    ['zero-width joiner', '\u200d'],
    ['word joiner', '\u2060'],
    ['soft hyphen', '\u00ad'],
    ['line separator', '\u2028'],
    ['tag character', '\u{e0041}'],
  ];
  const fields = ['userId', 'anonymousId', 'eventId'] as const;
  it.each(fields.flatMap((f) => hidden.map(([name, ch]) => [f, name, ch] as const)))('%s with a %s is rejected naming the field', (field, _name, ch) => {
    const ev: Record<string, unknown> = { userId: 'u00010', type: 'page_view' };
    if (field === 'anonymousId') delete ev.userId;
    ev[field] = `u000${ch}10`;
    expect(rejected(ev)).toMatchObject({ reason: 'invalid_characters', field });
    // At either end too, unless trimming removes it (then it is the same id, see below).
    if (`x${ch}`.trim() !== 'x') {
      ev[field] = `u00010${ch}`;
      expect(rejected(ev)).toMatchObject({ reason: 'invalid_characters', field });
      ev[field] = `${ch}u00010`;
      expect(rejected(ev)).toMatchObject({ reason: 'invalid_characters', field });
    }
  });
  it('line breaks and a byte-order mark around an id are trimmed: the same id', () => {
    for (const id of ['u1\n', '\r\nu1', 'u1\u2028', '\ufeffu1', '\tu1']) expect(ok({ userId: id, type: 'x' }).event.identity).toBe('u1');
  });
  it('ordinary ids, including letters of any script, spaces inside and emoji, are kept', () => {
    for (const id of ['u00010', 'José', 'ユーザー1', 'a b', 'user@example.com', 'שלום', '👍x', 42])
      expect(ok({ userId: id, type: 'x' }).event.identity).toBe(String(id).normalize('NFC'));
  });
  it('canonically equal ids are the same id (NFC), surrounding spaces are trimmed', () => {
    expect(ok({ userId: 'cafe\u0301', type: 'x' }).event.identity).toBe(ok({ userId: 'café', type: 'x' }).event.identity);
    expect(ok({ userId: '  u1 ', type: 'x' }).event.identity).toBe('u1');
  });
});

describe('one plausible timestamp range for ISO strings and epochs (issue 12.9)', () => {
  it.each([
    ['ISO year 0000', '0000-01-01T00:00:00Z'],
    ['ISO year 0001', '0001-06-01'],
    ['ISO 1969', '1969-12-31T23:59:59Z'],
    ['ISO 1969 with a zone that lands before the floor', '1970-01-01T00:30:00+01:00'],
    ['a negative epoch', -1],
    ['a negative epoch far back', -62_167_219_200_000],
  ])('%s is rejected as timestamp_too_old', (_name, ts) => {
    expect(rejected({ userId: 'u', type: 'x', timestamp: ts })).toMatchObject({ reason: 'timestamp_too_old', field: 'timestamp' });
  });
  it('the floor itself is accepted in both spellings, and they mean the same instant', () => {
    expect(ok({ userId: 'u', type: 'x', timestamp: '1970-01-01T00:00:00Z' }).event.ts).toBe(0);
    expect(ok({ userId: 'u', type: 'x', timestamp: 0 }).event.ts).toBe(0);
    expect(ok({ userId: 'u', type: 'x', timestamp: '1997-01-01' }).event.ts).toBe(Date.parse('1997-01-01T00:00:00Z'));
  });
  it('the future bound is the same for both spellings', () => {
    const far = NOW + 3 * 86_400_000;
    expect(rejected({ userId: 'u', type: 'x', timestamp: far }).reason).toBe('timestamp_in_future');
    expect(rejected({ userId: 'u', type: 'x', timestamp: new Date(far).toISOString() }).reason).toBe('timestamp_in_future');
    expect(rejected({ userId: 'u', type: 'x', timestamp: '9999-12-31T00:00:00Z' }).reason).toBe('timestamp_in_future');
  });
});
