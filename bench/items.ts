/**
 * Items (issue 13 item 7). Two parts:
 *
 * 1. Item-embedding training time and memory, each run in a child process of its own (peak RSS is
 *    the child's `maxRSS`): ~4k items from Online Retail's purchases (customer present, quantity
 *    > 0, no cancellations; ../shared/datasets) and ~40k items synthetic (Zipf-like popularity,
 *    baskets from 40 families), with the service's method (mf, TRAITLENS_ITEM_METHOD's default) and
 *    the trainer's defaults (32 dimensions, 5 epochs) unless --method / --dim / --epochs say otherwise.
 * 2. Recommendation latency on the real server (`traitlens serve`, its own process, default
 *    settings) over a demo database (`traitlens demo --no-serve`, which trains item embeddings):
 *    `GET /v1/users/:id/recommendations` for random users, one request at a time after a warm-up,
 *    p50/p99; beside it, in the same run, `GET /v1/items/:id/similar` and the floor of the
 *    server's own overhead, `GET /v1/items/:id` (a catalogue row: auth, routing, one indexed read).
 *
 *   npx tsx bench/items.ts [--data ../shared/datasets] [--users 300] [--requests 300] [--method mf] [--epochs 5] [--skip-train] [--skip-latency]
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/datasets' },
    users: { type: 'string', default: '300' },
    requests: { type: 'string', default: '300' },
    epochs: { type: 'string' },
    dim: { type: 'string' },
    /** the trainer's method; default mf, the service's default (TRAITLENS_ITEM_METHOD) */
    method: { type: 'string', default: 'mf' },
    'skip-train': { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
    /** internal: one training run in this process (retail | synthetic), JSON on stdout */
    child: { type: 'string' },
  },
});
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/traitlens.mjs');

interface TrainFigures {
  dataset: string;
  items: number;
  embedded: number;
  interactions: number;
  users: number;
  loadSeconds: number;
  trainSeconds: number;
  rssAfterLoadMb: number;
  peakRssMb: number;
  backend: string;
}

const run = promisify(execFile);
const mb = (x: number) => `${Math.round(x)} MB`;

if (values.child) await trainChild(values.child);
else await main();

/** Synthetic market: 40k items in 40 families with Zipf-like popularity; each user buys 3 baskets of 4 items from 2 families. */
function synthetic(): { user: number; item: string; weight: number; ts: number }[] {
  const ITEMS = 40_000;
  const FAMILIES = 40;
  const USERS = 30_000;
  let s = 12345;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const per = ITEMS / FAMILIES;
  // Zipf-like within a family: rank r drawn with probability ∝ 1/(r+1)^0.8 (inverse-CDF approximation); every item appears.
  const pick = (f: number) => f * per + Math.min(per - 1, Math.floor(per * rnd() ** 2.2));
  const rows: { user: number; item: string; weight: number; ts: number }[] = [];
  for (let u = 0; u < USERS; u++) {
    const fams = [Math.floor(rnd() * FAMILIES), Math.floor(rnd() * FAMILIES)];
    for (let b = 0; b < 3; b++) {
      const f = fams[b % 2]!;
      for (let k = 0; k < 4; k++) rows.push({ user: u, item: `s${pick(f)}`, weight: 1, ts: 1_700_000_000_000 + b * 86_400_000 + k });
    }
  }
  // Make sure every item has at least two interactions (the trainer's default minCount).
  for (let i = 0; i < ITEMS; i++) for (let k = 0; k < 2; k++) rows.push({ user: USERS + i, item: `s${i}`, weight: 1, ts: 1_700_000_000_000 + k });
  return rows;
}

