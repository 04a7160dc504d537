/**
 * `/similar` in process: where a request's CPU goes, without HTTP, the load generator or a second
 * server (docs/user-vector.md, "1M, where the CPU goes").
 *   node --import tsx bench/similar-inprocess.ts [--n 100000] [--requests 2000] [--synchronous OFF|NORMAL|FULL]
 *     [--cpu-prof <file.cpuprofile>] [--cache-dir .cache/bench-similar]
 *
 * Needs the cached database and index of `bench/similar.ts --n N --similar-http` (one run of that
 * fills them). Copies the database to a temp folder, links the index with a manifest for its layout
 * (so it loads, adding nothing), builds the real runtime and app (auth, audit, registry, the route)
 * and sends GET /v1/users/:id/similar?k=10 through `app.request()` one after another. Prints CPU
 * (all threads: the audit writer's included) and wall time per request, p50/p99, the heap, and the
 * time of the main pieces called alone (the search, each store read) for comparison. --cpu-prof
 * writes a V8 CPU profile of the measured loop only (start-up excluded).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createApp } from '../src/api/app.ts';
import { loadConfig } from '../src/core/config.ts';
import { mulberry32 } from '../src/core/random.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import type { Manifest } from '../src/similar/hnsw-index.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '2000' },
    synchronous: { type: 'string', default: 'FULL' },
    'cpu-prof': { type: 'string' },
    'cache-dir': { type: 'string', default: '.cache/bench-similar' },
  },
});
const N = Number(values.n);
const REQ = Number(values.requests);
const EF = 240;
const cdir = resolve(values['cache-dir'] as string, `n${N}-d238-seed12345-m16-efc200-q500`);
const dir = mkdtempSync(join(tmpdir(), 'tl-similar-inproc-'));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] as number;
try {
  mkdirSync(dir, { recursive: true });
  const db = join(dir, 'bench.db');
  copyFileSync(join(cdir, 'similar.db'), db);
  const { U0 } = JSON.parse(readFileSync(join(cdir, 'similar.db.done'), 'utf8')) as { U0: number };
  const config = loadConfig({
    TRAITLENS_DB: db,
    TRAITLENS_EMBEDDER: 'offline',
    TRAITLENS_WORKER: 'false',
    TRAITLENS_RATE_LIMIT_RPS: '0',
    TRAITLENS_HNSW_EF: String(EF),
    TRAITLENS_DB_SYNCHRONOUS: values.synchronous as string,
    LOG_LEVEL: 'silent',
  });
  const rt = await createRuntime(config);
  try {
    const layout = await rt.profiles.index.layout();
    // The cached index, linked with a manifest for this layout and the fill's watermark (as bench/similar.ts does).
    const cached = JSON.parse(readFileSync(join(cdir, 'index.hnsw.json'), 'utf8')) as Manifest;
    const recent: [number, number][] = [];
    for (let l = Math.max(1, N - 5); l <= N; l++) recent.push([l, U0 + l * 1000]);
    symlinkSync(join(cdir, 'index.hnsw'), `${db}.hnsw`);
    writeFileSync(`${db}.hnsw.json`, JSON.stringify({ ...cached, vectorVersion: layout.version, ef: EF, syncedAt: U0 + N * 1000, recent } satisfies Manifest));
    const secret = (await rt.store.keys.create('bench', ['profiles:read'])).secret;
    const opened = await rt.profiles.index.open();
    if (opened.rebuilt || opened.upserted) throw new Error(`the index did not load as cached: ${JSON.stringify(opened)}`);
    const app = createApp(rt);
    const pick = mulberry32(777);
    const labels = Array.from({ length: 2000 }, () => 1 + Math.floor(pick() * N));
    const pub = await rt.store.profiles.publicIds(labels);
    const ids = labels.map((l) => pub.get(l) as string);
    const one = async (id: string) => {
      const r = await app.request(`/v1/users/${id}/similar?k=10`, { headers: { authorization: `Bearer ${secret}` } });
      if (r.status !== 200) throw new Error(`${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    };
    for (let i = 0; i < 200; i++) await one(ids[i % ids.length] as string); // warm-up
    const session = values['cpu-prof'] ? new Session() : null;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    }
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const lat: number[] = [];
    for (let i = 0; i < REQ; i++) {
      const t = performance.now();
      await one(ids[i % ids.length] as string);
      lat.push(performance.now() - t);
    }
    const wall = performance.now() - w0;
    const cpu = process.cpuUsage(c0);
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(values['cpu-prof'] as string, JSON.stringify(profile));
      session.disconnect();
    }
    console.log(`GET /v1/users/:id/similar?k=10 in process, ${N.toLocaleString('en-US')} users, ef ${EF}, synchronous ${values.synchronous}, ${REQ} requests one after another`);
    console.log(
      `CPU ${((cpu.user + cpu.system) / 1000 / REQ).toFixed(3)} ms/request (all threads), wall ${(wall / REQ).toFixed(3)} ms/request, p50 ${pct(lat, 50).toFixed(3)} ms, p99 ${pct(lat, 99).toFixed(3)} ms, heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MB`,
    );
    // The pieces alone, back to back, for comparison.
    const rows = await rt.store.profiles.getMany(labels.slice(0, 1000));
    const time = async (name: string, fn: (i: number) => unknown) => {
      const t = performance.now();
      for (let i = 0; i < 1000; i++) await fn(i);
      console.log(`  ${name.padEnd(36)} ${((performance.now() - t) / 1000).toFixed(3)} ms`);
    };
    console.log('alone, 1,000 calls each:');
    await time('index search (k 20, with its sync)', (i) => rt.profiles.index.search((rows.get(labels[i] as number) as { vector: Float32Array }).vector, 20));
    await time('users.find', (i) => rt.store.users.find(ids[i] as string));
    await time('profiles.get', (i) => rt.store.profiles.get(labels[i] as number));
    await time('traits.currentOfMany (11 users)', (i) => rt.store.traits.currentOfMany(labels.slice(i, i + 11)));
    await time('profiles.publicIds (10)', (i) => rt.store.profiles.publicIds(labels.slice(i, i + 10)));
    await time('profiles.getMany (10)', (i) => rt.store.profiles.getMany(labels.slice(i, i + 10)));
    await time('keys.verify', () => rt.store.keys.verify(secret));
  } finally {
    await rt.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
