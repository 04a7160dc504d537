/**
 * What another connection's commits cost a profile read on SQLite, with and without
 * `PRAGMA mmap_size` (issue 14 item 3). In `serve` the audit writer thread commits on its own
 * connection; SQLite then drops the serving connection's page cache at its next read transaction,
 * and the profile read (user, aliases, counts by type, current traits: the server's statements) fetches
 * its pages again. The question was whether memory-mapping the file makes that cheap.
 *   npx tsx bench/read-cache.ts [--db data/demo.db] [--reads 12000]
 * On a migrated copy: four reader connections (mmap off / 256 MB, each with and without a
 * one-row commit on another connection before every read), interleaved in blocks of 200 reads so a
 * busy machine weighs on each alike; prints the reader's CPU time per read (process.cpuUsage, this
 * single thread) after five warm-up blocks.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb } from '../src/db/connection.ts';

const { values } = parseArgs({ options: { db: { type: 'string', default: 'data/demo.db' }, reads: { type: 'string', default: '12000' } } });
const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-read-cache-'));
try {
  const path = join(dir, 'demo.db');
  const probe = new Database(resolve(values.db));
  probe.pragma('wal_checkpoint(TRUNCATE)');
  probe.close();
  copyFileSync(resolve(values.db), path);
  openDb(path).close(); // migrated as the server would
  const writer = new Database(path);
  writer.pragma('synchronous = OFF'); // the commit's cost is not what is measured here
  writer.exec('CREATE TABLE bench_commits (id INTEGER PRIMARY KEY, at INTEGER)');
  const commit = writer.prepare('INSERT INTO bench_commits (at) VALUES (?)');
  const ids = (writer.prepare('SELECT external_id AS id FROM users WHERE external_id IS NOT NULL').all() as { id: string }[]).map((r) => r.id);

  /** A reader connection as the server opens it (cache_size as src/db/connection.ts), the profile read as one read transaction. */
  const reader = (mmap: number) => {
    const d = new Database(path);
    d.pragma('cache_size = -131072');
    d.pragma(`mmap_size = ${mmap}`);
    const find = d.prepare(
      `SELECT u.* FROM identities i JOIN users u ON u.id = i.user_id WHERE i.alias = ? AND i.kind IN ('user', 'anonymous') ORDER BY (CASE WHEN i.kind = 'user' THEN 0 ELSE 1 END) LIMIT 1`,
    );
    const identities = d.prepare('SELECT kind, alias, created_at FROM identities WHERE user_id = ? ORDER BY id');
    const counts = d.prepare('SELECT type, n FROM user_event_counts WHERE user_id = ? ORDER BY type');
    const traits = d.prepare('SELECT * FROM traits WHERE user_id = ? AND valid_to IS NULL ORDER BY kind, key, confidence DESC, id');
    const read = d.transaction((ref: string) => {
      const u = find.get(ref) as { id: number };
      return [u, identities.all(u.id), counts.all(u.id), traits.all(u.id)];
    });
    return { read, close: () => d.close() };
  };
  const configs = [0, 256 * 1024 * 1024].flatMap((mmap) => [false, true].map((commits) => ({ mmap, commits, conn: reader(mmap), cpuUs: 0, n: 0 })));
  const blocks = Math.ceil(Number(values.reads) / 200) + 5;
  let k = 0;
  for (let b = 0; b < blocks; b++)
    for (const c of configs)
      for (let i = 0; i < 200; i++, k++) {
        if (c.commits) commit.run(Date.now());
        const t = process.cpuUsage();
        c.conn.read(ids[(k * 7919) % ids.length]!);
        const d = process.cpuUsage(t);
        if (b >= 5) {
          c.cpuUs += d.user + d.system;
          c.n++;
        }
      }
  for (const c of configs) c.conn.close();
  writer.close();
  console.log(
    `load average when done: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (${cpus().length} cores); ${ids.length} users`,
  );
  console.table(
    configs.map((c) => ({
      mmap_size: c.mmap ? `${c.mmap / 1024 / 1024} MB` : 'off',
      'another connection commits before each read': c.commits,
      reads: c.n,
      'CPU µs/read': Number((c.cpuUs / c.n).toFixed(1)),
    })),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
