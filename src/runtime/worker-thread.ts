import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';

/** What the server hands its pipeline thread (structured-cloned). */
export interface ThreadData {
  config: Config;
  /** Int32Array[0] = HTTP ingestion requests in flight (the server counts, the thread yields) */
  ingesting: SharedArrayBuffer;
  /** the longest the thread waits for ingestion before claiming a slice anyway */
  maxYieldMs: number;
  concurrency: number;
  /** nice value for the thread (Linux): the serving thread wins CPU contention */
  nice: number;
}

export type ToThread = { type: 'notify' } | { type: 'stop' };
export type FromThread =
  | { type: 'ready'; workerId: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> }
  | { type: 'running'; ids: number[] }
  | { type: 'stopped' };

export interface PipelineThread {
  readonly workerId: string;
  /** wake the worker (new work was queued) */
  notify(): void;
  /** counts an ingestion request in flight for the duration of `fn`: the pipeline yields to it */
  ingesting<T>(fn: () => Promise<T>): Promise<T>;
  /** job ids the thread last reported running */
  running(): number[];
  /**
   * Asks the worker to finish its running jobs and exit; past `deadlineMs` the thread is terminated
   * (its jobs stay `running` until their leases lapse, then any worker reclaims them).
   */
  stop(deadlineMs: number): Promise<{ clean: boolean; abandonedJobs: number[] }>;
}

/**
 * Starts the pipeline worker on its own thread with its own database connection (the server's
 * event loop only answers HTTP). Resolves once the worker runs; rejects if the thread failed to start.
 */
export async function startPipelineThread(opts: { config: Config; logger: Logger; concurrency?: number; maxYieldMs?: number; nice?: number }): Promise<PipelineThread> {
  const ingesting = new SharedArrayBuffer(4);
  const counter = new Int32Array(ingesting);
  const data: ThreadData = {
    config: opts.config,
    ingesting,
    maxYieldMs: opts.maxYieldMs ?? 250,
    concurrency: opts.concurrency ?? opts.config.TRAITLENS_WORKER_SLICE,
    nice: opts.nice ?? 10,
  };
  const thread = new Thread(new URL('./worker-thread-entry.mjs', import.meta.url), { workerData: data, name: 'traitlens-pipeline' });
  const { logger } = opts;
  let running: number[] = [];
  let stopped = false;
  const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
  const stoppedMsg = new Promise<void>((resolve) =>
    thread.on('message', (m: FromThread) => {
      if (m.type === 'log') logger[m.level](m.fields, m.msg);
      else if (m.type === 'running') running = m.ids;
      else if (m.type === 'stopped') resolve();
    }),
  );
  thread.on('error', (err) => logger.error({ err: String(err) }, 'pipeline thread failed'));
  void exited.then((code) => {
    if (!stopped) logger.error({ code }, 'pipeline thread exited unexpectedly; jobs it held are reclaimed when their leases lapse');
  });
  const workerId = await new Promise<string>((resolve, reject) => {
    const onMsg = (m: FromThread) => {
      if (m.type === 'ready') {
        thread.off('message', onMsg);
        thread.off('error', reject);
        resolve(m.workerId);
      }
    };
    thread.on('message', onMsg);
    thread.once('error', reject);
    void exited.then((code) => reject(new Error(`pipeline thread exited before it started (code ${code})`)));
  });
  return {
    workerId,
    notify: () => thread.postMessage({ type: 'notify' } satisfies ToThread),
    async ingesting(fn) {
      Atomics.add(counter, 0, 1);
      try {
        return await fn();
      } finally {
        Atomics.sub(counter, 0, 1);
      }
    },
    running: () => running,
    async stop(deadlineMs) {
      if (stopped) return { clean: true, abandonedJobs: [] };
      stopped = true;
      thread.postMessage({ type: 'stop' } satisfies ToThread);
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        Promise.all([stoppedMsg, exited]).then(() => 'stopped' as const),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadlineMs)))),
      ]);
      clearTimeout(timer);
      if (outcome === 'stopped') return { clean: true, abandonedJobs: [] };
      const abandonedJobs = [...running];
      // terminate() waits for the thread to reach JS again; a native busy wait (SQLite lock) may
      // hold it for the busy timeout, so do not let that extend the deadline by more than a second.
      await Promise.race([thread.terminate(), new Promise((r) => setTimeout(r, 1000).unref())]);
      return { clean: false, abandonedJobs };
    },
  };
}
