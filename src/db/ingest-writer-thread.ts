/**
 * The ingestion writer thread's body (see `SqliteIngestWriter`): its own connection to the SQLite
 * file, one `IngestStore` transaction per message, the answer posted after the commit.
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

function write(m: WriterRequest): WriterReply {
  try {
    if (w.priority) waitForPriority(w.priority, w.yieldMs);
    const deadline = Date.now() + w.busyTimeoutMs;
    for (;;) {
      const out = store.tryWriteBatch(m.events, m.rejections, m.receivedAt);
      if (out) return { id: m.id, ok: true, outcomes: out };
      if (Date.now() >= deadline) return { id: m.id, ok: false, error: 'database is locked', code: 'SQLITE_BUSY' };
      Atomics.wait(pause, 0, 0, 1);
    }
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown } | null;
    return { id: m.id, ok: false, error: String(e?.message ?? err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
  }
}

parentPort!.on('message', (m: WriterRequest | 'close') => {
  if (m === 'close') {
    db.close();
    process.exit(0);
    return;
  }
  parentPort!.postMessage(write(m));
});
parentPort!.postMessage('ready');
