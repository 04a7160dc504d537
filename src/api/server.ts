import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import { createApp } from './app.ts';
import { Worker, workerDefaults } from '../jobs/worker.ts';
import { createRuntime, type Runtime } from '../runtime/runtime.ts';
import { startPipelineThread, type PipelineThread } from '../runtime/worker-thread.ts';
import { createLogger } from './logger.ts';
import { createLifecycle } from './types.ts';

export interface ShutdownReport {
  /** false when the deadline passed with work still in flight (requests cut off, jobs abandoned) */
  clean: boolean;
  /** what shutdown was still waiting for at the deadline */
  waitingFor: string[];
}

export interface RunningServer {
  url: string;
  port: number;
  /** how the pipeline runs beside this server: its own thread, this event loop, or not at all */
  workerMode: 'thread' | 'inline' | 'off';
  /**
   * Graceful: readiness turns 503, no new connections, in-flight requests and running jobs finish,
   * the index is saved, the DB closed — all within TRAITLENS_SHUTDOWN_TIMEOUT_MS; past it, what is
   * left is cut off and named in the report (and the log). Idempotent.
   */
  close(): Promise<ShutdownReport>;
}

export interface StartOptions {
  config: Config;
  /** a built runtime (tests); when omitted, one is created from `config` and closed with the server */
  runtime?: Runtime;
  logger?: Logger;
  /** install SIGTERM/SIGINT handlers that close gracefully and exit 0 (1 past the deadline) (default true; tests pass false) */
  handleSignals?: boolean;
  /**
   * Run the pipeline worker beside the server (default: TRAITLENS_WORKER). `true`/`'thread'` runs it
   * on a worker thread with its own connection, so HTTP never waits for it; `'inline'` on this
   * event loop (an in-memory database has no second connection, so it always runs inline).
   */
  worker?: boolean | 'thread' | 'inline';
}

/** A request that ingests events: the pipeline thread yields to these. */
const isIngestion = (req: Request) => req.method === 'POST' && new URL(req.url).pathname === '/v1/events';

