import { hash as oneShotHash } from 'node:crypto';
import { formatPath } from '../core/errors.ts';
import { EXPECTED_PROPERTIES, NUMERIC_PROPERTIES } from '../core/data-quality.ts';
import { TEXT_SIGNAL_TYPES, type CleanEvent, type EventWarning, type Json, type JsonObject } from '../core/types.ts';
import { eventInputSchema, FIELD_ALIASES, INVALID_CHARACTERS, type EventInput } from './schema.ts';

/** Limits cleaning enforces; from config, with the same defaults. */
export interface CleanLimits {
  maxTextChars: number;
  maxPropertiesBytes: number;
  /** later than received time by more than this: rejected */
  futureSkewMs: number;
  /** later than received time by more than this (and within futureSkewMs): clamped to received time */
  clampSkewMs: number;
}

export const DEFAULT_CLEAN_LIMITS: CleanLimits = {
  maxTextChars: 20_000,
  maxPropertiesBytes: 32 * 1024,
  futureSkewMs: 24 * 3600 * 1000,
  clampSkewMs: 5 * 60 * 1000,
};

export interface Rejection {
  reason: string;
  field: string;
  message: string;
}

export type CleanResult =
  | {
      ok: true;
      event: CleanEvent;
      missing: string[];
      /** `event.properties` as the canonical JSON the store writes (serialised once, here) */
      propertiesJson: string;
    }
  | { ok: false; rejection: Rejection; eventId?: string };

const TEXT_TYPES = new Set<string>(TEXT_SIGNAL_TYPES);
const MAX_DEPTH = 8;
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const NUMBER_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
// Zero-width and bidi controls are invisible and only ever confuse matching; C0/C1 controls but \n and \t.
const CONTROL_RE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;
const SPACE_RE = /[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g;

// Property keys and type names repeat endlessly; caching their normal form is most of cleaning's speed.
const nameCache = new Map<string, string>();

/** "Page View", "pageView", "page-view" → "page_view". Returns "" when nothing usable is left. */
export function normaliseName(raw: string): string {
  let hit = nameCache.get(raw);
  if (hit === undefined) {
    hit = computeName(raw);
    if (nameCache.size > 50_000) nameCache.clear();
    nameCache.set(raw, hit);
  }
  return hit;
}

function computeName(raw: string): string {
  return raw
    .normalize('NFKC')
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '');
}

/** Words of printable ASCII with single spaces between them: what normaliseText returns unchanged. */
const PLAIN_TEXT_RE = /^[!-~]+(?: [!-~]+)*$/;

/** NFC, well-formed UTF-16, no control characters, single spaces, at most one blank line. */
export function normaliseText(raw: string): { text: string; repaired: boolean } {
  if (PLAIN_TEXT_RE.test(raw)) return { text: raw, repaired: false };
  const wellFormed = raw.toWellFormed();
  const text = wellFormed
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL_RE, '')
    .replace(SPACE_RE, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text, repaired: wellFormed !== raw };
}

function hash(s: string): string {
  return oneShotHash('sha1', s, 'base64url');
}

class Reject extends Error {
  constructor(readonly rejection: Rejection) {
    super(rejection.message);
  }
}
const reject = (reason: string, field: string, message: string): never => {
  throw new Reject({ reason, field, message });
};

/** Maps zod's issue codes onto the stable rejection reasons the API documents. */
function reasonFor(code: string, message: string, params?: unknown): string {
  if ((params as { reason?: unknown } | undefined)?.reason === INVALID_CHARACTERS) return INVALID_CHARACTERS;
  if (code === 'unrecognized_keys') return 'unknown_field';
  if (code === 'too_big') return 'too_long';
  if (code === 'too_small') return 'empty_field';
  if (code === 'invalid_type') return message.includes('received undefined') ? 'missing_field' : 'invalid_type';
  if (code === 'custom') return 'missing_identity';
  return 'invalid_value';
}

/**
 * The earliest event time accepted, whichever way it is written (ISO 8601 or epoch): the Unix
 * epoch. Earlier times (year 0000, negative epochs) are data errors, not history we hold.
 */
export const MIN_EVENT_TS = 0;

