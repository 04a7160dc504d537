/**
 * PostgreSQL beside SQLite, same machine, same run (README "Scaling out"):
 *   node --import tsx bench/postgres.ts --url postgres://traitlens:traitlens@127.0.0.1:5432/traitlens_test [--n 100000] [--queries 300] [--json]
 *
 * Similar users at N vectors: pgvector's HNSW (SQL, `vector_cosine_ops`, the same M / ef_construction /
 * ef_search as the in-process index) against hnswlib-node (the SQLite deployment's index). Recall@10
 * against an exact scan, query p50/p99, build time. Data: latent-factor vectors of the production
 * dimension (as bench/similar.ts). The benchmark works in its own schema and drops it.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/core/config.ts';
import { mulberry32 } from '../src/core/random.ts';
import { openStore } from '../src/db/open.ts';
import type { PgProfileStore } from '../src/db/stores/profiles-pg.ts';
import { VectorIndex } from '../src/similar/hnsw-index.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.TRAITLENS_TEST_PG_URL ?? '' },
    n: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '213' },
    queries: { type: 'string', default: '300' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.url) throw new Error('--url postgres://… (or TRAITLENS_TEST_PG_URL) is required');
const N = Number(values.n);
const DIM = Number(values.dim);
const Q = Number(values.queries);
const config = loadConfig({});

const rnd = mulberry32(12345);
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
const LATENT = 32;
const A = Array.from({ length: DIM * LATENT }, gauss);
function sample(): Float32Array {
  const z = Array.from({ length: LATENT }, gauss);
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) {
    let s = 0;
    for (let j = 0; j < LATENT; j++) s += A[i * LATENT + j]! * z[j]!;
    v[i] = s + gauss() * 0.5;
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  for (let i = 0; i < DIM; i++) v[i] = v[i]! / norm;
  return v;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

function exactTop(vs: Float32Array[], q: Float32Array, k: number): number[] {
  const scores = vs.map((v, i) => {
    let d = 0;
    for (let j = 0; j < DIM; j++) d += v[j]! * q[j]!;
    return [d, i] as const;
  });
  scores.sort((a, b) => b[0] - a[0]);
  return scores.slice(0, k).map((s) => s[1]);
}

async function main() {
  const vs = Array.from({ length: N }, sample);
  const queries = Array.from({ length: Q }, sample);
  const truth = queries.map((q) => exactTop(vs, q, 10));
  const rows: Record<string, string | number>[] = [];

  // hnswlib, as the SQLite deployment runs it.
  {
    const index = VectorIndex.create(DIM, { m: config.TRAITLENS_HNSW_M, efConstruction: config.TRAITLENS_HNSW_EF_CONSTRUCTION, ef: config.TRAITLENS_HNSW_EF }, 'bench', N);
    const t0 = performance.now();
    vs.forEach((v, i) => index.upsert(i + 1, v));
    const build = (performance.now() - t0) / 1000;
    const lat: number[] = [];
    let hit = 0;
    queries.forEach((q, qi) => {
      const t = performance.now();
      const got = index.search(q, 10);
      lat.push(performance.now() - t);
      const want = new Set(truth[qi]!.map((i) => i + 1));
      hit += got.filter((h) => want.has(h.label)).length;
    });
    rows.push({ engine: 'hnswlib (in process, SQLite deployment)', vectors: N, 'build s': +build.toFixed(1), 'recall@10': +(hit / (Q * 10)).toFixed(3), 'p50 ms': +pct(lat, 50).toFixed(2), 'p99 ms': +pct(lat, 99).toFixed(2) });
  }

  // pgvector through the store, in a schema of its own.
  const schema = `bench_${Date.now().toString(36)}`;
  const admin = new pg.Pool({ connectionString: values.url, max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const url = new URL(values.url!);
  url.searchParams.set('options', `-c search_path=${schema},public`);
  const store = await openStore({ ...config, TRAITLENS_DB: url.toString() });
  try {
    const profiles = store.profiles as PgProfileStore;
    const ids: number[] = [];
    for (let i = 0; i < N; i += 1000) {
      await store.exec.tx(async (q) => {
        const n = Math.min(1000, N - i);
        const r = await q.all<{ id: number }>(
          `INSERT INTO users (external_id, created_at, updated_at) SELECT 'u' || g, 1, 1 FROM generate_series(?::int, ?::int) g RETURNING id`,
          [i, i + n - 1],
        );
        ids.push(...r.map((x) => Number(x.id)));
      });
    }
    const t0 = performance.now();
    for (let i = 0; i < N; i += 1000) {
      await profiles.writeMany(
        vs.slice(i, i + 1000).map((v, j) => ({ userId: ids[i + j]!, version: 'bench', vector: v, blocks: {}, profileVersion: 1, updatedAt: i + j })),
        [],
      );
    }
    const build = (performance.now() - t0) / 1000;
    const byId = new Map(ids.map((id, i) => [id, i]));
    const lat: number[] = [];
    let hit = 0;
    for (let qi = 0; qi < Q; qi++) {
      const t = performance.now();
      const got = await profiles.nearest({ version: 'bench', vector: queries[qi]!, k: 10 });
      lat.push(performance.now() - t);
      const want = new Set(truth[qi]!);
      hit += got.filter((h) => want.has(byId.get(h.userId)!)).length;
    }
    rows.push({ engine: 'pgvector HNSW (SQL, PostgreSQL deployment)', vectors: N, 'build s': +build.toFixed(1), 'recall@10': +(hit / (Q * 10)).toFixed(3), 'p50 ms': +pct(lat, 50).toFixed(2), 'p99 ms': +pct(lat, 99).toFixed(2) });
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
    await admin.end();
  }

  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    const cols = Object.keys(rows[0]!);
    console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
    console.log(`\nM=${config.TRAITLENS_HNSW_M}, ef_construction=${config.TRAITLENS_HNSW_EF_CONSTRUCTION}, ef_search=${config.TRAITLENS_HNSW_EF}, dim=${DIM}, ${Q} queries, one client.`);
  }
}

await main();
