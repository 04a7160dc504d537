/**
 * The pipeline worker inside `serve`, on its own thread: its own runtime (store connection or pool,
 * providers, pipeline) and event loop, so a busy pipeline (synchronous driver calls, CPU-bound extraction and embedding)
 * never delays an HTTP answer. Talks to the server through messages (see worker-thread.ts).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../core/config.ts';
import { createRuntime } from './runtime.ts';
import type { FromThread, ThreadData, ToThread } from './worker-thread.ts';

const port = parentPort!;
const data = workerData as ThreadData;
const config = data.config as Config;
const send = (m: FromThread) => port.postMessage(m);
const ingesting = new Int32Array(data.ingesting);

/**
 * Ingestion goes first: while HTTP ingestion requests are in flight, wait before claiming the next
 * slice (bounded, so a steady stream of ingestion slows the pipeline down but never stops it).
 */
async function yieldToIngestion(): Promise<void> {
  const until = Date.now() + data.maxYieldMs;
  while (Atomics.load(ingesting, 0) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
}

/**
 * Ingestion goes first at the OS level too: on Linux a thread has its own nice value, so lower this
 * thread's CPU priority (the serving thread keeps its own). Best effort: elsewhere it is a no-op.
 */
function lowerPriority(nice: number): void {
  try {
    const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1]);
    if (tid > 0 && nice > 0) setPriority(tid, nice);
  } catch {
    // not Linux, or not allowed: the yield to ingestion above still applies
  }
}
lowerPriority(data.nice);

// The thread has its own tfjs instance: apply a forced backend here too.
if (config.TRAITLENS_TF_BACKEND !== 'auto') await (await import('../predict/backend.ts')).initBackend({ prefer: config.TRAITLENS_TF_BACKEND });
const rt = await createRuntime(config);
const log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}) => send({ type: 'log', level, msg, fields });
const worker = rt.pipeline.createWorker({
  concurrency: data.concurrency,
  beforeSlice: yieldToIngestion,
  onError: (job, err, outcome) =>
    outcome === 'deferred'
      ? log('info', 'job deferred: LLM processing paused', { jobId: job.id, kind: job.kind, userId: job.userId, reason: String(err) })
      : log('warn', 'job failed', { jobId: job.id, kind: job.kind, userId: job.userId, attempts: job.attempts, outcome, err: String(err) }),
  onDone: (job, ms) => log('debug', 'job done', { jobId: job.id, kind: job.kind, userId: job.userId, attempts: job.attempts, ms: Math.round(ms) }),
  onLeaseLost: (job) => log('warn', 'job lease lost while running; another worker has it', { jobId: job.id, userId: job.userId }),
  onMaintenance: (m) => log('info', 'job queue maintenance', m),
});

// What the server reports if shutdown gives up on us.
const running = setInterval(() => send({ type: 'running', ids: worker.running.map((j) => j.id) }), 250);
running.unref();

port.on('message', (m: ToThread) => {
  if (m.type === 'notify') worker.notify();
  else if (m.type === 'stop') {
    stopItems();
    void worker.stop().then(
      () => {
        clearInterval(running);
        // Not closing the index: this thread never opened or saved it (the serving thread owns it).
        void rt.store.close().then(() => {
          send({ type: 'stopped' });
          port.close();
        });
      },
      (err: unknown) => send({ type: 'log', level: 'error', msg: 'pipeline worker failed to stop', fields: { err: String(err) } }),
    );
  }
});

worker.start();
// Item embeddings retrain when due (TRAITLENS_ITEM_RETRAIN_*): an items.train job on the queue.
const stopItems = rt.pipeline.startItemSchedule({
  onEnqueued: (s) => log('info', 'item embeddings retraining queued', { reason: s.reason, newInteractions: s.newInteractions }),
  onError: (err) => log('warn', 'item embeddings retrain check failed', { err: String(err) }),
});
send({ type: 'ready', workerId: worker.id });