function parseTimestamp(raw: string | number | undefined, receivedAt: number, limits: CleanLimits, warnings: EventWarning[]): number {
  if (raw === undefined) {
    warnings.push({ code: 'timestamp_missing', field: 'timestamp', message: 'no timestamp: the time received was used' });
    return receivedAt;
  }
  let ms: number;
  if (typeof raw === 'number' || /^\d+$/.test(raw)) {
    ms = Number(raw);
    if (!Number.isFinite(ms)) reject('invalid_timestamp', 'timestamp', 'epoch milliseconds must be a finite number');
    if (ms < 1e11) {
      ms *= 1000;
      warnings.push({ code: 'epoch_seconds_assumed', field: 'timestamp', message: 'number below 1e11 read as epoch seconds' });
    }
    ms = Math.trunc(ms);
  } else if (raw.length === 24 && CANONICAL_ISO_RE.test(raw) && (ms = canonicalIsoMs(raw)) >= 0) {
    // The common spelling (what toISOString writes), read without Date.parse: the same instant.
  } else {
    const m = ISO_RE.exec(raw.trim());
    if (!m) return reject('invalid_timestamp', 'timestamp', 'timestamp must be ISO 8601 (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds');
    const iso = m[4] === undefined ? `${raw.trim()}T00:00:00Z` : m[7] === undefined ? `${raw.trim().replace(' ', 'T')}Z` : raw.trim().replace(' ', 'T');
    ms = Date.parse(iso);
    // Date.parse rolls 2026-02-31 over to March; a calendar check catches that.
    const d = new Date(ms);
    if (!Number.isFinite(ms) || (m[7] === undefined && d.getUTCDate() !== Number(m[3]))) reject('invalid_timestamp', 'timestamp', `not a valid date: ${raw}`);
  }
  // One range for both spellings: checked on the instant, after parsing.
  if (ms < MIN_EVENT_TS) reject('timestamp_too_old', 'timestamp', 'timestamp must be on or after 1970-01-01T00:00:00Z (epoch 0)');
  if (ms > receivedAt + limits.futureSkewMs) reject('timestamp_in_future', 'timestamp', `timestamp is more than ${Math.round(limits.futureSkewMs / 60000)} minutes in the future`);
  if (ms > receivedAt + limits.clampSkewMs) {
    warnings.push({ code: 'timestamp_clamped', field: 'timestamp', message: 'timestamp in the future: clamped to the time received' });
    ms = receivedAt;
  }
  return ms;
}

/** `2026-01-31T12:00:00.000Z`: what `Date.prototype.toISOString` writes, and most files carry. */
const CANONICAL_ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
};
/**
 * The instant of a string matching CANONICAL_ISO_RE, computed from its fields (Date.parse costs
 * ~0.5 µs); -1 where `Date.parse` might read it otherwise (a year before 1970, day 29-31, an
 * out-of-range field), so the caller takes the general path for those.
 */
function canonicalIsoMs(s: string): number {
  const y = digits(s, 0, 4);
  const mo = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  const h = digits(s, 11, 13);
  const mi = digits(s, 14, 16);
  const sec = digits(s, 17, 19);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 28 || h > 23 || mi > 59 || sec > 59) return -1;
  return Date.UTC(y, mo - 1, d, h, mi, sec, digits(s, 20, 23));
}

/** A string property value: well-formed UTF-16 (lone surrogates replaced, with a warning), NFC. */
function cleanString(v: string, path: (string | number)[], key: string, warnings: EventWarning[]): string {
  if (v.isWellFormed()) return PRINTABLE_ASCII_RE.test(v) ? v : v.normalize('NFC');
  warnings.push({ code: 'invalid_unicode_replaced', field: formatPath([...path, key]), message: 'unpaired surrogates replaced' });
  return v.toWellFormed().normalize('NFC');
}
/** Printable ASCII only: already NFC. */
const PRINTABLE_ASCII_RE = /^[ -~]*$/;

