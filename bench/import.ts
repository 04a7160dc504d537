/**
 * Import speed, ours beside its raw dependency in the same run: `importFile` (what `traitlens
 * import` runs) into a fresh temp database, then a plain better-sqlite3 loop that reads the same
 * file and writes the same rows into the same schema (same pragmas, same transaction size), then
 * ours again (a re-import must add nothing). Checks that both databases hold identical rows and
 * prints one table with the ratio and the peak RSS of the process.
 *   node --import tsx bench/gen-events.ts /tmp/1m.jsonl 1000000
 *   node --import tsx bench/import.ts /tmp/1m.jsonl [--inline|--worker] [--sync FULL|NORMAL|OFF] [--batch-size N] [--once] [--no-raw] [--rounds N]
 *
 * Ours parses in a worker thread or not as `traitlens import` decides (`useWorkerFor`: only when a
 * core is idle); --inline / --worker force one. --rounds N repeats ours and raw N times, alternating which goes first, and reports the ratio of
 * the medians (the machine this runs on is shared: one run is noisy). Peak RSS is the process's.
 *
 * The raw loop is written for this file's shape (bench/gen-events.ts): it does only what these
 * events need (snake_case names, the numeric `price` string, sha1 keys) and trusts its input;
 * the identical-rows check is what keeps it honest. It has no parse worker: it is one thread.
 */
import { hash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os, { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDb, type Db } from '../src/db/connection.ts';
import { sqliteStore } from '../src/db/store.ts';
import { DEFAULT_IMPORT_BATCH_SIZE, importFile, useWorkerFor } from '../src/ingest/import-file.ts';
import { prepareRawWrites } from './raw-writes.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    inline: { type: 'boolean' },
    worker: { type: 'boolean' },
    sync: { type: 'string', default: 'FULL' },
    'batch-size': { type: 'string', default: String(DEFAULT_IMPORT_BATCH_SIZE) },
    once: { type: 'boolean' },
    'no-raw': { type: 'boolean' },
    rounds: { type: 'string', default: '1' },
  },
});
const file = positionals[0];
if (!file) throw new Error('usage: bench/import.ts FILE [--inline|--worker] [--sync FULL|NORMAL|OFF] [--batch-size N] [--once] [--no-raw] [--rounds N]');
const sync = values.sync as 'FULL' | 'NORMAL' | 'OFF';
const batchSize = Number(values['batch-size']);
const dir = mkdtempSync(join(tmpdir(), 'traitlens-bench-'));
/** WAL pages between checkpoints during a bulk load: what `EventStore.bulk` sets for ours. */
const BULK_WAL_PAGES = 16_384;

// CPU time of all threads per event: steadier than wall time on a machine shared with others.
const cpuPerEvent = (since: NodeJS.CpuUsage, events: number) => {
  const c = process.cpuUsage(since);
  return Number(((c.user + c.system) / events).toFixed(1));
};
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Reads the file line by line (1 MB chunks). */
async function* lines(path: string): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const text = carry + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) !== -1) {
      if (nl > start) yield text.slice(start, nl);
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry !== '') yield carry;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const sha1 = (s: string) => hash('sha1', s, 'base64url');
const dedupeKeyOf = sha1;
const EXPECTED: Record<string, string[]> = { purchase: ['price', 'category'], page_view: ['dwell_ms'], product_view: ['product_id', 'category'] };

