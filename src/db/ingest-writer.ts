import { Worker } from 'node:worker_threads';
import type { EventOutcome } from '../core/types.ts';
import type { Db } from './connection.ts';
import type { PendingEvent, PendingRejection } from './stores/events.ts';

/** What the thread is started with. */
export interface WriterData {
  path: string;
  synchronous: 'OFF' | 'NORMAL' | 'FULL';
  busyTimeoutMs: number;
  /** WritePriority's cells: wait (at most `yieldMs`) while an audit group commits */
  priority?: Int32Array;
  yieldMs: number;
}
export interface WriterRequest {
  id: number;
  events: readonly PendingEvent[];
  rejections: readonly PendingRejection[];
  receivedAt: number;
}
export type WriterReply = { id: number; ok: true; outcomes: EventOutcome[] } | { id: number; ok: false; error: string; code?: string };

const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL'] as const;

/**
 * Ingestion batches written on a thread with its own connection to the SQLite file (the server's
 * shape: `EventStore.startWriter`). A 250-event batch's transaction is ~10 ms of CPU (inserts,
 * index pages, WAL checkpoints); on the serving thread that is a block every other request waits
 * behind. Here the serving thread only hands the cleaned batch over and answers once the thread
 * has committed it. Batches are written one at a time, in arrival order; each is one transaction
 * as before, with the serving connection's durability and busy timeout.
 */
export class SqliteIngestWriter {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(o: EventOutcome[]): void; reject(err: unknown): void }>();
  private failure: Error | undefined;

  private constructor(private readonly thread: Worker) {
    thread.on('message', (m: WriterReply | 'ready') => {
      if (m === 'ready') return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.outcomes);
      else w.reject(Object.assign(new Error(m.error), m.code ? { code: m.code } : {}));
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    thread.on('error', fail);
    thread.on('exit', (code) => fail(new Error(`ingestion writer thread exited (${code})`)));
  }

  /** Starts the thread on `db`'s file and resolves once its connection is open. */
  static async start(db: Db, priority: Int32Array | undefined, yieldMs: number): Promise<SqliteIngestWriter> {
    const s = db.sqlite;
    const sync = SYNCHRONOUS[Number(s.pragma('synchronous', { simple: true }))] ?? 'FULL';
    const data: WriterData = {
      path: db.path,
      synchronous: sync,
      busyTimeoutMs: Number(s.pragma('busy_timeout', { simple: true })),
      ...(priority ? { priority } : {}),
      yieldMs,
    };
    const thread = new Worker(new URL('./ingest-writer-entry.mjs', import.meta.url), { name: 'traitlens-ingest-writer', workerData: data });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (m !== 'ready') return;
        thread.off('error', reject);
        thread.off('message', onMessage);
        resolve();
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
    });
    // Batches in flight hold a reference through their promises; an idle writer keeps nothing alive.
    thread.unref();
    return new SqliteIngestWriter(thread);
  }

  /** True until the thread failed or was closed: then batches go back to the serving connection. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  write(events: readonly PendingEvent[], rejections: readonly PendingRejection[], receivedAt: number): Promise<EventOutcome[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.thread.postMessage({ id, events, rejections, receivedAt } satisfies WriterRequest);
    });
  }

  /** Lets the batches already handed over commit, then closes the thread's connection. */
  async close(): Promise<void> {
    if (this.failure) return;
    this.failure = new Error('ingestion writer closed');
    const exited = new Promise((r) => this.thread.once('exit', r));
    // Messages are handled in order: 'close' runs after every batch posted before it.
    this.thread.postMessage('close');
    await exited;
  }
}
