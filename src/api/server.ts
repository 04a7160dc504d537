import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../core/config.ts';
import { openDb, type Db } from '../db/connection.ts';
import { createApp } from './app.ts';
import { createPipeline } from '../pipeline/pipeline.ts';
import { createProfileServices } from '../similar/services.ts';
import type { Worker } from '../jobs/worker.ts';
import { createLogger } from './logger.ts';
import { createLifecycle } from './types.ts';

export interface RunningServer {
  url: string;
  port: number;
  /** Graceful: readiness turns 503, no new connections, in-flight requests finish (up to the shutdown timeout), DB closed. Idempotent. */
  close(): Promise<void>;
}

export interface StartOptions {
  config: Config;
  /** an open database; when omitted, `config.TRAITLENS_DB` is opened and closed with the server */
  db?: Db;
  logger?: Logger;
  /** install SIGTERM/SIGINT handlers that close gracefully and exit 0 (default true; tests pass false) */
  handleSignals?: boolean;
  /** run the pipeline worker in this process (default: TRAITLENS_WORKER) */
  worker?: boolean;
}

/** Starts the HTTP API on HOST:PORT (PORT 0 picks a free port; the actual one is returned). */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const ownsDb = opts.db === undefined;
  const db = opts.db ?? openDb(config.TRAITLENS_DB, { synchronous: config.TRAITLENS_DB_SYNCHRONOUS, busyTimeoutMs: config.TRAITLENS_BUSY_TIMEOUT_MS });
  const lifecycle = createLifecycle();
  // The pipeline worker runs in the server process unless TRAITLENS_WORKER=false (then run
  // `traitlens worker` separately); ingestion wakes it so new signals are read promptly.
  let worker: Worker | null = null;
  if (opts.worker ?? config.TRAITLENS_WORKER) {
    worker = createPipeline(db, config).createWorker({
      onError: (job, err, outcome) =>
        outcome === 'deferred'
          ? logger.info({ jobId: job.id, kind: job.kind, userId: job.user_id, reason: String(err) }, 'job deferred: LLM processing paused')
          : logger.warn({ jobId: job.id, kind: job.kind, userId: job.user_id, attempts: job.attempts, outcome, err: String(err) }, 'job failed'),
      onDone: (job, ms) => logger.debug({ jobId: job.id, kind: job.kind, userId: job.user_id, attempts: job.attempts, ms: Math.round(ms) }, 'job done'),
    });
    worker.start();
    logger.info({ workerId: worker.id }, 'pipeline worker started');
  }
  const w = worker;
  // This process owns the vector index (docs/user-vector.md): load or rebuild it now, then follow SQLite.
  const profiles = createProfileServices(db, config, { log: (msg, fields) => logger.info(fields ?? {}, msg) });
  try {
    const opened = profiles.index.open();
    logger.info({ ...opened, vectors: profiles.index.size }, 'vector index ready');
  } catch (err) {
    logger.warn({ err: String(err) }, 'vector index not loaded; it is rebuilt on first use');
  }
  profiles.index.start();
  const app = createApp({ db, config, logger, lifecycle, profiles, ...(w ? { onWork: () => w.notify() } : {}) });

  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, () => resolve(s as Server)) as Server;
      s.once('error', reject);
    });
  } catch (err) {
    await worker?.stop();
    profiles.close();
    if (ownsDb) db.close();
    throw err;
  }
  // Slow or idle clients must not pin a socket forever.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;

  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  logger.info({ url }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      lifecycle.shuttingDown = true;
      logger.info({ inFlight: lifecycle.inFlight }, 'shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets with no request in flight would hold close() open: drop them now and
      // as in-flight requests finish (their responses carry `Connection: close`).
      const sweep = setInterval(() => server.closeIdleConnections(), 25);
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.TRAITLENS_SHUTDOWN_TIMEOUT_MS);
      });
      const outcome = await Promise.race([closed.then(() => 'closed' as const), timedOut]);
      clearInterval(sweep);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        logger.warn({ inFlight: lifecycle.inFlight }, 'shutdown timeout: closing remaining connections');
        server.closeAllConnections();
        await closed;
      }
      // A job still running after the grace period is left `running`; the next worker recovers it.
      if (worker) await Promise.race([worker.stop(), new Promise((r) => setTimeout(r, config.TRAITLENS_SHUTDOWN_TIMEOUT_MS).unref())]);
      profiles.close();
      if (ownsDb) db.close();
      uninstall?.();
      logger.info('stopped');
    })());

  const running: RunningServer = { url, port: addr.port, close };
  const uninstall = opts.handleSignals === false ? undefined : installShutdown(running, logger);
  return running;
}

/**
 * SIGTERM/SIGINT → graceful close, then exit 0 (1 if closing failed). A second signal exits at
 * once. Returns a function that removes the handlers.
 */
export function installShutdown(server: Pick<RunningServer, 'close'>, logger?: Logger): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger?.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger?.info({ signal }, 'signal received');
    server.close().then(
      () => process.exit(0),
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
