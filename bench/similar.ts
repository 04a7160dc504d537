/**
 * Similar-users benchmark (docs/user-vector.md, "Benchmark"):
 *   node --import tsx bench/similar.ts [--n 100000] [--queries 500] [--ef 16,32,64,128,256,384]
 *     [--skip-http] [--json] [--cache-dir .cache/bench-similar] [--checkpoint 100000]
 *
 * 1. HNSW (hnswlib-node, cosine, M=16, efConstruction=200) over N synthetic user vectors of the
 *    production dimension (offline embedder: text 100 + behaviour + traits 100): latent-factor
 *    data (32 factors + noise). The vectors, the exact top-10 of every query (brute force) and the
 *    built index are cached on disk, keyed by N/dim/seed/params/queries, so only the first run
 *    pays for them; the build checkpoints every --checkpoint vectors and resumes after an
 *    interruption. Reports build time, index file size, RSS per replica (VectorIndex.load) and
 *    recall@10 with p50/p99 per ef, for our VectorIndex and raw hnswlib on the same file side by
 *    side (with the p99 ratio).
 * 2. Profile reads (GET /v1/users/:id) on the real server, spawned as its own process on
 *    loopback, driven by an open-loop schedule at a fixed rate with bounded concurrency.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FLAGGED_POLICIES } from '../src/core/data-quality.ts';
import { openDb } from '../src/db/connection.ts';
import { IngestStore } from '../src/db/ingest-store.ts';
import { sqliteStore } from '../src/db/store.ts';
import { featureDefs, FEATURE_VERSION } from '../src/features/definitions.ts';
import { ingestBatch } from '../src/ingest/ingest.ts';
import hnswlib from 'hnswlib-node';
import { INDEX_FORMAT, type Manifest, VectorIndex } from '../src/similar/hnsw-index.ts';
import { mulberry32 } from '../src/core/random.ts';

const { HierarchicalNSW } = hnswlib;
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '500' },
    'skip-http': { type: 'boolean', default: false },
    'skip-hnsw': { type: 'boolean', default: false },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    'cache-dir': { type: 'string', default: '.cache/bench-similar' },
    checkpoint: { type: 'string', default: '100000' },
    ef: { type: 'string', default: '16,32,64,128,256,384' },
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
// Everything expensive is cached under <cache>/n<N>-d<DIM>-seed12345-m16-efc200/ and reused by later
// runs: the vectors and queries (raw float32), the exact top-10 (int32), and the index. The build
// writes a checkpoint every --checkpoint vectors, so an interrupted build resumes where it stopped.
const runHnsw = !values['skip-hnsw'];
const N_ = runHnsw ? N : 0;
const PARAMS = { m: 16, efConstruction: 200, ef: 64 };
const key = `n${N}-d${DIM}-seed12345-m${PARAMS.m}-efc${PARAMS.efConstruction}-q${Q}`;
const cdir = join(values['cache-dir'] as string, key);
if (runHnsw) mkdirSync(cdir, { recursive: true });
const file = (name: string) => join(cdir, name);
const readF32 = (name: string) => {
  const b = readFileSync(file(name));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const writeAtomic = (name: string, data: Uint8Array | string) => {
  writeFileSync(`${file(name)}.tmp`, data);
  renameSync(`${file(name)}.tmp`, file(name));
};
const metaPath = file('meta.json');
const meta: { build_seconds?: number; built?: number; truth_ms_per_query?: number } = runHnsw && existsSync(metaPath) ? JSON.parse(readFileSync(metaPath, 'utf8')) : {};
const saveMeta = () => writeAtomic('meta.json', JSON.stringify(meta));
log(`dimension ${DIM} (text 100 + behaviour ${behaviourDim} + traits 100); ${N.toLocaleString('en-US')} vectors; cache ${cdir}`);

let data = new Float32Array(0);
let queries: Float32Array[] = [];
if (runHnsw && existsSync(file('vectors.f32')) && existsSync(file('queries.f32'))) {
  data = readF32('vectors.f32');
  const qs = readF32('queries.f32');
  queries = Array.from({ length: Q }, (_, i) => qs.subarray(i * DIM, (i + 1) * DIM));
  log('  vectors and queries: cached');
} else if (runHnsw) {
  data = new Float32Array(N_ * DIM);
  for (let i = 0; i < N_; i++) {
    data.set(sample(), i * DIM);
    if ((i + 1) % 100000 === 0) log(`  generated ${i + 1}`);
  }
  queries = Array.from({ length: Q }, sample);
  const qs = new Float32Array(Q * DIM);
  for (const [i, q] of queries.entries()) qs.set(q, i * DIM);
  writeAtomic('vectors.f32', new Uint8Array(data.buffer));
  writeAtomic('queries.f32', new Uint8Array(qs.buffer));
}

let truth: Set<number>[] = [];
if (runHnsw && existsSync(file('truth.i32'))) {
  const b = readFileSync(file('truth.i32'));
  const t = new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  truth = Array.from({ length: Q }, (_, i) => new Set(t.subarray(i * 10, i * 10 + 10)));
  log('  exact top-10: cached');
} else if (runHnsw) {
  log(`exact top-10 for ${Q} queries (brute force)…`);
  const tb = performance.now();
  const t = new Int32Array(Q * 10);
  for (const [qi, q] of queries.entries()) {
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
    t.set(
      best.map((b) => b.id),
      qi * 10,
    );
    if ((qi + 1) % 100 === 0) log(`  exact ${qi + 1}/${Q}`);
  }
  meta.truth_ms_per_query = (performance.now() - tb) / Q;
  saveMeta();
  writeAtomic('truth.i32', new Uint8Array(t.buffer));
  truth = Array.from({ length: Q }, (_, i) => new Set(t.subarray(i * 10, i * 10 + 10)));
}

// The build goes through raw hnswlib with VectorIndex.create's settings (cosine, seed 100,
// replaceDeleted), checkpointed; the finished file gets a VectorIndex manifest so both load it.
const indexPath = file('index.hnsw');
if (runHnsw && !existsSync(`${indexPath}.json`)) {
  const h = new HierarchicalNSW('cosine', DIM);
  let from = 0;
  if (existsSync(file('partial.hnsw')) && meta.built) {
    h.readIndexSync(file('partial.hnsw'), true);
    from = h.getCurrentCount();
    log(`  resuming the build at ${from} (checkpoint)`);
  } else {
    h.initIndex({ maxElements: N_, m: PARAMS.m, efConstruction: PARAMS.efConstruction, randomSeed: 100, allowReplaceDeleted: true });
    meta.build_seconds = 0;
  }
  const every = Number(values.checkpoint);
  let t0 = performance.now();
  for (let i = from; i < N_; i++) {
    h.addPoint(Array.from(data.subarray(i * DIM, (i + 1) * DIM)), i + 1, false);
    if ((i + 1) % 20000 === 0) log(`  built ${i + 1}/${N_} (${((meta.build_seconds ?? 0) + (performance.now() - t0) / 1000).toFixed(0)} s)`);
    if ((i + 1) % every === 0 && i + 1 < N_) {
      meta.build_seconds = (meta.build_seconds ?? 0) + (performance.now() - t0) / 1000;
      t0 = performance.now();
      h.writeIndexSync(`${file('partial.hnsw')}.tmp`);
      renameSync(`${file('partial.hnsw')}.tmp`, file('partial.hnsw'));
      meta.built = i + 1;
      saveMeta();
    }
  }
  meta.build_seconds = (meta.build_seconds ?? 0) + (performance.now() - t0) / 1000;
  meta.built = N_;
  h.writeIndexSync(indexPath);
  const manifest: Manifest = {
    format: INDEX_FORMAT,
    library: 'hnswlib-node@3',
    space: 'cosine',
    vectorVersion: 'bench',
    dimension: DIM,
    count: N_,
    maxElements: N_,
    M: PARAMS.m,
    efConstruction: PARAMS.efConstruction,
    ef: PARAMS.ef,
    labels: 'users.id',
    deleted: [],
    deletedSlots: 0,
    syncedAt: 0,
    indexBytes: statSync(indexPath).size,
    indexSha1: createHash('sha1').update(readFileSync(indexPath)).digest('hex'),
    savedAt: new Date().toISOString(),
  };
  writeAtomic('index.hnsw.json', JSON.stringify(manifest));
  rmSync(file('partial.hnsw'), { force: true });
  saveMeta();
}
const buildSeconds = meta.build_seconds ?? 0;
const indexFileMb = runHnsw ? statSync(indexPath).size / 2 ** 20 : 0;

// Memory per replica: RSS growth when a server loads the file (VectorIndex.load), then the raw
// library loading the same file, measured the same way.
const rss0 = process.memoryUsage().rss;
const tl = performance.now();
const loaded = !runHnsw ? null : VectorIndex.load(indexPath, { vectorVersion: 'bench', dim: DIM, params: PARAMS });
const loadSeconds = (performance.now() - tl) / 1000;
if (loaded && !('index' in loaded)) throw new Error(`reload failed: ${loaded.reason}`);
const ix = loaded?.index;
const indexMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
const rss1 = process.memoryUsage().rss;
const raw = new HierarchicalNSW('cosine', DIM);
if (runHnsw) raw.readIndexSync(indexPath, true);
const rawMb = (process.memoryUsage().rss - rss1) / 2 ** 20;

const bruteMs = meta.truth_ms_per_query ?? 0;
const efRows: { ef: number; recall_at_10: number; p50_ms: number; p99_ms: number; raw_recall_at_10: number; raw_p50_ms: number; raw_p99_ms: number; p99_ratio: number }[] = [];
for (const ef of runHnsw && ix ? (values.ef as string).split(',').map(Number) : []) {
  const one = (search: (q: Float32Array) => number[]) => {
    const lat: number[] = [];
    let hit = 0;
    for (const q of queries.slice(0, 50)) search(q); // warm-up
    for (const [qi, q] of queries.entries()) {
      const t = performance.now();
      const r = search(q);
      lat.push(performance.now() - t);
      for (const l of r) if ((truth[qi] as Set<number>).has(l)) hit++;
    }
    return { recall: hit / (Q * 10), p50: pct(lat, 50), p99: pct(lat, 99) };
  };
  const vix = ix as VectorIndex;
  vix.setEf(ef);
  raw.setEf(ef);
  const w = one((q) => vix.search(q, 10).map((h) => h.label));
  const r = one((q) => raw.searchKnn(Array.from(q), 10).neighbors);
  efRows.push({ ef, recall_at_10: w.recall, p50_ms: w.p50, p99_ms: w.p99, raw_recall_at_10: r.recall, raw_p50_ms: r.p50, raw_p99_ms: r.p99, p99_ratio: r.p99 / w.p99 });
}
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
  raw_rss_mb: Math.round(rawMb),
  index_file_mb: Math.round(indexFileMb),
  load_seconds: loadSeconds,
  brute_force_ms_per_query: bruteMs,
  ef: efRows,
  http,
};
if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const f = (x: number) => x.toFixed(3);
  console.log(
    `N=${N} dim=${DIM}: build ${buildSeconds.toFixed(1)} s (cached after the first run), index file ${result.index_file_mb} MB, load ${loadSeconds.toFixed(2)} s, +${result.index_rss_mb} MB RSS per replica (raw hnswlib +${result.raw_rss_mb} MB), brute force ${bruteMs.toFixed(1)} ms/query`,
  );
  console.log('ef   recall@10  p50 ms  p99 ms | raw recall@10  raw p50  raw p99 | raw/ours p99');
  for (const r of efRows)
    console.log(
      `${String(r.ef).padEnd(4)} ${f(r.recall_at_10).padStart(9)}  ${f(r.p50_ms).padStart(6)}  ${f(r.p99_ms).padStart(6)} | ${f(r.raw_recall_at_10).padStart(13)}  ${f(r.raw_p50_ms).padStart(7)}  ${f(r.raw_p99_ms).padStart(7)} | ${r.p99_ratio.toFixed(2).padStart(12)}`,
    );
  if (http)
    console.log(
      `GET /v1/users/:id at ${http.target_rps}/s for ${values.seconds}s: achieved ${http.achieved_rps}/s, p50 ${f(http.p50_ms as number)} ms, p99 ${f(http.p99_ms as number)} ms, errors ${http.errors}, dropped ${http.dropped_over_concurrency}`,
    );
}
