/**
 * PostgreSQL beside SQLite, same machine, same run (README "Scaling out"):
 *   node --import tsx bench/postgres.ts --url postgres://traitlens:traitlens@127.0.0.1:5432/traitlens_test [--n 100000] [--queries 300] [--json]
 *
 * 1. HTTP ingestion: `traitlens serve` processes (no pipeline), 4 clients × 500-event batches, on a
 *    SQLite file (one server: SQLite has one writer) and on PostgreSQL with one and with two API
 *    replicas (clients spread round robin). Then the pipeline: `traitlens worker` processes (one, then
 *    two on PostgreSQL) drain the refresh jobs those events queued; users/s until the queue is empty.
 * 2. Similar users at N vectors: pgvector's HNSW (SQL, `vector_cosine_ops`, the same M / ef_construction /
 * ef_search as the in-process index) against hnswlib-node (the SQLite deployment's index). Recall@10
 * against an exact scan, query p50/p99, build time. Data: latent-factor vectors of the production
 * dimension (as bench/similar.ts). The benchmark works in its own schema and drops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    'http-events': { type: 'string', default: '100000' },
    users: { type: 'string', default: '2000' },
    'skip-http': { type: 'boolean', default: false },
    'skip-vectors': { type: 'boolean', default: false },
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

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/traitlens.mjs');

function cli(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`traitlens ${args[0]} exited ${code}`))));
  });
}

function serve(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [bin, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ url: m[1]!, proc });
    });
    proc.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  });
}

const stop = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGTERM'))));

/** One backend's ingestion and pipeline figures. */
async function httpAndPipeline(label: string, db: string, replicas: number, workers: number[]): Promise<Record<string, string | number>[]> {
  const env = { TRAITLENS_DB: db, LOG_LEVEL: 'warn', TRAITLENS_WORKER: 'false', HOST: '127.0.0.1', PORT: '0', TRAITLENS_DB_SYNCHRONOUS: 'FULL' };
  const key = (JSON.parse(await cli(['keys', 'create', '--name', 'bench', '--scopes', 'admin', '--json'], env)) as { secret: string }).secret;
  const servers = await Promise.all(Array.from({ length: replicas }, () => serve(env)));
  const out: Record<string, string | number>[] = [];
  try {
    const batch = 500;
    const total = Number(values['http-events']);
    const nUsers = Number(values.users);
    const batches = Math.ceil(total / batch);
    const bodies = Array.from({ length: batches }, (_, b) =>
      JSON.stringify({
        events: Array.from({ length: batch }, (_, i) => {
          const n = b * batch + i;
          const userId = `user-${n % nUsers}`;
          return n % 10 === 9
            ? { eventId: `h-${n}`, userId, type: 'search', text: `I love trail running and my dog, size ${n % 15}`, timestamp: 1_780_000_000_000 + n }
            : { eventId: `h-${n}`, userId, type: 'page_view', timestamp: 1_780_000_000_000 + n, properties: { url: `/p/${n % 5000}`, dwell_ms: n % 60_000 } };
        }),
      }),
    );
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        while (next < batches) {
          const body = bodies[next++]!;
          const url = servers[(next + c) % servers.length]!.url;
          const t = performance.now();
          const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body });
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    out.push({
      what: `${label}: POST /v1/events, ${replicas} API replica(s), 4 clients × 500/batch`,
      'per s': Math.round((batches * batch) / secs),
      'p50 ms': +pct(latencies, 50).toFixed(1),
      'p99 ms': +pct(latencies, 99).toFixed(1),
    });
    // The pipeline: worker processes drain the queued refreshes (one per touched user).
    for (const n of workers) {
      if (n !== workers[0]) {
        // Queue every user again for the next measurement.
        const s = await openStore({ ...config, TRAITLENS_DB: db });
        await s.exec.run("UPDATE jobs SET status = 'pending', run_after = 0, attempts = 0, locked_by = NULL, lease_until = NULL WHERE kind = 'user.refresh'");
        await s.close();
      }
      const procs = Array.from({ length: n }, () => spawn(process.execPath, [bin, 'worker'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' }));
      const w0 = performance.now();
      const s = await openStore({ ...config, TRAITLENS_DB: db });
      let done = 0;
      try {
        for (;;) {
          const c = await s.jobs.counts();
          done = c.done;
          if (c.pending === 0 && c.running === 0) break;
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        await s.close();
        await Promise.all(procs.map(stop));
      }
      const ws = (performance.now() - w0) / 1000;
      out.push({ what: `${label}: pipeline, ${n} worker process(es)`, 'per s': +(nUsers / ws).toFixed(1), 'p50 ms': '', 'p99 ms': '' });
      void done;
    }
  } finally {
    await Promise.all(servers.map((x) => stop(x.proc)));
  }
  return out;
}

async function main() {
  const table: Record<string, string | number>[] = [];
  if (!values['skip-http']) {
    const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-pg-'));
    try {
      table.push(...(await httpAndPipeline('SQLite', join(dir, 'bench.db'), 1, [1])));
      for (const replicas of [1, 2]) {
        const schema = `bench_http_${replicas}_${Date.now().toString(36)}`;
        const admin = new pg.Pool({ connectionString: values.url, max: 1 });
        await admin.query(`CREATE SCHEMA "${schema}"`);
        const url = new URL(values.url!);
        url.searchParams.set('options', `-c search_path=${schema},public`);
        try {
          table.push(...(await httpAndPipeline('PostgreSQL', url.toString(), replicas, replicas === 1 ? [1, 2] : [])));
        } finally {
          await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
          await admin.end();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const cols = Object.keys(table[0]!);
    console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
    for (const r of table) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
    console.log(`\n${values['http-events']} events over ${values.users} users; synchronous=FULL on SQLite.\n`);
  }
  if (values['skip-vectors']) return;
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
    rows.push({
      engine: 'hnswlib (in process, SQLite deployment)',
      vectors: N,
      'build s': +build.toFixed(1),
      'recall@10': +(hit / (Q * 10)).toFixed(3),
      'p50 ms': +pct(lat, 50).toFixed(2),
      'p99 ms': +pct(lat, 99).toFixed(2),
    });
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
        const r = await q.all<{ id: number }>(`INSERT INTO users (external_id, created_at, updated_at) SELECT 'u' || g, 1, 1 FROM generate_series(?::int, ?::int) g RETURNING id`, [
          i,
          i + n - 1,
        ]);
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
    rows.push({
      engine: 'pgvector HNSW (SQL, PostgreSQL deployment)',
      vectors: N,
      'build s': +build.toFixed(1),
      'recall@10': +(hit / (Q * 10)).toFixed(3),
      'p50 ms': +pct(lat, 50).toFixed(2),
      'p99 ms': +pct(lat, 99).toFixed(2),
    });
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
    console.log(
      `\nM=${config.TRAITLENS_HNSW_M}, ef_construction=${config.TRAITLENS_HNSW_EF_CONSTRUCTION}, ef_search=${config.TRAITLENS_HNSW_EF}, dim=${DIM}, ${Q} queries, one client.`,
    );
  }
}

await main();
