/**
 * Ingestion benchmark: `traitlens import` of a 1M-event JSONL file, and `POST /v1/events` with
 * batches of 500 from several concurrent clients on loopback, against the real CLI and server
 * (separate processes). Prints one table.
 *   npm run bench:ingest -- [--events 1000000] [--http-events 200000] [--clients 4] [--sync FULL]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'http-events': { type: 'string', default: '200000' },
    clients: { type: 'string', default: '4' },
    batch: { type: 'string', default: '500' },
    sync: { type: 'string', default: 'FULL' },
    file: { type: 'string' },
  },
});
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

try {
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

  // 2. POST /v1/events against the real server.
  const httpDb = join(dir, 'http.db');
  const key = JSON.parse(
    (await run(process.execPath, [bin, 'keys', 'create', '--name', 'bench', '--scopes', 'events:write', '--json'], { env: env(httpDb), cwd: dir })).stdout,
  ) as { secret: string };
  const server = spawn(process.execPath, [bin, 'serve'], { env: env(httpDb), cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  try {
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
            const r = await fetch(`${url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' }, body });
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
          what: `POST /v1/events, ${clients} clients × ${batch}/batch`,
          events: latencies.length * batch,
          accepted,
          duplicates: 0,
          seconds: Number(secs.toFixed(2)),
          'events/s': Math.round((latencies.length * batch) / secs),
          'p50 ms/batch': Number(pct(latencies, 50).toFixed(1)),
          'p99 ms/batch': Number(pct(latencies, 99).toFixed(1)),
        });
    }
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`synchronous=${values.sync}, ${N.toLocaleString('en-US')}-event file ${file}`);
console.table(rows);
