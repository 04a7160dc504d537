/**
 * Does a busy pipeline starve the API? 4 clients send 250-event batches for 300 users to the real
 * server (its own process) for a fixed time, while a prober reads /healthz and a user profile;
 * once with the worker off, then with the built-in worker on (its own thread) and busy, and with
 * `--inline` also the old shape (the worker on the serving event loop). Prints ingestion events/s
 * (and the on/off ratio) and the probes' p50/p99.
 *   npx tsx bench/starvation.ts [--seconds 20] [--clients 4] [--batch 250] [--users 300] [--sync FULL] [--inline]
 * Target (issue 12): ratio ≥ 0.8, /healthz and profile p99 ≤ 50 ms with the worker on.
 * The prober is a process of its own: in the clients' process its timings would include the time
 * that process spends building and reading batches, which is not the server's latency.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '250' },
    inline: { type: 'boolean', default: false },
    /** the database's synchronous setting (the server's default is FULL) */
    sync: { type: 'string', default: 'FULL' },
    /** which rows to run (comma-separated: off, thread, inline); default off,thread (+inline with --inline) */
    modes: { type: 'string' },
    /** write a V8 CPU profile of each server into this folder (node --cpu-prof) */
    'cpu-prof': { type: 'string' },
    /** internal: run as the server child with the worker on the serving event loop, or as the prober */
    child: { type: 'string' },
    url: { type: 'string' },
    key: { type: 'string' },
    users: { type: 'string', default: '300' },
  },
});
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/traitlens.mjs');

