import { stat } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { extname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { NotFoundError, TraitlensError, ValidationError } from '../core/errors.ts';
import type { EventOutcome } from '../core/types.ts';
import type { EventStore } from '../db/stores/events.ts';
import { DEFAULT_CLEAN_LIMITS, type CleanLimits } from './clean.ts';
import { decodeBatch, readCleanedBatches, type ImportFormat, type SourceBatch } from './import-source.ts';
import type { ImportWorkerData, WorkerMessage } from './import-worker.ts';
import { writeCleanedBatch } from './ingest.ts';

export type { ImportFormat } from './import-source.ts';

// Bigger transactions amortise the per-commit cost of the random-order dedupe index (measured:
// 5,000 → 20,000 events per transaction is the largest single gain in bench/import.ts).
export const DEFAULT_IMPORT_BATCH_SIZE = 20_000;
const MAX_REJECTION_SAMPLES = 20;

export interface ImportOptions {
  /** default: from the extension (.jsonl/.ndjson → jsonl, .csv → csv) */
  format?: ImportFormat;
  /** events per transaction */
  batchSize?: number;
  limits?: CleanLimits;
  /** called after every written batch; throttle drawing yourself */
  onProgress?: (p: ImportProgress) => void;
  /**
   * Parse and clean in a worker thread while this one writes (true), or all on this thread
   * (false). Default: `useWorkerFor` (a worker for files of 2 MB or more when a core is idle).
   */
  worker?: boolean;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number;
  events: number;
  elapsedMs: number;
}

export interface RejectionSample {
  line: number;
  reason: string;
  field: string;
  message: string;
}

export interface ImportSummary {
  file: string;
  format: ImportFormat;
  bytes: number;
  /** records read: accepted + duplicates + rejected */
  events: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  /** the first rejections with their line, to find and fix them */
  rejections: RejectionSample[];
  /** warnings on accepted events, by code (e.g. timestamp_missing, number_coerced) */
  warningsByCode: Record<string, number>;
  seconds: number;
  eventsPerSecond: number;
}

export function detectFormat(file: string, explicit?: string): ImportFormat {
  if (explicit !== undefined) {
    if (explicit === 'jsonl' || explicit === 'csv') return explicit;
    throw new ValidationError(`--format must be jsonl or csv (got "${explicit}")`, { field: 'format' });
  }
  const ext = extname(file).toLowerCase();
  // Not .json: that is usually one JSON document (an array), which line-by-line reading would reject line by line.
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  throw new ValidationError(`cannot tell the format of ${file} from its extension: pass --format jsonl or --format csv`, { field: 'format' });
}

/** Below this, starting a worker (and its TypeScript loader) costs more than it saves. */
const WORKER_MIN_BYTES = 2 << 20;

/**
 * Whether an import of a file of `bytes` parses and cleans in a worker thread. The worker pays
 * only when it runs beside the writer on a core of its own: it adds ~15 µs of CPU per event
 * (the batch crosses the thread boundary as JSON; a second heap; its loader), so on a machine
 * whose cores are all busy one thread is faster (bench/import.ts, 200k events on 2 shared CPUs at
 * load ~6: 11.0k events/s inline, 7.1k/s with the worker). Idle: the 1-minute load average is
 * below the CPU count minus one.
 */
export function useWorkerFor(bytes: number): boolean {
  return bytes >= WORKER_MIN_BYTES && loadavg()[0]! < availableParallelism() - 1;
}

/**
 * Imports a JSONL or CSV file through the same clean and write halves as `POST /v1/events`
 * (`cleanBatch`, `writeCleanedBatch`), one transaction per `batchSize` events. A worker thread
 * reads, parses and cleans while this thread writes, so the two halves (similar in cost) overlap,
 * when a core is idle for it (`useWorkerFor`); else one thread does both.
 * SQLite has one writer, so writing stays on one connection: two connections would each throw
 * away the other's page cache on every commit, which measured slower than one.
 * Re-importing a file adds nothing: every event has a dedupe key (its eventId, else identity +
 * type + time + content); events without a timestamp get the import time, so those are the
 * exception (counted in `warningsByCode.timestamp_missing`).
 */
export async function importFile(events: EventStore, file: string, opts: ImportOptions = {}): Promise<ImportSummary> {
  const path = resolve(file);
  const format = detectFormat(file, opts.format);
  const batchSize = opts.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000)
    throw new ValidationError(`batch size must be an integer from 1 to 1000000 (got ${batchSize})`, { field: 'batchSize' });
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotFoundError(`file not found: ${file}`, { file: path });
    if (err.code === 'EACCES') throw new ValidationError(`cannot read ${file}: permission denied`, { file: path });
    throw err;
  });
  if (!info.isFile()) throw new ValidationError(`${file} is not a regular file`, { file: path });

  const limits = opts.limits ?? DEFAULT_CLEAN_LIMITS;
  const started = performance.now();
  const tally = new ImportTally();
  const write = async (sb: SourceBatch) => {
    tally.add((await writeCleanedBatch(events, sb.batch)).results, sb.lines);
    opts.onProgress?.({ bytesRead: sb.bytesRead, totalBytes: info.size, events: tally.events, elapsedMs: performance.now() - started });
  };
  // `bulk`: the store's tuning for a long run of large batches (SQLite: fewer WAL checkpoints).
  await events.bulk(async () => {
    if (!(opts.worker ?? useWorkerFor(info.size))) for await (const sb of readCleanedBatches(path, format, batchSize, limits)) await write(sb);
    else await runWorker({ file: path, format, batchSize, limits, maxInFlight: 3 }, write);
  });

  const seconds = (performance.now() - started) / 1000;
  return {
    file: path,
    format,
    bytes: info.size,
    events: tally.events,
    accepted: tally.accepted,
    duplicates: tally.duplicates,
    rejected: tally.rejected,
    rejectedByReason: sortedCounts(tally.reasons),
    rejections: tally.samples,
    warningsByCode: sortedCounts(tally.warnings),
    seconds: Math.round(seconds * 1000) / 1000,
    eventsPerSecond: seconds > 0 ? Math.round(tally.events / seconds) : 0,
  };
}

