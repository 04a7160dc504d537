import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '../../src/core/random.ts';
import { type RedactOptions, redactPii } from '../../src/traits/redact.ts';
import { redactPii as redactBefore } from './fixtures/redact-before.ts';

/**
 * The redaction's guards (no digit, '@' or ':' → nothing to do; each pattern only where the text
 * holds the digits it needs; the lookbehind bare-phone pattern only beside 9 digits in a row) only
 * skip work: the output (text and counts) is the same as the frozen copy without them
 * (fixtures/redact-before.ts), on real chat and on strings built to sit at the guards' edges.
 */
const PERSONACHAT = resolve(import.meta.dirname, '../../../shared/datasets/personachat/speakers-dev.jsonl');

const OPTIONS: RedactOptions[] = [
  {},
  { placeholder: '<{type}>' },
  // placeholders holding digits: a replacement may create digits (and runs of them) for later patterns
  { placeholder: '{type}123456789' },
  { placeholder: (t) => `${t}:2001:db8::1 4111111111111111 call 5551234567@x.io` },
  { types: ['phone'] },
  { types: ['email', 'ip'] },
  { types: ['card', 'iban'] },
];

function same(texts: readonly string[]) {
  let redacted = 0;
  for (const opts of OPTIONS) {
    for (const t of texts) {
      const a = redactBefore(t, opts);
      const b = redactPii(t, opts);
      if (b.text !== a.text || JSON.stringify(b.counts) !== JSON.stringify(a.counts) || b.total !== a.total) {
        expect({ text: t, opts: String(opts.placeholder ?? ''), got: b }).toEqual({ text: t, opts: String(opts.placeholder ?? ''), got: a });
      }
      redacted += a.total;
    }
  }
  return redacted;
}

const PIECES = [
  '0',
  '1',
  '5',
  '7',
  '9',
  '12',
  '555',
  '1234',
  '55512345',
  '555123456',
  '5551234567',
  '4111111111111111',
  '4111 1111 1111 1111',
  ' ',
  ' ',
  ' ',
  '-',
  '.',
  '+',
  '00',
  '(',
  ')',
  '#',
  '/',
  ':',
  '::',
  '@',
  '\n',
  ',',
  'call ',
  'call me on ',
  'phone ',
  'tel:',
  'mobile ',
  'cell',
  'whatsapp ',
  'sms ',
  'text me ',
  'ſms ',
  'teL ',
  'TEXT ',
  'order ',
  'invoice ',
  'ref ',
  'no. ',
  'number is ',
  'a',
  'x',
  'DE89',
  'GB82WEST',
  '3704 0044 0532 0130 00',
  'ff',
  'db8',
  'é',
  '٣',
  '１',
  'jane',
  '.doe',
  'example.com',
  '192.168.',
  '2024-01-15',
  '15.01.2024',
  'K',
  'ß',
];

function adversarial(n: number): string[] {
  const r = rng(15);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r() * 14);
    let s = '';
    for (let j = 0; j < len; j++) s += PIECES[Math.floor(r() * PIECES.length)];
    out.push(s);
  }
  return out;
}

const EDGES = [
  '',
  'no digits at all, just words about a phone call',
  'call 12345678', // 8 digits in a row: under the bare phone's 9
  'call 123456789', // 9: redacted
  'call me: 12345 6789', // 9 digits, not in a row
  'sms ١٢٣٤٥٦٧٨٩٠', // non-ASCII digits: \\d is ASCII only
  'text １２３４５６７８９０',
  'mail a@b.co',
  'a:b::c',
  '1.2.3', // 3 digits: under IPv4's 4
  '1.2.3.4',
  'DE89', // 2 digits
  '4111 1111 1111 111', // 12 digits: under the card's 13
  '555-123-456', // 9 digits in groups
  '555-12-345', // 8
  '+44 20 7946', // 8, international
  'ſms 5551234567',
  'ᴋ call\n5551234567',
];

describe('redaction with its guards gives the same output as without', () => {
  it('on strings at the guards’ edges and 4,000 seeded random strings of digits, separators, cues and placeholders', () => {
    const redacted = same([...EDGES, ...adversarial(4000)]);
    // the strings exercise redaction, not only its skips
    expect(redacted).toBeGreaterThan(1000);
  });

  it.skipIf(!existsSync(PERSONACHAT))('on the PersonaChat tune utterances (speakers 0–599 of speakers-dev.jsonl)', () => {
    const lines = readFileSync(PERSONACHAT, 'utf8').split('\n').filter(Boolean).slice(0, 600);
    const texts = lines.flatMap((l) => (JSON.parse(l) as { utterances: string[] }).utterances);
    expect(texts.length).toBeGreaterThan(4000);
    same(texts);
  });
});