if (values.child === 'probe') {
  await probe();
} else if (values.child === 'inline') {
  // The pre-thread shape, for comparison: same server, pipeline on this event loop.
  const { loadConfig } = await import('../src/core/config.ts');
  const { startServer } = await import('../src/api/server.ts');
  const server = await startServer({ config: loadConfig(), worker: 'inline' });
  process.stdout.write(`traitlens listening on ${server.url}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const run = promisify(execFile);
  const SECONDS = Number(values.seconds);
  const CLIENTS = Number(values.clients);
  const BATCH = Number(values.batch);
  const USERS = Number(values.users);
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : Number.NaN;
  };
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-starve-'));
  const env = (db: string, worker: boolean) => ({
    PATH: process.env.PATH ?? '',
    TRAITLENS_DB: db,
    TRAITLENS_DB_SYNCHRONOUS: values.sync!,
    LOG_LEVEL: 'warn',
    TRAITLENS_WORKER: String(worker),
    TRAITLENS_RATE_LIMIT_RPS: '0',
    // one word-vector cache for every run (building it takes ~20 s, which is not what is measured)
    TRAITLENS_CACHE_DIR: process.env.TRAITLENS_CACHE_DIR ?? join(root, 'data/cache'),
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const topics = ['trail running shoes', 'vegan recipes for a family dinner', 'noise cancelling headphones for the office', 'a cheap flight to Lisbon', 'yoga mats'];
  let seq = 0;
  const body = () =>
    JSON.stringify({
      events: Array.from({ length: BATCH }, (_, i) => {
        const n = seq++;
        const userId = `user-${n % USERS}`;
        // One event in five carries text: the pipeline extracts traits and embeds it.
        return i % 5 === 0
          ? { eventId: `s-${n}`, userId, type: 'search', text: `I am looking for ${topics[n % topics.length]} (${n % 97})`, timestamp: 1_780_000_000_000 + n }
          : { eventId: `s-${n}`, userId, type: 'page_view', timestamp: 1_780_000_000_000 + n, properties: { url: `/p/${n % 5000}` } };
      }),
    });

  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
  async function startServer(mode: 'off' | 'thread' | 'inline', db: string): Promise<{ child: ChildProcess; url: string }> {
    const child =
      mode === 'inline'
        ? spawn(process.execPath, [...prof, '--import', 'tsx', join(root, 'bench/starvation.ts'), '--child', 'inline'], {
            env: env(db, true),
            cwd: root,
            stdio: ['ignore', 'pipe', 'inherit'],
          })
        : spawn(process.execPath, [...prof, bin, 'serve'], { env: env(db, mode === 'thread'), cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    return { child, url };
  }

  const rows: Record<string, string | number>[] = [];
  const modes = (values.modes?.split(',') ?? (values.inline ? ['off', 'thread', 'inline'] : ['off', 'thread'])) as ('off' | 'thread' | 'inline')[];
  let offRate = 0;
  let idleHealth = '';
  try {
    for (const mode of modes) {
      const db = join(dir, `${mode}.db`);
      const key = JSON.parse(
        (await run(process.execPath, [bin, 'keys', 'create', '--name', 'bench', '--scopes', 'admin', '--json'], { env: env(db, false), cwd: dir })).stdout,
      ) as { secret: string };
      const headers = { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' };
      const { child, url } = await startServer(mode, db);
      try {
        const post = async () => {
          const r = await fetch(`${url}/v1/events`, { method: 'POST', headers, body: body() });
          if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
          await r.json();
        };
        // A backlog first: every user has work queued, so the worker (when on) is busy from the start.
        for (let i = 0; i < 8; i++) await post();
        type Stats = { jobs: Record<string, number> };
        const stats = async () => (await (await fetch(`${url}/v1/stats`, { headers })).json()) as Stats;
        // The worker is warm (models and word vectors loaded) once its first job is done.
        if (mode !== 'off') for (let i = 0; i < 600 && !((await stats()).jobs.done ?? 0); i++) await new Promise((r) => setTimeout(r, 200));
        const statsBefore = await stats();
        const batchMs: number[] = [];
        const health: number[] = [];
        const profile: number[] = [];
        if (mode === 'off') {
          // For scale: the same probes against an idle server (this machine's floor).
          const idle: number[] = [];
          for (let i = 0; i < 100; i++) {
            const t = performance.now();
            await (await fetch(`${url}/healthz`)).arrayBuffer();
            idle.push(performance.now() - t);
          }
          idleHealth = `${pct(idle, 50).toFixed(1)} / ${pct(idle, 99).toFixed(1)}`;
        }
        // The prober starts first (its tsx start-up is not part of the window) and says when it probes.
        let ready!: () => void;
        const probing = new Promise<void>((r) => (ready = r));
        const prober = new Promise<{ health: number[]; profile: number[] }>((resolve, reject) => {
          const args = [
            '--import',
            'tsx',
            join(root, 'bench/starvation.ts'),
            '--child',
            'probe',
            '--url',
            url,
            '--key',
            key.secret,
            '--seconds',
            String(SECONDS),
            '--users',
            String(USERS),
          ];
          const p = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          p.stdout!.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.startsWith('ready\n')) ready();
          });
          p.once('exit', (code) =>
            code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as { health: number[]; profile: number[] }) : reject(new Error(`prober exited ${code}`)),
          );
        }).then((r) => {
          health.push(...r.health);
          profile.push(...r.profile);
        });
        await probing;
        const t0 = performance.now();
        const end = t0 + SECONDS * 1000;
        const clients = Array.from({ length: CLIENTS }, async () => {
          while (performance.now() < end) {
            const t = performance.now();
            await post();
            batchMs.push(performance.now() - t);
          }
        });
        await Promise.all(clients);
        const secs = (performance.now() - t0) / 1000;
        await prober;
        const statsAfter = await stats();
        const rate = (batchMs.length * BATCH) / secs;
        if (mode === 'off') offRate = rate;
        rows.push({
          worker: mode === 'off' ? 'off' : mode === 'thread' ? 'on (thread), busy' : 'on (inline, old), busy',
          'events/s': Math.round(rate),
          'vs off': mode === 'off' ? 1 : Number((rate / offRate).toFixed(2)),
          'batch p50 ms': Math.round(pct(batchMs, 50)),
          'healthz p50': Number(pct(health, 50).toFixed(1)),
          'healthz p99': Number(pct(health, 99).toFixed(1)),
          'profile p50': Number(pct(profile, 50).toFixed(1)),
          'profile p99': Number(pct(profile, 99).toFixed(1)),
          probes: health.length,
          'jobs done': (statsAfter.jobs.done ?? 0) - (statsBefore.jobs.done ?? 0),
        });
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`${CLIENTS} clients × ${BATCH}-event batches, ${USERS} users, ${SECONDS} s per row (after an 8-batch backlog), synchronous=${values.sync}; latencies in ms`);
  console.log(`/healthz p50 / p99 on the idle server (no clients): ${idleHealth} ms`);
  console.log(
    `load average when done: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} cores; other work on the machine shows here)`,
  );
  console.table(rows);
}

/** The prober: /healthz then a profile, every 20 ms, for --seconds; prints the latencies as JSON. */
async function probe(): Promise<void> {
  const url = values.url!;
  const headers = { authorization: `Bearer ${values.key}` };
  const users = Number(values.users);
  const health: number[] = [];
  const profile: number[] = [];
  process.stdout.write('ready\n');
  const end = performance.now() + Number(values.seconds) * 1000;
  let u = 0;
  while (performance.now() < end) {
    let t = performance.now();
    const h = await fetch(`${url}/healthz`);
    await h.arrayBuffer();
    health.push(performance.now() - t);
    t = performance.now();
    const p = await fetch(`${url}/v1/users/user-${u++ % users}`, { headers });
    await p.arrayBuffer();
    if (p.status !== 200) throw new Error(`profile HTTP ${p.status}`);
    profile.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify({ health, profile }));
}
