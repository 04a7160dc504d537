/**
 * PII redaction before any text reaches an LLM (and before the offline extractor, so quotes are
 * always taken from the same redacted text). Pure and deterministic: the same input and options give
 * the same output, because evidence quotes are verified against the redacted text later.
 *
 * Order matters and is fixed: email → IPv6 → IPv4 → IBAN → card → phone. Earlier types are replaced
 * first so their digits cannot be mistaken for a later type (an IP for a phone, an IBAN for a card).
 *
 * What is NOT redacted, by decision:
 * - card-like digit runs that fail the Luhn check, and IBAN-like strings that fail mod-97;
 * - bare digit runs without separators (order numbers, SKUs, "size 44", years, prices), unless an
 *   explicit phone cue ("call me", "phone", "tel", "mobile", "cell", "whatsapp", "sms", "text me")
 *   precedes them: "5551234567" alone is indistinguishable from an order number;
 * - separated digit groups that look like dates (2024-01-15, 15.01.2024) or that follow an order
 *   cue ("order", "invoice", "ref", "tracking", "ticket", "case", "#"): those are identifiers the
 *   support issue may need, not contact data.
 * National phones with separators need 9-15 digits ("555-123-4567", "(555) 123 4567",
 * "07700 900123", "06 12 34 56 78"); international ones start with + or 00 and need 8-15.
 */
import { isIPv6 } from 'node:net';

export const PII_TYPES = ['email', 'phone', 'card', 'iban', 'ip'] as const;
export type PiiType = (typeof PII_TYPES)[number];

export interface RedactOptions {
  /** which types to redact; all by default */
  types?: readonly PiiType[];
  /**
   * placeholder: a template where {TYPE} / {type} become the upper / lower case type name
   * (default "[{TYPE}]"), or a function of the type.
   */
  placeholder?: string | ((type: PiiType) => string);
}

export interface RedactResult {
  text: string;
  counts: Record<PiiType, number>;
  /** total replacements */
  total: number;
}

const EMAIL_RE = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}(?![\p{L}\p{N}])/gu;
// Candidate; validated with node's parser. Allows an embedded dotted quad (::ffff:192.0.2.1).
const IPV6_RE = /(?<![\p{L}\p{N}:])(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?(?![\p{L}\p{N}:])/giu;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`(?<![\\d.])${OCTET}(?:\\.${OCTET}){3}(?!\\.?\\d)`, 'g');
// Contiguous, or printed in groups of four ("DE89 3704 0044 0532 0130 00").
const IBAN_RE = /(?<![\p{L}\p{N}])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)(?![\p{L}\p{N}])/giu;
const CARD_RE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
// Groups of digits joined by single separators, optionally with a (area) group or a +/00 prefix.
const PHONE_RE = /(?<![\p{L}\p{N}+#/.-])(?:\+|00)?\(?\d{1,5}\)?(?:[ .-]\(?\d{1,8}\)?){1,6}(?![\p{N}]|[.-]\d)/gu;
const BARE_PHONE_RE = /(?<=\b(?:call|phone|tel|telephone|mobile|cell|whatsapp|sms|text)\b[^\p{N}\n]{0,20})(?:\+|00)?\d{9,15}(?!\p{N})/giu;
const DATE_RE = /^(?:(?:19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:19|20)?\d{2})\b/;
// An identifier cue shortly before the digits, with no contact cue after it.
const ORDER_CUE_RE =
  /(?:\b(?:order|invoice|ref|reference|tracking|ticket|case|sku|item|parcel|shipment|account|acct|no\.)|#)(?![^\n]*\b(?:call|phone|tel|mobile|cell|reach|contact|text|whatsapp|number is)\b)[^\n]*$/i;

/** Luhn checksum, used to keep ordinary long numbers that are not card numbers. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 check: move the first four characters to the end, letters to numbers, mod 97 == 1. */
export function ibanValid(raw: string): boolean {
  const iban = raw.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const n = code >= 65 ? String(code - 55) : ch;
    for (const digit of n) rem = (rem * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return rem === 1;
}

function placeholderFor(type: PiiType, opt: RedactOptions['placeholder']): string {
  if (typeof opt === 'function') return opt(type);
  const tpl = opt ?? '[{TYPE}]';
  return tpl.replaceAll('{TYPE}', type.toUpperCase()).replaceAll('{type}', type);
}

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** The longest run of consecutive ASCII digits. */
function longestDigitRun(s: string): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++run > best) best = run;
    } else run = 0;
  }
  return best;
}

