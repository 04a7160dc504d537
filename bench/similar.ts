/**
 * Similar-users benchmark (docs/user-vector.md, "Benchmark"):
 *   node --import tsx bench/similar.ts [--n 100000] [--queries 500] [--ef 16,32,64,128,256,384]
 *     [--skip-http] [--json] [--cache-dir .cache/bench-similar] [--checkpoint 100000]
 *     [--similar-http [--similar-rates 100,300] [--similar-idle 10] [--similar-ef <server default>] [--similar-synchronous FULL|NORMAL] [--seconds 10] [--skip-ef] [--pin] [--no-floor]] [--similar-fill-only]
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
 * 3. --similar-http: `GET /v1/users/:id/similar` at N users over HTTP. A SQLite database is filled
 *    once and cached beside the vectors (<cache>/similar.db; --similar-fill-only fills it without
 *    touching the index) with the N users (one event each, through ingestBatch), the behaviour
 *    scaler (fitted by the real code on the first users, so the vector layout is the production one
 *    of dimension DIM) and the N cached vectors as user_profiles rows; each run copies it and links
 *    the cached index file beside the copy with a manifest for that layout, so `traitlens serve`
 *    (its own process, default settings: synchronous
 *    FULL, audit on; pipeline off so the N queued refresh jobs stay queued) loads it instead of
 *    rebuilding. Open loop at --similar-rates (latency from each request's scheduled send time, so
 *    a stall is not hidden), beside a raw baseline (bench/similar-raw.ts, a process importing only
 *    hono, better-sqlite3 and hnswlib): the same answer (neighbours, similarities, block cosines,
 *    shared traits; compared on 100 ids before the rows) from the fewest prepared statements around
 *    raw hnswlib on the same file, without auth, rate limit, audit or logs. Third, the floor
 *    (bench/floor-server.mjs): bare node:http answering every GET with one constant JSON body as
 *    long as the mean of those 100 answers, no routing, no search, no database: what loopback,
 *    node:http and the generator alone cost on this machine at that rate, before any server work
 *    (--no-floor skips it). Each rate (and the idle window) measures the three in that order, with the
 *    same ids and the same columns; the last column is each row's p99 over ours.
 *    --skip-ef skips the recall table (and loading the index in this process).
 *    The load generator is a child process of its own (bench/open-loop.ts, 64 MB heap); each row also
 *    prints its send lag and the servers' run-queue wait, storage reads, event-loop delay and GC
 *    pauses (bench/server-stats.mjs), to tell a generator stall from a server one. --pin puts the
 *    servers on CPU 1 and the generator on CPU 0 (taskset).
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { FLAGGED_POLICIES } from '../src/core/data-quality.ts';
import { openDb } from '../src/db/connection.ts';
import { IngestStore } from '../src/db/ingest-store.ts';
import { sqliteStore } from '../src/db/store.ts';
import { featureDefs, FEATURE_VERSION } from '../src/features/definitions.ts';
import { ingestBatch } from '../src/ingest/ingest.ts';
import hnswlib from 'hnswlib-node';
import { INDEX_FORMAT, type Manifest, VectorIndex } from '../src/similar/hnsw-index.ts';
import { mulberry32 } from '../src/core/random.ts';
import { loadConfig } from '../src/core/config.ts';
import { openStore } from '../src/db/open.ts';
import { fitBehaviourScaler } from '../src/profile/behaviour.ts';
import { createProfileServices } from '../src/similar/services.ts';
import type { VectorLayout } from '../src/profile/vector.ts';
import { cpuSeconds, type OpenLoopResult, openLoopChild, runQueueSeconds } from './open-loop.ts';
import { type BodySizes, bodySizes, startFloorServer, startServer as startProcess, type StartedServer, stopServer } from './servers.ts';

const { HierarchicalNSW } = hnswlib;
/** util-linux, for --pin */
const TASKSET = '/usr/bin/taskset';
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/traitlens.mjs');
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
    'skip-ef': { type: 'boolean', default: false },
    /** time saving the loaded index on the serving thread and in the background, with the event loop's longest stall (section 1a) */
    'save-bench': { type: 'boolean', default: false },
    /** also build and measure a PCA-reduced index of this dimension with exact re-ranking (section 1b) */
    reduce: { type: 'string' },
    /** candidates taken from the reduced index and re-ranked on the full vectors */
    rerank: { type: 'string', default: '20,40' },
    'reduce-ef': { type: 'string', default: '32,64,128' },
    'similar-http': { type: 'boolean', default: false },
    'similar-rates': { type: 'string', default: '100,300' },
    /** hnsw ef of the /similar servers (TRAITLENS_HNSW_EF; default: the server's default) */
    'similar-ef': { type: 'string' },
    /** TRAITLENS_DB_SYNCHRONOUS of our /similar server (default FULL, the server's default): NORMAL shows what the audit commit's fsync costs */
    'similar-synchronous': { type: 'string', default: 'FULL' },
    /** seconds each /similar server sits with no requests before the rows: its idle CPU, loop stalls and GC (0 = skip) */
    'similar-idle': { type: 'string', default: '10' },
    /** only fill the cached /similar database (no index build), e.g. while another process builds the index */
    'similar-fill-only': { type: 'boolean', default: false },
    /** where the /similar database is built (N users: about 1.3 KB each) */
    'similar-dir': { type: 'string', default: tmpdir() },
    /** --similar-http: the servers on CPU 1, the load generator on CPU 0 (taskset; an experiment on CPU contention) */
    pin: { type: 'boolean', default: false },
    /** write a V8 CPU profile of the traitlens /similar server into this folder (node --cpu-prof) */
    'cpu-prof': { type: 'string' },
    /** --similar-http without the floor row (bench/floor-server.mjs: node:http answering a constant body) */
    'no-floor': { type: 'boolean', default: false },
  },
});
/** --pin: the /similar servers run on CPU 1. */
const serverWrap = values.pin ? { wrap: [TASKSET, '-c', '1'] } : {};
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
// A /similar-only run on a filled database and a built index needs none of the vectors: not holding
// them keeps this process small (~1 GB at 1M).
const vectorsNeeded = !(values['skip-ef'] && !values.reduce && !values['save-bench'] && existsSync(file('similar.db.done')) && existsSync(file('index.hnsw.json')));
if (runHnsw && !vectorsNeeded) log('  vectors: not needed (the /similar database and the index are cached)');
else if (runHnsw && existsSync(file('vectors.f32')) && existsSync(file('queries.f32'))) {
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

if (runHnsw && values['similar-fill-only']) {
  const f = await fillSimilarDb();
  log(`/similar database ${f.dbPath}: filled in ${f.fillSeconds.toFixed(0)} s`);
  process.exit(0);
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
const loadIndex = runHnsw && !values['skip-ef'];
const loaded = !loadIndex ? null : VectorIndex.load(indexPath, { vectorVersion: 'bench', dim: DIM, params: PARAMS });
const loadSeconds = (performance.now() - tl) / 1000;
if (loaded && !('index' in loaded)) throw new Error(`reload failed: ${loaded.reason}`);
const ix = loaded?.index;
const indexMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
const rss1 = process.memoryUsage().rss;
const raw = new HierarchicalNSW('cosine', DIM);
if (loadIndex) raw.readIndexSync(indexPath, true);
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
// ---- 1a. --save-bench: saving the loaded index as the server does, on the serving thread (the old
// periodic save) and in the background (VectorIndex.saveAsync), with the event loop's longest stall
// during each (a 1 ms timer's largest gap). Written under --similar-dir, then deleted.
let saveBench: { idle_stall_ms: number; sync_seconds: number; sync_stall_ms: number; async_seconds: number; async_written_seconds: number; async_stall_ms: number } | null = null;
if (values['save-bench'] && ix) {
  const sdir = mkdtempSync(join(values['similar-dir'] as string, 'tl-bench-save-'));
  try {
    const stallDuring = async (fn: () => Promise<unknown>) => {
      let last = performance.now();
      let worst = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 1);
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 20));
      await fn();
      const seconds = (performance.now() - t - 20) / 1000;
      worst = Math.max(worst, performance.now() - last);
      clearInterval(timer);
      return { seconds, stall: worst };
    };
    // The same timer with nothing to do for 3 s: what this machine's load alone does to it.
    const idle = await stallDuring(() => new Promise((r) => setTimeout(r, 3000)));
    const sync = await stallDuring(async () => (ix as VectorIndex).save(join(sdir, 'sync.hnsw')));
    let writtenAt = 0;
    const t0 = performance.now();
    const bg = await stallDuring(async () => {
      const p = (ix as VectorIndex).saveAsync(join(sdir, 'async.hnsw'));
      await p.written;
      writtenAt = (performance.now() - t0) / 1000;
      await p.done;
    });
    saveBench = {
      idle_stall_ms: idle.stall,
      sync_seconds: sync.seconds,
      sync_stall_ms: sync.stall,
      async_seconds: bg.seconds,
      async_written_seconds: writtenAt,
      async_stall_ms: bg.stall,
    };
  } finally {
    rmSync(sdir, { recursive: true, force: true });
  }
}

