import { expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/db/stores/audit.ts';
import { describeStores } from '../../support/backends.ts';

const entry = (i: number): AuditEntry => ({
  at: 1_000 + i * 10,
  keyId: i % 3 === 0 ? 'key_a' : 'key_b',
  action: i % 2 ? 'profile.read' : 'events.read',
  method: 'GET',
  route: i % 2 ? '/v1/users/:id' : '/v1/users/:id/events',
  status: i === 7 ? 404 : 200,
  userId: i % 4 === 0 ? null : 100 + (i % 4),
  ...(i === 5 ? { details: { reason: 'test', n: 5 } } : {}),
});

describeStores('audit', (ctx) => {
  it('writes entries arriving together (one group commit) and reads them back newest first', async () => {
    const audit = ctx.store.audit;
    await Promise.all(Array.from({ length: 25 }, (_, i) => audit.write(entry(i))));
    const { rows, next } = await audit.query({ limit: 100 });
    expect(next).toBeNull();
    expect(rows).toHaveLength(25);
    expect(rows.map((r) => r.id)).toEqual([...rows.map((r) => r.id)].sort((a, b) => b - a));
    // Every entry stored as written (details as an object, null when absent).
    const byAt = new Map(rows.map((r) => [r.at, r]));
    for (let i = 0; i < 25; i++) {
      const { id, ...stored } = byAt.get(entry(i).at)!;
      expect(id).toBeGreaterThan(0);
      expect(stored).toEqual({ ...entry(i), details: entry(i).details ?? null });
    }
  });

  it('pages with a keyset cursor and filters by key, user, route, action and time', async () => {
    const audit = ctx.store.audit;
    for (let i = 0; i < 25; i++) await audit.write(entry(i));
    const seen: number[] = [];
    let before: number | undefined;
    let pages = 0;
    do {
      const page = await audit.query({ limit: 10, before });
      seen.push(...page.rows.map((r) => r.at));
      before = page.next ?? undefined;
      pages++;
    } while (before !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => entry(24 - i).at));

    const ats = async (f: Parameters<typeof audit.query>[0]) => (await audit.query(f)).rows.map((r) => r.at);
    const expectAts = (pred: (i: number) => boolean) =>
      Array.from({ length: 25 }, (_, i) => 24 - i)
        .filter(pred)
        .map((i) => entry(i).at);
    expect(await ats({ limit: 100, keyId: 'key_a' })).toEqual(expectAts((i) => i % 3 === 0));
    expect(await ats({ limit: 100, userId: 101 })).toEqual(expectAts((i) => i % 4 === 1));
    expect(await ats({ limit: 100, route: '/v1/users/:id', action: 'profile.read' })).toEqual(expectAts((i) => i % 2 === 1));
    expect(await ats({ limit: 100, since: 1_050, until: 1_100 })).toEqual(expectAts((i) => i >= 5 && i < 10));
    expect(await ats({ limit: 100, keyId: 'key_none' })).toEqual([]);
    // A filtered page's cursor continues the same filter.
    const p1 = await audit.query({ limit: 2, keyId: 'key_b', userId: 102 });
    const p2 = await audit.query({ limit: 2, keyId: 'key_b', userId: 102, before: p1.next! });
    expect([...p1.rows, ...p2.rows].map((r) => r.at)).toEqual(expectAts((i) => i % 3 !== 0 && i % 4 === 2).slice(0, 4));
  });
});
