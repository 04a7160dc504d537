/**
 * Profile reads under an open-loop load (issue 14 item 3): `GET /v1/users/:id` on the real server
 * (`traitlens serve`, its own process, default settings: synchronous FULL, audit on, worker on)
 * over the demo database, at fixed request rates. Requests are scheduled at fixed intervals and
 * each latency is measured from its scheduled time, not from when it was sent, so a stalled server
 * cannot hide its stall by slowing the load down (no coordinated omission). Beside it, in the same
 * run and on a copy of the same database: a raw baseline, a minimal hono + better-sqlite3 server
 * answering the same profile (user row, identities, counts by type from the same tally table,
 * current traits) without auth, audit, ETag or logging. And the floor: bench/floor-server.mjs, bare
 * node:http answering every GET with one constant JSON body as long as the mean real answer
 * (measured on 50 users before the rows), no routing, no database: what loopback, node:http and the
 * generator alone cost on this machine at that rate, before any server work (--no-floor skips it).
 * Each rate measures the three in that order, with the same ids and columns: p50/p99/p99.9/max
 * latency, the achieved rate, the server's CPU time per request, the generator's CPU per request,
 * its send lag, and the p99 from the actual send; under the table, the ratio to the baseline and
 * the floor's p99 at each rate.
 * The load generator is bench/open-loop.ts in a process of its own (64 MB heap; raw keep-alive
 * sockets, pre-formatted requests, a minimal response parser: cheap per request, as it shares the
 * machine's cores with the servers), one per row, with 1 s of warm-up at the row's rate on the same
 * connections; each row also shows how late it sent (send lag) and the latency from the actual send.
 *   npx tsx bench/reads.ts [--db demo.db] [--users 2000] [--rates 1000,2000] [--seconds 10] [--no-raw] [--no-floor]
 * Without --db a demo database is built first (`traitlens demo --no-serve`, ~1 min).
 * Target (issue 14): p99 ≤ 10 ms at 2,000 req/s.
 */
import Database from 'better-sqlite3';
import { type ChildProcess, execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { auditPathOf } from '../src/db/connection.ts';
import { cpuSeconds, type OpenLoopResult, openLoopChild } from './open-loop.ts';
import { type BodySizes, bodySizes, FLOOR_NAME, startFloorServer, startServer } from './servers.ts';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    users: { type: 'string', default: '2000' },
    rates: { type: 'string', default: '1000,2000' },
    seconds: { type: 'string', default: '10' },
    /** sockets the load generator may open to a server */
    sockets: { type: 'string', default: '256' },
    /** only the traitlens server (no raw baseline) */
    'no-raw': { type: 'boolean', default: false },
    /** no floor row (bench/floor-server.mjs: node:http answering a constant body) */
    'no-floor': { type: 'boolean', default: false },
    /** write a V8 CPU profile of the traitlens server into this folder (node --cpu-prof) */
    'cpu-prof': { type: 'string' },
    /** internal: run as the raw baseline server over this database */
    child: { type: 'string' },
  },
});
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin/traitlens.mjs');

if (values.child) await rawServer(values.child);
else await main();