// ---- 1b. --reduce D: a smaller index (PCA to D dimensions) with exact re-ranking on the full vectors
// What the issue suggests when ef alone cannot reach recall@10 ≥ 0.95 at p99 ≤ 2 ms: search a
// D-dimensional projection (the top-D principal directions of the uncentred second moment, fitted on
// every 20th vector), take C candidates and re-rank them by the exact cosine of the full vectors. The
// projected index is built once and cached (<cache>/pca<D>/, checkpointed like the full one).
// Latency per query = projecting the query + the search + the re-rank (C full dot products).
const reduceRows: { dim: number; ef: number; candidates: number; recall_at_10: number; p50_ms: number; p99_ms: number }[] = [];
let reduceMeta: { dim: number; build_seconds: number; index_file_mb: number; rss_mb: number; explained: number } | null = null;
if (runHnsw && values.reduce) {
  const D = Number(values.reduce);
  const rdir = join(cdir, `pca${D}`);
  mkdirSync(rdir, { recursive: true });
  const rfile = (name: string) => join(rdir, name);
  const rmetaPath = rfile('meta.json');
  const rmeta: { build_seconds?: number; built?: number; explained?: number } = existsSync(rmetaPath) ? JSON.parse(readFileSync(rmetaPath, 'utf8')) : {};
  const saveRmeta = () => {
    writeFileSync(`${rmetaPath}.tmp`, JSON.stringify(rmeta));
    renameSync(`${rmetaPath}.tmp`, rmetaPath);
  };
  // The basis: subspace iteration on the 238×238 second moment of a 1-in-20 sample.
  let basis: Float32Array;
  if (existsSync(rfile('basis.f32'))) {
    const b = readFileSync(rfile('basis.f32'));
    basis = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  } else {
    const C = new Float64Array(DIM * DIM);
    let m = 0;
    for (let i = 0; i < N; i += 20, m++) {
      const off = i * DIM;
      for (let a = 0; a < DIM; a++) {
        const xa = data[off + a] as number;
        for (let b = a; b < DIM; b++) C[a * DIM + b] = (C[a * DIM + b] as number) + xa * (data[off + b] as number);
      }
    }
    for (let a = 0; a < DIM; a++)
      for (let b = a; b < DIM; b++) {
        C[a * DIM + b] = (C[a * DIM + b] as number) / m;
        C[b * DIM + a] = C[a * DIM + b] as number;
      }
    const r = mulberry32(99);
    let basisRows = Array.from({ length: D }, () => Float64Array.from({ length: DIM }, () => r() - 0.5));
    for (let it = 0; it < 60; it++) {
      const Z = basisRows.map((q) => {
        const z = new Float64Array(DIM);
        for (let a = 0; a < DIM; a++) {
          let s = 0;
          for (let b = 0; b < DIM; b++) s += (C[a * DIM + b] as number) * (q[b] as number);
          z[a] = s;
        }
        return z;
      });
      // Gram-Schmidt (twice, for stability)
      for (let pass = 0; pass < 2; pass++)
        for (let j = 0; j < D; j++) {
          const z = Z[j] as Float64Array;
          for (let p = 0; p < j; p++) {
            const y = Z[p] as Float64Array;
            let d = 0;
            for (let a = 0; a < DIM; a++) d += (z[a] as number) * (y[a] as number);
            for (let a = 0; a < DIM; a++) z[a] = (z[a] as number) - d * (y[a] as number);
          }
          let n = 0;
          for (let a = 0; a < DIM; a++) n += (z[a] as number) ** 2;
          n = Math.sqrt(n);
          for (let a = 0; a < DIM; a++) z[a] = (z[a] as number) / n;
        }
      basisRows = Z;
    }
    let trace = 0;
    for (let a = 0; a < DIM; a++) trace += C[a * DIM + a] as number;
    let kept = 0;
    for (const q of basisRows)
      for (let a = 0; a < DIM; a++) {
        let s = 0;
        for (let b = 0; b < DIM; b++) s += (C[a * DIM + b] as number) * (q[b] as number);
        kept += s * (q[a] as number);
      }
    rmeta.explained = kept / trace;
    basis = new Float32Array(D * DIM);
    for (const [j, q] of basisRows.entries()) basis.set(q, j * DIM);
    writeFileSync(rfile('basis.f32'), new Uint8Array(basis.buffer));
    saveRmeta();
  }
  const project = (v: Float32Array | number[], off = 0): number[] => {
    const out = new Array<number>(D);
    for (let j = 0; j < D; j++) {
      let s = 0;
      const bo = j * DIM;
      for (let a = 0; a < DIM; a++) s += (basis[bo + a] as number) * (v[off + a] as number);
      out[j] = s;
    }
    return out;
  };
  const rindexPath = rfile('index.hnsw');
  if (!existsSync(rindexPath)) {
    const h = new HierarchicalNSW('cosine', D);
    let from = 0;
    if (existsSync(rfile('partial.hnsw')) && rmeta.built) {
      h.readIndexSync(rfile('partial.hnsw'), true);
      from = h.getCurrentCount();
      log(`  pca${D}: resuming the build at ${from} (checkpoint)`);
    } else {
      h.initIndex({ maxElements: N, m: PARAMS.m, efConstruction: PARAMS.efConstruction, randomSeed: 100, allowReplaceDeleted: true });
      rmeta.build_seconds = 0;
    }
    const every = Number(values.checkpoint);
    let t0 = performance.now();
    for (let i = from; i < N; i++) {
      h.addPoint(project(data, i * DIM), i + 1, false);
      if ((i + 1) % 20000 === 0) log(`  pca${D}: built ${i + 1}/${N} (${((rmeta.build_seconds ?? 0) + (performance.now() - t0) / 1000).toFixed(0)} s)`);
      if ((i + 1) % every === 0 && i + 1 < N) {
        rmeta.build_seconds = (rmeta.build_seconds ?? 0) + (performance.now() - t0) / 1000;
        t0 = performance.now();
        h.writeIndexSync(`${rfile('partial.hnsw')}.tmp`);
        renameSync(`${rfile('partial.hnsw')}.tmp`, rfile('partial.hnsw'));
        rmeta.built = i + 1;
        saveRmeta();
      }
    }
    rmeta.build_seconds = (rmeta.build_seconds ?? 0) + (performance.now() - t0) / 1000;
    rmeta.built = N;
    h.writeIndexSync(`${rindexPath}.tmp`);
    renameSync(`${rindexPath}.tmp`, rindexPath);
    rmSync(rfile('partial.hnsw'), { force: true });
    saveRmeta();
  }
  const r0 = process.memoryUsage().rss;
  const h = new HierarchicalNSW('cosine', D);
  h.readIndexSync(rindexPath, true);
  reduceMeta = {
    dim: D,
    build_seconds: rmeta.build_seconds ?? 0,
    index_file_mb: Math.round(statSync(rindexPath).size / 2 ** 20),
    rss_mb: Math.round((process.memoryUsage().rss - r0) / 2 ** 20),
    explained: rmeta.explained ?? Number.NaN,
  };
  const cands = (values['rerank'] as string).split(',').map(Number);
  for (const ef of (values['reduce-ef'] as string).split(',').map(Number))
    for (const c of cands) {
      h.setEf(Math.max(ef, c));
      const query = (q: Float32Array) => {
        const r = h.searchKnn(project(q), c);
        const scored = r.neighbors.map((label) => {
          let s = 0;
          const off = (label - 1) * DIM;
          for (let a = 0; a < DIM; a++) s += (q[a] as number) * (data[off + a] as number);
          return { label, s };
        });
        return scored
          .sort((x, y) => y.s - x.s)
          .slice(0, 10)
          .map((x) => x.label);
      };
      for (const q of queries.slice(0, 50)) query(q); // warm-up
      const lat: number[] = [];
      let hit = 0;
      for (const [qi, q] of queries.entries()) {
        const t = performance.now();
        const r = query(q);
        lat.push(performance.now() - t);
        for (const l of r) if ((truth[qi] as Set<number>).has(l)) hit++;
      }
      reduceRows.push({ dim: D, ef: Math.max(ef, c), candidates: c, recall_at_10: hit / (Q * 10), p50_ms: pct(lat, 50), p99_ms: pct(lat, 99) });
    }
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
  const { child, url } = await startProcess(['bin/traitlens.mjs', 'serve'], {
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
    ready: /"url":"(http:\/\/[^"]+)"/,
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
  await stopServer(child);
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

// ---- 3. /similar over HTTP at N users ---------------------------------------------------------
let similarHttp: Awaited<ReturnType<typeof similarOverHttp>> | null = null;
if (values['similar-http']) {
  if (!runHnsw) throw new Error('--similar-http needs the cached index (drop --skip-hnsw)');
  const hdir = mkdtempSync(join(values['similar-dir'] as string, 'tl-bench-similar-'));
  try {
    similarHttp = await similarOverHttp(hdir);
  } finally {
    rmSync(hdir, { recursive: true, force: true });
  }
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
  save: saveBench,
  reduced: reduceMeta ? { ...reduceMeta, rows: reduceRows } : null,
  http,
  similar_http: similarHttp,
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
  if (saveBench)
    console.log(
      `saving the index (as the server does): on the serving thread ${saveBench.sync_seconds.toFixed(2)} s with the event loop stalled ${saveBench.sync_stall_ms.toFixed(0)} ms; in the background ${saveBench.async_seconds.toFixed(2)} s (graph written after ${saveBench.async_written_seconds.toFixed(2)} s), longest event-loop stall ${saveBench.async_stall_ms.toFixed(1)} ms (${saveBench.idle_stall_ms.toFixed(1)} ms over 3 s with nothing to do)`,
    );
  if (reduceMeta) {
    const r = reduceMeta;
    console.log(
      `PCA to ${r.dim} dimensions (${(100 * r.explained).toFixed(1)} % of the second moment kept) + exact re-rank on the full ${DIM}-d vectors: build ${r.build_seconds.toFixed(0)} s (cached), index file ${r.index_file_mb} MB, +${r.rss_mb} MB RSS (plus the full vectors for the re-rank: in SQLite in the product, ${Math.round((N * DIM * 4) / 2 ** 20)} MB here in memory)`,
    );
    console.log('dim  ef   candidates  recall@10  p50 ms  p99 ms');
    for (const x of reduceRows)
      console.log(
        `${String(x.dim).padEnd(4)} ${String(x.ef).padEnd(4)} ${String(x.candidates).padStart(10)}  ${f(x.recall_at_10).padStart(9)}  ${f(x.p50_ms).padStart(6)}  ${f(x.p99_ms).padStart(6)}`,
      );
  }
  if (http)
    console.log(
      `GET /v1/users/:id at ${http.target_rps}/s for ${values.seconds}s: achieved ${http.achieved_rps}/s, p50 ${f(http.p50_ms as number)} ms, p99 ${f(http.p99_ms as number)} ms, errors ${http.errors}, dropped ${http.dropped_over_concurrency}`,
    );
  if (similarHttp) {
    const h = similarHttp;
    console.log(
      `GET /v1/users/:id/similar (k 10, ef ${h.ef}) over ${N.toLocaleString('en-US')} users, synchronous ${values['similar-synchronous']}, open loop ${values.seconds} s per row, latency from the scheduled send time; database filled in ${h.fill_seconds.toFixed(0)} s (${h.db_mb} MB); traitlens serve ready in ${h.server_start_seconds.toFixed(1)} s (index ${JSON.stringify(h.index_ready)}), RSS ${h.server_rss_mb} MB; raw server RSS ${h.raw_rss_mb} MB; same answer from both on ${h.answers_equal_of_100}/100 ids`,
    );
    if (h.floor_bytes)
      console.log(
        `floor: bench/floor-server.mjs, node:http answering every GET with a constant ${h.floor_bytes.mean}-byte JSON body (the mean of ours on those 100 ids, ${h.floor_bytes.min}–${h.floor_bytes.max} bytes): this machine's HTTP floor through the same generator`,
      );
    console.log(
      'server     target/s  achieved/s  errors  p50 ms  p99 ms  p99.9 ms  max ms  CPU ms/req  run-queue ms/req | from send p50/p99 ms  gen lag p99/max ms  gen CPU/run-queue ms/req | p99 / ours p99',
    );
    for (const r of h.rows)
      console.log(
        `${r.server.padEnd(9)}  ${String(r.target_rps).padStart(8)}  ${String(r.achieved_rps).padStart(10)}  ${String(r.errors).padStart(6)}  ${f(r.p50_ms).padStart(6)}  ${f(r.p99_ms).padStart(6)}  ${f(r.p999_ms).padStart(8)}  ${f(r.max_ms).padStart(6)}  ${f(r.cpu_ms_per_req).padStart(10)}  ${f(r.runq_ms_per_req).padStart(16)} | ${`${f(r.sent_p50_ms)}/${f(r.sent_p99_ms)}`.padStart(20)}  ${`${f(r.send_lag_p99_ms)}/${f(Math.max(r.send_lag_max_ms, r.loop_delay_max_ms))}`.padStart(18)}  ${`${f(r.gen_cpu_ms_per_req)}/${f(r.gen_runq_ms_per_req)}`.padStart(24)} | ${r.server === 'traitlens' ? '' : (r.p99_ms / (h.rows.find((x) => x.server === 'traitlens' && x.target_rps === r.target_rps)?.p99_ms ?? Number.NaN)).toFixed(2).padStart(14)}`,
      );
    for (const rate of new Set(h.rows.map((r) => r.target_rps))) {
      const p99 = (server: SimilarRow['server']) => h.rows.find((r) => r.server === server && r.target_rps === rate)?.p99_ms;
      const parts = (['traitlens', 'raw', 'floor'] as const).flatMap((server) => (p99(server) === undefined ? [] : [`${server} ${f(p99(server) as number)}`]));
      console.log(`${rate} req/s, p99 ms: ${parts.join(', ')}  (target: traitlens p99 ≤ 5 ms at 1M)`);
    }
    console.log(
      "each server's own event loop over the row (bench/server-stats.mjs, main thread, 10 ms sampling): delay p99/max, GC pauses count/total/max; 'idle' = no requests for that many seconds (CPU and run-queue then in ms per second)",
    );
    console.log('server     target/s  load  loop delay p99/max ms  GC count  GC total ms  GC max ms  heap MB  disk KB/req  major faults');
    const statsLine = (server: string, target: string, load: number, x: ServerStats, tail: string) =>
      console.log(
        `${server.padEnd(9)}  ${target.padStart(8)}  ${load.toFixed(1).padStart(4)}  ${`${f(x.loop_delay_p99_ms)}/${f(x.loop_delay_max_ms)}`.padStart(21)}  ${String(x.gc_count).padStart(8)}  ${f(x.gc_total_ms).padStart(11)}  ${f(x.gc_max_ms).padStart(9)}  ${String(x.heap_used_mb).padStart(7)}  ${tail}`,
      );
    for (const r of h.idle) statsLine(r.server, `idle ${r.seconds}s`, r.load1, r.server_stats, `CPU ${f(r.cpu_ms_per_s)} ms/s, run-queue ${f(r.runq_ms_per_s)} ms/s`);
    for (const r of h.rows)
      statsLine(r.server, String(r.target_rps), r.load1, r.server_stats, `${r.disk_kb_per_req.toFixed(1).padStart(11)}  ${String(r.major_faults).padStart(12)}`);
  }
}

/** A server with no requests for a while (--similar-idle): its own CPU and stalls. */
interface IdleRow {
  server: 'traitlens' | 'raw' | 'floor';
  seconds: number;
  /** the machine's 1-minute load average when the window started */
  load1: number;
  cpu_ms_per_s: number;
  runq_ms_per_s: number;
  server_stats: ServerStats;
}

/** One row: the generator's figures (bench/open-loop.ts: latencies, send lag, its own CPU) and the server's. */
type SimilarRow = Omit<OpenLoopResult, 'statuses'> & {
  server: 'traitlens' | 'raw' | 'floor';
  target_rps: number;
  /** the machine's 1-minute load average when the row started (other work shares the 2 vCPUs) */
  load1: number;
  /** the server process's CPU time (user + system, all threads) per request: less sensitive than latency to a busy machine */
  cpu_ms_per_req: number;
  /** time the server's threads were runnable but waiting for a CPU (another process had it), per request */
  runq_ms_per_req: number;
  /** what the server had to fetch from storage (page-cache misses) per request, and its major page faults over the row */
  disk_kb_per_req: number;
  major_faults: number;
  /** the server's own event-loop delay and GC pauses over the row (bench/server-stats.mjs) */
  server_stats: ServerStats;
};

interface ServerStats {
  loop_delay_p99_ms: number;
  loop_delay_max_ms: number;
  gc_count: number;
  gc_total_ms: number;
  gc_max_ms: number;
  heap_used_mb: number;
}

/** Bytes a process made the storage layer fetch (page-cache misses; /proc/<pid>/io read_bytes) and its major page faults (Linux; NaN elsewhere). */
function diskReads(pid: number | undefined): { bytes: number; majflt: number } {
  try {
    const io = /read_bytes: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
    return { bytes: Number(io?.[1]), majflt: Number(f[9]) };
  } catch {
    return { bytes: Number.NaN, majflt: Number.NaN };
  }
}

/** RSS of a process in MB (Linux /proc; NaN elsewhere). */
function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A /similar server as its own process; resolves when `ready` matches a stdout line. */
function startServer(args: string[], env: Record<string, string>, ready: RegExp, onLine?: (line: string) => void): Promise<StartedServer> {
  return startProcess(args, { env, ready, ...serverWrap, ...(onLine ? { onLine } : {}) });
}

/**
 * One open-loop row (bench/open-loop.ts) in a child process with a 64 MB heap, so the generator
 * shares nothing with this process (which holds the N cached vectors): its send lag and event-loop
 * delay are reported beside the latencies.
 */
async function openLoopRow(base: string, key: string, idsFile: string, rate: number, seconds: number): Promise<OpenLoopResult> {
  const flags = ['--url', base, '--key', key, '--ids', idsFile, '--rate', String(rate), '--seconds', String(seconds)];
  const r = await openLoopChild(flags, values.pin ? [TASKSET, '-c', '0'] : []);
  if (Object.keys(r.statuses).length) log(`  ${base}: non-200 answers ${JSON.stringify(r.statuses)}`);
  return r;
}

/** The /similar servers' environment, nothing inherited (no provider keys): offline embedder, no
 * pipeline (the N refresh jobs the fill queued stay queued), no rate limit, otherwise defaults. */
function similarEnv(dbPath: string, ef: number): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TRAITLENS_DB: dbPath,
    TRAITLENS_EMBEDDER: 'offline',
    TRAITLENS_WORKER: 'false',
    TRAITLENS_RATE_LIMIT_RPS: '0',
    TRAITLENS_HNSW_EF: String(ef),
    TRAITLENS_DB_SYNCHRONOUS: values['similar-synchronous'] as string,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
  };
}

