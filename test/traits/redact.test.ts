import { describe, expect, it } from 'vitest';
import { ibanValid, luhnValid, redactPii } from '../../src/traits/redact.ts';

describe('redactPii', () => {
  it.each([
    ['mail me at jane.doe+shop@example.co.uk please', 'mail me at [EMAIL] please', 'email'],
    ['call +44 20 7946 0958 today', 'call [PHONE] today', 'phone'],
    ['my number is +1 (555) 123-4567', 'my number is [PHONE]', 'phone'],
    ['ring 555-123-4567 after 5', 'ring [PHONE] after 5', 'phone'],
    ['mobile: 07700 900123', 'mobile: [PHONE]', 'phone'],
    ['appelle 06 12 34 56 78', 'appelle [PHONE]', 'phone'],
    ['0049 30 1234567 is the office', '[PHONE] is the office', 'phone'],
    ['call me on 07700900123', 'call me on [PHONE]', 'phone'],
    ['card 4111 1111 1111 1111 exp 12/27', 'card [CARD] exp 12/27', 'card'],
    ['card 5500-0000-0000-0004', 'card [CARD]', 'card'],
    ['paid with 378282246310005', 'paid with [CARD]', 'card'],
    ['iban DE89 3704 0044 0532 0130 00 thanks', 'iban [IBAN] thanks', 'iban'],
    ['GB82WEST12345698765432', '[IBAN]', 'iban'],
    ['server 192.168.1.20 is down', 'server [IP] is down', 'ip'],
    ['from 2001:db8:85a3::8a2e:370:7334 and ::1', 'from [IP] and [IP]', 'ip'],
    ['ipv6 full 2001:0db8:0000:0000:0000:ff00:0042:8329.', 'ipv6 full [IP].', 'ip'],
    ['mapped ::ffff:192.0.2.128 here', 'mapped [IP] here', 'ip'],
  ] as const)('%s', (input, expected, type) => {
    const r = redactPii(input);
    expect(r.text).toBe(expected);
    expect(r.counts[type]).toBeGreaterThan(0);
  });

  it('keeps a card-like number that fails the Luhn check', () => {
    const r = redactPii('card 4111 1111 1111 1112');
    expect(r.text).toBe('card 4111 1111 1111 1112');
    expect(r.counts.card).toBe(0);
  });

  it('keeps an IBAN-like string that fails mod-97', () => {
    const r = redactPii('iban DE89 3704 0044 0532 0130 01');
    expect(r.counts.iban).toBe(0);
    expect(r.text).toContain('DE89 3704 0044 0532 0130 01');
  });

  it.each([
    'size 44 in blue',
    'it costs $1,299.99 or 1.299,99 EUR',
    'born in 1987, moved in 2024',
    'delivered on 2024-01-15 10:30',
    'due 15.01.2024 at 14:00',
    'order #123-456-789 is late',
    'order number 12345678901 never came',
    'invoice 2024-000123-77',
    'version 1.2.3.4.5 of the app',
    'a 10-20 minute wait, 3x faster, 2.5 stars',
    'tracking: 1Z 999 AA1 01 2345 6784',
    'the time is 10:30:45',
    'std::string in code',
    'rated 4.5/5 by 1200 people',
  ])('no false positive: %s', (input) => {
    const r = redactPii(input);
    expect(r.text).toBe(input);
    expect(r.total).toBe(0);
  });

  it('redacts a phone after an order mention when a contact cue follows', () => {
    expect(redactPii('my order is late, call me at 555-123-4567').text).toBe('my order is late, call me at [PHONE]');
  });

  it('counts by type and is deterministic', () => {
    const input = 'a@b.io, c@d.org, 10.0.0.1, card 4242 4242 4242 4242';
    const a = redactPii(input);
    const b = redactPii(input);
    expect(a).toEqual(b);
    expect(a.counts).toEqual({ email: 2, phone: 0, card: 1, iban: 0, ip: 1 });
    expect(a.total).toBe(4);
  });

  it('is configurable: types and placeholder format', () => {
    const input = 'mail a@b.io or call +1 555 123 4567';
    expect(redactPii(input, { types: ['email'] }).text).toBe('mail [EMAIL] or call +1 555 123 4567');
    expect(redactPii(input, { placeholder: '<{type}>' }).text).toBe('mail <email> or call <phone>');
    expect(redactPii(input, { placeholder: (t) => `***${t.length}` }).text).toBe('mail ***5 or call ***5');
  });

  it('checksums', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
  });
});