/** The baseline: the same reads on the raw driver, nothing else. */
async function rawServer(dbPath: string): Promise<void> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const db = new Database(dbPath, { readonly: true });
  db.pragma('busy_timeout = 5000');
  const userBy = db.prepare(
    `SELECT u.id, u.external_id AS externalId, u.attributes, u.consent, u.event_count AS eventCount, u.first_event_at AS firstEventAt,
            u.last_event_at AS lastEventAt, u.created_at AS createdAt, u.updated_at AS updatedAt
     FROM identities i JOIN users u ON u.id = i.user_id
     WHERE i.alias = ? AND i.kind IN ('user', 'anonymous') ORDER BY (CASE WHEN i.kind = 'user' THEN 0 ELSE 1 END) LIMIT 1`,
  );
  const identities = db.prepare('SELECT kind, alias, created_at AS createdAt FROM identities WHERE user_id = ? ORDER BY id');
  // The per-type tally ingestion keeps, as the server reads it (not a count over the user's events).
  const counts = db.prepare('SELECT type, n FROM user_event_counts WHERE user_id = ? ORDER BY type');
  const traits = db.prepare(
    'SELECT id, key, value, kind, confidence, evidence, producer, version, valid_from AS validFrom, valid_to AS validTo FROM traits WHERE user_id = ? AND valid_to IS NULL ORDER BY kind, key, confidence DESC, id',
  );
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  const app = new Hono();
  app.get('/v1/users/:id', (c) => {
    const u = userBy.get(c.req.param('id')) as (Record<string, unknown> & { id: number }) | undefined;
    if (!u) return c.json({ error: 'not found' }, 404);
    const ids = identities.all(u.id) as { kind: string; alias: string; createdAt: number }[];
    const byType = counts.all(u.id) as { type: string; n: number }[];
    const ts = traits.all(u.id) as Record<string, unknown>[];
    return c.json({
      id: u.externalId,
      attributes: JSON.parse(u.attributes as string),
      consent: u.consent,
      identities: ids.map((i) => ({ ...i, createdAt: iso(i.createdAt) })),
      eventCount: u.eventCount,
      firstEventAt: iso(u.firstEventAt as number | null),
      lastEventAt: iso(u.lastEventAt as number | null),
      eventCounts: Object.fromEntries(byType.map((r) => [r.type, r.n])),
      traits: ts.map((t) => ({ ...t, value: JSON.parse(t.value as string), evidence: JSON.parse(t.evidence as string), validFrom: iso(t.validFrom as number) })),
    });
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => process.stdout.write(`raw listening on http://127.0.0.1:${info.port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

interface Row {
  server: string;
  'target req/s': number;
  'achieved req/s': number;
  requests: number;
  errors: number;
  'p50 ms': number;
  'p99 ms': number;
  'p99.9 ms': number;
  'max ms': number;
  /** the server process's CPU time (user + system, all its threads) per request: less sensitive than latency to a busy machine */
  'server CPU ms/req': number;
  /** the load generator's CPU time per request: it shares the machine's cores with the server */
  'client CPU ms/req': number;
  /** how late the generator sent (p99): its own stalls, apart from the server's */
  'send lag p99 ms': number;
  /** p99 latency from the actual send (without the send lag) */
  'sent p99 ms': number;
}

async function main(): Promise<void> {
  const run = promisify(execFile);
  const rates = values.rates.split(',').map(Number);
  const SECONDS = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-reads-'));
  const children: ChildProcess[] = [];
  try {
    const db = join(dir, 'demo.db');
    if (values.db) {
      // A copy: the run writes audit rows (and the server migrates), the original stays as it was.
      const src = resolve(values.db);
      const probe = new Database(src);
      probe.pragma('wal_checkpoint(TRUNCATE)');
      probe.close();
      copyFileSync(src, db);
      // The similar-users index beside it (else the server rebuilds it on start).
      for (const ext of ['.hnsw', '.hnsw.json']) if (existsSync(`${src}${ext}`)) copyFileSync(`${src}${ext}`, `${db}${ext}`);
    } else {
      process.stderr.write(`building a ${values.users}-user demo database (traitlens demo --no-serve)...\n`);
      await run(process.execPath, [bin, 'demo', '--no-serve', '--json', '--users', values.users, '--db', db], {
        cwd: dir,
        env: { ...process.env, TRAITLENS_CACHE_DIR: process.env.TRAITLENS_CACHE_DIR ?? join(root, 'data/cache') },
        maxBuffer: 64 * 1024 * 1024,
      });
    }
    const ids = (new Database(db, { readonly: true }).prepare('SELECT external_id AS id FROM users WHERE external_id IS NOT NULL ORDER BY id').all() as { id: string }[]).map(
      (r) => r.id,
    );
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, `${ids.join('\n')}\n`);
    // Only what a production server must change for a load test: no per-key rate limit.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TRAITLENS_DB: db, TRAITLENS_RATE_LIMIT_RPS: '0', HOST: '127.0.0.1', PORT: '0' };
    const key = (
      JSON.parse((await run(process.execPath, [bin, 'keys', 'create', '--name', 'bench-reads', '--scopes', 'profiles:read', '--json'], { env, cwd: dir })).stdout) as {
        secret: string;
      }
    ).secret;
    // The demo database has no item embeddings yet: the server's pipeline worker would train them
    // at start (minutes of a core on this machine, overlapping the measurement). Trained here once,
    // as the worker would, so both servers read the same database and the measured server is in
    // its steady state (worker on, nothing due).
    if (!hasItemModel(db)) await run(process.execPath, [bin, 'train-items', '--json'], { env, cwd: dir, maxBuffer: 64 * 1024 * 1024 });
    const auditBefore = auditRows(db);
    // The baseline's copy is taken after `keys create` migrated the database, so it reads the same
    // tables (the per-type tally included) as the server does.
    const rawDb = join(dir, 'raw.db');
    copyFileSync(db, rawDb);
    for (const ext of ['-wal', '-shm']) if (existsSync(`${db}${ext}`)) copyFileSync(`${db}${ext}`, `${rawDb}${ext}`);

    const start = async (args: string[], childEnv: NodeJS.ProcessEnv, ready: RegExp, cwd = dir): Promise<{ url: string; pid: number | undefined }> => {
      const s = await startServer(args, { env: childEnv, ready, cwd });
      children.push(s.child);
      return s;
    };
    const servers: { name: string; url: string; pid: number | undefined; headers: Record<string, string> }[] = [
      {
        name: 'traitlens serve',
        ...(await start([...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : []), bin, 'serve'], env, /(http:\/\/127\.0\.0\.1:\d+)/)),
        headers: { authorization: `Bearer ${key}` },
      },
    ];
    if (!values['no-raw'])
      servers.push({
        name: 'raw hono + better-sqlite3',
        ...(await start(['--import', 'tsx', join(root, 'bench/reads.ts'), '--child', rawDb], { PATH: env.PATH }, /raw listening on (http:\/\/127\.0\.0\.1:\d+)/, root)),
        headers: {},
      });

    // Start-up work (migrations, the vector index catching up, the pipeline worker's start) is not
    // what is measured: wait until each server is idle (under 10% of a core in three half-seconds in
    // a row, at most two minutes; one quiet half-second between start-up phases was not enough).
    for (const srv of servers) {
      let quiet = 0;
      for (let i = 0; i < 240 && quiet < 3; i++) {
        const c0 = cpuSeconds(srv.pid);
        await new Promise((r) => setTimeout(r, 500));
        quiet = (cpuSeconds(srv.pid) - c0) / 0.5 >= 0.1 ? 0 : quiet + 1;
      }
      if (quiet < 3) console.error(`warning: ${srv.name} was still busy after two minutes: its start-up work overlaps the measurement`);
    }
    // The floor answers as many bytes as a real answer: the mean of 50 users' profiles, spread over the ids.
    let floorBytes: BodySizes | undefined;
    const sampled = Math.min(50, ids.length);
    if (!values['no-floor']) {
      const sample = Array.from({ length: sampled }, (_, i) => ids[Math.floor((i * ids.length) / sampled)]!);
      floorBytes = await answerBytes(
        servers[0]!.url,
        sample.map((id) => `/v1/users/${encodeURIComponent(id)}`),
        servers[0]!.headers,
      );
      const floor = await startFloorServer(floorBytes.mean);
      children.push(floor.child);
      servers.push({ name: FLOOR_NAME, url: floor.url, pid: floor.pid, headers: {} });
    }
    // The floor a held-until-durable read cannot go below on this disk: one audit-sized commit
    // (WAL, synchronous FULL: an fsync) on a file of its own in the same folder. A read waits for the
    // group being committed when it arrives, then for its own: up to two of these.
    const floor = commitFloor(join(dir, 'floor.db'), 300);
    const rows: Row[] = [];
    // The answers fetched to size the floor were audited too.
    let sentToTraitlens = floorBytes ? sampled : 0;
    for (const rate of rates) {
      for (const s of servers) {
        // Warm-up (connections open, statements compiled, JIT warm): 1 s at the same rate, in the generator.
        const r = await openLoopRow(s.url, s.headers, idsFile, rate, SECONDS, s.pid);
        const sent = r.requests;
        if (s.name === 'traitlens serve') sentToTraitlens += sent + rate;
        rows.push({
          server: s.name,
          'target req/s': rate,
          'achieved req/s': r.achieved_rps,
          requests: sent,
          errors: r.errors,
          'p50 ms': round(r.p50_ms),
          'p99 ms': round(r.p99_ms),
          'p99.9 ms': round(r.p999_ms),
          'max ms': round(r.max_ms),
          'server CPU ms/req': Number((r.server_cpu_ms_per_req ?? Number.NaN).toFixed(3)),
          'client CPU ms/req': Number(r.gen_cpu_ms_per_req.toFixed(3)),
          'send lag p99 ms': round(r.send_lag_p99_ms),
          'sent p99 ms': round(r.sent_p99_ms),
        });
        if (Object.keys(r.statuses).length) console.error(`${s.name} at ${rate}/s: non-200 answers ${JSON.stringify(r.statuses)}`);
      }
    }
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    const audited = auditRows(db) - auditBefore;

    console.log(
      `load average when done: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (${cpus().length} cores)`,
    );
    console.log(`GET /v1/users/:id, open loop, ${SECONDS} s per row (after 1 s of warm-up at the same rate), ${ids.length} users, latencies from the scheduled send time`);
    console.table(rows);
    if (floorBytes)
      console.log(
        `floor: bench/floor-server.mjs, node:http answering every GET with a constant ${floorBytes.mean}-byte JSON body (the mean of 50 traitlens answers, ${floorBytes.min}–${floorBytes.max} bytes)`,
      );
    for (const rate of rates) {
      const at = (name: string) => rows.find((r) => r.server === name && r['target req/s'] === rate);
      const t = at('traitlens serve');
      const raw = at('raw hono + better-sqlite3');
      const floor = at(FLOOR_NAME);
      const parts = [
        ...(t && raw
          ? [
              `traitlens / raw  CPU per request ${(t['server CPU ms/req'] / raw['server CPU ms/req']).toFixed(2)}×  p50 ${(t['p50 ms'] / raw['p50 ms']).toFixed(1)}×  p99 ${(t['p99 ms'] / raw['p99 ms']).toFixed(1)}×`,
            ]
          : []),
        ...(floor ? [`floor p99 ${floor['p99 ms']} ms (p50 ${floor['p50 ms']} ms)`] : []),
      ];
      if (parts.length) console.log(`${rate} req/s: ${parts.join('  ')}  (target: traitlens p99 ≤ 10 ms at 2,000 req/s)`);
    }
    console.log(`audit rows written by traitlens during the run: ${audited} for ${sentToTraitlens} requests (warm-up included)`);
    console.log(
      `durable commit on this disk (one audit-sized row, WAL, synchronous FULL, ${floor.n} commits before the run): p50 ${floor.p50.toFixed(2)} ms, p99 ${floor.p99.toFixed(2)} ms; an audited read waits for at most two (the group in flight, then its own)`,
    );
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Latency of `n` single-row commits (WAL, synchronous FULL) into a fresh file: the fsync this disk costs. */
function commitFloor(path: string, n: number): { n: number; p50: number; p99: number } {
  const d = new Database(path);
  try {
    d.pragma('journal_mode = WAL');
    d.pragma('synchronous = FULL');
    d.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, key_id TEXT, action TEXT, route TEXT, status INTEGER, user_id INTEGER)');
    const insert = d.prepare('INSERT INTO t (at, key_id, action, route, status, user_id) VALUES (?, ?, ?, ?, ?, ?)');
    const one = d.transaction((i: number) => insert.run(Date.now(), 'key_x', 'profile.read', '/v1/users/:id', 200, i));
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      one.immediate(i);
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    return { n, p50: lat[Math.floor(n * 0.5)]!, p99: lat[Math.floor(n * 0.99)]! };
  } finally {
    d.close();
  }
}

function hasItemModel(db: string): boolean {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM item_embedding_models').get() as { n: number }).n > 0;
  } finally {
    d.close();
  }
}

function auditRows(db: string): number {
  // The audit log's own file beside the database (src/db/connection.ts).
  const d = new Database(auditPathOf(db) ?? db, { readonly: true });
  try {
    return (d.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
  } finally {
    d.close();
  }
}

/** Body lengths (bytes) of GET `base + path` for each path: what a real answer weighs, for the floor's body. */
async function answerBytes(base: string, paths: readonly string[], headers: Record<string, string>): Promise<BodySizes> {
  const sizes: number[] = [];
  for (const p of paths) {
    const res = await fetch(base + p, { headers });
    if (res.status !== 200) throw new Error(`GET ${p}: ${res.status}`);
    sizes.push((await res.arrayBuffer()).byteLength);
  }
  return bodySizes(sizes);
}

function round(x: number): number {
  return Number(x.toFixed(2));
}

/**
 * One row's load: bench/open-loop.ts in a child process with a 64 MB heap (nothing shared with this
 * process), 1 s of warm-up at the same rate, then `seconds` measured; it also reads the server's CPU
 * time around the measured part.
 */
function openLoopRow(base: string, headers: Record<string, string>, idsFile: string, rate: number, seconds: number, serverPid: number | undefined): Promise<OpenLoopResult> {
  const auth = headers.authorization?.replace(/^Bearer /, '');
  return openLoopChild([
    '--url',
    base,
    ...(auth ? ['--key', auth] : []),
    '--ids',
    idsFile,
    '--path',
    '/v1/users/{id}',
    '--rate',
    String(rate),
    '--seconds',
    String(seconds),
    '--warmup',
    '1',
    '--sockets',
    values.sockets,
    ...(serverPid === undefined ? [] : ['--server-pid', String(serverPid)]),
  ]);
}
