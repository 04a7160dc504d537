import { parseArgs } from 'node:util';
import { NotFoundError } from '../../core/errors.ts';
import { JOB_STATUSES, type JobStatus } from '../../db/stores/jobs.ts';
import { withRuntime } from '../../runtime/runtime.ts';
import { fmtInt, printJson, table, UsageError, withStore, writeLine, type Command, type Io } from '../command.ts';

/** A one-line job progress display on a terminal; silent elsewhere. */
function jobProgress(io: Io, total: number): { update(done: number, parked: number): void; done(): void } {
  const out = io.stderr;
  if (!out.isTTY) return { update() {}, done() {} };
  const started = performance.now();
  let last = 0;
  return {
    update(done, parked) {
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      const secs = (now - started) / 1000;
      const rate = secs > 0 ? done / secs : 0;
      const eta = rate > 0 ? Math.max(0, total - done) / rate : 0;
      out.write(`\r users ${fmtInt(done)}/${fmtInt(total)}  ${rate.toFixed(1)} users/s  parked ${parked}  ETA ${Math.round(eta)}s\x1b[K`);
    },
    done() {
      out.write('\r\x1b[K');
    },
  };
}

export const processCommand: Command = {
  name: 'process',
  summary: 'run all pending pipeline work (traits, embeddings) and exit',
  usesDatabase: true,
  usage: `usage: traitlens process [--json]

Runs every pending job (per-user refresh: trait extraction, embeddings) until none is ready, then
exits. Jobs waiting out a retry backoff are left for later; parked jobs are listed by \`traitlens stats\`.

  --json   print the tally as one JSON object`,
  async run(args, { config, io }) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true, allowPositionals: false });
    return withRuntime(config, async ({ store, pipeline }) => {
      const total = (await store.jobs.counts()).ready;
      const bar = jobProgress(io, total);
      const started = performance.now();
      const tally = await pipeline.createWorker().drain((t) => bar.update(t.done, t.parked));
      bar.done();
      const seconds = (performance.now() - started) / 1000;
      const result = { ...tally, seconds: Math.round(seconds * 100) / 100, usersPerSecond: seconds > 0 ? Math.round((tally.done / seconds) * 10) / 10 : 0 };
      if (values.json) printJson(io, result);
      else writeLine(io.stdout, `processed ${fmtInt(tally.done)} jobs in ${result.seconds}s (${result.usersPerSecond}/s); retrying later ${tally.retried}; parked ${tally.parked}`);
      return tally.parked > 0 ? 1 : 0;
    });
  },
};

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run the pipeline worker as its own process (until SIGTERM)',
  usesDatabase: true,
  usage: `usage: traitlens worker

Runs queued pipeline jobs as they arrive, until SIGTERM or SIGINT (then finishes the running jobs).
Use it with TRAITLENS_WORKER=false on the server to move the pipeline out of the API process.`,
  async run(args, { config, io }) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    return withRuntime(config, async ({ pipeline }) => {
      const worker = pipeline.createWorker({
        onError: (job, err, outcome) => writeLine(io.stderr, `job ${job.id} (${job.kind}) failed, ${outcome}: ${String(err)}`),
        onLeaseLost: (job) => writeLine(io.stderr, `job ${job.id} (${job.kind}): lease lost while running; another worker has it`),
        onMaintenance: (m) => writeLine(io.stderr, `queue: reclaimed ${m.reclaimed} job(s) of dead workers, parked ${m.parked}, pruned ${m.pruned} done`),
      });
      worker.start();
      // Item embeddings retrain when due (TRAITLENS_ITEM_RETRAIN_*): an items.train job on the queue.
      const stopItems = pipeline.startItemSchedule({
        onEnqueued: (s) => writeLine(io.stderr, `item embeddings: retraining queued (${s.reason}, ${s.newInteractions} new interactions)`),
        onError: (err) => writeLine(io.stderr, `item embeddings: retrain check failed: ${String(err)}`),
      });
      writeLine(io.stdout, `worker ${worker.id} running; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      stopItems();
      // Running jobs finish, up to the shutdown deadline; past it, their leases lapse and another worker reclaims them.
      const stopped = await Promise.race([worker.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), config.TRAITLENS_SHUTDOWN_TIMEOUT_MS).unref())]);
      if (!stopped) {
        writeLine(io.stderr, `shutdown deadline passed; still running job(s) ${worker.running.map((j) => j.id).join(', ')} (reclaimed when their lease lapses)`);
        return 1;
      }
      writeLine(io.stdout, 'worker stopped');
      return 0;
    });
  },
};

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list parked (failed) jobs, or retry them',
  usesDatabase: true,
  usage: `usage: traitlens jobs list [--status parked|pending|running|done] [--json]
       traitlens jobs retry [ID ...]

list    jobs with a status (default parked: those that failed too often), newest first
retry   puts parked jobs back in the queue with a fresh attempt budget (all, or the given ids;
        an id that is not a parked job is an error: exit 1, nothing retried)`,
  async run(args, { config, io }) {
    const [sub, ...rest] = args;
    if (sub === 'list') {
      const { values } = parseArgs({
        args: rest,
        options: { status: { type: 'string', default: 'parked' }, json: { type: 'boolean', default: false } },
        strict: true,
        allowPositionals: false,
      });
      const status = values.status as JobStatus;
      if (!JOB_STATUSES.includes(status)) throw new UsageError(`--status must be parked, pending, running or done`);
      const rows = await withStore(config, (store) => store.jobs.list(status, 100));
      if (values.json) printJson(io, rows);
      else
        writeLine(
          io.stdout,
          rows.length
            ? table(
                ['id', 'kind', 'user', 'attempts', 'last error'],
                rows.map((r) => [r.id, r.kind, r.userId ?? '', r.attempts, (r.lastError ?? '').slice(0, 80)]),
              )
            : `no ${status} jobs`,
        );
      return 0;
    }
    if (sub === 'retry') {
      const ids = rest.map((x) => {
        if (!/^\d+$/.test(x) || !Number.isSafeInteger(Number(x))) throw new UsageError(`job ids are integers (got "${x}")`);
        return Number(x);
      });
      const n = await withStore(config, async (store) => {
        // Named ids must be parked jobs: a typo or a job that is not parked is an error (exit 1), and nothing is retried.
        if (ids.length) {
          const found = new Map((await store.jobs.byIds(ids)).map((j) => [j.id, j]));
          const problems = ids.flatMap((id) => {
            const j = found.get(id);
            return !j ? [`no job ${id}`] : j.status !== 'parked' ? [`job ${id} is ${j.status}, not parked`] : [];
          });
          if (problems.length) throw new NotFoundError(`${problems.join('; ')}; nothing was retried (see traitlens jobs list)`, { ids });
        }
        return store.jobs.retryParked(ids);
      });
      writeLine(io.stdout, `${n} parked job(s) queued again`);
      return 0;
    }
    throw new UsageError('expected a subcommand: list or retry');
  },
};
