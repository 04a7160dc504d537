/**
 * Preloaded into the /similar servers by bench/similar.ts (node --import): records the server's
 * event-loop delay and GC pauses, and on SIGUSR2 writes them (and resets) as one JSON line to
 * $BENCH_SERVER_STATS, so a row can say whether the server's own event loop stalled.
 */
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.BENCH_SERVER_STATS;
if (out) {
  const eld = monitorEventLoopDelay({ resolution: 1 });
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
      `${JSON.stringify({ loop_delay_p99_ms: eld.percentile(99) / 1e6, loop_delay_max_ms: eld.max / 1e6, gc_count: gcs, gc_total_ms: gcMs, gc_max_ms: gcMax, heap_used_mb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}\n`,
    );
    eld.reset();
    gcMs = 0;
    gcMax = 0;
    gcs = 0;
  });
}
