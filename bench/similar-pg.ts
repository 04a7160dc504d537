/**
 * pgvector on the similar-users benchmark's vectors (docs/user-vector.md, "Benchmark"):
 *   node --import tsx bench/similar-pg.ts [--url postgres://…] [--n 100000] [--queries 500]
 *     [--ef 32,64,128,200,256,400] [--types vector,halfvec] [--maintenance-work-mem 1GB] [--workers 0]
 *     [--renice 10] [--cache-dir .cache/bench-similar] [--json]
 *
 * Reads the vectors, queries and exact top-10 that bench/similar.ts cached under
 * <cache>/n<N>-d<dim>-seed12345-m16-efc200-q<Q>/ (run it first with the same --n and --queries),
 * loads them into a table of its own schema shaped like the product's `user_profiles.embedding`
 * (an untyped `vector` column), and builds pgvector HNSW expression indexes like PgProfileStore's:
 * `(embedding::vector(dim)) vector_cosine_ops` and, beside it, `(embedding::halfvec(dim))
 * halfvec_cosine_ops` (half-precision: half the memory per vector). Same M / ef_construction as the
 * hnswlib index (16 / 200). Per type: build time, index size, then per hnsw.ef_search recall@10
 * against the exact top-10 and query p50/p99 measured by the client (one connection, one query at a
 * time, the product's query shape: ORDER BY distance LIMIT 10, a round trip on loopback included).
 * The schema is dropped at the end.
 *
 * The PostgreSQL backend is niced (--renice, needs the right to renice the server's processes; the
 * machine is shared) and builds single-threaded by default (--workers 0 =
 * max_parallel_maintenance_workers), like the hnswlib build it is compared with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { FLAGGED_POLICIES } from '../src/core/data-quality.ts';
import { FEATURE_VERSION, featureDefs } from '../src/features/definitions.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.TRAITLENS_TEST_PG_URL ?? 'postgres://traitlens:traitlens@127.0.0.1:5432/traitlens_test' },
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '500' },
    ef: { type: 'string', default: '32,64,128,200,256,400' },
    types: { type: 'string', default: 'vector,halfvec' },
    'maintenance-work-mem': { type: 'string', default: '1GB' },
    workers: { type: 'string', default: '0' },
    renice: { type: 'string', default: '10' },
    'cache-dir': { type: 'string', default: '.cache/bench-similar' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const Q = Number(values.queries);
const M = 16;
const EFC = 200;
const log = (m: string) => {
  if (!values.json) process.stderr.write(`${m}\n`);
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

// The same cache key as bench/similar.ts.
const behaviourDim = featureDefs({ version: FEATURE_VERSION, asOf: 0, eventTypes: [], categories: [], properties: [] }).reduce(
  (n, d) => n + (FLAGGED_POLICIES.has(d.type) ? 2 : 1),
  0,
);
const DIM = 100 + behaviourDim + 100;
const cdir = join(values['cache-dir'] as string, `n${N}-d${DIM}-seed12345-m${M}-efc${EFC}-q${Q}`);
const f32 = (name: string) => {
  const b = readFileSync(join(cdir, name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
for (const name of ['vectors.f32', 'queries.f32', 'truth.i32'])
  if (!existsSync(join(cdir, name))) throw new Error(`${join(cdir, name)} is missing: run bench/similar.ts --n ${N} --queries ${Q} first`);
const data = f32('vectors.f32');
if (data.length !== N * DIM) throw new Error(`vectors.f32 holds ${data.length / DIM} vectors, expected ${N}`);
const qs = f32('queries.f32');
const queries = Array.from({ length: Q }, (_, i) => qs.subarray(i * DIM, (i + 1) * DIM));
const tb = readFileSync(join(cdir, 'truth.i32'));
const t = new Int32Array(tb.buffer, tb.byteOffset, tb.byteLength / 4);
const truth = Array.from({ length: Q }, (_, i) => new Set(t.subarray(i * 10, i * 10 + 10)));
// A float32 printed as the shortest double that equals it parses back to the same float32.
const literal = (v: Float32Array) => `[${Array.from(v).join(',')}]`;

const types = (values.types as string).split(',') as ('vector' | 'halfvec')[];
const efs = (values.ef as string).split(',').map(Number);
const schema = `bench_similar_pg_${process.pid}`;
const client = new pg.Client({ connectionString: values.url as string });
const notices: string[] = [];
client.on('notice', (n) => notices.push(n.message ?? String(n)));
await client.connect();
const one = async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows[0] as T;

interface Row {
  type: string;
  ef: number;
  recall_at_10: number;
  p50_ms: number;
  p99_ms: number;
}
const builds: { type: string; build_seconds: number; index_mb: number; notices: string[] }[] = [];
const rows: Row[] = [];
let tableMb = 0;
let loadSeconds = 0;
let reniced = '';
try {
  const pid = (await one<{ pid: number }>('SELECT pg_backend_pid() AS pid')).pid;
  if (Number(values.renice) > 0) {
    try {
      setPriority(pid, Number(values.renice));
      reniced = `backend ${pid} reniced to ${values.renice}`;
    } catch {
      reniced = `backend ${pid} not reniced (no permission)`;
    }
  }
  const version = (await one<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).v;
  log(`pgvector ${version}; ${N.toLocaleString('en-US')} vectors of ${DIM} from ${cdir}; schema ${schema}; ${reniced}`);
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`SET search_path = ${schema}, public`);
  // Shaped like user_profiles.embedding: an untyped vector column, indexed by expression.
  await client.query('CREATE TABLE items (id integer PRIMARY KEY, embedding vector NOT NULL)');
  const t0 = performance.now();
  const B = 1000;
  for (let i = 0; i < N; i += B) {
    const n = Math.min(B, N - i);
    const ids = Array.from({ length: n }, (_, j) => i + j + 1);
    const lits = ids.map((id) => literal(data.subarray((id - 1) * DIM, id * DIM)));
    await client.query('INSERT INTO items (id, embedding) SELECT id, e::vector FROM unnest($1::int[], $2::text[]) AS u(id, e)', [ids, lits]);
    if ((i + n) % 100000 === 0) log(`  loaded ${i + n}`);
  }
  await client.query('VACUUM ANALYZE items');
  loadSeconds = (performance.now() - t0) / 1000;
  tableMb = Number((await one<{ b: string }>("SELECT pg_total_relation_size('items') AS b")).b) / 2 ** 20;
  log(`  table loaded in ${loadSeconds.toFixed(1)} s, ${tableMb.toFixed(0)} MB`);

  await client.query(`SET maintenance_work_mem = '${String(values['maintenance-work-mem']).replace(/[^0-9A-Za-z]/g, '')}'`);
  await client.query(`SET max_parallel_maintenance_workers = ${Math.trunc(Number(values.workers))}`);
  for (const type of types) {
    const cast = `embedding::${type}(${DIM})`;
    notices.length = 0;
    log(`  building the ${type} HNSW index…`);
    const b0 = performance.now();
    await client.query(`CREATE INDEX items_hnsw_${type} ON items USING hnsw ((${cast}) ${type}_cosine_ops) WITH (m = ${M}, ef_construction = ${EFC})`);
    const buildSeconds = (performance.now() - b0) / 1000;
    const indexMb = Number((await one<{ b: string }>(`SELECT pg_relation_size('items_hnsw_${type}') AS b`)).b) / 2 ** 20;
    builds.push({ type, build_seconds: buildSeconds, index_mb: indexMb, notices: [...notices] });
    log(`  ${type}: built in ${buildSeconds.toFixed(1)} s, ${indexMb.toFixed(0)} MB${notices.length ? ` (${notices.join('; ')})` : ''}`);
    const sql = `SELECT id FROM items ORDER BY ${cast} <=> $1::${type}(${DIM}) LIMIT 10`;
    // The plan must be the index: an exact scan would make recall 1.0 and the latency meaningless.
    const plan = (await client.query(`EXPLAIN ${sql}`, [literal(queries[0] as Float32Array)])).rows.map((r) => r['QUERY PLAN']).join('\n');
    if (!plan.includes(`items_hnsw_${type}`)) throw new Error(`the ${type} query does not use its index:\n${plan}`);
    for (const ef of efs) {
      await client.query(`SET hnsw.ef_search = ${Math.trunc(ef)}`);
      for (const q of queries.slice(0, 50)) await client.query(sql, [literal(q)]); // warm-up
      const lat: number[] = [];
      let hit = 0;
      for (const [qi, q] of queries.entries()) {
        const lit = literal(q);
        const s = performance.now();
        const r = await client.query<{ id: number }>(sql, [lit]);
        lat.push(performance.now() - s);
        for (const x of r.rows) if ((truth[qi] as Set<number>).has(x.id)) hit++;
      }
      rows.push({ type, ef, recall_at_10: hit / (Q * 10), p50_ms: pct(lat, 50), p99_ms: pct(lat, 99) });
    }
    // Each type's queries run on its own index only (the other one would change the memory picture).
    await client.query(`DROP INDEX items_hnsw_${type}`);
  }
} finally {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await client.end();
}

const result = {
  n: N,
  dim: DIM,
  m: M,
  ef_construction: EFC,
  maintenance_work_mem: values['maintenance-work-mem'],
  workers: Number(values.workers),
  reniced,
  load_seconds: loadSeconds,
  table_mb: tableMb,
  builds,
  rows,
};
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  console.log(
    `pgvector, N=${N} dim=${DIM}, M=${M} ef_construction=${EFC}, maintenance_work_mem=${values['maintenance-work-mem']}, parallel workers ${values.workers}; table ${tableMb.toFixed(0)} MB (loaded in ${loadSeconds.toFixed(1)} s)`,
  );
  for (const b of builds) console.log(`${b.type}: build ${b.build_seconds.toFixed(1)} s, index ${b.index_mb.toFixed(0)} MB${b.notices.length ? ` (${b.notices.join('; ')})` : ''}`);
  console.log('type     ef_search  recall@10  p50 ms  p99 ms');
  for (const r of rows)
    console.log(
      `${r.type.padEnd(8)} ${String(r.ef).padStart(9)}  ${r.recall_at_10.toFixed(3).padStart(9)}  ${r.p50_ms.toFixed(3).padStart(6)}  ${r.p99_ms.toFixed(3).padStart(6)}`,
    );
}
