import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { IngestSummary } from '../core/types.ts';
import type { MetricSample, MetricSource } from '../db/metric-sources.ts';

/**
 * Prometheus metrics for one app: HTTP and ingestion counters kept in-process, everything else
 * (jobs, LLM usage, module figures) read from the database at scrape time through the metric
 * sources the caller passes (`storeMetricSources(store)` and any of its own), so a separate worker
 * process is counted too.
 */
export interface ApiMetrics {
  registry: Registry;
  observeRequest(labels: { method: string; route: string; status: number }, seconds: number): void;
  ingested(summary: IngestSummary): void;
  render(): Promise<string>;
  contentType: string;
}

export function createMetrics(sources: readonly MetricSource[], opts: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'traitlens_' });
  const requests = new Counter({
    name: 'traitlens_http_requests_total',
    help: 'HTTP requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'traitlens_http_request_duration_seconds',
    help: 'HTTP request latency by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const ingest = new Counter({
    name: 'traitlens_ingest_events_total',
    help: 'Events received over HTTP by outcome (accepted, duplicate, rejected).',
    labelNames: ['status'],
    registers: [registry],
  });
  for (const status of ['accepted', 'duplicate', 'rejected']) ingest.inc({ status }, 0);

  for (const src of sources) {
    const labelNames = src.labelNames ?? [];
    const samples = async (): Promise<MetricSample[]> => {
      try {
        const v = await src.collect();
        return typeof v === 'number' ? [{ value: v }] : v;
      } catch {
        // A closed or busy database must not fail the whole scrape: the series is simply absent.
        return [];
      }
    };
    if (src.type === 'gauge') {
      new Gauge({
        name: src.name,
        help: src.help,
        labelNames,
        registers: [registry],
        async collect() {
          const got = await samples();
          this.reset();
          for (const s of got) this.set(s.labels ?? {}, s.value);
        },
      });
    } else {
      new Counter({
        name: src.name,
        help: src.help,
        labelNames,
        registers: [registry],
        // Totals kept in the database: reset and re-read, so the exposed value is the stored total.
        async collect() {
          const got = await samples();
          this.reset();
          for (const s of got) this.inc(s.labels ?? {}, s.value);
        },
      });
    }
  }
  return {
    registry,
    observeRequest: (labels, seconds) => {
      const l = { method: labels.method, route: labels.route, status: String(labels.status) };
      requests.inc(l);
      latency.observe(l, seconds);
    },
    ingested: (s) => {
      ingest.inc({ status: 'accepted' }, s.accepted);
      ingest.inc({ status: 'duplicate' }, s.duplicates);
      ingest.inc({ status: 'rejected' }, s.rejected);
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