/** Starts the HTTP API on HOST:PORT (PORT 0 picks a free port; the actual one is returned). */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const ownsRuntime = opts.runtime === undefined;
  const rt = opts.runtime ?? (await createRuntime(config, { log: (msg, fields) => logger.info(fields ?? {}, msg) }));
  const { store, profiles } = rt;
  const lifecycle = createLifecycle();
  const wanted = opts.worker ?? config.TRAITLENS_WORKER;
  const workerMode: RunningServer['workerMode'] = wanted === false ? 'off' : wanted === 'inline' || config.TRAITLENS_DB === ':memory:' ? 'inline' : 'thread';
  // The pipeline runs on its own thread (its own connection and event loop) unless
  // TRAITLENS_WORKER=false (then run `traitlens worker` separately); ingestion wakes it.
  let inline: Worker | null = null;
  let thread: PipelineThread | null = null;
  if (workerMode === 'thread') {
    try {
      // The thread builds its own runtime from the same config (its own connection or pool).
      thread = await startPipelineThread({ config, logger });
    } catch (err) {
      if (ownsRuntime) await rt.close();
      throw err;
    }
    logger.info({ workerId: thread.workerId, mode: 'thread' }, 'pipeline worker started');
  } else if (workerMode === 'inline') {
    inline = rt.pipeline.createWorker({
      onError: (job, err, outcome) =>
        outcome === 'deferred'
          ? logger.info({ jobId: job.id, kind: job.kind, userId: job.userId, reason: String(err) }, 'job deferred: LLM processing paused')
          : logger.warn({ jobId: job.id, kind: job.kind, userId: job.userId, attempts: job.attempts, outcome, err: String(err) }, 'job failed'),
      onDone: (job, ms) => logger.debug({ jobId: job.id, kind: job.kind, userId: job.userId, attempts: job.attempts, ms: Math.round(ms) }, 'job done'),
      onLeaseLost: (job) => logger.warn({ jobId: job.id, userId: job.userId }, 'job lease lost while running; another worker has it'),
    });
    inline.start();
    logger.info({ workerId: inline.id, mode: 'inline' }, 'pipeline worker started');
  }
  // Without a worker here, still hand back jobs of dead workers and prune old ones (a separate
  // `traitlens worker` may be down): the queue never keeps a job `running` past its lease.
  let janitor: NodeJS.Timeout | undefined;
  if (workerMode === 'off') {
    const keeper = new Worker(store.jobs, {}, workerDefaults(config));
    const tick = () =>
      void keeper.maintain().then(
        (m) => (m.reclaimed || m.parked ? logger.info(m, 'job queue: reclaimed jobs of dead workers') : undefined),
        (err: unknown) => logger.warn({ err: String(err) }, 'job queue maintenance failed'),
      );
    tick();
    janitor = setInterval(tick, Math.max(1000, Math.floor(config.TRAITLENS_JOB_LEASE_MS / 2)));
    janitor.unref();
  }
  const onWork = thread ? () => thread.notify() : inline ? () => inline.notify() : undefined;
  // On SQLite this process owns the vector index (docs/user-vector.md): load or rebuild it now, then
  // follow the store. On PostgreSQL pgvector answers in SQL: no index here.
  if (rt.vectorIndex === 'hnsw') {
    try {
      const opened = await profiles.index.open();
      logger.info({ ...opened, vectors: profiles.index.size }, 'vector index ready');
    } catch (err) {
      logger.warn({ err: String(err) }, 'vector index not loaded; it is rebuilt on first use');
    }
    profiles.index.start();
  }
  const app = createApp(rt, { logger, lifecycle, ...(onWork ? { onWork } : {}) });
  const t = thread;
  const fetch: typeof app.fetch = t ? (req, ...rest) => (isIngestion(req) ? t.ingesting(async () => app.fetch(req, ...rest)) : app.fetch(req, ...rest)) : app.fetch;

  const stopWorker = async (deadlineMs: number): Promise<{ clean: boolean; abandonedJobs: number[] }> => {
    clearInterval(janitor);
    if (thread) return thread.stop(deadlineMs);
    if (inline) {
      const w = inline;
      const stopped = await Promise.race([w.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), deadlineMs).unref())]);
      return stopped ? { clean: true, abandonedJobs: [] } : { clean: false, abandonedJobs: w.running.map((j) => j.id) };
    }
    return { clean: true, abandonedJobs: [] };
  };

  let server: Server;
  try {
    // Ingestion transactions on their own thread and connection (SQLite file): the serving thread
    // hands each cleaned batch over and answers after its commit, so a busy stream of batches never
    // holds up /healthz or a profile read behind ~10 ms blocks of SQLite work.
    await store.events.startWriter();
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch, hostname: config.HOST, port: config.PORT }, () => resolve(s as Server)) as Server;
      s.once('error', reject);
    });
  } catch (err) {
    await stopWorker(config.TRAITLENS_SHUTDOWN_TIMEOUT_MS);
    await store.events.stopWriter();
    profiles.close();
    if (ownsRuntime) await rt.close();
    throw err;
  }
  // Slow or idle clients must not pin a socket forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;

  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  logger.info({ url, workerMode }, 'listening');

  let closing: Promise<ShutdownReport> | undefined;
  const close = () =>
    (closing ??= (async (): Promise<ShutdownReport> => {
      const deadline = Date.now() + config.TRAITLENS_SHUTDOWN_TIMEOUT_MS;
      const left = () => Math.max(0, deadline - Date.now());
      const waitingFor: string[] = [];
      lifecycle.shuttingDown = true;
      logger.info({ inFlight: lifecycle.inFlight, deadlineMs: config.TRAITLENS_SHUTDOWN_TIMEOUT_MS }, 'shutting down');
      // The worker stops claiming at once and finishes its jobs while HTTP drains: one deadline for both.
      const worker = stopWorker(config.TRAITLENS_SHUTDOWN_TIMEOUT_MS);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets with no request in flight would hold close() open: drop them now and
      // as in-flight requests finish (their responses carry `Connection: close`).
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      const http = await raceDeadline(closed, left());
      clearInterval(sweep);
      if (http === 'timeout') {
        waitingFor.push(`${lifecycle.inFlight} HTTP request(s) in flight`);
        server.closeAllConnections();
        // Sockets are destroyed; if close() still does not call back, do not wait for it.
        await raceDeadline(closed, 1000);
      }
      // Batches already handed to the ingestion writer commit before its connection closes.
      const writer = await raceDeadline(store.events.stopWriter(), left());
      if (writer === 'timeout') waitingFor.push('the ingestion writer (a batch still committing)');
      const w = await worker;
      if (!w.clean) waitingFor.push(`pipeline job(s) ${w.abandonedJobs.join(', ') || '(unknown)'} still running (reclaimed when their leases lapse)`);
      try {
        profiles.close();
      } catch (err) {
        waitingFor.push(`vector index save failed: ${String(err)}`);
      }
      if (ownsRuntime) await rt.close();
      uninstall?.();
      const report = { clean: waitingFor.length === 0, waitingFor };
      if (report.clean) logger.info('stopped');
      else logger.error({ waitingFor }, 'shutdown deadline passed; stopped with work cut off');
      return report;
    })());

  const running: RunningServer = { url, port: addr.port, workerMode, close };
  const uninstall = opts.handleSignals === false ? undefined : installShutdown(running, logger, config.TRAITLENS_SHUTDOWN_TIMEOUT_MS);
  return running;
}

function raceDeadline(p: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => 'done' as const),
    new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * SIGTERM/SIGINT → graceful close, then exit 0 (1 if the deadline cut work off or closing failed).
 * A second signal exits at once. A backstop timer exits 1 if close itself hangs past the deadline
 * (e.g. the log sink is gone and a write blocks), naming what it was still waiting for on stderr.
 * Returns a function that removes the handlers.
 */
export function installShutdown(server: Pick<RunningServer, 'close'>, logger?: Logger, deadlineMs = 10_000): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger?.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger?.info({ signal }, 'signal received');
    const backstop = setTimeout(() => {
      // The logger may be what hangs: write straight to stderr, ignoring a closed pipe.
      try {
        process.stderr.write(`traitlens: shutdown did not finish within ${deadlineMs} ms; exiting 1\n`);
      } catch {}
      process.exit(1);
    }, deadlineMs + 2000);
    backstop.unref();
    server.close().then(
      (report) => process.exit(report && report.clean === false ? 1 : 0),
      (err: unknown) => {
        logger?.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return () => {
    // After a signal, keep the handler so a second signal still forces the exit.
    if (signalled) return;
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };
}
