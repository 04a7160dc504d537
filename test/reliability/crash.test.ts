import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/connection.ts';
import { sqliteStore } from '../../src/db/store.ts';
import { tempDir } from '../support/temp-db.ts';

const BATCH = 50;

const batchOf = (b: number) =>
  Array.from({ length: BATCH }, (_, i) => ({
    eventId: `b${b}-${i}`,
    userId: `u${(b * 7 + i) % 23}`,
    type: i % 5 === 0 ? 'search' : 'page_view',
    ...(i % 5 === 0 ? { text: `batch ${b} item ${i}` } : {}),
    timestamp: 1_780_000_000_000 + b * 1000 + i,
  }));

async function serve(dbPath: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../support/serve-child.ts')], {
    env: { ...process.env, TRAITLENS_DB: dbPath, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', TRAITLENS_DB_SYNCHRONOUS: 'NORMAL', TRAITLENS_WORKER: 'true', TRAITLENS_RATE_LIMIT_RPS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [first] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, url: (JSON.parse(first) as { url: string }).url };
}

describe('crash safety', () => {
  it('SIGKILL during a stream of ingestion batches: every acknowledged event survives, no batch is half-written', async () => {
    const { dir, remove } = tempDir();
    const dbPath = join(dir, 'crash.db');
    const setup = openDb(dbPath, { synchronous: 'OFF' });
    const key = (await sqliteStore(setup).keys.create('crash', ['admin'])).secret;
    setup.close();
    let server = await serve(dbPath);
    try {
      const acked = new Set<number>();
      const sent = new Set<number>();
      let next = 0;
      let killed = false;
      const client = async () => {
        while (!killed) {
          const b = next++;
          sent.add(b);
          const events = batchOf(b);
          try {
            const r = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
            const body = (await r.json()) as { accepted: number };
            if (r.status === 200 && body.accepted === BATCH) acked.add(b);
          } catch {
            return; // the connection died with the server: this batch's outcome is unknown
          }
        }
      };
      const clients = Array.from({ length: 4 }, client);
      // Kill once a fair number of batches is in, while requests are in flight.
      while (acked.size < 40) await new Promise((r) => setTimeout(r, 10));
      const exited = once(server.child, 'exit');
      server.child.kill('SIGKILL');
      killed = true;
      await exited;
      await Promise.all(clients);

      server = await serve(dbPath);
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const db = openDb(dbPath, { readonly: true });
      const counts = new Map(
        (db.sqlite.prepare("SELECT substr(client_event_id, 2, instr(client_event_id, '-') - 2) AS b, count(*) AS n FROM events GROUP BY b").all() as { b: string; n: number }[]).map((r) => [
          Number(r.b),
          r.n,
        ]),
      );
      const usersCount = (db.sqlite.prepare('SELECT sum(event_count) AS n FROM users').get() as { n: number }).n;
      const total = (db.sqlite.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      db.close();
      for (const b of acked) expect(counts.get(b), `acknowledged batch ${b}`).toBe(BATCH);
      for (const [b, n] of counts) {
        expect(sent.has(b)).toBe(true);
        expect(n, `batch ${b} is all or nothing`).toBe(BATCH);
      }
      // Per-user counters were committed with the events they count.
      expect(usersCount).toBe(total);
      // And the restarted server takes the stream up again; a retried in-flight batch is deduplicated.
      const unknown = [...sent].filter((b) => !acked.has(b));
      for (const b of unknown) {
        // The same batch as first sent (an eventId re-sent with other content would be rejected as a conflict).
        const events = batchOf(b);
        const r = await fetch(`${server.url}/v1/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
        const body = (await r.json()) as { accepted: number; duplicates: number };
        expect(body.accepted + body.duplicates).toBe(BATCH);
        expect(body.accepted === 0 || body.accepted === BATCH).toBe(true);
      }
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      remove();
    }
  }, 60_000);
});
