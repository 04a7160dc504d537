/**
 * Ingestion benchmark: `traitlens import` of a 1M-event JSONL file, and `POST /v1/events` with
 * batches of 500 from several concurrent clients on loopback, against the real CLI and server
 * (separate processes). Beside the HTTP row, in the same run, the raw baseline: a minimal hono +
 * better-sqlite3 server that parses the same bodies and writes the same event rows (identity
 * lookup or creation, one INSERT per event with the unique dedupe key, one transaction per batch,
 * the same synchronous setting, the touched users' counters, refresh jobs and per-type tallies) into
 * a database of the same schema, with nothing else: no auth, validation, cleaning or per-event
 * outcomes. Prints one table with the ratio.
 *   npm run bench:ingest -- [--events 1000000] [--http-events 200000] [--clients 4] [--sync FULL] [--skip-import]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { prepareRawWrites } from './raw-writes.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'http-events': { type: 'string', default: '200000' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
    sync: { type: 'string', default: 'FULL' },
    file: { type: 'string' },
    'skip-import': { type: 'boolean', default: false },
    /** write a V8 CPU profile of each server (ours and raw) into this folder (node --cpu-prof) */
    'cpu-prof': { type: 'string' },
    /** internal: run as the raw baseline server over this database */
    child: { type: 'string' },
  },
});
if (values.child) {
  await rawServer(values.child, values.sync!);
} else {
  await main();
}

/**
 * The baseline: the same rows written with the raw driver, nothing else. Per batch, like ours:
 * identities resolved (users created on first sight), events inserted with the unique dedupe key,
 * each touched user's counters and first/last times, one pending refresh job per touched user,
 * per-(user, type) tallies. Not done: auth, validation and cleaning, per-event outcomes.
 */
async function rawServer(dbPath: string, sync: string): Promise<void> {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const { createHash } = await import('node:crypto');
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync}`);
  db.pragma('busy_timeout = 5000');
  const findUser = db.prepare<[string], { user_id: number }>("SELECT user_id FROM identities WHERE kind = 'user' AND alias = ?");
  const { insertUser, insertIdentity, insertEvent, touched } = prepareRawWrites(db);
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
  type In = { eventId: string; userId: string; type: string; timestamp: number; text?: string; properties?: Record<string, unknown> };
  const write = db.transaction((events: In[], now: number) => {
    for (const e of events) {
      let uid = findUser.get(e.userId)?.user_id;
      if (uid === undefined) {
        uid = Number(insertUser.run(e.userId, now, now).lastInsertRowid);
        insertIdentity.run('user', e.userId, uid, now);
      }
      const props = JSON.stringify(e.properties ?? {});
      const hash = sha1(`${e.type}\u0000${props}\u0000${e.text ?? ''}`);
      if (insertEvent.run(uid, e.type, e.timestamp, props, e.text ?? null, null, e.eventId, hash, sha1(`e\u0000${e.eventId}`), now, null).changes !== 1) continue;
      touched.add(uid, e.type, e.timestamp);
    }
    return touched.flush(now);
  });
  const app = new Hono();
  app.post('/v1/events', async (c) => {
    const body = (await c.req.json()) as { events: In[] };
    return c.json({ accepted: write.immediate(body.events, Date.now()) });
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => process.stdout.write(`raw listening on http://127.0.0.1:${info.port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