/**
 * The /similar database, filled once and cached beside the vectors (<cache>/similar.db, done when
 * similar.db.done exists): N users with one event each (ingestBatch), the behaviour scaler fitted
 * by the real code on the first users (so the layout is the production one), and the N cached
 * vectors as user_profiles rows, user L holding vector L-1 like the index's label L, updated_at
 * U0 + L·1000 (one write a second: only the newest few fall in the index's 5 s sync look-back).
 */
async function fillSimilarDb(): Promise<{ dbPath: string; U0: number; fillSeconds: number }> {
  const dbPath = file('similar.db');
  const done = `${dbPath}.done`;
  if (existsSync(done)) return { dbPath, ...(JSON.parse(readFileSync(done, 'utf8')) as { U0: number; fillSeconds: number }) };
  for (const sfx of ['', '-wal', '-shm']) rmSync(`${dbPath}${sfx}`, { force: true });
  const f0 = performance.now();
  // synchronous OFF for the fill only; the server runs with the default (FULL).
  const config = loadConfig({ ...similarEnv(dbPath, 128), TRAITLENS_DB_SYNCHRONOUS: 'OFF' });
  const store = await openStore(config);
  const T0 = Date.now() - 30 * 86_400_000;
  const U0 = Date.now() - 86_400_000 - N * 1000;
  try {
    const B = 5000;
    for (let b = 0; b < N; b += B) {
      const evs = [];
      for (let u = b; u < Math.min(N, b + B); u++) evs.push({ userId: `u${u}`, type: 'page_view', ts: T0 + u });
      const r = await ingestBatch(store.events, evs);
      if (r.accepted !== evs.length) throw new Error(`fill: ${evs.length - r.accepted} events not accepted`);
      if (b === 0) await fitBehaviourScaler(store, T0 + N);
      if ((b + B) % 100000 === 0) log(`  /similar database: users ${b + B}`);
    }
    const { version } = await layoutOf(store, config);
    // The index's labels are 1..N (label L = vector L-1); so are users.id in this fresh database.
    if ((await store.profiles.publicIds([1, N])).size !== 2) throw new Error('users.id are not 1..N');
    for (let i = 0; i < N; i += 1000) {
      const ws = [];
      for (let l = i + 1; l <= Math.min(N, i + 1000); l++)
        ws.push({
          userId: l,
          version,
          vector: data.subarray((l - 1) * DIM, l * DIM),
          blocks: { text: true, behaviour: true, traits: true, items: false },
          profileVersion: 1,
          updatedAt: U0 + l * 1000,
        });
      await store.profiles.writeMany(ws, []);
      if ((i + 1000) % 100000 === 0) log(`  /similar database: vectors ${i + 1000}`);
    }
  } finally {
    await store.close();
  }
  const fillSeconds = (performance.now() - f0) / 1000;
  writeAtomic('similar.db.done', JSON.stringify({ U0, fillSeconds }));
  return { dbPath, U0, fillSeconds };
}

