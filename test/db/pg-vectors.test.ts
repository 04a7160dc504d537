import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.ts';
import { openStore } from '../../src/db/open.ts';
import type { Store } from '../../src/db/store.ts';
import { PgProfileStore } from '../../src/db/stores/profiles-pg.ts';
import { mulberry32 } from '../../src/core/random.ts';
import { createTempPgSchema, pgAvailable, type TempPg } from '../support/pg.ts';

// Similar users on PostgreSQL: pgvector's HNSW index answers in SQL, with filters over users, and
// agrees with an exact scan. 2,000 random 32-d vectors in 20 clusters.
const N = 2000;
const DIM = 32;

function vectors(): Float32Array[] {
  const rnd = mulberry32(7);
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: DIM }, () => rnd() * 2 - 1));
  return Array.from({ length: N }, (_, i) => Float32Array.from(centres[i % 20]!, (c) => c + (rnd() - 0.5) * 0.6));
}

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return d / Math.sqrt(na * nb);
};

describe.skipIf(!pgAvailable())('pgvector user vectors', () => {
  let pg: TempPg;
  let store: Store;
  let profiles: PgProfileStore;
  const vs = vectors();
  const ids: number[] = [];

  beforeAll(async () => {
    pg = await createTempPgSchema();
    store = await openStore({ ...loadConfig({}), TRAITLENS_DB: pg.url });
    expect(store.profiles).toBeInstanceOf(PgProfileStore);
    profiles = store.profiles as PgProfileStore;
    await store.exec.tx(async (q) => {
      for (let i = 0; i < N; i++) {
        const r = await q.get<{ id: number }>('INSERT INTO users (external_id, attributes, created_at, updated_at) VALUES (?, ?, 1, 1) RETURNING id', [
          `u${i}`,
          JSON.stringify({ plan: i % 2 ? 'pro' : 'free' }),
        ]);
        ids.push(Number(r!.id));
      }
    });
    const writes = ids.map((userId, i) => ({ userId, version: 'v1', vector: vs[i]!, blocks: { text: true }, profileVersion: 1, updatedAt: 1000 + i }));
    for (let i = 0; i < writes.length; i += 500) await profiles.writeMany(writes.slice(i, i + 500), []);
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await pg?.drop();
  });

  const exact = (q: Float32Array, k: number, keep: (i: number) => boolean) =>
    vs
      .map((v, i) => ({ i, s: cosine(q, v) }))
      .filter((x) => keep(x.i))
      .sort((a, b) => b.s - a.s)
      .slice(0, k)
      .map((x) => ids[x.i]!);

  it('recall@10 against an exact scan is high, scores are cosine similarities', async () => {
    let hit = 0;
    for (let t = 0; t < 50; t++) {
      const q = vs[t * 37]!;
      const got = await profiles.nearest({ version: 'v1', vector: q, k: 10 });
      expect(got).toHaveLength(10);
      const truth = new Set(exact(q, 10, () => true));
      hit += got.filter((g) => truth.has(g.userId)).length;
      expect(got[0]!.similarity).toBeCloseTo(1, 4);
      for (let i = 1; i < got.length; i++) expect(got[i]!.similarity).toBeLessThanOrEqual(got[i - 1]!.similarity + 1e-9);
    }
    expect(hit / 500).toBeGreaterThanOrEqual(0.9);
  });

  it('applies filters over users and exclusions in SQL, still returning k rows', async () => {
    const q = vs[3]!;
    const got = await profiles.nearest({
      version: 'v1',
      vector: q,
      k: 10,
      where: { where: `${store.dialect.jsonText('u.attributes', 'plan')} = ?`, params: ['pro'] },
      exclude: [ids[3]!],
    });
    expect(got).toHaveLength(10);
    const pro = new Set(ids.filter((_, i) => i % 2 === 1));
    for (const g of got) expect(pro.has(g.userId)).toBe(true);
    expect(got.map((g) => g.userId)).not.toContain(ids[3]);
    const truth = new Set(exact(q, 10, (i) => i % 2 === 1 && i !== 3));
    expect(got.filter((g) => truth.has(g.userId)).length).toBeGreaterThanOrEqual(8);
  });

  it('only compares vectors of the asked version', async () => {
    expect(await profiles.nearest({ version: 'v0', vector: vs[0]!, k: 5 })).toEqual([]);
  });

  it('backfills pgvector columns of copied rows', async () => {
    await store.exec.run('UPDATE user_profiles SET embedding = NULL WHERE user_id IN (?, ?)', [ids[0], ids[1]]);
    expect(await profiles.backfillEmbeddings()).toBe(2);
    const got = await profiles.nearest({ version: 'v1', vector: vs[0]!, k: 1 });
    expect(got[0]!.userId).toBe(ids[0]);
  });
});