async function main(): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const bin = join(root, 'bin/traitlens.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-ingest-'));
  const N = Number(values.events);
  const file = values.file ?? join(tmpdir(), `traitlens-bench-${N}.jsonl`);
  const env = (db: string) => ({
    PATH: process.env.PATH ?? '',
    TRAITLENS_DB: db,
    TRAITLENS_DB_SYNCHRONOUS: values.sync!,
    LOG_LEVEL: 'warn',
    TRAITLENS_WORKER: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
  };
  const rows: Record<string, string | number>[] = [];
  const start = (args: string[], childEnv: Record<string, string>, cwd: string) => {
    const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof']] : [];
    const child = spawn(process.execPath, [...prof, ...args], { env: childEnv, cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    return { child, url };
  };

  try {
    if (!values['skip-import']) {
      if (!existsSync(file)) await run(process.execPath, ['--import', 'tsx', join(root, 'bench/gen-events.ts'), file, String(N)], { cwd: root });
      // 1. traitlens import, the real CLI in its own process.
      const importDb = join(dir, 'import.db');
      for (const pass of ['first', 'again (all duplicates)']) {
        const { stdout } = await run(process.execPath, [bin, 'import', file, '--json'], { env: env(importDb), cwd: dir, maxBuffer: 64 << 20 });
        const s = JSON.parse(stdout) as { events: number; accepted: number; duplicates: number; seconds: number; eventsPerSecond: number };
        rows.push({
          what: `import ${pass}`,
          events: s.events,
          accepted: s.accepted,
          duplicates: s.duplicates,
          seconds: s.seconds,
          'events/s': Math.round(s.eventsPerSecond),
          'p50 ms/batch': '',
          'p99 ms/batch': '',
        });
      }
    }

    // 2. POST /v1/events against the real server, then the same bodies against the raw baseline.
    const batch = Number(values.batch);
    const total = Number(values['http-events']);
    const clients = Number(values.clients);
    const batches = Math.ceil(total / batch);
    // Bodies are built before timing: the benchmark measures the server, not JSON.stringify here.
    const bodies = Array.from({ length: batches }, (_, b) =>
      JSON.stringify({
        events: Array.from({ length: batch }, (_, i) => {
          const n = b * batch + i;
          return n % 10 === 9
            ? { eventId: `h-${n}`, userId: `user-${n % 20_000}`, type: 'search', text: `trail running shoes size ${n % 15}`, timestamp: 1_780_000_000_000 + n }
            : { eventId: `h-${n}`, userId: `user-${n % 20_000}`, type: 'page_view', timestamp: 1_780_000_000_000 + n, properties: { url: `/p/${n % 5000}`, dwell_ms: n % 60_000 } };
        }),
      }),
    );
    const drive = async (label: string, url: string, headers: Record<string, string>) => {
      for (const round of ['warm-up', 'measured']) {
        const latencies: number[] = [];
        let next = round === 'warm-up' ? Math.floor(batches * 0.9) : 0;
        const end = round === 'warm-up' ? batches : Math.floor(batches * 0.9);
        let accepted = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (next < end) {
              const body = bodies[next++]!;
              const t = performance.now();
              const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
              const j = (await r.json()) as { accepted: number };
              if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
              latencies.push(performance.now() - t);
              accepted += j.accepted;
            }
          }),
        );
        const secs = (performance.now() - t0) / 1000;
        if (round === 'measured')
          rows.push({
            what: `${label}, ${clients} clients × ${batch}/batch`,
            events: latencies.length * batch,
            accepted,
            duplicates: 0,
            seconds: Number(secs.toFixed(2)),
            'events/s': Math.round((latencies.length * batch) / secs),
            'p50 ms/batch': Number(pct(latencies, 50).toFixed(1)),
            'p99 ms/batch': Number(pct(latencies, 99).toFixed(1)),
          });
      }
    };

    const httpDb = join(dir, 'http.db');
    const key = JSON.parse(
      (await run(process.execPath, [bin, 'keys', 'create', '--name', 'bench', '--scopes', 'events:write', '--json'], { env: env(httpDb), cwd: dir })).stdout,
    ) as { secret: string };
    const ours = start([bin, 'serve'], env(httpDb), dir);
    try {
      await drive('POST /v1/events', await ours.url, { authorization: `Bearer ${key.secret}` });
    } finally {
      ours.child.kill('SIGTERM');
      await new Promise((r) => ours.child.once('exit', r));
    }

    // The raw server's database: the same schema (migrated by the CLI), empty.
    const rawDb = join(dir, 'raw.db');
    await run(process.execPath, [bin, 'keys', 'list', '--json'], { env: env(rawDb), cwd: dir });
    const raw = start(['--import', 'tsx', join(root, 'bench/ingest.ts'), '--child', rawDb, '--sync', values.sync!], { PATH: process.env.PATH ?? '' }, root);
    try {
      await drive('raw hono + better-sqlite3', await raw.url, {});
    } finally {
      raw.child.kill('SIGTERM');
      await new Promise((r) => raw.child.once('exit', r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`synchronous=${values.sync}, ${N.toLocaleString('en-US')}-event file ${file}`);
  console.table(rows);
  const ours = rows.find((r) => String(r.what).startsWith('POST'));
  const raw = rows.find((r) => String(r.what).startsWith('raw'));
  if (ours && raw)
    console.log(
      `HTTP ingestion, traitlens / raw: ${(Number(ours['events/s']) / Number(raw['events/s'])).toFixed(2)} (load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${cpus().length} cores)`,
    );
}