function cleanValue(v: unknown, path: (string | number)[], depth: number, warnings: EventWarning[]): Json {
  if (v === null || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) reject('invalid_number', formatPath(path), 'numbers must be finite');
    return v;
  }
  if (typeof v === 'string') {
    if (v.isWellFormed()) return PRINTABLE_ASCII_RE.test(v) ? v : v.normalize('NFC');
    warnings.push({ code: 'invalid_unicode_replaced', field: formatPath(path), message: 'unpaired surrogates replaced' });
    return v.toWellFormed().normalize('NFC');
  }
  if (depth >= MAX_DEPTH) reject('too_deep', formatPath(path), `properties nest at most ${MAX_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x, i) => cleanValue(x, [...path, i], depth + 1, warnings));
  if (typeof v === 'object') return cleanObject(v as Record<string, unknown>, path, depth + 1, warnings);
  return reject('invalid_type', formatPath(path), 'unsupported value');
}

/** Normalises keys (snake_case, sorted so the JSON is canonical) and values, recursively. */
function cleanObject(obj: Record<string, unknown>, path: (string | number)[], depth: number, warnings: EventWarning[]): JsonObject {
  const out: JsonObject = {};
  const keys = Object.keys(obj);
  const names = keys.map(normaliseName);
  const order = keys.map((_, i) => i).sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : (names[a] as string) > (names[b] as string) ? 1 : 0));
  for (const i of order) {
    const raw = keys[i] as string;
    const name = names[i] as string;
    if (name === '') {
      warnings.push({ code: 'property_dropped', field: formatPath([...path, raw]), message: 'property name has no letters or digits' });
      continue;
    }
    if (Object.hasOwn(out, name))
      warnings.push({ code: 'property_key_collision', field: formatPath([...path, name]), message: `"${raw}" normalises to an existing key and replaced it` });
    // Scalars inline: no path array per property unless there is something to report.
    const v = obj[raw];
    let value: Json;
    if (typeof v === 'string') value = cleanString(v, path, name, warnings);
    else if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) value = v;
    else value = cleanValue(v, [...path, name], depth, warnings);
    if (depth === 1) value = applyNumericRule(name, value, path, warnings);
    // Plain assignment is safe: a normalised name never starts with "_", so it is never "__proto__".
    out[name] = value;
  }
  return out;
}

function applyNumericRule(name: string, value: Json, path: (string | number)[], warnings: EventWarning[]): Json {
  const rule = NUMERIC_PROPERTIES[name];
  if (!rule || value === null) return value;
  const field = formatPath([...path, name]);
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && NUMBER_RE.test(value.trim())) {
    n = Number(value.trim());
    warnings.push({ code: 'number_coerced', field, message: 'numeric string converted to a number' });
  } else return reject('invalid_number', field, `${name} must be a number`);
  if (rule.min !== undefined && n < rule.min) {
    if (rule.outOfRange === 'reject') reject('impossible_value', field, `${name} must be at least ${rule.min}`);
    warnings.push({ code: 'value_clamped', field, message: `${name} below ${rule.min}: clamped` });
    n = rule.min;
  }
  if (rule.max !== undefined && n > rule.max) {
    if (rule.outOfRange === 'reject') reject('impossible_value', field, `${name} must be at most ${rule.max}`);
    warnings.push({ code: 'value_clamped', field, message: `${name} above ${rule.max}: clamped` });
    n = rule.max;
  }
  return n;
}

function applyAliases(raw: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(raw)) {
    const canonical = FIELD_ALIASES[k];
    if (canonical !== undefined && !(canonical in raw)) {
      out ??= { ...raw };
      out[canonical] = raw[k];
      delete out[k];
    }
  }
  return out ?? raw;
}

/** Printable ASCII without a space at either end: already NFC and trimmed, nothing hidden. */
const PLAIN_ID_RE = /^[!-~](?:[ -~]*[!-~])?$/;
const plainId = (v: unknown, max: number): boolean => v === undefined || (typeof v === 'string' && v.length <= max && PLAIN_ID_RE.test(v));
const EVENT_FIELDS = new Set(Object.keys(eventInputSchema.shape));

/**
 * `eventInputSchema.parse` for the common shape, without zod's cost (~3 µs an event, a third of
 * cleaning): the fields exactly as zod returns them when this can tell zod would accept the event,
 * else undefined, and the caller asks zod (so every rejection and its message come from zod).
 * It vouches only for what it fully checks: known fields; string ids of printable ASCII without
 * an edge space (zod's NFC + trim leave those as they are, and none holds a hidden character);
 * a plain object (no symbol keys) as properties. Numeric ids and anything else go to zod.
 * test/ingest/clean-fast.test.ts holds the two paths equal over generated and hostile events.
 */
function quickValidate(input: Record<string, unknown>): EventInput | undefined {
  for (const k in input) if (!EVENT_FIELDS.has(k)) return undefined;
  const { eventId, userId, anonymousId, type, timestamp, properties, text, source } = input;
  if (userId === undefined && anonymousId === undefined) return undefined;
  if (!plainId(eventId, 200) || !plainId(userId, 256) || !plainId(anonymousId, 256)) return undefined;
  if (typeof type !== 'string' || type.length < 1 || type.length > 100) return undefined;
  if (timestamp !== undefined && !(typeof timestamp === 'string' ? timestamp.length <= 64 : Number.isFinite(timestamp))) return undefined;
  if (text !== undefined && typeof text !== 'string') return undefined;
  if (source !== undefined && (typeof source !== 'string' || source.length > 100)) return undefined;
  if (properties !== undefined && !plainObject(properties)) return undefined;
  return {
    eventId: eventId as string | undefined,
    userId: userId as string | undefined,
    anonymousId: anonymousId as string | undefined,
    type,
    timestamp: timestamp as string | number | undefined,
    properties: properties as Record<string, unknown> | undefined,
    text,
    source,
  };
}

/** An object zod's record accepts with string keys: Object's (or no) prototype, no `constructor` of its own, no symbol keys. */
function plainObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === null) && !Object.hasOwn(v, 'constructor') && Object.getOwnPropertySymbols(v).length === 0;
}

/**
 * Validates and cleans one raw event. Never throws for bad input: a problem becomes a
 * rejection naming the reason and the field; repairable problems become warnings.
 */
export function cleanEvent(raw: unknown, receivedAt: number, limits: CleanLimits = DEFAULT_CLEAN_LIMITS): CleanResult {
  return cleanEventWith(raw, receivedAt, limits, true);
}

/** `cleanEvent`, with the zod-free check for the common shape (`quick`) or always through zod (to test that both agree). */
export function cleanEventWith(raw: unknown, receivedAt: number, limits: CleanLimits, quick: boolean): CleanResult {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, rejection: { reason: 'not_an_object', field: '', message: 'each event must be a JSON object' } };
  const input = applyAliases(raw as Record<string, unknown>);
  const fast = quick ? quickValidate(input) : undefined;
  const parsed = fast ? ({ success: true, data: fast } as const) : eventInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const keys = issue.code === 'unrecognized_keys' ? ((issue as { keys?: string[] }).keys ?? []) : [];
    const field = keys.length ? keys.join(',') : formatPath(issue.path);
    const eventId = (raw as { eventId?: unknown }).eventId;
    return {
      ok: false,
      rejection: { reason: reasonFor(issue.code, issue.message, (issue as { params?: unknown }).params), field, message: issue.message },
      ...(typeof eventId === 'string' ? { eventId } : {}),
    };
  }
  const e = parsed.data;
  const warnings: EventWarning[] = [];
  try {
    const type = normaliseName(e.type);
    if (!/^\p{L}[\p{L}\p{N}_]*$/u.test(type)) reject('invalid_type_name', 'type', 'type must contain letters (e.g. page_view)');
    const ts = parseTimestamp(e.timestamp, receivedAt, limits, warnings);
    // The client's own object, not zod's copy: zod rebuilds records by assignment, which would
    // turn a "__proto__" key into a prototype and drop it.
    const rawProps = e.properties ? (input.properties as Record<string, unknown>) : undefined;
    const properties = rawProps ? cleanObject(rawProps, ['properties'], 1, warnings) : {};
    const propsJson = JSON.stringify(properties);
    if (propsJson.length > limits.maxPropertiesBytes) reject('too_large', 'properties', `properties must serialise to at most ${limits.maxPropertiesBytes} bytes`);

    let rawText = e.text;
    if (rawText === undefined && TEXT_TYPES.has(type)) {
      const fallback = properties.query ?? properties.message ?? properties.text;
      if (typeof fallback === 'string') rawText = fallback;
    }
    let text: string | null = null;
    if (rawText !== undefined) {
      const norm = normaliseText(rawText);
      if (norm.repaired) warnings.push({ code: 'invalid_unicode_replaced', field: 'text', message: 'unpaired surrogates replaced' });
      if (norm.text.length > limits.maxTextChars) reject('too_long', 'text', `text must be at most ${limits.maxTextChars} characters`);
      text = norm.text === '' ? null : norm.text;
    }
    if (text === null && TEXT_TYPES.has(type)) reject('missing_text', 'text', `a ${type} event needs non-empty text`);

    const identityKind = e.userId !== undefined ? 'user' : 'anonymous';
    const identity = (e.userId ?? e.anonymousId) as string;
    const source = e.source !== undefined ? normaliseText(e.source).text || null : null;
    const contentHash = hash(`${type}\u0000${propsJson}\u0000${text ?? ''}`);
    const dedupeKey = hash(e.eventId !== undefined ? `e\u0000${e.eventId}` : `h\u0000${identityKind}\u0000${identity}\u0000${type}\u0000${ts}\u0000${contentHash}`);
    const missing: string[] = [];
    if (e.timestamp === undefined) missing.push('timestamp');
    const expected = EXPECTED_PROPERTIES[type];
    if (expected) for (const p of expected) if (properties[p] === undefined || properties[p] === null) missing.push(`${type}.${p}`);
    return {
      ok: true,
      missing,
      propertiesJson: propsJson,
      event: {
        identityKind,
        identity,
        type,
        ts,
        properties,
        text,
        source,
        clientEventId: e.eventId ?? null,
        contentHash,
        dedupeKey,
        warnings,
      },
    };
  } catch (err) {
    if (err instanceof Reject) return { ok: false, rejection: err.rejection, ...(e.eventId !== undefined ? { eventId: e.eventId } : {}) };
    throw err;
  }
}