/** The raw loop: one thread, one better-sqlite3 transaction per batch, users in a Map. */
async function raw(db: Db): Promise<{ events: number; seconds: number }> {
  const s = db.sqlite;
  s.pragma(`wal_autocheckpoint = ${BULK_WAL_PAGES}`);
  const { insertUser, insertIdentity, insertEvent, touched } = prepareRawWrites(s);
  const bump = s.prepare('INSERT INTO ingest_counters (metric, key, count) VALUES (?, ?, ?) ON CONFLICT (metric, key) DO UPDATE SET count = count + excluded.count');
  const users = new Map<string, number>();
  type Row = [
    kind: string,
    alias: string,
    type: string,
    ts: number,
    props: string,
    text: string | null,
    source: string | null,
    eventId: string | null,
    ch: string,
    dk: unknown,
    flags: string | null,
  ];
  const writeBatch = s.transaction((rows: Row[]) => {
    const now = Date.now();
    let coerced = 0;
    for (const r of rows) {
      const ukey = r[0] + r[1];
      let userId = users.get(ukey);
      if (userId === undefined) {
        userId = Number(insertUser.run(r[0] === 'user' ? r[1] : null, now, now).lastInsertRowid);
        insertIdentity.run(r[0], r[1], userId, now);
        users.set(ukey, userId);
      }
      if (insertEvent.run(userId, r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], now, r[10]).changes !== 1) continue;
      if (r[10] !== null) coerced++;
      touched.add(userId, r[2], r[3]);
    }
    touched.flush(now);
    if (coerced) bump.run('warning', 'number_coerced', coerced);
  });
  const started = performance.now();
  let events = 0;
  let batch: Row[] = [];
  for await (const line of lines(file!)) {
    const o = JSON.parse(line) as Record<string, string | undefined> & { properties?: Record<string, unknown> };
    const type = snake(o.type!);
    let flags: string | null = null;
    const props: Record<string, unknown> = {};
    if (o.properties) {
      const entries = Object.entries(o.properties).map(([k, v]) => [snake(k), v] as [string, unknown]);
      entries.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [k, v] of entries) {
        if (k === 'price' && typeof v === 'string') {
          props[k] = Number(v);
          flags = '["number_coerced"]';
        } else props[k] = v;
      }
    }
    for (const p of EXPECTED[type] ?? []) if (props[p] === undefined) throw new Error(`the raw loop does not count missing properties (${type}.${p})`);
    const propsJson = JSON.stringify(props);
    const text = o.text ?? null;
    const kind = o.userId !== undefined ? 'user' : 'anonymous';
    const alias = (o.userId ?? o.anonymousId)!;
    const ts = Date.parse(o.timestamp!);
    const ch = sha1(`${type}\u0000${propsJson}\u0000${text ?? ''}`);
    const dk = dedupeKeyOf(o.eventId !== undefined ? `e\u0000${o.eventId}` : `h\u0000${kind}\u0000${alias}\u0000${type}\u0000${ts}\u0000${ch}`);
    batch.push([kind, alias, type, ts, propsJson, text, o.source ?? null, o.eventId ?? null, ch, dk, flags]);
    if (batch.length >= batchSize) {
      writeBatch.immediate(batch);
      events += batch.length;
      batch = [];
    }
  }
  if (batch.length) writeBatch.immediate(batch);
  events += batch.length;
  s.pragma('wal_checkpoint(PASSIVE)');
  return { events, seconds: (performance.now() - started) / 1000 };
}

/** A digest of every row both databases must agree on (times of receipt and creation aside). */
function digest(db: Db): Record<string, string> {
  const q: Record<string, string> = {
    events: 'SELECT id, user_id, type, ts, properties, text, source, client_event_id, content_hash, dedupe_key, flags FROM events ORDER BY id',
    users: 'SELECT id, external_id, event_count, first_event_at, last_event_at FROM users ORDER BY id',
    identities: 'SELECT kind, alias, user_id FROM identities ORDER BY kind, alias',
    user_event_counts: 'SELECT user_id, type, n FROM user_event_counts ORDER BY user_id, type',
    jobs: 'SELECT kind, user_id, status FROM jobs ORDER BY user_id, kind',
    ingest_counters: 'SELECT metric, key, count FROM ingest_counters ORDER BY metric, key',
  };
  const out: Record<string, string> = {};
  for (const [table, sql] of Object.entries(q)) {
    let acc = '';
    let n = 0;
    const parts: string[] = [];
    for (const row of db.sqlite.prepare(sql).raw().iterate() as Iterable<unknown[]>) {
      acc += `${JSON.stringify(row)}\n`;
      n++;
      if (acc.length > 1 << 20) {
        parts.push(sha1(acc));
        acc = '';
      }
    }
    parts.push(sha1(acc));
    out[table] = `${n}:${sha1(parts.join())}`;
  }
  return out;
}

