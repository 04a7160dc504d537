import { expect, it } from 'vitest';
import { describeStores } from '../../support/backends.ts';

const rec = (requestHash: string, ttlMs = 1_000) => ({ route: 'POST /v1/segments', requestHash, ttlMs, staleMs: 500 });

describeStores('idempotency', (ctx) => {
  it('the first begin claims a key; later ones see the pending claim, then the stored answer', async () => {
    const s = ctx.store.idempotency;
    expect(await s.begin('key_a', 'k1', rec('h1'), 100)).toEqual({ claimed: true });
    const pending = await s.begin('key_a', 'k1', rec('h1'), 150);
    expect(pending).toMatchObject({ claimed: false, record: { requestHash: 'h1', status: null, response: null, route: 'POST /v1/segments', createdAt: 100, expiresAt: 1_100 } });
    await s.finish('key_a', 'k1', 201, 'sealed answer');
    expect(await s.begin('key_a', 'k1', rec('h1'), 200)).toMatchObject({ claimed: false, record: { status: 201, response: 'sealed answer' } });
    // Per API key: another key's caller may use the same Idempotency-Key.
    expect(await s.begin('key_b', 'k1', rec('h2'), 200)).toEqual({ claimed: true });
  });

  it('an expired record counts as absent and is pruned; an abandoned claim frees the key', async () => {
    const s = ctx.store.idempotency;
    await s.begin('key_a', 'k1', rec('h1'), 100);
    await s.finish('key_a', 'k1', 201, 'x');
    await s.begin('key_a', 'k2', rec('h2', 10_000), 100);
    expect(await s.begin('key_a', 'k1', rec('h3'), 1_100)).toEqual({ claimed: true }); // expired at 1,100
    expect(await s.prune(20_000)).toBe(2);
    await s.begin('key_a', 'k3', rec('h1'), 30_000);
    await s.abandon('key_a', 'k3');
    expect(await s.begin('key_a', 'k3', rec('h9'), 30_001)).toEqual({ claimed: true });
  });

  it('a claim left unanswered past staleMs (its request died) is dropped; an answered one is kept', async () => {
    const s = ctx.store.idempotency;
    await s.begin('key_a', 'k1', rec('h1', 60_000), 1_000);
    expect((await s.begin('key_a', 'k1', rec('h1', 60_000), 1_400)).claimed).toBe(false);
    expect(await s.begin('key_a', 'k1', rec('h1', 60_000), 1_500)).toEqual({ claimed: true });
    await s.finish('key_a', 'k1', 201, 'x');
    expect((await s.begin('key_a', 'k1', rec('h1', 60_000), 9_000)).claimed).toBe(false);
  });
});
