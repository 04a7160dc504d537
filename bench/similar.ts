/**
 * Similar-users benchmark (docs/user-vector.md, "Benchmark"):
 *   node --import tsx bench/similar.ts [--n 100000] [--queries 500] [--skip-http] [--json]
 *
 * 1. HNSW (hnswlib-node, cosine, M=16, efConstruction=200) over N synthetic user vectors of the
 *    production dimension (offline embedder: text 100 + behaviour + traits 100): clustered
 *    Gaussian data (2,000 centres, noise), which is closer to real profiles than uniform noise.
 *    Build time, memory (RSS delta), query p50/p99 and recall@10 against exact brute force at
 *    several ef values.
 * 2. Profile reads (GET /v1/users/:id) on the real server, spawned as its own process on
 *    loopback, driven by an open-loop schedule at a fixed rate with bounded concurrency.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FLAGGED_POLICIES } from '../src/core/data-quality.ts';
import { openDb } from '../src/db/connection.ts';
import { IngestStore } from '../src/db/ingest-store.ts';
import { sqliteStore } from '../src/db/store.ts';
import { featureDefs, FEATURE_VERSION } from '../src/features/definitions.ts';
import { ingestBatch } from '../src/ingest/ingest.ts';
import { VectorIndex } from '../src/similar/hnsw-index.ts';
import { mulberry32 } from '../src/core/random.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '500' },
    'skip-http': { type: 'boolean', default: false },
    'skip-hnsw': { type: 'boolean', default: false },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.n);
const Q = Number(values.queries);

const behaviourDim = featureDefs({ version: FEATURE_VERSION, asOf: 0, eventTypes: [], categories: [], properties: [] }).reduce(
  (n, d) => n + (FLAGGED_POLICIES.has(d.type) ? 2 : 1),
  0,
);
const DIM = 100 + behaviourDim + 100;

// mulberry32: full period, so generated vectors never repeat (an LCG's short cycles broke recall).
const rnd = mulberry32(12345);
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
const unit = (v: Float32Array) => {
  let s = 0;
  for (const x of v) s += x * x;
  s = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / s;
  return v;
};
// Latent-factor data: v = A·z + noise, z ~ N(0, I_32). Real profile vectors have a low intrinsic
// dimension and no isolated clusters (well-separated clusters are a known pathological case for HNSW).
const LATENT = 32;
const A = Array.from({ length: DIM * LATENT }, gauss);
const sample = () => {
  const z = Array.from({ length: LATENT }, gauss);
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) {
    let x = 0.3 * gauss();
    for (let j = 0; j < LATENT; j++) x += ((A[i * LATENT + j] as number) * (z[j] as number)) / Math.sqrt(LATENT);
    v[i] = x;
  }
  return unit(v);
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};
const log = (m: string) => {
  if (!values.json) process.stderr.write(`${m}\n`);
};

// ---- 1. HNSW --------------------------------------------------------------------------------
const runHnsw = !values['skip-hnsw'];
const N_ = runHnsw ? N : 0;
log(`dimension ${DIM} (text 100 + behaviour ${behaviourDim} + traits 100); ${N.toLocaleString('en-US')} vectors`);
const data = new Float32Array(N_ * DIM);
for (let i = 0; i < N_; i++) data.set(sample(), i * DIM);
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const ix = VectorIndex.create(DIM, { m: 16, efConstruction: 200, ef: 64 }, 'bench', N_);
for (let i = 0; i < N_; i++) {
  ix.upsert(i + 1, data.subarray(i * DIM, (i + 1) * DIM));
  if ((i + 1) % 20000 === 0) log(`  built ${i + 1}`);
}
const buildSeconds = (performance.now() - t0) / 1000;
const indexMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'tl-bench-sim-'));
const ts = performance.now();
ix.save(join(dir, 'bench.hnsw'));
const saveSeconds = (performance.now() - ts) / 1000;
const tl = performance.now();
const loaded = !runHnsw ? { index: ix } : VectorIndex.load(join(dir, 'bench.hnsw'), { vectorVersion: 'bench', dim: DIM, params: { m: 16, efConstruction: 200, ef: 64 } });
const loadSeconds = (performance.now() - tl) / 1000;
if (!('index' in loaded)) throw new Error(`reload failed: ${loaded.reason}`);

const queries = runHnsw ? Array.from({ length: Q }, sample) : [];
log(`exact top-10 for ${Q} queries (brute force)…`);
const tb = performance.now();
const truth = queries.map((q) => {
  const best: { id: number; s: number }[] = [];
  for (let i = 0; i < N_; i++) {
    let s = 0;
    const off = i * DIM;
    for (let j = 0; j < DIM; j++) s += (q[j] as number) * (data[off + j] as number);
    if (best.length < 10 || s > (best[9] as { s: number }).s) {
      best.push({ id: i + 1, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > 10) best.pop();
    }
  }
  return new Set(best.map((b) => b.id));
});
const bruteMs = (performance.now() - tb) / Q;
const efRows: { ef: number; recall_at_10: number; p50_ms: number; p99_ms: number }[] = [];
for (const ef of runHnsw ? [16, 32, 64, 128, 256] : []) {
  ix.setEf(ef);
  const lat: number[] = [];
  let hit = 0;
  for (const [qi, q] of queries.entries()) {
    const t = performance.now();
    const r = ix.search(q, 10);
    lat.push(performance.now() - t);
    for (const h of r) if ((truth[qi] as Set<number>).has(h.label)) hit++;
  }
  efRows.push({ ef, recall_at_10: hit / (Q * 10), p50_ms: pct(lat, 50), p99_ms: pct(lat, 99) });
}
rmSync(dir, { recursive: true, force: true });

// ---- 2. profile reads on the real server ------------------------------------------------------
let http: Record<string, number> | null = null;
if (!values['skip-http']) {
  const hdir = mkdtempSync(join(tmpdir(), 'tl-bench-http-'));
  const dbPath = join(hdir, 'bench.db');
  const db = openDb(dbPath, { synchronous: 'OFF' });
  const USERS = 5000;
  const store = new IngestStore(db);
  for (let b = 0; b < USERS; b += 500) {
    const evs = [];
    for (let u = b; u < b + 500; u++)
      for (let e = 0; e < 8; e++)
        evs.push({
          userId: `u${u}`,
          type: e % 3 ? 'product_view' : 'search',
          ts: 1_780_000_000_000 + e * 60_000,
          properties: { product_id: `p${(u * 7 + e) % 300}`, category: `c${u % 12}` },
          ...(e % 3 ? {} : { text: `looking for hiking boots size ${e}` }),
        });
    ingestBatch(store, evs);
  }
  const key = (await sqliteStore(db).keys.create('bench', ['profiles:read'])).secret;
  db.close();
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const child = spawn(process.execPath, ['bin/traitlens.mjs', 'serve'], {
    env: {
      ...process.env,
      TRAITLENS_DB: dbPath,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TRAITLENS_WORKER: 'false',
      TRAITLENS_RATE_LIMIT_RPS: '0',
      TRAITLENS_DB_SYNCHRONOUS: 'OFF',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(buf);
      if (!m) return;
      // Keep draining the request log (a full pipe would stall the server) without holding it.
      child.stdout.off('data', onData);
      child.stdout.resume();
      resolve(m[1] as string);
    };
    child.stdout.on('data', onData);
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  const get = async (i: number) => {
    const t = performance.now();
    const r = await fetch(`${url}/v1/users/u${i % USERS}`, { headers: { authorization: `Bearer ${key}` } });
    await r.arrayBuffer();
    return { ms: performance.now() - t, ok: r.status === 200 };
  };
  for (let i = 0; i < 500; i++) await get(i); // warm-up
  const lat: number[] = [];
  let errors = 0;
  let dropped = 0;
  let inFlight = 0;
  const MAX_IN_FLIGHT = 64;
  const total = rate * seconds;
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= MAX_IN_FLIGHT) {
      dropped++;
      continue;
    }
    inFlight++;
    pending.push(
      get(i).then(
        (r) => {
          inFlight--;
          lat.push(r.ms);
          if (!r.ok) errors++;
        },
        () => {
          inFlight--;
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(hdir, { recursive: true, force: true });
  http = {
    target_rps: rate,
    achieved_rps: Math.round(lat.length / elapsed),
    requests: lat.length,
    errors,
    dropped_over_concurrency: dropped,
    p50_ms: pct(lat, 50),
    p99_ms: pct(lat, 99),
  };
}

const result = {
  n: N,
  dim: DIM,
  build_seconds: buildSeconds,
  index_rss_mb: Math.round(indexMb),
  save_seconds: saveSeconds,
  load_seconds: loadSeconds,
  brute_force_ms_per_query: bruteMs,
  ef: efRows,
  http,
};
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const f = (x: number) => x.toFixed(3);
  console.log(
    `N=${N} dim=${DIM}: build ${buildSeconds.toFixed(1)} s, +${result.index_rss_mb} MB RSS, save ${saveSeconds.toFixed(2)} s, load ${loadSeconds.toFixed(2)} s, brute force ${bruteMs.toFixed(1)} ms/query`,
  );
  console.log('ef   recall@10  p50 ms  p99 ms');
  for (const r of efRows) console.log(`${String(r.ef).padEnd(4)} ${f(r.recall_at_10).padStart(9)}  ${f(r.p50_ms).padStart(6)}  ${f(r.p99_ms).padStart(6)}`);
  if (http)
    console.log(
      `GET /v1/users/:id at ${http.target_rps}/s for ${values.seconds}s: achieved ${http.achieved_rps}/s, p50 ${f(http.p50_ms as number)} ms, p99 ${f(http.p99_ms as number)} ms, errors ${http.errors}, dropped ${http.dropped_over_concurrency}`,
    );
}