const rows: Record<string, string | number>[] = [];
/** Rows as they are measured, on stderr (a 1M round takes minutes on a busy machine); the table at the end. */
const report = (row: Record<string, string | number>) => {
  rows.push(row);
  console.error(Object.values(row).join(' | '));
};
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const rounds = Number(values.rounds);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
const oursRate: number[] = [];
const rawRate: number[] = [];
const dbs: Db[] = [];
const open = (name: string) => {
  const db = openDb(join(dir, name), { synchronous: sync });
  dbs.push(db);
  return db;
};
try {
  const ours = async (db: Db, run: string) => {
    const cpu0 = process.cpuUsage();
    const worker = values.inline ? false : values.worker ? true : useWorkerFor(statSync(file).size);
    const s = await importFile(sqliteStore(db).events, file, { worker, batchSize });
    report({
      run: `${run}, ${worker ? 'worker' : 'one thread'}`,
      events: s.events,
      accepted: s.accepted,
      duplicates: s.duplicates,
      seconds: s.seconds,
      'events/s': s.eventsPerSecond,
      'cpu µs/event': cpuPerEvent(cpu0, s.events),
      'peak RSS MB': peakRssMb(),
      load: load(),
    });
    return s.eventsPerSecond;
  };
  const baseline = async (db: Db, run: string) => {
    const cpu0 = process.cpuUsage();
    const r = await raw(db);
    const eps = Math.round(r.events / r.seconds);
    report({
      run,
      events: r.events,
      accepted: r.events,
      duplicates: 0,
      seconds: Number(r.seconds.toFixed(3)),
      'events/s': eps,
      'cpu µs/event': cpuPerEvent(cpu0, r.events),
      'peak RSS MB': peakRssMb(),
      load: load(),
    });
    return eps;
  };
  let last: Db | undefined;
  // Rounds alternate which goes first, so a change in the machine's load falls on both.
  for (let i = 1; i <= rounds; i++) {
    const o = open(`ours-${i}.db`);
    const r = values['no-raw'] ? undefined : open(`raw-${i}.db`);
    if (i % 2 === 0 && r) rawRate.push(await baseline(r, `raw better-sqlite3 loop (round ${i})`));
    oursRate.push(await ours(o, `traitlens import (round ${i})`));
    if (i % 2 === 1 && r) rawRate.push(await baseline(r, `raw better-sqlite3 loop (round ${i})`));
    if (r && i === 1) {
      const a = digest(o);
      const b = digest(r);
      const differ = Object.keys(a).filter((t) => a[t] !== b[t]);
      rows.push({
        run: `identical rows: ${
          differ.length
            ? `NO (${differ.join(', ')})`
            : `yes (${Object.entries(a)
                .map(([t, d]) => `${t} ${d.split(':')[0]}`)
                .join(', ')})`
        }`,
      });
    }
    // Each connection keeps a 128 MB page cache: close a round's databases before the next.
    last?.close();
    r?.close();
    last = o;
  }
  if (rawRate.length) {
    rows.push({ run: `median of ${rounds}: traitlens import`, 'events/s': median(oursRate) });
    rows.push({ run: `median of ${rounds}: raw better-sqlite3 loop`, 'events/s': median(rawRate) });
    rows.push({ run: 'ratio ours / raw (medians, events/s)', 'events/s': Number((median(oursRate) / median(rawRate)).toFixed(3)) });
  }
  if (!values.once && last) await ours(last, 'traitlens import again (adds nothing)');
} finally {
  for (const db of dbs) if (db.sqlite.open) db.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `file ${file}, synchronous ${sync}, ${batchSize} events per transaction, node ${process.version}, ${new Date().toISOString()}, ${os.cpus().length} CPUs shared with other work`,
);
console.table(rows);
