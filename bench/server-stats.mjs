/**
 * Preloaded into the /similar servers by bench/similar.ts (node --import): records the server's
 * event-loop delay and GC pauses, and on SIGUSR2 writes them (and resets) as one JSON line to
 * $BENCH_SERVER_STATS, so a row can say whether the server's own event loop stalled.
 *
 * Main thread only, sampled every 10 ms: `--import` also runs in every worker thread (the audit and
 * ingestion writers), and a 1 ms sampler wakes its loop 1,000 times a second: ~15–30 ms of CPU a
 * second per thread on this VM, which the CPU-per-request figures then charged to the requests (at
 * 25 req/s about 1–3 ms each). A stall is still seen whole at 10 ms: the histogram records how late
 * each tick fired, not how many ticks were missed (reported here net of the 10 ms period).
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const out = process.env.BENCH_SERVER_STATS;
if (out && isMainThread) {
  const RESOLUTION_MS = 10;
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  // The histogram holds the time between ticks (the 10 ms period included): how late a tick fired is the rest.
  const late = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  eld.enable();
  let gcMs = 0;
  let gcMax = 0;
  let gcs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcMax = Math.max(gcMax, e.duration);
      gcs++;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    appendFileSync(
      out,
      `${JSON.stringify({ loop_delay_p99_ms: late(eld.percentile(99)), loop_delay_max_ms: late(eld.max), gc_count: gcs, gc_total_ms: gcMs, gc_max_ms: gcMax, heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}\n`,
    );
    eld.reset();
    gcMs = 0;
    gcMax = 0;
    gcs = 0;
  });
}
