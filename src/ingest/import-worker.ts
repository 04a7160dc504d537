import { parentPort, workerData } from 'node:worker_threads';
import type { CleanLimits } from './clean.ts';
import { encodeBatch, readCleanedBatches, type ImportFormat, type WireBatch } from './import-source.ts';

/** What `importFile` passes to the worker that reads, parses and cleans the file. */
export interface ImportWorkerData {
  file: string;
  format: ImportFormat;
  batchSize: number;
  limits: CleanLimits;
  /** batches cleaned but not yet acknowledged as written */
  maxInFlight: number;
}

export type WorkerMessage =
  | { type: 'batch'; wire: WireBatch }
  | { type: 'done' }
  | { type: 'error'; error: { name: string; message: string; code?: string; status?: number; details?: unknown } };

const port = parentPort;
if (!port) throw new Error('import-worker must run in a worker thread');
const data = workerData as ImportWorkerData;

// Credit-based backpressure: the writer acks each written batch, so a fast cleaner never queues
// the whole file in memory while SQLite catches up.
let inFlight = 0;
let wake: (() => void) | null = null;
port.on('message', (m: { type: string }) => {
  if (m.type !== 'ack') return;
  inFlight--;
  wake?.();
  wake = null;
});

try {
  for await (const sb of readCleanedBatches(data.file, data.format, data.batchSize, data.limits)) {
    while (inFlight >= data.maxInFlight) await new Promise<void>((r) => (wake = r));
    inFlight++;
    const wire = encodeBatch(sb);
    port.postMessage({ type: 'batch', wire } satisfies WorkerMessage, [wire.lines.buffer as ArrayBuffer]);
  }
  port.postMessage({ type: 'done' } satisfies WorkerMessage);
} catch (err) {
  const e = err as { name?: string; message?: string; code?: string; status?: number; details?: unknown };
  port.postMessage({
    type: 'error',
    error: { name: e.name ?? 'Error', message: e.message ?? String(err), code: e.code, status: e.status, details: e.details },
  } satisfies WorkerMessage);
}
// Nothing more to send: let the thread end even though the port still listens for acks.
port.unref();
