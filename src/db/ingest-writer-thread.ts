/**
 * The ingestion writer thread's body (see `SqliteIngestWriter`): its own connection to the SQLite
 * file; the batches that arrived together are written in one transaction (group commit), each in
 * a savepoint of its own, and every batch is answered after that commit.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from './connection.ts';
import { IngestStore } from './ingest-store.ts';
import { waitForPriority } from './write-priority.ts';
import type { WriterData, WriterReply, WriterRequest } from './ingest-writer.ts';

const w = workerData as WriterData;
// The serving connection migrated the file already; this one only writes batches.
const db = openDb(w.path, { synchronous: w.synchronous, busyTimeoutMs: 0, migrate: false });
const store = new IngestStore(db);
// Waiting for the lock: poll every millisecond (SQLite's busy handler sleeps up to 100 ms between
// tries and loses every race to back-to-back writers), on this thread, up to the busy timeout.
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Events per group commit at most: a group holds the write lock for its whole transaction, and the
 * audit writer (reads waiting for their rows) gets it only between groups.
 */
const GROUP_EVENTS = 2000;

const failure = (id: number, err: unknown): WriterReply => {
  const e = err as { message?: unknown; code?: unknown } | null;
  return { id, ok: false, error: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
};

/**
 * One transaction for the group: a batch that fails rolls back to its savepoint (nested
 * better-sqlite3 transactions are savepoints) and is answered with its error; the others commit.
 * Under synchronous FULL that is one fsync (and one WAL copy of the pages they share) per group.
 */
const writeGroup = db.sqlite.transaction((group: WriterRequest[]) =>
  group.map((m): WriterReply => {
    try {
      return { id: m.id, ok: true, outcomes: store.writeBatch(m.events, m.rejections, m.receivedAt) };
    } catch (err) {
      return failure(m.id, err);
    }
  }),
);

function write(group: WriterRequest[]): WriterReply[] {
  try {
    if (w.priority) waitForPriority(w.priority, w.yieldMs);
    const deadline = Date.now() + w.busyTimeoutMs;
    for (;;) {
      try {
        return writeGroup.immediate(group);
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code !== 'SQLITE_BUSY' || db.sqlite.inTransaction) throw err;
        if (Date.now() >= deadline) throw err;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  } catch (err) {
    return group.map((m) => failure(m.id, err));
  }
}

// Messages that arrive together are handled in one turn of this thread's event loop: collect them,
// then write them as groups after the turn.
let queue: WriterRequest[] = [];
let closing = false;
function flush(): void {
  while (queue.length) {
    let events = 0;
    let n = 0;
    while (n < queue.length && (n === 0 || events + queue[n]!.events.length <= GROUP_EVENTS)) events += queue[n++]!.events.length;
    const group = queue.slice(0, n);
    queue = queue.slice(n);
    for (const reply of write(group)) parentPort!.postMessage(reply);
  }
  if (closing) {
    db.close();
    process.exit(0);
  }
}

parentPort!.on('message', (m: WriterRequest | 'close') => {
  if (queue.length === 0) setImmediate(flush);
  if (m === 'close') closing = true;
  else queue.push(m);
});
parentPort!.postMessage('ready');