async function trainChild(which: string): Promise<void> {
  const { initBackend } = await import('../src/predict/backend.ts');
  const backend = await initBackend({ log: () => {} });
  const { trainItemEmbeddings } = await import('../src/items/embeddings.ts');
  const t0 = performance.now();
  let rows: { user: number | string; item: string; weight: number; ts: number }[];
  if (which === 'retail') {
    const { readOnlineRetailPurchases } = await import('../src/eval/recommend.ts');
    rows = readOnlineRetailPurchases(resolve(values.data!)).purchases.map((p) => ({ user: p.customer, item: p.item, weight: 1, ts: p.ts }));
  } else rows = synthetic();
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoad = process.memoryUsage().rss;
  const t1 = performance.now();
  const m = await trainItemEmbeddings(rows, {
    method: values.method!,
    ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
    ...(values.dim ? { dim: Number(values.dim) } : {}),
  });
  const trainSeconds = (performance.now() - t1) / 1000;
  const figures: TrainFigures = {
    dataset: which === 'retail' ? 'Online Retail purchases' : 'synthetic',
    items: new Set(rows.map((r) => r.item)).size,
    embedded: m.items.length,
    interactions: rows.length,
    users: new Set(rows.map((r) => r.user)).size,
    loadSeconds,
    trainSeconds,
    rssAfterLoadMb: rssAfterLoad / 2 ** 20,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    backend,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  console.log(
    `bench/items.ts — ${started}, ${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (shared machine: other work running)`,
  );
  if (!values['skip-train']) {
    const out: TrainFigures[] = [];
    for (const which of ['retail', 'synthetic']) {
      const args = [
        '--import',
        'tsx',
        join(root, 'bench/items.ts'),
        '--child',
        which,
        '--data',
        values.data!,
        ...(values.epochs ? ['--epochs', values.epochs] : []),
        ...(values.dim ? ['--dim', values.dim] : []),
      ];
      const { stdout } = await run(process.execPath, args, { cwd: root, maxBuffer: 1 << 20 });
      out.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as TrainFigures);
    }
    console.log(`\nItem-embedding training (trainItemEmbeddings, ${values.method}, ${values.dim ?? 32}-d, ${values.epochs ?? 5} epochs; one child process each)`);
    console.log(
      table(
        ['data', 'items', 'embedded', 'interactions', 'users', 'train s', 'RSS after load', 'peak RSS', 'backend'],
        out.map((f) => [f.dataset, f.items, f.embedded, f.interactions, f.users, f.trainSeconds.toFixed(1), mb(f.rssAfterLoadMb), mb(f.peakRssMb), f.backend]),
      ),
    );
  }
  if (!values['skip-latency']) await latency();
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function latency(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-items-'));
  const db = join(dir, 'demo.db');
  const env = { ...process.env, TRAITLENS_DATA_DIR: dir, TRAITLENS_DB: db, LOG_LEVEL: 'error' };
  let server: ChildProcess | undefined;
  try {
    const users = Number(values.users);
    const t0 = performance.now();
    await run(process.execPath, [bin, 'demo', '--users', String(users), '--no-serve', '--json', '--db', db], { cwd: dir, env, maxBuffer: 64 << 20 });
    console.log(`\ndemo database: ${users} users built in ${((performance.now() - t0) / 1000).toFixed(0)} s (with item embeddings)`);
    const { openStore } = await import('../src/db/open.ts');
    const { loadConfig } = await import('../src/core/config.ts');
    const store = await openStore(loadConfig({ TRAITLENS_DB: db }));
    const key = (await store.keys.create('bench', ['profiles:read'])).secret;
    const ids = (await store.features.externalIds()).map((u) => u.externalId).filter((x): x is string => !!x);
    const model = await store.items.activeEmbeddings();
    const itemIds = model?.items ?? (await store.items.list({ limit: 1000 })).map((i) => i.id);
    await store.close();
    const port = await freePort();
    server = spawn(process.execPath, [bin, 'serve'], { cwd: dir, env: { ...env, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      server!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) res();
      });
      server!.once('exit', (code) => rej(new Error(`serve exited ${code}`)));
    });
    const base = `http://127.0.0.1:${port}`;
    const n = Number(values.requests);
    let seed = 7;
    const pick = <T>(xs: readonly T[]) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return xs[seed % xs.length]!;
    };
    const measure = async (name: string, path: () => string) => {
      const get = async (p: string) => {
        const r = await fetch(base + p, { headers: { authorization: `Bearer ${key}` } });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
      };
      for (let i = 0; i < 20; i++) await get(path()); // warm-up (popularity table, model cache, JIT)
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const p = path();
        const t = performance.now();
        await get(p);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      const q = (x: number) => ms[Math.min(ms.length - 1, Math.floor(x * ms.length))]!;
      return [name, n, q(0.5).toFixed(1), q(0.99).toFixed(1), ms.at(-1)!.toFixed(1)];
    };
    const rows = [
      await measure('GET /v1/users/:id/recommendations?k=10', () => `/v1/users/${encodeURIComponent(pick(ids))}/recommendations?k=10`),
      await measure('GET /v1/items/:id/similar?k=10', () => `/v1/items/${encodeURIComponent(pick(itemIds))}/similar?k=10`),
      await measure('GET /v1/items/:id (floor: auth + one row)', () => `/v1/items/${encodeURIComponent(pick(itemIds))}`),
    ];
    console.log(`\nLatency on the real server (traitlens serve, one request at a time; ${itemIds.length} embedded items, ${ids.length} users)`);
    console.log(table(['request', 'n', 'p50 ms', 'p99 ms', 'max ms'], rows));
  } finally {
    server?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)))];
  const w = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  return cells.map((r, j) => r.map((c, i) => String(c).padEnd(w[i]!)).join('  ') + (j === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}