/** Running counts of an import. */
class ImportTally {
  events = 0;
  accepted = 0;
  duplicates = 0;
  rejected = 0;
  reasons = new Map<string, number>();
  warnings = new Map<string, number>();
  samples: RejectionSample[] = [];

  add(results: EventOutcome[], lines: Int32Array): void {
    this.events += results.length;
    for (const o of results) {
      if (o.status === 'accepted') {
        this.accepted++;
        if (o.warnings) for (const w of o.warnings) bump(this.warnings, w.code);
      } else if (o.status === 'duplicate') this.duplicates++;
      else {
        this.rejected++;
        bump(this.reasons, o.reason);
        if (this.samples.length < MAX_REJECTION_SAMPLES) this.samples.push({ line: lines[o.index] ?? 0, reason: o.reason, field: o.field, message: o.message });
      }
    }
  }
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
const sortedCounts = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));

/** Runs the parse+clean worker and writes each batch it sends, in file order, on this thread. */
function runWorker(data: ImportWorkerData, write: (sb: SourceBatch) => Promise<void>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(new URL('./import-worker.mjs', import.meta.url), { workerData: data });
    let settled = false;
    let writing: Promise<void> = Promise.resolve();
    /** the worker sent everything (it may exit while the last batches are still being written) */
    let ended = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      if (err === undefined) resolvePromise();
      else reject(err);
    };
    worker.on('message', (m: WorkerMessage) => {
      if (settled) return;
      if (m.type === 'batch') {
        // Batches arrive in file order and are written in that order: each waits for the one before.
        writing = writing.then(async () => {
          if (settled) return;
          try {
            await write(decodeBatch(m.wire));
          } catch (err) {
            finish(err);
            return;
          }
          worker.postMessage({ type: 'ack' });
        });
      } else if (m.type === 'done') {
        ended = true;
        void writing.then(() => finish());
      } else finish(reviveError(m.error));
    });
    worker.on('error', (err) => finish(err));
    worker.on('exit', (code) => ended || finish(new Error(`import worker stopped before the end of the file (exit code ${code})`)));
  });
}

/** Errors cross the thread boundary as plain data; client errors come back as client errors. */
function reviveError(e: { name: string; message: string; code?: string; status?: number; details?: unknown }): Error {
  if (e.status !== undefined && e.status < 500) return new ValidationError(e.message, e.details as Record<string, unknown> | undefined, e.code);
  if (e.code !== undefined && e.status !== undefined) return new TraitlensError(e.code, e.message);
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}