/** True when the text holds an ASCII digit, '@' or ':'. */
function mayHoldPii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 58) || c === 64) return true;
  }
  return false;
}

// What each pattern provably needs (`\d` is ASCII [0-9] in JavaScript, with or without the u and i
// flags, and '@' and ':' have no case variants), so a text without it is passed by untouched. The
// guards only skip work: the output is the same as running every pattern (test/traits/redact-same-output.test.ts).
// - email needs '@', an IPv6 address two ':', every other pattern ASCII digits;
// - IPv4 needs 4 digits, IBAN 2, a card 13 (its regex), a separated phone 8 (its check), and a bare
//   phone a run of 9 consecutive digits (`\d{9,15}`).
const MIN_DIGITS = { ipv4: 4, iban: 2, card: 13, phone: 8 } as const;
const BARE_PHONE_MIN_RUN = 9;

export function redactPii(text: string, opts: RedactOptions = {}): RedactResult {
  const counts: Record<PiiType, number> = { email: 0, phone: 0, card: 0, iban: 0, ip: 0 };
  // No digit, '@' or ':': no pattern can match (most chat lines).
  if (!mayHoldPii(text)) return { text, counts, total: 0 };
  const enabled = new Set<PiiType>(opts.types ?? PII_TYPES);
  let out = text;
  // digits in `out`, counted again only after a replacement (a placeholder may hold digits)
  let digits = -1;
  const digitsNow = () => (digits >= 0 ? digits : (digits = digitCount(out)));
  const sub = (type: PiiType, re: RegExp, accept: (m: string, offset: number, whole: string) => boolean) => {
    if (!enabled.has(type)) return;
    const ph = placeholderFor(type, opts.placeholder);
    let replaced = false;
    out = out.replace(re, (m: string, ...rest: unknown[]) => {
      // replace() passes (match, ...groups, offset, whole); none of these regexes has groups.
      const offset = rest[0] as number;
      const whole = rest[1] as string;
      if (!accept(m, offset, whole)) return m;
      counts[type]++;
      replaced = true;
      return ph;
    });
    if (replaced) digits = -1;
  };

  if (out.includes('@')) sub('email', EMAIL_RE, () => true);
  if (out.includes(':')) sub('ip', IPV6_RE, (m) => (m.includes('::') || m.split(':').length >= 8 ? isIPv6(m) : false));
  if (digitsNow() >= MIN_DIGITS.ipv4) sub('ip', IPV4_RE, () => true);
  if (digitsNow() >= MIN_DIGITS.iban) sub('iban', IBAN_RE, (m) => ibanValid(m));
  if (digitsNow() >= MIN_DIGITS.card)
    sub('card', CARD_RE, (m) => {
      const ds = m.replace(/[ -]/g, '');
      return ds.length >= 13 && ds.length <= 19 && luhnValid(ds);
    });
  if (digitsNow() >= MIN_DIGITS.phone)
    sub('phone', PHONE_RE, (m, offset, whole) => {
      const n = digitCount(m);
      const intl = m.startsWith('+') || m.startsWith('00');
      if (n > 15 || n < (intl ? 8 : 9)) return false;
      if (!intl && DATE_RE.test(m)) return false;
      if (ORDER_CUE_RE.test(whole.slice(Math.max(0, offset - 30), offset))) return false;
      return true;
    });
  // The lookbehind regex is the costly one: only run it where 9 digits stand together.
  if (digitsNow() >= BARE_PHONE_MIN_RUN && longestDigitRun(out) >= BARE_PHONE_MIN_RUN) sub('phone', BARE_PHONE_RE, () => true);

  const total = counts.email + counts.phone + counts.card + counts.iban + counts.ip;
  return { text: out, counts, total };
}