/** The vector layout the server computes over this store (checked against the cached vectors' dimension). */
async function layoutOf(store: Awaited<ReturnType<typeof openStore>>, config: ReturnType<typeof loadConfig>): Promise<VectorLayout> {
  const services = createProfileServices(store, config);
  const layout = await services.index.layout();
  services.close();
  if (layout.dim !== DIM) throw new Error(`the server's vector layout has dimension ${layout.dim} (${layout.version}), the cached vectors ${DIM}`);
  return layout;
}

async function similarOverHttp(hdir: string) {
  const ef = Number(values['similar-ef'] ?? loadConfig({}).TRAITLENS_HNSW_EF);
  const seconds = Number(values.seconds);
  const { dbPath: cachedDb, U0, fillSeconds } = await fillSimilarDb();
  // The server writes (audit, keys): it runs on a copy, so the cached database stays as filled.
  const dbPath = join(hdir, 'bench.db');
  copyFileSync(cachedDb, dbPath);
  // Written back now, not during the rows (the copy's dirty pages would be flushed under the servers' fsyncs).
  const fd = openSync(dbPath, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  const env = similarEnv(dbPath, ef);
  const config = loadConfig(env);
  const store = await openStore(config);
  let secret = '';
  let layout: VectorLayout | undefined;
  const ids: string[] = [];
  try {
    layout = await layoutOf(store, config);
    secret = (await store.keys.create('bench-similar', ['profiles:read'])).secret;
    const pick = mulberry32(777);
    const labels = Array.from({ length: 2000 }, () => 1 + Math.floor(pick() * N));
    const pub = await store.profiles.publicIds(labels);
    for (const l of labels) ids.push(pub.get(l) as string);
  } finally {
    await store.close();
  }
  if (!layout) throw new Error('no vector layout');
  // The cached file, linked beside the database with a manifest for this layout and watermark (the
  // rows already applied: a start on it adds nothing). The server saves by rename, never into the cache.
  const cached = JSON.parse(readFileSync(`${indexPath}.json`, 'utf8')) as Manifest;
  const syncedAt = U0 + N * 1000;
  const recent: [number, number][] = [];
  for (let l = Math.max(1, N - 5); l <= N; l++) recent.push([l, U0 + l * 1000]);
  symlinkSync(resolve(indexPath), `${dbPath}.hnsw`);
  writeFileSync(`${dbPath}.hnsw.json`, JSON.stringify({ ...cached, vectorVersion: layout.version, ef, syncedAt, recent } satisfies Manifest));

  const rows: SimilarRow[] = [];
  const idle: IdleRow[] = [];
  let indexReady: unknown = null;
  let answersEqual = 0;
  let floor: StartedServer | undefined;
  let floorBytes: BodySizes | undefined;
  // The servers record their event-loop delay and GC pauses (bench/server-stats.mjs), read after each row.
  const statsPreload = pathToFileURL(join(root, 'bench/server-stats.mjs')).href;
  const serverStats = async (name: string, pid: number | undefined): Promise<ServerStats> => {
    const f = join(hdir, `${name}-stats.jsonl`);
    const before = existsSync(f) ? readFileSync(f, 'utf8') : '';
    process.kill(pid as number, 'SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const now = existsSync(f) ? readFileSync(f, 'utf8') : '';
      if (now.length > before.length) return JSON.parse(now.slice(before.length).trim()) as ServerStats;
    }
    throw new Error(`${name}: no server stats`);
  };
  const s0 = performance.now();
  const ours = await startServer(
    [...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : []), '--import', statsPreload, bin, 'serve'],
    { ...env, BENCH_SERVER_STATS: join(hdir, 'traitlens-stats.jsonl') },
    /"url":"(http:\/\/[^"]+)"/,
    (line) => {
      if (line.includes('rebuilding the vector index')) log(`  the server is rebuilding the index (the manifest did not match): ${line}`);
      if (line.includes('vector index ready')) {
        const j = JSON.parse(line) as Record<string, unknown>;
        indexReady = { loaded: !j.rebuilt, upserted: j.upserted, removed: j.removed, vectors: j.vectors };
      }
    },
  );
  const startSeconds = (performance.now() - s0) / 1000;
  const raw = await startServer(
    [
      '--import',
      statsPreload,
      '--import',
      'tsx',
      join(root, 'bench/similar-raw.ts'),
      '--db',
      dbPath,
      '--index',
      indexPath,
      '--ef',
      String(ef),
      '--layout',
      JSON.stringify({ version: layout.version, blocks: layout.blocks }),
    ],
    { ...env, BENCH_SERVER_STATS: join(hdir, 'raw-stats.jsonl') },
    /raw listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  try {
    const idsFile = join(hdir, 'ids.txt');
    writeFileSync(idsFile, `${ids.join('\n')}\n`);
    for (const [name, srv] of [
      ['traitlens', ours],
      ['raw', raw],
    ] as const) {
      // Warm-up (and a check that every answer is a 200).
      const w = await openLoopRow(srv.url, secret, idsFile, 100, 2);
      if (w.errors) throw new Error(`${name}: ${w.errors} errors in the warm-up`);
    }
    // The raw server must give the same answer: compared on the first 100 ids (neighbours, similarities, blocks, shared traits).
    let differ = 0;
    const sizes: number[] = [];
    for (const id of ids.slice(0, 100)) {
      const path = `/v1/users/${encodeURIComponent(id)}/similar?k=10`;
      const text = await (await fetch(ours.url + path, { headers: { authorization: `Bearer ${secret}` } })).text();
      sizes.push(Buffer.byteLength(text));
      const a = JSON.parse(text) as unknown;
      const b = await (await fetch(raw.url + path)).json();
      if (!isDeepStrictEqual(a, b)) {
        if (!differ) log(`  answers differ for ${id}:\n    traitlens ${JSON.stringify(a)}\n    raw       ${JSON.stringify(b)}`);
        differ++;
      }
    }
    log(`  same answer from both servers: ${100 - differ}/100 ids`);
    answersEqual = 100 - differ;
    const servers: (readonly [SimilarRow['server'], StartedServer])[] = [
      ['traitlens', ours],
      ['raw', raw],
    ];
    // The floor answers as many bytes as ours did on those 100 ids (their mean), warmed up like the others.
    if (!values['no-floor']) {
      floorBytes = bodySizes(sizes);
      floor = await startFloorServer(floorBytes.mean, {
        env: { PATH: process.env.PATH ?? '', BENCH_SERVER_STATS: join(hdir, 'floor-stats.jsonl') },
        nodeFlags: ['--import', statsPreload],
        ...serverWrap,
      });
      const w = await openLoopRow(floor.url, secret, idsFile, 100, 2);
      if (w.errors) throw new Error(`floor: ${w.errors} errors in the warm-up`);
      servers.push(['floor', floor]);
    }
    /** `work` against one server, and what that server spent meanwhile: CPU, run-queue wait, storage reads, its loop and GC. */
    const measured = async <T>(name: string, pid: number | undefined, work: () => Promise<T>) => {
      await serverStats(name, pid); // reset
      const cpu0 = cpuSeconds(pid);
      const rq0 = runQueueSeconds(pid);
      const io0 = diskReads(pid);
      const load1 = loadavg()[0] as number;
      const result = await work();
      const io = diskReads(pid);
      return {
        result,
        load1,
        cpu: cpuSeconds(pid) - cpu0,
        runq: runQueueSeconds(pid) - rq0,
        diskBytes: io.bytes - io0.bytes,
        majorFaults: io.majflt - io0.majflt,
        stats: await serverStats(name, pid),
      };
    };
    // Each server with nothing to do: what it spends and how its loop stalls without any request.
    const idleSeconds = Number(values['similar-idle']);
    if (idleSeconds > 0)
      for (const [name, srv] of servers) {
        const m = await measured(name, srv.child.pid, () => new Promise((r) => setTimeout(r, idleSeconds * 1000)));
        idle.push({
          server: name,
          seconds: idleSeconds,
          load1: m.load1,
          cpu_ms_per_s: (m.cpu * 1000) / idleSeconds,
          runq_ms_per_s: (m.runq * 1000) / idleSeconds,
          server_stats: m.stats,
        });
      }
    for (const rate of (values['similar-rates'] as string).split(',').map(Number))
      for (const [name, srv] of servers) {
        const m = await measured(name, srv.child.pid, () => openLoopRow(srv.url, secret, idsFile, rate, seconds));
        const { statuses: _, ...r } = m.result;
        rows.push({
          server: name,
          target_rps: rate,
          load1: m.load1,
          ...r,
          cpu_ms_per_req: (m.cpu * 1000) / r.requests,
          runq_ms_per_req: (m.runq * 1000) / r.requests,
          disk_kb_per_req: m.diskBytes / 1024 / r.requests,
          major_faults: m.majorFaults,
          server_stats: m.stats,
        });
        log(`  ${name} at ${rate}/s: p99 ${rows.at(-1)?.p99_ms.toFixed(2)} ms`);
      }
    return {
      ef,
      fill_seconds: fillSeconds,
      db_mb: Math.round(statSync(dbPath).size / 2 ** 20),
      server_start_seconds: startSeconds,
      index_ready: indexReady,
      answers_equal_of_100: answersEqual,
      floor_bytes: floorBytes ?? null,
      server_rss_mb: rssMb(ours.child.pid),
      raw_rss_mb: rssMb(raw.child.pid),
      idle,
      rows,
    };
  } finally {
    await stopServer(ours.child);
    await stopServer(raw.child);
    if (floor) await stopServer(floor.child);
  }
}
